package org.sparkmim.job.dataset;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The reader API of a dataset directory written by {@code preprocess} (format: docs/ARCHITECTURE.md).
 *
 * <pre>{@code
 * DatasetDir ds = DatasetDir.open(spark, "hdfs:///data/imagenet-train");  // manifest + shard sizes checked
 * ds.verify(spark);                                  // optional: SHA-256 of every shard, in Spark tasks
 * List<String> classes = ds.manifest().classes();    // label → class name
 * Dataset<Row> rows = ds.rows(spark);                // key, label, class_name, width, height, image, split, ...
 * // on executors: ImageDecode.rgb(row.getAs("image")) → Pixels [H, W, 3]
 * }</pre>
 *
 * {@link #open} refuses (with {@link DatasetException}, naming the file) a directory without a valid
 * {@code _manifest.json}, and a shard that is missing or whose size differs from the manifest. {@link #verify}
 * additionally refuses a shard whose SHA-256 differs (same-size tampering). Only the shards the manifest lists
 * are ever read, so stray files in the directory are ignored.
 */
public final class DatasetDir {
    private final String uri;
    private final Manifest manifest;

    private DatasetDir(String uri, Manifest manifest) {
        this.uri = uri;
        this.manifest = manifest;
    }

    public static DatasetDir open(SparkSession spark, String uri) {
        return open(spark.sparkContext().hadoopConfiguration(), uri);
    }

    public static DatasetDir open(Configuration conf, String uri) {
        Path dir = new Path(uri);
        Path mf = new Path(dir, Manifest.FILE);
        try {
            FileSystem fs = dir.getFileSystem(conf);
            if (!fs.exists(dir)) throw new DatasetException("dataset directory " + uri + " does not exist");
            byte[] json;
            try (FSDataInputStream in = fs.open(mf)) {
                json = in.readAllBytes();
            } catch (org.apache.hadoop.fs.ChecksumException e) {
                throw new DatasetException(mf + " is corrupt (file system checksum error: " + e.getMessage() + ")", e);
            } catch (FileNotFoundException e) {
                throw new DatasetException(mf + " is missing: " + uri + " is not a finished spark-mim dataset "
                        + "(preprocess writes the manifest last; re-run preprocess with --overwrite)");
            }
            Manifest m = Manifest.parse(json, mf.toString());
            for (Manifest.Shard s : m.shards()) {
                Path p = new Path(dir, s.file());
                FileStatus st;
                try {
                    st = fs.getFileStatus(p);
                } catch (FileNotFoundException e) {
                    throw new DatasetException("shard " + p + " listed in " + Manifest.FILE + " is missing");
                }
                if (st.getLen() != s.bytes()) {
                    throw new DatasetException("shard " + p + " is " + st.getLen() + " bytes but " + Manifest.FILE
                            + " says " + s.bytes() + ": the directory was modified after preprocess");
                }
            }
            return new DatasetDir(uri, m);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read dataset " + uri + ": " + e.getMessage(), e);
        }
    }

    /**
     * True when {@code uri} names a dataset directory rather than a local IDX directory or 'system': it holds a
     * {@code _manifest.json}, or its scheme is not {@code file} (IDX files are read from local paths only), in which
     * case {@link #open} gives the precise error if it is no dataset.
     */
    public static boolean isDataset(Configuration conf, String uri) {
        try {
            Path dir = new Path(uri);
            String scheme = dir.toUri().getScheme();
            if (scheme != null && !scheme.equals("file")) return true;
            return dir.getFileSystem(conf).getFileStatus(new Path(dir, Manifest.FILE)).isFile();
        } catch (IOException | IllegalArgumentException e) {
            return false;     // no manifest (or no Hadoop path at all): the IDX reader names what is missing
        }
    }

    public Manifest manifest() {
        return manifest;
    }

    public String uri() {
        return uri;
    }

    /** Full URIs of the shards, in manifest order. */
    public List<String> shardUris() {
        List<String> out = new ArrayList<>();
        for (Manifest.Shard s : manifest.shards()) out.add(new Path(new Path(uri), s.file()).toString());
        return out;
    }

    /** SHA-256 of every shard, computed in Spark tasks; throws naming the first shard that differs. */
    public DatasetDir verify(SparkSession spark) {
        check(ShardChecksums.compute(spark, shardUris(), false));
        return this;
    }

    /** As {@link #verify(SparkSession)}, reading every shard in this JVM (small datasets, tools without Spark). */
    public DatasetDir verify(Configuration conf) {
        List<Manifest.Shard> got = new ArrayList<>();
        for (String u : shardUris()) got.add(ShardChecksums.of(conf, u, false));
        check(got);
        return this;
    }

    private void check(List<Manifest.Shard> got) {
        for (int i = 0; i < got.size(); i++) {
            Manifest.Shard want = manifest.shards().get(i), have = got.get(i);
            if (!want.sha256().equals(have.sha256()) || want.bytes() != have.bytes()) {
                throw new DatasetException("shard " + shardUris().get(i) + " has SHA-256 " + have.sha256() + " ("
                        + have.bytes() + " bytes) but " + Manifest.FILE + " says " + want.sha256() + " (" + want.bytes()
                        + " bytes): the shard was modified or corrupted after preprocess");
            }
        }
    }

    /** The rows of exactly the manifest's shards, with {@link DatasetSchema#SCHEMA}. */
    public Dataset<Row> rows(SparkSession spark) {
        if (manifest.shards().isEmpty()) return spark.createDataFrame(List.of(), DatasetSchema.SCHEMA);
        return spark.read().schema(DatasetSchema.SCHEMA).parquet(shardUris().toArray(new String[0]));
    }
}
