package org.sparkmim.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The CLI as a scheduler sees it: exit codes and the JSON summary on the last stdout line. */
class CliTest {

    record Run(int code, String out, String err) {
        JsonNode summary() throws Exception {
            String[] lines = out.strip().split("\n");
            return new ObjectMapper().readTree(lines[lines.length - 1]);
        }
    }

    /**
     * A short A2MIM pretraining of a width-4 ResNet on the bundled sample through the JVM engine, into dir/name; the
     * shape and length keys come from {@code more} (e.g. "optim.steps=8", "data.train-limit=256").
     */
    static Run a2mimResNet(java.nio.file.Path dir, String name, String... more) {
        java.util.List<String> a = new java.util.ArrayList<>(java.util.List.of("pretrain", "--engine", "jvm",
                "--set", "model.backbone=resnet", "--set", "method.name=a2mim", "--set", "model.resnet.width=4",
                "--set", "run.dir=" + dir, "--set", "run.name=" + name, "--set", "eval.online-knn-every=0",
                "--set", "eval.recon-every=0"));
        for (String kv : more) a.addAll(java.util.List.of("--set", kv));
        Run r = run(a.toArray(String[]::new));
        org.assertj.core.api.Assertions.assertThat(r.code()).as(r.err()).isZero();
        return r;
    }

    static synchronized Run run(String... args) {
        PrintStream o = System.out, e = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true));
            System.setErr(new PrintStream(err, true));
            int code = Main.run(args);
            return new Run(code, out.toString(), err.toString());
        } finally {
            System.setOut(o);
            System.setErr(e);
        }
    }

    @Test
    void pretrainEndsWithJsonSummaryAndRunDirectory(@TempDir Path tmp) throws Exception {
        Run r = run("pretrain", "--engine", "jvm", "--set", "model.dim=32", "--set", "model.depth=1", "--set", "model.heads=2",
                "--set", "optim.batch=32", "--set", "optim.epochs=1", "--set", "data.train-limit=256",
                "--set", "run.dir=" + tmp, "--set", "run.name=cli", "--set", "run.log-every=2");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode s = r.summary();
        assertThat(s.get("command").asText()).isEqualTo("pretrain");
        assertThat(s.get("steps").asInt()).isEqualTo(8);
        assertThat(s.get("final_loss").asDouble()).isPositive();
        Path dir = Path.of(s.get("run_dir").asText());
        assertThat(dir).isEqualTo(tmp.resolve("cli").toAbsolutePath());
        // 4 training records, then the epoch-end record of the default hooks (online kNN)
        List<String> metrics = Files.readAllLines(dir.resolve("metrics.jsonl"));
        assertThat(metrics).hasSize(5);
        assertThat(metrics.get(4)).contains("knn_top1");
        assertThat(dir.resolve("report.html")).exists();
        assertThat(dir.resolve("config.conf")).exists();
        assertThat(Path.of(s.get("checkpoint").asText())).exists();
    }

    @Test
    void benchPrintsTrainingAndFeatureThroughputWithTheirFlops() throws Exception {
        Run r = run("bench", "--warmup", "1", "--windows", "1", "--steps", "1", "--set", "model.size=small",
                "--set", "optim.batch=64", "--set", "eval.extract-batch=64");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode s = r.summary();
        assertThat(s.get("img_per_s").asDouble()).isPositive();
        assertThat(s.get("mfu").asDouble()).isBetween(0.0, 1.0);
        assertThat(s.get("features_img_per_s").asDouble()).isPositive();
        // MAE-small at p4: the feature pass runs the encoder on all 1+49 tokens, the training step on 1+12 plus the
        // decoder on 1+49, three times (forward + backward): about the same FLOPs per image
        double ratio = s.get("gflop_per_img").asDouble() / s.get("features_gflop_per_img").asDouble();
        assertThat(ratio).isBetween(0.9, 1.1);
        assertThat(r.err()).contains("features ").contains("GFLOP/img forward");
        assertThat(s.get("sharing_worker_ms").isNull()).isTrue(); // only with --sharing
    }

    @Test
    void benchSharingPricesEveryStageOfGradientSharingForTheModel() throws Exception {
        Run r = run("bench", "--sharing", "--warmup", "1", "--windows", "1", "--steps", "1", "--preset", "fmnist-quality",
                "--set", "data.path=", "--set", "optim.batch=64", "--set", "eval.extract-batch=64");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode s = r.summary();
        // the preset's model, not bench's default MAE-tiny (which used to override it)
        assertThat(s.get("model").asText()).contains("p=7").contains("D=128x6");
        assertThat(s.get("batch").asInt()).isEqualTo(64);
        assertThat(s.get("sharing_worker_ms").asDouble()).isPositive();
        assertThat(s.get("sharing_receiver_ms").asDouble()).isPositive();
        // DL4J's bitmap message: 2 bits per parameter plus Java serialization's header, at most 1/16 of fp32
        assertThat(s.get("sharing_message_vs_dense").asDouble()).isBetween(0.0625, 0.0635);
        assertThat(r.err()).contains("bitmap encode").contains("serialize + split for the transport")
                .contains("local catch-up").contains("on the training thread");
    }

    @Test
    void badConfigValueExitsWithCode2AndNamesTheKey() {
        Run r = run("pretrain", "--set", "method.mask-ratio=1.2");
        assertThat(r.code()).isEqualTo(ExitCodes.CONFIG);
        assertThat(r.err()).contains("mim.method.mask-ratio").contains("1.2");
    }

    @ParameterizedTest(name = "{0} on {1}")
    @org.junit.jupiter.params.provider.CsvSource({"emae,jvm", "sbam,jvm", "ropim,jvm", "a2mim,jvm", "emae,spark", "sbam,spark", "mae,spark", "ropim,spark", "a2mim,spark"})
    void pretrainRunsEveryMethodByNameOnBothEngines(String method, String engine, @TempDir Path tmp) throws Exception {
        Run r = run("pretrain", "--engine", engine, "--set", "mim.method.name=" + method, "--set", "model.patch=7", "--set", "model.dim=16",
                "--set", "model.depth=1", "--set", "model.heads=2", "--set", "model.decoder-dim=16",
                "--set", "model.decoder-depth=1", "--set", "optim.batch=16", "--set", "optim.epochs=1",
                "--set", "data.train-limit=64", "--set", "run.dir=" + tmp, "--set", "run.log-every=2");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode s = r.summary();
        assertThat(s.get("method").asText()).isEqualTo(method);
        assertThat(s.get("steps").asInt()).isEqualTo(4);
        assertThat(s.get("jvm".equals(engine) ? "final_loss" : "final_probe_loss").asDouble()).isPositive();
    }

    /**
     * The ResNet backbone end to end as a user runs it: A2MIM pretrain through Spark gradient sharing, then evaluate
     * reads the ResNet's pooled last stage (8 × width channels); a ViT-only feature and a ViT-only method are refused
     * with exit code 2, naming the keys.
     */
    @Test
    void resnetPretrainsOnSparkAndEvaluates(@TempDir Path tmp) throws Exception {
        Run r = run("pretrain", "--engine", "spark", "--set", "method.name=a2mim", "--set", "model.backbone=resnet",
                "--set", "model.resnet.width=4", "--set", "optim.batch=32", "--set", "optim.epochs=1",
                "--set", "data.train-limit=128", "--set", "run.dir=" + tmp, "--set", "run.name=rn", "--set", "run.log-every=2",
                "--set", "eval.online-bank=200", "--set", "eval.online-queries=100");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.summary().get("steps").asInt()).isEqualTo(4);
        Path dir = Path.of(r.summary().get("run_dir").asText());
        assertThat(Files.readString(dir.resolve("config.conf"))).contains("backbone").contains("resnet");
        Run ev = run("evaluate", "--checkpoint", dir.toString(), "--master", "local[2]", "--train-limit", "400",
                "--test-limit", "200", "--set", "eval.probe-epochs=3", "--set", "eval.pool-grid=1");
        assertThat(ev.code()).as(ev.err()).isZero();
        JsonNode e = new ObjectMapper().readTree(dir.resolve("eval.json").toFile());
        assertThat(e.at("/encoder/feature_dim").asInt()).isEqualTo(32);
        assertThat(ev.summary().get("knn_top1").asDouble()).isBetween(0.1, 1.0);
        Run cls = run("evaluate", "--checkpoint", dir.toString(), "--feature", "cls");
        assertThat(cls.code()).isEqualTo(ExitCodes.CONFIG);
        assertThat(cls.err()).contains("model.backbone = resnet");
        Run mae = run("pretrain", "--set", "model.backbone=resnet");
        assertThat(mae.code()).isEqualTo(ExitCodes.CONFIG);
        assertThat(mae.err()).contains("mim.method.name").contains("mim.model.backbone");
    }

    @Test
    void emaePartsThatDoNotDivideTheTokensExitWithCode2() {
        Run r = run("pretrain", "--set", "mim.method.name=emae");       // 28 px / patch 4: N = 49
        assertThat(r.code()).isEqualTo(ExitCodes.CONFIG);
        assertThat(r.err()).contains("mim.method.emae.parts").contains("[7, 49]");
    }

    @Test
    void missingDatasetExitsWithCode3AndSaysHowToFixIt(@TempDir Path tmp) {
        Run r = run("pretrain", "--set", "data.path=" + tmp.resolve("no-such-dir"));
        assertThat(r.code()).isEqualTo(ExitCodes.DATA);
        assertThat(r.err()).contains("no-such-dir").contains("data.path").contains("dataset-fashion-mnist");
    }

    @Test
    void unknownCommandIsAUsageError() {
        assertThat(run("frobnicate").code()).isEqualTo(ExitCodes.CONFIG);
    }
}
