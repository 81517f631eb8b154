package org.sparkmim.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.train.Checkpoints;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * experiment compare end to end on the bundled Fashion-MNIST sample with a tiny model and a few-second budget:
 * every run is fitted to the budget, trains, gets a kNN curve from its own checkpoints and final scores, and the
 * table, plot and results rows are written.
 */
class ExperimentCompareTest {

    @Test
    void comparesMethodsUnderOneBudgetAndWritesTableCurvesAndResults(@TempDir Path tmp) throws Exception {
        Path sample = Home.dir().resolve("data").resolve("fashion-mnist-sample");
        Path results = tmp.resolve("RESULTS.md");
        Files.writeString(results, "# Measured results\n");
        CliTest.Run r = CliTest.run("experiment", "compare", "--methods", "mae,emae", "--sweep", "mae", "--ratios", "0.6",
                "--budget-minutes", "0.12", "--curve-points", "2", "--curve-bank", "500", "--curve-queries", "200",
                "--eval-train", "1000", "--eval-test", "400", "--out", tmp.resolve("cmp").toString(), "--results", results.toString(),
                "--set", "data.path=" + sample, "--set", "data.train-limit=2048", "--set", "model.dim=32", "--set", "model.depth=1",
                "--set", "model.heads=2", "--set", "model.decoder-dim=32", "--set", "model.decoder-depth=1",
                "--set", "optim.batch=64", "--set", "eval.probe-epochs=5");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode s = r.summary();
        assertThat(s.get("runs").asInt()).isEqualTo(3);

        Path dir = tmp.resolve("cmp");
        JsonNode cmp = new ObjectMapper().readTree(dir.resolve("compare.json").toFile());
        assertThat(cmp.get("runs")).hasSize(3);
        for (JsonNode run : cmp.get("runs")) {
            String name = run.get("run").asText();
            // the schedule was fitted to the budget from the method's own measured speed, and the run used it
            assertThat(run.get("planned_steps").asLong()).as(name).isPositive();
            assertThat(run.get("bench_img_per_s").asDouble()).as(name).isPositive();
            assertThat(run.get("mfu").asDouble()).as(name).isBetween(0.0, 1.0);
            Path runDir = Path.of(run.get("run_dir").asText());
            MimConfig cfg = MimConfig.fromRendered(Files.readString(runDir.resolve("config.conf")), name, null, Map.of());
            assertThat(cfg.optim.steps()).as(name).isEqualTo(run.get("planned_steps").asLong());
            assertThat(run.get("steps").asLong()).as(name).isPositive().isLessThanOrEqualTo(cfg.optim.steps());
            // curve: step 0 (random init) at 0 s, then the run's checkpoints in time order
            JsonNode curve = run.get("curve");
            assertThat(curve.size()).as(name).isGreaterThanOrEqualTo(2);
            assertThat(curve.get(0).get("seconds").asDouble()).isZero();
            for (int i = 1; i < curve.size(); i++) {
                assertThat(curve.get(i).get("seconds").asDouble()).as(name).isGreaterThan(curve.get(i - 1).get("seconds").asDouble());
                assertThat(curve.get(i).get("step").asLong()).isIn(Checkpoints.list(runDir).stream().map(Checkpoints::step).toList());
            }
            // above chance (10 classes) after a few seconds of training: features and labels stayed aligned
            assertThat(run.get("knn_top1").asDouble()).as(name).isGreaterThan(0.15);
            assertThat(run.get("probe_top1").asDouble()).as(name).isGreaterThan(0.15);
        }
        // EMAE on 49 tokens uses K = 7 (the only divisor of 49 near 4): per-part mask ratio 6/7
        JsonNode emae = cmp.get("runs").get(1);
        assertThat(emae.get("method").asText()).isEqualTo("emae");
        assertThat(emae.get("mask_ratio").asDouble()).isCloseTo(6 / 7.0, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(cmp.get("runs").get(2).get("mask_ratio").asDouble()).isEqualTo(0.6);
        assertThat(cmp.get("floors").get("pixels").get("knn_top1").asDouble()).isGreaterThan(0.6);

        String md = Files.readString(dir.resolve("compare.md"));
        assertThat(md).contains("| mae-75 |", "| emae-75 |", "| mae-60 |", "floor: raw pixels", "EMAE, time to MAE's accuracy: ");
        assertThat(Files.readString(results)).startsWith("# Measured results\n").contains("### experiment compare", "| emae-75 |");
        assertThat(javax.imageio.ImageIO.read(dir.resolve("compare.png").toFile()).getWidth()).isGreaterThan(500);
        assertThat(s.get("emae_claim").asText()).isNotBlank();
        assertThat(s.get("sbam_claim").asText()).startsWith("not measured");
    }

    @Test
    void unknownMethodIsRefusedNamingTheAllowedOnes(@TempDir Path tmp) {
        CliTest.Run r = CliTest.run("experiment", "compare", "--methods", "mae,simmim", "--out", tmp.toString(), "--no-results");
        assertThat(r.code()).isNotZero();
        assertThat(r.err()).contains("simmim").contains("allowed mae, block, emae, sbam, ropim, a2mim");
    }
}
