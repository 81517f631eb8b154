package org.sparkmim.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The user's path end to end through the CLI: a short real pretrain on the bundled sample, then evaluate on local
 * Spark, report and runs compare, with the files and the JSON summary a scheduler reads.
 */
class EvaluateCommandTest {
    @TempDir
    static Path tmp;
    static Path run;

    @BeforeAll
    static void pretrain() throws Exception {
        CliTest.Run r = CliTest.run("pretrain", "--set", "model.dim=32", "--set", "model.depth=2", "--set", "model.heads=2",
                "--set", "optim.batch=64", "--set", "optim.epochs=2", "--set", "data.train-limit=768", "--set", "run.dir=" + tmp,
                "--set", "run.name=short", "--set", "run.log-every=4", "--set", "eval.online-bank=400",
                "--set", "eval.online-queries=200", "--set", "eval.recon-images=3");
        assertThat(r.code()).as(r.err()).isZero();
        run = Path.of(r.summary().get("run_dir").asText());
        assertThat(Path.of(r.summary().get("report").asText())).isRegularFile();
        assertThat(run.resolve("recon/epoch-002.png")).isRegularFile();
        assertThat(Files.readString(run.resolve("metrics.jsonl"))).contains("knn_top1");
    }

    @Test
    void evaluateWritesEvalJsonConfusionAndRefreshesTheReport() throws Exception {
        CliTest.Run r = CliTest.run("evaluate", "--checkpoint", run.toString(), "--master", "local[2]", "--train-limit", "2000",
                "--test-limit", "500", "--feature", "lastk", "--set", "eval.last-k=2", "--set", "eval.probe-epochs=10");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode s = r.summary();
        assertThat(s.get("command").asText()).isEqualTo("evaluate");
        assertThat(s.get("verdict").asText()).isIn("PASS", "FAILED");
        assertThat(s.get("feature").asText()).isEqualTo("last2");
        assertThat(s.get("knn_top1").asDouble()).isBetween(0.2, 1.0);
        assertThat(s.at("/floors/pixels/knn_top1").asDouble()).isBetween(0.6, 1.0);
        JsonNode ev = new ObjectMapper().readTree(run.resolve("eval.json").toFile());
        assertThat(ev.at("/encoder/feature_dim").asInt()).isEqualTo(64);          // 2 blocks x dim 32
        assertThat(ev.at("/setup/train_images").asInt()).isEqualTo(2000);
        // the probe LR was chosen from eval.probe-lrs on a held-out slice of the train split
        assertThat(ev.at("/floors/pixels/probe_lr").asDouble()).isIn(1e-3, 3e-3, 1e-2);
        assertThat(ev.at("/setup/test_images").asInt()).isEqualTo(500);
        assertThat(ev.at("/provenance/step").asInt()).isEqualTo(24);
        assertThat(run.resolve("confusion.png")).isRegularFile();
        assertThat(Files.readString(run.resolve("report.html"))).contains("confusion.png", ev.get("verdict").asText());

        CliTest.Run rep = CliTest.run("report", run.toString());
        assertThat(rep.code()).as(rep.err()).isZero();
        assertThat(rep.summary().get("report").asText()).endsWith("report.html");

        CliTest.Run cmp = CliTest.run("runs", "compare", run.toString(), "--out", tmp.resolve("cmp.png").toString());
        assertThat(cmp.code()).as(cmp.err()).isZero();
        assertThat(cmp.out()).contains("short", ev.get("verdict").asText());
        assertThat(tmp.resolve("cmp.png")).isRegularFile();
        assertThat(cmp.summary().get("runs").get(0).get("verdict").asText()).isEqualTo(ev.get("verdict").asText());
    }

    @Test
    void holdoutScoresOnTheEndOfTheTrainSplitAndLeavesTheRunsEvaluationAlone() throws Exception {
        Path evalJson = run.resolve("eval.json");
        String before = Files.isRegularFile(evalJson) ? Files.readString(evalJson) : null;
        CliTest.Run r = CliTest.run("evaluate", "--checkpoint", run.toString(), "--master", "local[2]", "--train-limit", "1500",
                "--holdout", "300", "--set", "eval.probe-epochs=5", "--set", "eval.pool-grid=2");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.summary().get("feature").asText()).isEqualTo("mean-grid2");
        JsonNode ev = new ObjectMapper().readTree(run.resolve("eval-holdout").resolve("eval.json").toFile());
        assertThat(ev.at("/setup/train_images").asInt()).isEqualTo(1200);
        assertThat(ev.at("/setup/test_images").asInt()).isEqualTo(300);
        assertThat(ev.at("/setup/data").asText()).contains("holdout", "test split not read");
        assertThat(ev.at("/encoder/feature_dim").asInt()).isEqualTo(4 * 32);     // 2x2 cells x dim 32
        assertThat(ev.at("/floors/pixels/knn_top1").asDouble()).isBetween(0.5, 1.0);
        // the run's own evaluation (if the other test wrote one) is untouched
        if (before != null) assertThat(Files.readString(evalJson)).isEqualTo(before);
        CliTest.Run tooMany = CliTest.run("evaluate", "--checkpoint", run.toString(), "--train-limit", "500", "--holdout", "500");
        assertThat(tooMany.code()).isEqualTo(ExitCodes.CONFIG);
        assertThat(tooMany.err()).contains("--holdout 500", "allowed 1..499");
    }

    @Test
    void evaluateRefusesArchitectureOverridesAndMissingCheckpoints() {
        CliTest.Run arch = CliTest.run("evaluate", "--checkpoint", run.toString(), "--set", "model.dim=64");
        assertThat(arch.code()).isEqualTo(ExitCodes.CONFIG);
        assertThat(arch.err()).contains("cannot change model.*");
        CliTest.Run missing = CliTest.run("evaluate", "--checkpoint", tmp.resolve("nope").toString());
        assertThat(missing.code()).isEqualTo(ExitCodes.CONFIG);
        assertThat(missing.err()).contains("nope");
        CliTest.Run badFeature = CliTest.run("evaluate", "--checkpoint", run.toString(), "--feature", "max");
        assertThat(badFeature.code()).isEqualTo(ExitCodes.CONFIG);
        assertThat(badFeature.err()).contains("eval.feature").contains("max");
    }
}
