package org.sparkmim.job;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkmim.job.tokenize.ParquetTokenTable;
import org.sparkmim.job.tokenize.TokenizeJob;
import org.sparkmim.job.tokenize.TokensManifest;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.data.FashionMnist;
import org.sparkmim.model.data.ImageSet;
import org.sparkmim.model.data.RawImage;

import javax.imageio.ImageIO;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * tokenize on the real bundled Fashion-MNIST sample through local Spark and MLlib's KMeans: every image gets exactly
 * one row of nearest-centroid ids, a second run refuses to overwrite, and MaPeT pretraining through Spark uses the
 * tokens, learns, and refuses tokens of another geometry or another dataset.
 */
class TokenizeCommandTest {
    @TempDir
    static Path tmp;
    static Path tokens;
    static CliTest.Run first;

    @BeforeAll
    static void tokenizeTheSample() {
        tokens = tmp.resolve("tokens");
        first = CliTest.run("tokenize", "--data", FashionMnist.locate("").toString(), "--output", tokens.toString(),
                "--k", "32", "--sample-patches", "20000", "--iterations", "5", "--set", "model.patch=7",
                "--progress-seconds", "1");
    }

    @Test
    void everyImageGetsOneRowOfNearestCentroidIds() throws Exception {
        assertThat(first.code()).as(first.err()).isZero();
        JsonNode s = first.summary();
        assertThat(s.get("command").asText()).isEqualTo("tokenize");
        assertThat(first.err()).contains("tokenize: ").contains(" images (").contains("ETA");
        ImageSet train = FashionMnist.load(FashionMnist.locate(""), "train"), test = FashionMnist.load(FashionMnist.locate(""), "test");
        TokensManifest m = ParquetTokenTable.manifest(new Configuration(), tokens.toString());
        assertThat(m.images()).isEqualTo(train.count() + test.count());
        assertThat(m.k()).isEqualTo(32);
        assertThat(m.patch()).isEqualTo(7);
        assertThat(m.sampledPatches()).isBetween(18000L, 22000L);
        assertThat(m.datasetFingerprint()).isEqualTo(TokenizeJob.datasetFingerprint(new Configuration(), FashionMnist.locate("").toString()));
        assertThat(m.shards().stream().mapToLong(TokensManifest.Shard::rows).sum()).isEqualTo(m.images());
        assertThat(m.codebookSha256()).isEqualTo(sha256(Files.readAllBytes(tokens.resolve(TokensManifest.CODEBOOK))));

        ParquetTokenTable t = ParquetTokenTable.read(new Configuration(), tokens.toString());
        float[][] centers = TokenizeJob.readCodebook(new Configuration(), tokens.toString());
        assertThat(centers).hasNumberOfRows(32);
        assertThat(centers[0]).hasSize(49);
        MimConfig cfg = MimConfig.load(Map.of("method.name", "mapet", "model.patch", "7"));
        int[] ids = new int[16];
        for (ImageSet set : List.of(train, test)) {
            for (int i = 0; i < set.count(); i++) {
                t.fill(set.key(i), ids, 0);                      // throws if an image has no row
                for (int id : ids) assertThat(id).isBetween(0, 31);
            }
            // the stored ids are the nearest centroids of the trainer's patches, recomputed here for a few images
            List<RawImage> few = new ArrayList<>();
            for (int i = 0; i < 5; i++) few.add(RawImage.of(set, i * 97));
            float[] x = patchVectors(few, cfg);
            for (int i = 0; i < few.size(); i++) {
                t.fill(few.get(i).key(), ids, 0);
                for (int p = 0; p < 16; p++) assertThat(ids[p]).isEqualTo(nearest(x, (i * 16 + p) * 49, centers));
            }
        }
        assertThat(ImageIO.read(tokens.resolve(TokenizeJob.CODEBOOK_PNG).toFile())).isNotNull();
        assertThat(ImageIO.read(tokens.resolve(TokenizeJob.PREVIEW_PNG).toFile())).isNotNull();
        // nothing left behind but the published directory
        try (var l = Files.list(tmp)) {
            assertThat(l.filter(p -> p.getFileName().toString().startsWith(".tokens")).toList()).isEmpty();
        }
    }

    @Test
    void aSecondRunRefusesToOverwrite() throws Exception {
        long before = Files.getLastModifiedTime(tokens.resolve(TokensManifest.FILE)).toMillis();
        CliTest.Run again = CliTest.run("tokenize", "--data", FashionMnist.locate("").toString(), "--output",
                tokens.toString(), "--k", "8", "--set", "model.patch=7");
        assertThat(again.code()).isNotZero();
        assertThat(again.err()).contains("already exists").contains("--overwrite");
        assertThat(Files.getLastModifiedTime(tokens.resolve(TokensManifest.FILE)).toMillis()).isEqualTo(before);
    }

    @Test
    void inspectChecksEveryRowCountsCodeUsageAndDrawsTheCodebookAndPreview() throws Exception {
        Path png = tmp.resolve("pictures").resolve("sample-codebook.png");
        CliTest.Run r = CliTest.run("dataset", "inspect", tokens.toString(), "--sheet", png.toString(), "--samples", "8");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode s = r.summary();
        TokensManifest m = ParquetTokenTable.manifest(new Configuration(), tokens.toString());
        assertThat(s.get("kind").asText()).isEqualTo("tokens");
        assertThat(s.get("rows").asLong()).isEqualTo(m.images());
        assertThat(s.get("distinct_keys").asLong()).isEqualTo(m.images());
        assertThat(s.get("bad_length_rows").asLong()).isZero();
        assertThat(s.get("codebook_sha256_matches").asBoolean()).isTrue();
        assertThat(s.get("ok").asBoolean()).isTrue();
        // the usage count against the test's own: distinct ids over every image's stored row
        ParquetTokenTable t = ParquetTokenTable.read(new Configuration(), tokens.toString());
        java.util.Set<Integer> seen = new java.util.HashSet<>();
        int[] ids = new int[16];
        for (String split : List.of("train", "test")) {
            ImageSet set = FashionMnist.load(FashionMnist.locate(""), split);
            for (int i = 0; i < set.count(); i++) {
                t.fill(set.key(i), ids, 0);
                for (int id : ids) seen.add(id);
            }
        }
        assertThat(s.get("codes_used").asInt()).isEqualTo(seen.size());
        assertThat(s.get("perplexity").asDouble()).isGreaterThan(1.0).isLessThanOrEqualTo(seen.size());
        // the 8 preview images are drawn from their stored rows, and the codebook reassigns each of them identically
        assertThat(s.get("preview_images").asInt()).isEqualTo(8);
        assertThat(s.get("preview_reproduced").asInt()).isEqualTo(8);
        var codebook = ImageIO.read(png.toFile());
        assertThat(codebook.getWidth()).isEqualTo(6 * (7 * 4 + 2));                   // ceil(sqrt(32)) cells of 7 px x4
        var preview = ImageIO.read(tmp.resolve("pictures").resolve("sample-preview.png").toFile());
        assertThat(preview.getWidth()).isEqualTo(4 * (2 * 28 + 2) * 4);                 // 4 pairs per row
        assertThat(preview.getHeight()).isEqualTo(2 * (28 + 1) * 4);
    }

    @Test
    void inspectRefusesATamperedCodebookAndAMissingShard() throws Exception {
        Path copy = tmp.resolve("tampered");
        try (var l = Files.list(tokens)) {
            Files.createDirectories(copy);
            for (Path f : l.toList()) Files.copy(f, copy.resolve(f.getFileName()));
        }
        byte[] cb = Files.readAllBytes(copy.resolve(TokensManifest.CODEBOOK));
        String text = new String(cb, java.nio.charset.StandardCharsets.UTF_8);
        int digit = text.indexOf("centers");
        while (!Character.isDigit(text.charAt(digit))) digit++;
        char d = text.charAt(digit);
        text = text.substring(0, digit) + (d == '9' ? '8' : (char) (d + 1)) + text.substring(digit + 1);
        Files.writeString(copy.resolve(TokensManifest.CODEBOOK), text);
        // Hadoop's local checksum file would catch the edit first (also an error naming the file); without it, as on
        // a store that keeps no .crc, the manifest's SHA-256 is what catches it
        Files.delete(copy.resolve("." + TokensManifest.CODEBOOK + ".crc"));
        CliTest.Run r = CliTest.run("dataset", "inspect", copy.toString(), "--sheet", tmp.resolve("t.png").toString());
        assertThat(r.code()).isNotZero();
        assertThat(r.err()).contains("codebook SHA-256 DIFFERS").contains("tokenize again");

        Files.write(copy.resolve(TokensManifest.CODEBOOK), cb);
        String shard = ParquetTokenTable.manifest(new Configuration(), copy.toString()).shards().get(0).file();
        Files.delete(copy.resolve(shard));
        CliTest.Run missing = CliTest.run("dataset", "inspect", copy.toString(), "--sheet", tmp.resolve("t.png").toString());
        assertThat(missing.code()).isNotZero();
        assertThat(missing.err()).contains(shard).contains("missing");
    }

    @Test
    void mapetPretrainsThroughSparkOnTheTokensAndRefusesOtherOnes() throws Exception {
        String[] common = {"--set", "method.name=mapet", "--set", "method.mapet.tokens=" + tokens, "--set", "model.dim=32",
                "--set", "model.depth=1", "--set", "model.heads=2", "--set", "optim.batch=32", "--set", "optim.steps=40",
                "--set", "optim.base-lr=4e-3", "--set", "optim.warmup-epochs=0.1", "--set", "data.train-limit=640",
                "--set", "run.dir=" + tmp, "--set", "eval.online-knn-every=0", "--set", "eval.recon-every=0",
                "--set", "spark.probe-images=128"};
        CliTest.Run r = CliTest.run(concat(new String[]{"pretrain", "--set", "model.patch=7", "--set", "run.name=mapet"}, common));
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode s = r.summary();
        assertThat(s.get("engine").asText()).isEqualTo("spark");
        assertThat(s.get("method").asText()).isEqualTo("mapet");
        assertThat(s.get("steps").asInt()).isEqualTo(40);
        // mean cross-entropy per predicted token on the held-out probe: starts near ln 32 = 3.47 and falls
        assertThat(s.get("final_probe_loss").asDouble()).isLessThan(0.9 * s.get("first_probe_loss").asDouble());

        CliTest.Run geometry = CliTest.run(concat(new String[]{"pretrain", "--set", "model.patch=4", "--set", "run.name=p4"}, common));
        assertThat(geometry.code()).isNotZero();
        assertThat(geometry.err()).contains("mim.method.mapet.tokens").contains("patch 7").contains("model.patch=4");

        // the same sample with one training pixel changed is another dataset
        Path other = tmp.resolve("other-idx");
        Files.createDirectories(other);
        try (var l = Files.list(FashionMnist.locate(""))) {
            for (Path f : l.filter(f -> f.getFileName().toString().endsWith(".gz")).toList()) {
                byte[] raw;
                try (var in = new GZIPInputStream(Files.newInputStream(f))) {
                    raw = in.readAllBytes();
                }
                if (f.getFileName().toString().startsWith("train-images")) raw[16 + 400] ^= 0x55;
                ByteArrayOutputStream bo = new ByteArrayOutputStream();
                try (var out = new GZIPOutputStream(bo)) {
                    out.write(raw);
                }
                Files.write(other.resolve(f.getFileName()), bo.toByteArray());
            }
        }
        CliTest.Run data = CliTest.run(concat(new String[]{"pretrain", "--engine", "jvm", "--set", "model.patch=7",
                "--set", "run.name=other", "--set", "data.path=" + other}, common));
        assertThat(data.code()).isNotZero();
        assertThat(data.err()).contains("another dataset").contains("idx:").contains(other.toString());

        // MaPeT's encoder is a plain ViT downstream: timm loads its export strictly and gives evaluate's features
        // (issue 16). Last, because it is skipped without a Python with timm (MIM_TIMM_PYTHON; .ci/run sets it).
        Path exported = tmp.resolve("mapet.safetensors");
        CliTest.Run export = CliTest.run("export", "--checkpoint", tmp.resolve("mapet").toString(), "--out", exported.toString());
        assertThat(export.code()).as(export.err()).isZero();
        ExportCommandTest.interop(tmp.resolve("mapet"), exported, 32);
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static float[] patchVectors(List<RawImage> images, MimConfig cfg) {
        var b = org.sparkmim.model.train.Trainer.batch(images, 0, cfg);
        float[] x = org.sparkmim.model.mae.MaeMethod.patchify(cfg.model, b);
        org.sparkmim.model.mae.Patchify.normalizePatches(x, 0, images.size() * cfg.model.tokens(), cfg.model.patchDim());
        return x;
    }

    /** Brute force, in double: the test's own nearest-centroid search. */
    private static int nearest(float[] x, int off, float[][] centers) {
        int best = -1;
        double bestD = Double.MAX_VALUE;
        for (int c = 0; c < centers.length; c++) {
            double d = 0;
            for (int j = 0; j < centers[c].length; j++) d += Math.pow(x[off + j] - centers[c][j], 2);
            if (d < bestD) {
                bestD = d;
                best = c;
            }
        }
        return best;
    }

    private static String sha256(byte[] b) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(b));
    }
}
