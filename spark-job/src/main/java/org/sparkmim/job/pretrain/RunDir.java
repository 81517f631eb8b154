package org.sparkmim.job.pretrain;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;

/**
 * The run directory on any Hadoop filesystem. Small text files (config, metrics) are rewritten whole through a
 * temporary name and a rename, because object stores and HDFS have no cheap append; a reader never sees half a
 * file. Also the divergence marker that executors write when their loss turns non-finite.
 */
public final class RunDir {
    public static final String DIVERGED = "_DIVERGED";
    private final String uri;
    private final FileSystem fs;
    private final StringBuilder metrics = new StringBuilder();

    public RunDir(String uri, Configuration hadoop) {
        this.uri = uri;
        try {
            this.fs = FileSystem.get(URI.create(uri), hadoop);
            fs.mkdirs(new Path(uri));
            Path m = new Path(uri, "metrics.jsonl");
            if (fs.exists(m)) metrics.append(read(m)); // a resumed run keeps its history
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create run directory " + uri, e);
        }
    }

    public String uri() {
        return uri;
    }

    public void write(String name, String text) {
        Path fin = new Path(uri, name), tmp = new Path(uri, "." + name + ".tmp");
        try {
            try (FSDataOutputStream out = fs.create(tmp, true)) {
                out.write(text.getBytes(StandardCharsets.UTF_8));
            }
            if (fs.exists(fin)) fs.delete(fin, false);
            if (!fs.rename(tmp, fin)) throw new IOException("rename " + tmp + " failed");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + fin, e);
        }
    }

    public void appendMetrics(String jsonLine) {
        metrics.append(jsonLine).append('\n');
        write("metrics.jsonl", metrics.toString());
    }

    /** Executors' report of a non-finite loss (null when none). */
    public String divergence() {
        Path p = new Path(uri, DIVERGED);
        try {
            return fs.exists(p) ? read(p) : null;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public void clearDivergence() {
        try {
            fs.delete(new Path(uri, DIVERGED), false);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private String read(Path p) throws IOException {
        try (var in = fs.open(p)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
