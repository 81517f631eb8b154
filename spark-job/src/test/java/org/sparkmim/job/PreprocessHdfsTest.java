package org.sparkmim.job;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkmim.job.dataset.DatasetDir;
import org.sparkmim.job.dataset.ImageDecode;
import org.sparkmim.job.dataset.Manifest;
import org.sparkmim.job.dataset.PixelChecks;
import org.sparkmim.job.dataset.TestImages;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** preprocess with the source tree and the output on a real HDFS (MiniDFSCluster: NameNode + DataNode in this JVM). */
class PreprocessHdfsTest {
    @TempDir
    static Path tmp;
    static MiniDFSCluster dfs;
    static LocalSpark spark;

    @BeforeAll
    static void start() throws Exception {
        Configuration conf = new Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, tmp.resolve("dfs").toString());
        dfs = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
        dfs.waitActive();
        spark = LocalSpark.start("preprocess-hdfs-test", "local[2]");
    }

    @AfterAll
    static void stop() {
        if (spark != null) spark.session().stop();
        if (dfs != null) dfs.shutdown();
    }

    @Test
    void treeOnHdfsBecomesADatasetOnHdfs() throws Exception {
        Path local = tmp.resolve("train");
        Map<String, String> expect = TestImages.writeTree(local);
        FileSystem fs = dfs.getFileSystem();
        String base = fs.getUri() + "/imagenet";
        fs.copyFromLocalFile(new org.apache.hadoop.fs.Path(local.toUri()), new org.apache.hadoop.fs.Path(base + "/train"));
        String out = base + "/datasets/train";

        CliTest.Run r = CliTest.run("preprocess", "--source", base + "/train", "--output", out,
                "--set", "preprocess.shard.rows=5");
        assertThat(r.code()).as(r.err()).isZero();
        long accept = expect.values().stream().filter(v -> v.startsWith("accept") || v.startsWith("convert")).count();
        assertThat(r.summary().get("accepted").asLong()).isEqualTo(accept);
        assertThat(r.summary().get("rejected").asLong() + r.summary().get("skipped").asLong() + accept)
                .isEqualTo(expect.size());
        assertThat(r.summary().get("output").asText()).startsWith("hdfs://");

        DatasetDir ds = DatasetDir.open(spark.session(), out).verify(spark.session());
        Manifest m = ds.manifest();
        assertThat(m.counts().listed()).isEqualTo(expect.size());
        assertThat(fs.exists(new org.apache.hadoop.fs.Path(out, "_SUCCESS"))).isTrue();
        assertThat(fs.exists(new org.apache.hadoop.fs.Path(out, "_rejects.json"))).isTrue();
        List<Row> rows = ds.rows(spark.session()).where("key = 'n01440764/big.JPEG'").collectAsList();
        assertThat(rows).hasSize(1);
        PixelChecks.assertGradient(ImageDecode.rgb(rows.get(0).getAs("image")), 8, "big.JPEG via HDFS");

        CliTest.Run refused = CliTest.run("preprocess", "--source", base + "/train", "--output", out);
        assertThat(refused.code()).isEqualTo(ExitCodes.CONFIG);
        CliTest.Run replaced = CliTest.run("preprocess", "--source", base + "/train", "--output", out, "--overwrite",
                "--set", "preprocess.shard.rows=5");
        assertThat(replaced.code()).as(replaced.err()).isZero();
        assertThat(DatasetDir.open(spark.session(), out).verify(spark.session()).manifest().shards()).isEqualTo(m.shards());
        assertThat(fs.listStatus(new org.apache.hadoop.fs.Path(base + "/datasets"))).as("only the published dataset, no temporaries").hasSize(1);
    }
}
