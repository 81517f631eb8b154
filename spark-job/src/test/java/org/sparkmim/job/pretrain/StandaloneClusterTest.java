package org.sparkmim.job.pretrain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The pretrain job on a real Spark standalone cluster (Master 127.0.0.1, Workers 127.0.0.2 and 127.0.0.3, 1 core
 * each), submitted through deploy/submit-standalone.sh, with DL4J gradient sharing between the two executors:
 * training works, and the three faults of issue 4 are survived or reported.
 */
class StandaloneClusterTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Duration JOB_TIMEOUT = Duration.ofMinutes(10);

    @TempDir
    static Path tmp;
    static StandaloneCluster cluster;

    @BeforeAll
    static void start() throws Exception {
        cluster = StandaloneCluster.start(tmp.resolve("cluster"), 2);
    }

    @AfterAll
    static void stop() {
        if (cluster != null) cluster.close();
    }

    /** The small model and data of these tests: 4096 images, global batch 128 = 2 workers x 64, 2 chunks/epoch. */
    static List<String> job(Path runDir, String... extra) {
        List<String> a = new ArrayList<>(List.of("pretrain", "--run-dir", runDir.toUri().toString()));
        for (String kv : List.of("model.dim=64", "model.depth=2", "model.heads=4", "model.decoder-dim=32",
                "model.decoder-depth=1", "data.train-limit=4096", "optim.batch=128", "optim.epochs=2",
                "spark.chunks-per-epoch=2", "spark.probe-images=128")) {
            a.addAll(List.of("--set", kv));
        }
        for (String kv : extra) a.addAll(List.of("--set", kv));
        return a;
    }

    static Map<String, String> env(int executors) {
        return cluster.submitEnv(executors, StandaloneCluster.freePort());
    }

    @Test
    void twoExecutorsShareGradientsAndTheProbeLossFallsInEveryChunk() throws Exception {
        Path run = tmp.resolve("train");
        Process p = cluster.submit("train", env(2), job(run));
        int rc = StandaloneCluster.await(p, JOB_TIMEOUT);
        String err = Files.readString(cluster.log("train.err"));
        assertThat(rc).as("exit code; driver log:\n%s", tail(err)).isZero();

        JsonNode summary = lastJson(cluster.log("train.out"));
        assertThat(summary.get("workers").asInt()).isEqualTo(2);
        assertThat(summary.get("steps").asLong()).isBetween(56L, 64L); // 2 epochs x 32, minus drop_last remainders
        assertThat(summary.get("final_probe_loss").asDouble()).isLessThan(summary.get("first_probe_loss").asDouble() * 0.8);

        List<JsonNode> m = metrics(run);
        assertThat(m).hasSize(4);
        double prev = summary.get("first_probe_loss").asDouble();
        for (int i = 0; i < m.size(); i++) {
            // Before DriverUpdates, chunks whose update count was not a multiple of 32 left the driver's model
            // (the one probed and checkpointed) unchanged: param_change 0, probe loss flat.
            assertThat(m.get(i).get("param_change").asDouble()).as("driver weights change in chunk %d", i + 1).isPositive();
            assertThat(m.get(i).get("probe_loss").asDouble()).as("probe loss of chunk %d", i + 1).isLessThan(prev);
            assertThat(m.get(i).get("update_msgs").asLong()).as("updates received in chunk %d", i + 1).isPositive();
            prev = m.get(i).get("probe_loss").asDouble();
        }

        // both executors trained: DL4J's per-executor minibatch counts, after every fit
        Matcher mb = Pattern.compile("minibatches processed per JVM/executor: \\{(\\d+)=(\\d+), (\\d+)=(\\d+)}").matcher(err);
        assertThat(mb.find()).as("per-executor minibatch line in the driver log").isTrue();
        assertThat(Integer.parseInt(mb.group(2))).isPositive();
        assertThat(Integer.parseInt(mb.group(4))).isPositive();
        // and they exchanged updates over Aeron: each joined the driver's mesh from its own address
        String exec = cluster.executorLogs();
        assertThat(exec).contains("Initializing transport [127.0.0.2:").contains("Initializing transport [127.0.0.3:");
        assertThat(err).contains("Adding UDP connection: [aeron:udp?endpoint=127.0.0.2:")
                .contains("Adding UDP connection: [aeron:udp?endpoint=127.0.0.3:");
    }

    static List<JsonNode> metrics(Path run) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String l : Files.readAllLines(run.resolve("metrics.jsonl"))) out.add(JSON.readTree(l));
        return out;
    }

    static JsonNode lastJson(Path stdout) throws IOException {
        List<String> lines = Files.readAllLines(stdout);
        assertThat(lines).as("stdout of " + stdout).isNotEmpty();
        return JSON.readTree(lines.get(lines.size() - 1));
    }

    static String tail(String log) {
        String[] l = log.split("\n");
        return String.join("\n", java.util.Arrays.copyOfRange(l, Math.max(0, l.length - 60), l.length));
    }
}
