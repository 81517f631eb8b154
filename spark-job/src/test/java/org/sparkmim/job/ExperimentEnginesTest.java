package org.sparkmim.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkmim.model.config.MimConfig;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * experiment engines end to end on the bundled Fashion-MNIST sample with a tiny model: the JVM engine and Spark
 * gradient sharing train the same config for the same steps, both are scored with evaluate's protocol against one
 * set of floors, and the table is written; each run in a JVM of its own, and speed rounds in alternating order.
 * (The quality bound between the engines is EngineParityTest's.)
 */
class ExperimentEnginesTest {

    @Test
    void trainsEachEngineForTheSameStepsAndScoresThemAgainstOneSetOfFloors(@TempDir Path tmp) throws Exception {
        Path sample = Home.dir().resolve("data").resolve("fashion-mnist-sample");
        Path results = tmp.resolve("RESULTS.md");
        Files.writeString(results, "# Measured results\n");
        Path out = tmp.resolve("eng");
        CliTest.Run r = CliTest.run("experiment", "engines", "--engines", "jvm,shared", "--steps", "20",
                "--eval-train", "1000", "--eval-test", "400", "--out", out.toString(), "--results", results.toString(),
                "--speed-rounds", "1",
                "--set", "data.path=" + sample, "--set", "data.train-limit=1024", "--set", "model.dim=32",
                "--set", "model.depth=1", "--set", "model.heads=2", "--set", "model.decoder-dim=32",
                "--set", "model.decoder-depth=1", "--set", "optim.batch=64", "--set", "eval.probe-epochs=5",
                "--set", "spark.chunks-per-epoch=2");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.summary().get("runs").asInt()).isEqualTo(2);

        JsonNode json = new ObjectMapper().readTree(out.resolve("engines.json").toFile());
        JsonNode rows = json.get("rows");
        assertThat(rows).hasSize(2);
        for (JsonNode row : rows) {
            String name = row.get("label").asText();
            assertThat(row.get("steps").asLong()).as(name + ": equal steps, no time budget").isEqualTo(20);
            assertThat(row.get("img_per_sec").asDouble()).as(name).isPositive();
            assertThat(row.get("knn_top1").asDouble()).as(name + " above chance").isGreaterThan(0.15);
            // every run scored the same config: the experiment's settings (global mean feature) reached the checkpoint
            Path runDir = Path.of(row.get("run_dir").asText());
            JsonNode eval = new ObjectMapper().readTree(runDir.resolve("eval.json").toFile());
            assertThat(eval.get("setup").get("feature").asText()).startsWith("mean");
            assertThat(eval.get("floors")).as(name + ": one set of floors").isEqualTo(json.get("floors"));
            MimConfig cfg = MimConfig.fromRendered(Files.readString(runDir.resolve("config.conf")), name, null, Map.of());
            assertThat(cfg.run.timeBudgetMinutes()).isZero();
        }
        JsonNode shared = rows.get(1);
        assertThat(shared.get("sync").asText()).isEqualTo("shared");
        assertThat(shared.get("zero_update_chunks").asInt()).as("every chunk applied updates").isZero();
        assertThat(shared.get("max_update_vs_dense").asDouble()).isPositive().isLessThanOrEqualTo(1 / 16.0 + 1e-3);

        // every row trained by `spark-mim pretrain` in a JVM of its own: its log is the child's, not this JVM's
        for (String tag : List.of("jvm", "shared", "speed-1-shared", "speed-1-jvm")) {
            assertThat(Files.readString(out.resolve("logs").resolve(tag + ".err"))).as(tag).contains("resolved config");
            assertThat(ExperimentEngines.lastJson(out.resolve("logs").resolve(tag + ".out")).get("steps").asLong())
                    .as(tag).isEqualTo(20);
        }
        // the speed round trained both rows again in the reverse order, and the medians are those of the two rounds
        JsonNode speed = json.get("speed");
        assertThat(speed.get("rounds")).hasSize(2);
        assertThat(speed.get("rounds").get(1).get("order").toString()).isEqualTo("[\"shared\",\"jvm\"]");
        double r0 = rows.get(1).get("img_per_sec").asDouble() / rows.get(0).get("img_per_sec").asDouble();
        JsonNode round1 = speed.get("rounds").get(1);
        double r1 = round1.get("shared").asDouble() / round1.get("jvm").asDouble();
        assertThat(speed.get("median_ratio_vs_jvm").get("shared").asDouble()).isCloseTo((r0 + r1) / 2, within(1e-9));
        assertThat(out.resolve("speed").resolve("1-jvm")).as("a speed run's checkpoints are not kept").doesNotExist();

        String md = Files.readString(out.resolve("engines.md"));
        assertThat(md).contains("| 1 | shared, jvm |", "| median | |");
        assertThat(md).contains("| jvm | jvm |", "| shared | spark local | shared | 1 | 20 |", "floors: raw pixels / random init");
        assertThat(Files.readString(results)).startsWith("# Measured results\n").contains("### Engines at equal steps");

        // the same command again resumes: finished rows are read back, not trained again
        CliTest.Run again = CliTest.run("experiment", "engines", "--engines", "jvm,shared", "--steps", "20",
                "--eval-train", "1000", "--eval-test", "400", "--out", out.toString(), "--no-results",
                "--set", "data.path=" + sample, "--set", "data.train-limit=1024", "--set", "model.dim=32",
                "--set", "model.depth=1", "--set", "model.heads=2", "--set", "model.decoder-dim=32",
                "--set", "model.decoder-depth=1", "--set", "optim.batch=64", "--set", "eval.probe-epochs=5",
                "--set", "spark.chunks-per-epoch=2");
        assertThat(again.code()).as(again.err()).isZero();
        assertThat(again.err()).contains("/jvm already trained and evaluated at step 20", "/shared already trained");
        JsonNode rows2 = new ObjectMapper().readTree(out.resolve("engines.json").toFile()).get("rows");
        for (int i = 0; i < 2; i++) {
            assertThat(rows2.get(i).get("knn_top1")).isEqualTo(rows.get(i).get("knn_top1"));
            assertThat(rows2.get(i).get("steps")).isEqualTo(rows.get(i).get("steps"));
        }
    }

    @Test
    void anUnknownEngineIsRefusedNamingTheAllowedOnes(@TempDir Path tmp) {
        CliTest.Run r = CliTest.run("experiment", "engines", "--engines", "jvm,horovod", "--out", tmp.toString(), "--no-results");
        assertThat(r.code()).isNotZero();
        assertThat(r.err()).contains("horovod", "jvm, averaging, shared");
    }
}
