package org.sparkmim.job.dataset;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * SHA-256, size and Parquet row count of shard files, computed in Spark tasks (one file per task), so checking
 * 140 GB of shards reads them in parallel on the executors rather than through the driver.
 */
public final class ShardChecksums {
    private ShardChecksums() { }

    /** @return one entry per uri, in order; {@code file} is the file name */
    public static List<Manifest.Shard> compute(SparkSession spark, List<String> uris, boolean countRows) {
        if (uris.isEmpty()) return List.of();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Broadcast<HadoopConf> conf = jsc.broadcast(new HadoopConf(spark.sparkContext().hadoopConfiguration()));
        // Plain strings across the wire: Spark's Kryo cannot build records.
        List<String[]> raw = jsc.parallelize(uris, uris.size()).map(u -> {
            Manifest.Shard s = of(conf.value().get(), u, countRows);
            return new String[]{s.file(), Long.toString(s.rows()), Long.toString(s.bytes()), s.sha256()};
        }).collect();
        conf.destroy();
        List<Manifest.Shard> out = new java.util.ArrayList<>();
        for (String[] r : raw) out.add(new Manifest.Shard(r[0], Long.parseLong(r[1]), Long.parseLong(r[2]), r[3]));
        return out;
    }

    /** @param countRows read the Parquet footer's row count (-1 when false: a verifier only needs the hash) */
    public static Manifest.Shard of(Configuration conf, String uri, boolean countRows) {
        Path p = new Path(uri);
        try {
            FileSystem fs = p.getFileSystem(conf);
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            long bytes = 0;
            try (FSDataInputStream in = fs.open(p)) {
                byte[] buf = new byte[1 << 20];
                for (int n; (n = in.read(buf)) > 0; ) {
                    md.update(buf, 0, n);
                    bytes += n;
                }
            }
            long rows = -1;
            if (countRows) try (ParquetFileReader r = ParquetFileReader.open(HadoopInputFile.fromPath(p, conf))) {
                rows = r.getRecordCount();
            }
            return new Manifest.Shard(p.getName(), rows, bytes, HexFormat.of().formatHex(md.digest()));
        } catch (org.apache.hadoop.fs.ChecksumException e) {
            // The file system's own block/CRC check failed: report it as a mismatch, the verifier names the shard.
            if (!countRows) return new Manifest.Shard(p.getName(), -1, -1, "unreadable (" + e.getMessage() + ")");
            throw new UncheckedIOException("cannot checksum shard " + uri + ": " + e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot checksum shard " + uri + ": " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
