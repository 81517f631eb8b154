package org.sparkmim.job.tokenize;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.example.GroupReadSupport;
import org.sparkmim.model.mapet.TokenTable;
import org.sparkmim.model.mapet.TokenTables;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.Map;

/**
 * A tokens directory read whole into memory: key → N ids (as shorts when k ≤ 32768, which halves it; 60k
 * Fashion-MNIST images at N = 49 are 5.9 MB). Read with parquet-hadoop directly, not Spark, because it is opened
 * inside executors' data iterators (once per JVM, {@link TokenTables}).
 */
public final class ParquetTokenTable implements TokenTable {
    private final String location;
    private final TokensManifest manifest;
    private final Map<String, short[]> ids;

    private ParquetTokenTable(String location, TokensManifest manifest, Map<String, short[]> ids) {
        this.location = location;
        this.manifest = manifest;
        this.ids = ids;
    }

    /** Its manifest alone (no rows): what the driver checks before a run. */
    public static TokensManifest manifest(Configuration conf, String uri) {
        Path mf = new Path(new Path(uri), TokensManifest.FILE);
        try (FSDataInputStream in = mf.getFileSystem(conf).open(mf)) {
            return TokensManifest.parse(in.readAllBytes(), mf.toString());
        } catch (FileNotFoundException e) {
            throw new IllegalArgumentException("mim.method.mapet.tokens=" + uri + ": " + mf + " is missing: not a finished "
                    + "tokens directory (tokenize writes the manifest last; run `bin/spark-mim tokenize` again)");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + mf + ": " + e.getMessage(), e);
        }
    }

    public static ParquetTokenTable read(Configuration conf, String uri) {
        TokensManifest m = manifest(conf, uri);
        if (m.k() > 32768) {
            throw new IllegalArgumentException(uri + ": k = " + m.k() + " codes; this reader keeps ids as shorts (k <= 32768)");
        }
        int n = (m.imageSize() / m.patch()) * (m.imageSize() / m.patch());
        Map<String, short[]> ids = new HashMap<>((int) Math.min(Integer.MAX_VALUE / 2, m.images() * 4 / 3 + 1));
        try {
            FileSystem fs = new Path(uri).getFileSystem(conf);
            for (TokensManifest.Shard s : m.shards()) {
                Path p = new Path(new Path(uri), s.file());
                if (!fs.exists(p)) throw new IllegalArgumentException("shard " + p + " listed in " + TokensManifest.FILE + " is missing");
                long rows = 0;
                try (ParquetReader<Group> r = ParquetReader.builder(new GroupReadSupport(), p).withConf(conf).build()) {
                    for (Group g; (g = r.read()) != null; rows++) {
                        String key = g.getString("key", 0);
                        Group list = g.getGroup("tokens", 0);           // Spark's LIST: repeated group list { element }
                        int len = list.getFieldRepetitionCount(0);
                        if (len != n) {
                            throw new IllegalArgumentException(p + ": image " + key + " has " + len + " tokens, expected " + n);
                        }
                        short[] t = new short[n];
                        for (int i = 0; i < n; i++) t[i] = (short) list.getGroup(0, i).getInteger(0, 0);
                        if (ids.put(key, t) != null) throw new IllegalArgumentException(p + ": image " + key + " appears twice");
                    }
                }
                if (rows != s.rows()) {
                    throw new IllegalArgumentException("shard " + p + " has " + rows + " rows but " + TokensManifest.FILE
                            + " says " + s.rows() + ": the directory was modified after tokenize");
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read tokens " + uri + ": " + e.getMessage(), e);
        }
        if (ids.size() != m.images()) {
            throw new IllegalArgumentException(uri + " holds " + ids.size() + " images but its manifest says " + m.images());
        }
        return new ParquetTokenTable(uri, m, ids);
    }

    public TokensManifest tokensManifest() {
        return manifest;
    }

    @Override public int vocab() { return manifest.k(); }
    @Override public int patch() { return manifest.patch(); }
    @Override public int imageSize() { return manifest.imageSize(); }
    @Override public String datasetFingerprint() { return manifest.datasetFingerprint(); }
    @Override public String location() { return location; }

    @Override
    public void fill(String key, int[] dst, int off) {
        short[] t = ids.get(key);
        if (t == null) {
            throw new IllegalArgumentException("image " + key + " has no tokens in " + location + " (" + ids.size()
                    + " images, from " + manifest.source() + "): tokenize the dataset this run trains on");
        }
        for (int i = 0; i < t.length; i++) dst[off + i] = t[i] & 0xFFFF;
    }

    /** The ServiceLoader entry: any Hadoop URI holding a tokens manifest. */
    public static final class Reader implements TokenTables.Reader {
        @Override
        public TokenTable open(String path) {
            return read(new Configuration(), path);
        }
    }
}
