package org.sparkmim.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkmim.job.dataset.DatasetDir;
import org.sparkmim.job.dataset.DatasetException;
import org.sparkmim.job.dataset.DatasetSchema;
import org.sparkmim.job.dataset.ImageDecode;
import org.sparkmim.job.dataset.Manifest;
import org.sparkmim.job.dataset.PixelChecks;
import org.sparkmim.job.dataset.TestImages;
import org.sparkmim.model.data.FashionMnist;
import org.sparkmim.model.data.ImageSet;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The preprocess command end to end on Spark local mode and the local file system: real images made by real
 * encoders, exact accounting, pixels, re-runs, tamper detection, the IDX sample and the ILSVRC val layout.
 */
class PreprocessCommandTest {
    static LocalSpark spark;
    @TempDir
    static Path tmp;
    static Path tree;
    static Map<String, String> expect;
    static Path trainOut;
    static CliTest.Run first;

    @BeforeAll
    static void convertTheTree() throws Exception {
        spark = LocalSpark.start("preprocess-test", "local[2]");
        tree = tmp.resolve("train");
        expect = TestImages.writeTree(tree);
        trainOut = tmp.resolve("out/train-ds");
        first = CliTest.run("preprocess", "--source", tree.toString(), "--output", trainOut.toString(),
                "--set", "preprocess.shard.rows=4", "--progress-seconds", "1");
    }

    @AfterAll
    static void stop() {
        if (spark != null) spark.session().stop();
    }

    static SparkSession session() {
        return spark.session();
    }

    @Test
    void everyFileIsInAShardOrInRejectsWithTheRightPixels() throws Exception {
        assertThat(first.code()).as(first.err()).isZero();
        JsonNode s = first.summary();
        long accept = expect.values().stream().filter(v -> v.startsWith("accept") || v.startsWith("convert")).count();
        long convert = expect.values().stream().filter(v -> v.startsWith("convert")).count();
        long reject = expect.values().stream().filter(v -> v.startsWith("reject")).count();
        long skip = expect.values().stream().filter(v -> v.equals("skip")).count();
        assertThat(s.get("command").asText()).isEqualTo("preprocess");
        assertThat(new long[]{s.get("accepted").asLong(), s.get("converted").asLong(), s.get("rejected").asLong(),
                s.get("skipped").asLong()}).containsExactly(accept, convert, reject, skip);
        assertThat(first.err()).contains("files/s").contains("ETA");

        DatasetDir ds = DatasetDir.open(session(), trainOut.toString()).verify(session());
        Manifest m = ds.manifest();
        assertThat(m.classes()).containsExactly("n01440764", "n01443537");
        assertThat(m.counts().listed()).isEqualTo(expect.size());
        assertThat(m.shards()).hasSize(4);   // 13 files sent for conversion in chunks of 4 → 4 tasks/shards
        assertThat(Path.of(trainOut.toString(), "_SUCCESS")).exists();

        Map<String, Row> rows = ds.rows(session()).collectAsList().stream()
                .collect(Collectors.toMap(r -> r.getAs(DatasetSchema.KEY), r -> r));
        JsonNode rejects = new ObjectMapper().readTree(tmp.resolve("out/train-ds/_rejects.json").toFile());
        Map<String, String> rejected = new HashMap<>(), skipped = new HashMap<>();
        rejects.get("rejected").forEach(n -> rejected.put(n.get("key").asText(), n.get("reason").asText()));
        rejects.get("skipped").forEach(n -> skipped.put(n.get("key").asText(), n.get("reason").asText()));
        assertThat(rows.size() + rejected.size() + skipped.size()).isEqualTo(expect.size());

        for (Map.Entry<String, String> e : expect.entrySet()) {
            String key = e.getKey(), want = e.getValue();
            if (want.equals("skip")) {
                assertThat(skipped).as(key).containsKey(key);
            } else if (want.startsWith("reject")) {
                assertThat(rejected.get(key)).as(key).contains(want.substring("reject ".length()));
            } else {
                Row r = rows.get(key);
                assertThat(r).as(key).isNotNull();
                String[] w = want.split(" ");
                assertThat(r.<Integer>getAs("width") + "x" + r.<Integer>getAs("height")).as(key).isEqualTo(w[w.length - 1]);
                assertThat(r.<String>getAs("converted_from")).as(key).isEqualTo(want.startsWith("convert") ? w[1] : null);
                String cls = key.substring(0, key.indexOf('/'));
                assertThat(r.<String>getAs("class_name")).isEqualTo(cls);
                assertThat(r.<Integer>getAs("label")).isEqualTo(m.classes().indexOf(cls));
                assertThat(r.<String>getAs("split")).isEqualTo("train");
                ImageDecode.Pixels p = ImageDecode.rgb(r.getAs("image"));
                assertThat(p.width() + "x" + p.height()).isEqualTo(w[w.length - 1]);
                if (!key.contains("cmyk") && !key.contains("gray") && !key.contains("rotated")) {
                    PixelChecks.assertGradient(p, 8, key);
                }
            }
        }
        ImageDecode.Pixels rot = ImageDecode.rgb(rows.get("n01440764/rotated.JPEG").getAs("image"));
        PixelChecks.assertReddish(PixelChecks.at(rot, 50, 40), "EXIF-rotated top");
        PixelChecks.assertBluish(PixelChecks.at(rot, 50, 160), "EXIF-rotated bottom");
        ImageDecode.Pixels cmyk = ImageDecode.rgb(rows.get("n01440764/cmyk.JPEG").getAs("image"));
        PixelChecks.assertReddish(PixelChecks.at(cmyk, 20, 40), "CMYK left");
    }

    @Test
    void reRunRefusesWithoutOverwriteAndReproducesTheSameShardsWithIt() throws Exception {
        assertThat(first.code()).as(first.err()).isZero();
        Manifest before = DatasetDir.open(session(), trainOut.toString()).manifest();
        CliTest.Run refused = CliTest.run("preprocess", "--source", tree.toString(), "--output", trainOut.toString(),
                "--set", "preprocess.shard.rows=4");
        assertThat(refused.code()).isEqualTo(ExitCodes.CONFIG);
        assertThat(refused.err()).contains("already exists").contains("--overwrite");

        CliTest.Run again = CliTest.run("preprocess", "--source", tree.toString(), "--output", trainOut.toString(),
                "--set", "preprocess.shard.rows=4", "--overwrite");
        assertThat(again.code()).as(again.err()).isZero();
        Manifest after = DatasetDir.open(session(), trainOut.toString()).verify(session()).manifest();
        assertThat(after.shards()).as("same seed + same files = byte-identical shards").isEqualTo(before.shards());
        assertThat(after.counts()).isEqualTo(before.counts());
        assertThat(after.configFingerprint()).isEqualTo(before.configFingerprint());
        try (var files = Files.list(tmp.resolve("out"))) {
            assertThat(files.map(p -> p.getFileName().toString())).as("no temporary or replaced copies left")
                    .containsExactly("train-ds");
        }
    }

    @Test
    void readersRefuseTamperedTruncatedOrUnfinishedDirectories() throws Exception {
        assertThat(first.code()).as(first.err()).isZero();
        Path copy = tmp.resolve("tamper");
        copyDir(trainOut, copy);
        Configuration conf = new Configuration();
        Path shard = copy.resolve("shard-00001.parquet");
        try (RandomAccessFile f = new RandomAccessFile(shard.toFile(), "rw")) {
            f.seek(f.length() / 2);
            int b = f.read();
            f.seek(f.length() / 2);
            f.write(b ^ 0x5A);   // same size, one byte changed
        }
        DatasetDir opened = DatasetDir.open(conf, copy.toString());
        // The local file system's .crc side file catches it first; the manifest's SHA-256 is what catches a
        // rewrite that brings its own fresh CRCs (as an HDFS client write would), so check both.
        assertThatThrownBy(() -> opened.verify(session())).isInstanceOf(DatasetException.class)
                .hasMessageContaining("shard-00001.parquet").hasMessageContaining("unreadable");
        Files.delete(copy.resolve(".shard-00001.parquet.crc"));
        assertThatThrownBy(() -> opened.verify(session())).isInstanceOf(DatasetException.class)
                .hasMessageContaining("shard-00001.parquet").hasMessageContaining("SHA-256");
        assertThatThrownBy(() -> opened.verify(conf)).isInstanceOf(DatasetException.class)
                .hasMessageContaining("shard-00001.parquet").hasMessageContaining("SHA-256");

        try (RandomAccessFile f = new RandomAccessFile(shard.toFile(), "rw")) {
            f.setLength(f.length() - 10);
        }
        assertThatThrownBy(() -> DatasetDir.open(conf, copy.toString())).isInstanceOf(DatasetException.class)
                .hasMessageContaining("shard-00001.parquet").hasMessageContaining("bytes");

        Files.delete(copy.resolve("_manifest.json"));
        assertThatThrownBy(() -> DatasetDir.open(conf, copy.toString())).isInstanceOf(DatasetException.class)
                .hasMessageContaining("_manifest.json is missing");
        Files.deleteIfExists(copy.resolve("._manifest.json.crc"));
        Files.writeString(copy.resolve("_manifest.json"), "{\"format\":\"something-else\"}");
        assertThatThrownBy(() -> DatasetDir.open(conf, copy.toString())).isInstanceOf(DatasetException.class)
                .hasMessageContaining("invalid manifest");
    }

    @Test
    void fashionMnistSampleBecomesTrainAndTestRowsWithExactPixels() throws Exception {
        Path sample = Path.of(FashionMnist.locate(null).toString());
        Path out = tmp.resolve("fmnist-ds");
        CliTest.Run r = CliTest.run("preprocess", "--source", sample.toString(), "--output", out.toString(), "--kind", "idx");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.summary().get("accepted").asLong()).isEqualTo(12_000);
        assertThat(r.summary().get("rejected").asLong() + r.summary().get("skipped").asLong()).isZero();

        DatasetDir ds = DatasetDir.open(session(), out.toString());
        assertThat(ds.manifest().splits()).containsEntry("train", 10_000L).containsEntry("test", 2_000L);
        assertThat(ds.manifest().classes()).containsExactly(FashionMnist.CLASSES);
        ImageSet train = FashionMnist.load(sample, "train"), test = FashionMnist.load(sample, "test");
        long[] want = new long[10];
        for (int i = 0; i < train.count(); i++) want[train.label(i)]++;
        for (int i = 0; i < test.count(); i++) want[test.label(i)]++;
        assertThat(ds.manifest().classRows()).containsExactly(java.util.Arrays.stream(want).boxed().toArray(Long[]::new));

        List<Row> rows = ds.rows(session()).collectAsList();
        assertThat(rows).hasSize(12_000);
        assertThat(rows.stream().map(x -> x.<String>getAs("key")).distinct().count()).isEqualTo(12_000);
        for (Row row : rows.subList(0, 300)) {
            String key = row.getAs("key");
            ImageSet set = key.startsWith("train/") ? train : test;
            int i = Integer.parseInt(key.substring(key.indexOf('/') + 1));
            assertThat(row.<Integer>getAs("label")).as(key).isEqualTo(set.label(i));
            assertThat(row.<String>getAs("class_name")).isEqualTo(FashionMnist.CLASSES[set.label(i)]);
            ImageDecode.Pixels g = ImageDecode.gray(row.getAs("image"));
            byte[] px = new byte[784];
            for (int k = 0; k < 784; k++) px[k] = (byte) Math.round(set.pixel(i, k / 28, k % 28, 0) * 255);
            assertThat(g.data()).as(key + " lossless").isEqualTo(px);
        }
    }

    @Test
    void imagenetValLayoutIsLabelledThroughTheTrainClassMap() throws Exception {
        assertThat(first.code()).as(first.err()).isZero();
        Path val = tmp.resolve("val");
        Files.createDirectories(val);
        byte[] img = TestImages.jpeg(TestImages.gradientImage(300, 200), 90, false);
        for (int i = 1; i <= 4; i++) Files.write(val.resolve(String.format("ILSVRC2012_val_%08d.JPEG", i)), img);
        Path labels = tmp.resolve("LOC_val_solution.csv");
        Files.writeString(labels, "ImageId,PredictionString\n"
                + "ILSVRC2012_val_00000001,n01443537 10 20 100 120 n01443537 5 5 50 50 \n"
                + "ILSVRC2012_val_00000002,n01440764 1 2 3 4 \n"
                + "ILSVRC2012_val_00000003,n09999999 1 2 3 4 \n");   // 4 has no label; 3's synset is unknown
        Path out = tmp.resolve("val-ds");
        CliTest.Run r = CliTest.run("preprocess", "--source", val.toString(), "--output", out.toString(),
                "--kind", "imagenet-val", "--labels", labels.toString(), "--classes", trainOut.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.summary().get("accepted").asLong()).isEqualTo(2);
        assertThat(r.summary().get("rejected").asLong()).isEqualTo(2);
        DatasetDir ds = DatasetDir.open(session(), out.toString());
        assertThat(ds.manifest().classes()).isEqualTo(DatasetDir.open(session(), trainOut.toString()).manifest().classes());
        Map<String, Integer> got = ds.rows(session()).collectAsList().stream()
                .collect(Collectors.toMap(x -> x.getAs("key"), x -> x.getAs("label")));
        assertThat(got).isEqualTo(Map.of("ILSVRC2012_val_00000001.JPEG", 1, "ILSVRC2012_val_00000002.JPEG", 0));
        assertThat(ds.manifest().splits()).containsOnlyKeys("val");
        String rejects = Files.readString(out.resolve("_rejects.json"));
        assertThat(rejects).contains("n09999999").contains("no label for ImageId ILSVRC2012_val_00000004");
    }

    @Test
    void inspectPrintsTheSummaryAndWritesAContactSheet() throws Exception {
        assertThat(first.code()).as(first.err()).isZero();
        Path sheet = tmp.resolve("sheets/train.png");
        CliTest.Run r = CliTest.run("dataset", "inspect", trainOut.toString(), "--sheet", sheet.toString(), "--verify",
                "--columns", "4");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode s = r.summary();
        assertThat(s.get("command").asText()).isEqualTo("dataset inspect");
        assertThat(s.get("rows").asLong()).isEqualTo(first.summary().get("accepted").asLong());
        assertThat(s.get("verified").asBoolean()).isTrue();
        assertThat(r.err()).contains("n01440764").contains("converted 3");
        java.awt.image.BufferedImage img = javax.imageio.ImageIO.read(sheet.toFile());
        assertThat(img.getWidth()).isEqualTo(4 * 100 + 4);              // 4 columns of 96 px + padding
        assertThat(img.getHeight()).isEqualTo(3 * (96 + 16 + 4) + 4);   // 9 images → 3 rows with captions

        CliTest.Run missing = CliTest.run("dataset", "inspect", tmp.resolve("not-a-dataset").toString());
        assertThat(missing.code()).isEqualTo(ExitCodes.DATA);
        assertThat(missing.err()).contains("not-a-dataset");
    }

    @Test
    void badConfigValueNamesTheKey() {
        CliTest.Run r = CliTest.run("preprocess", "--source", tree.toString(), "--output", tmp.resolve("x").toString(),
                "--set", "preprocess.jpeg.quality=101");
        assertThat(r.code()).isEqualTo(ExitCodes.CONFIG);
        assertThat(r.err()).contains("mim.preprocess.jpeg.quality").contains("101").contains("[1, 100]");
        CliTest.Run missing = CliTest.run("preprocess", "--source", tmp.resolve("nope").toString(), "--output",
                tmp.resolve("y").toString(), "--kind", "tree");
        assertThat(missing.code()).isEqualTo(ExitCodes.DATA);
        assertThat(missing.err()).contains("nope");
    }

    static void copyDir(Path from, Path to) throws Exception {
        try (var s = Files.walk(from)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path d = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(d);
                else Files.copy(p, d);
            }
        }
    }
}
