package org.sparkmim.job.pretrain;

import org.sparkmim.job.deploy.LocalCluster;
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
    static LocalCluster cluster;

    @BeforeAll
    static void start() throws Exception {
        cluster = LocalCluster.start(tmp.resolve("cluster"), 2);
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
        return cluster.submitEnv(executors, LocalCluster.freePort());
    }

    @Test
    void twoExecutorsShareGradientsAndTheProbeLossFallsInEveryChunk() throws Exception {
        Path run = tmp.resolve("train");
        Process p = cluster.submit("train", env(2), job(run));
        int rc = LocalCluster.await(p, JOB_TIMEOUT);
        String err = LocalCluster.read(cluster.log("train.err"));
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

        // both executors trained, the same number of minibatches each (the epoch plan gives every worker
        // batch / workers images of every global step), in every chunk
        for (JsonNode rec : m) {
            JsonNode per = rec.get("minibatches_per_executor");
            assertThat(per.size()).as("executors that trained in %s", rec).isEqualTo(2);
            var counts = new java.util.ArrayList<Integer>();
            per.forEach(n -> counts.add(n.asInt()));
            assertThat(counts.get(0)).isPositive().isEqualTo(counts.get(1));
        }
        // and they exchanged updates over Aeron: each joined the driver's mesh from its own address
        assertThat(err).contains("Adding UDP connection: [aeron:udp?endpoint=127.0.0.2:")
                .contains("Adding UDP connection: [aeron:udp?endpoint=127.0.0.3:");
        // each executor encoded with BitmapSharing (spark.encoder = java), not DL4J's handler
        try (var files = Files.walk(cluster.log(""))) {
            long executors = files.filter(f -> f.getFileName().toString().equals("stderr")).filter(f -> {
                try {
                    return LocalCluster.read(f).contains("Java bitmap encoder in place of ND4J's");
                } catch (java.io.IOException e) {
                    return false;
                }
            }).count();
            assertThat(executors).as("executor logs with the Java encoder").isGreaterThanOrEqualTo(2);
        }
    }

    /**
     * Two workers train as well as one JVM at equal steps (issue 11): MAE-small at patch 7 and global batch 256, the
     * {@code fmnist-quality} setting, for 117 steps (3 epochs of the bundled sample), then the same probe batch scored
     * on the JVM engine's last checkpoint and on the 2-worker run's. Measured 2026-12-06 on the sample: 1 worker
     * (local) 0.6519, 2 workers with spark.step-sync = 1 (synchronous, the default) 0.6586, +1.0%; with 0 (DL4J's
     * asynchronous sharing: each worker's gradient misses the other's last step) 0.6737, +3.3%. At full scale the
     * same difference was 81.46 / 81.60 against 78.66 / 79.64 kNN / probe (JVM 81.88 / 82.39; docs/RESULTS.md).
     */
    @Test
    void twoWorkersReachTheJvmEnginesProbeLossAtEqualSteps() throws Exception {
        Map<String, String> setting = new java.util.LinkedHashMap<>();
        for (String kv : List.of("model.size=small", "model.patch=7", "method.mask-ratio=0.5", "method.norm-pix=true",
                "optim.batch=256", "optim.steps=117", "optim.base-lr=1e-3", "optim.min-lr=1e-6",
                "optim.warmup-epochs=0.5", "optim.weight-decay=0.05", "eval.recon-every=0", "eval.online-knn-every=0",
                "spark.probe-images=256", "spark.chunks-per-epoch=1")) {
            setting.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
        }
        org.sparkmim.model.config.MimConfig base = org.sparkmim.model.config.MimConfig.load(setting);
        var method = org.sparkmim.model.method.Methods.create(base);
        var probe = method.prepare(org.sparkmim.model.train.Trainer.batch(TrainSource.idx(base).probe(256), 0, base));

        Path run = tmp.resolve("parity-2w");
        List<String> args = new ArrayList<>(List.of("pretrain", "--run-dir", run.toUri().toString()));
        setting.forEach((k, v) -> args.addAll(List.of("--set", k + "=" + v)));
        Process p = cluster.submit("parity", env(2), args);
        // the JVM engine in this process meanwhile
        var train = org.sparkmim.model.data.FashionMnist.load(org.sparkmim.model.data.FashionMnist.locate(""), "train");
        var jvm = new org.sparkmim.model.train.Trainer(base, train, tmp.resolve("parity-jvm")).run();
        int rc = LocalCluster.await(p, JOB_TIMEOUT);
        assertThat(rc).as("exit code; driver log:\n%s", tail(LocalCluster.read(cluster.log("parity.err")))).isZero();
        JsonNode summary = lastJson(cluster.log("parity.out"));
        assertThat(summary.get("workers").asInt()).isEqualTo(2);
        assertThat(summary.get("steps").asLong()).isEqualTo(117);
        assertThat(jvm.steps()).isEqualTo(117);

        double jvmLoss = SparkPretrain.probeLoss(org.sparkmim.model.train.Checkpoints.load(jvm.checkpoint()), probe);
        double sparkLoss = SparkPretrain.probeLoss(org.sparkmim.model.train.Checkpoints.load(
                Path.of(java.net.URI.create(summary.get("checkpoint").asText()))), probe);
        System.err.printf("parity, 2 workers: jvm %.4f spark %.4f (%+.2f%%)%n", jvmLoss, sparkLoss,
                100 * (sparkLoss - jvmLoss) / jvmLoss);
        assertThat(sparkLoss).as("2 workers' probe loss vs the JVM engine's %.4f", jvmLoss)
                .isLessThan(jvmLoss * 1.02);
        for (JsonNode m : metrics(run)) {
            assertThat(m.get("update_vs_dense").asDouble()).as("bytes per update in %s", m).isLessThanOrEqualTo(1 / 16.0 + 1e-3);
        }
    }

    /**
     * Fault (a), survived by OUR RESUME, not by Spark: Spark does retry the lost task on the surviving executor
     * and the fit returns normally, but gradient sharing is broken from then on (measured before ExecutorWatch:
     * 0 updates reached the driver in every later chunk, the model stopped changing, exit code 0). So the driver
     * discards the chunk, starts a new application and resumes from the last complete checkpoint
     * (mim.spark.max-restarts). Deterministic: the kill lands while chunk 2 trains, after checkpoint 1 is published;
     * 250 ms of sleep per step keeps chunk 2 training for over 4 s (unslowed it once took 4 s, and the kill 3 s after
     * the checkpoint landed between chunks, where the run then hung in DL4J's rejoin before SparkPretrain checked for
     * losses before each chunk too).
     */
    @Test
    void executorKilledMidEpochRestartsFromTheLastCheckpoint() throws Exception {
        Path run = tmp.resolve("exec-kill");
        Process p = cluster.submit("exec-kill", env(2), job(run, "debug.step-sleep-ms=250"));
        awaitFile(p, run.resolve("metrics.jsonl"));         // chunk 1 done, its checkpoint follows
        awaitLog(p, "exec-kill.err", "checkpoint file:");    // published; chunk 2 starts training now
        Thread.sleep(3000);
        List<ProcessHandle> execs = cluster.executors();
        assertThat(execs).as("executor JVMs").hasSize(2);
        LocalCluster.kill(execs.get(0));

        int rc = LocalCluster.await(p, JOB_TIMEOUT);
        String err = LocalCluster.read(cluster.log("exec-kill.err"));
        assertThat(rc).as("exit code; driver log:\n%s", tail(err)).isZero();
        assertThat(err).contains("restart 1 of mim.spark.max-restarts");
        JsonNode summary = lastJson(cluster.log("exec-kill.out"));
        assertThat(summary.get("restarts").asInt()).isEqualTo(1);
        List<JsonNode> m = metrics(run);
        long firstStep = m.get(0).get("step").asLong();
        assertThat(summary.get("resumed_from_step").asLong()).isEqualTo(firstStep);
        assertThat(m).hasSize(4); // chunk 1, then chunks 2-4 after the restart; the broken chunk 2 left no record
        for (JsonNode r : m) assertThat(r.get("param_change").asDouble()).isPositive();
        assertThat(m.get(3).get("probe_loss").asDouble()).isLessThan(m.get(0).get("probe_loss").asDouble());
    }

    /**
     * Fault (b): the driver dies between uploading checkpoint 2's temporary file and renaming it. The next
     * submission resumes from checkpoint 1 (the last complete one), ignores the stray temporary file, and finishes.
     */
    @Test
    void driverKilledDuringCheckpointWriteResumesFromTheLastCompleteOne() throws Exception {
        Path run = tmp.resolve("driver-kill");
        Path ckpts = run.resolve("checkpoints");
        Process p = cluster.submit("driver-kill-1", env(2), job(run, "debug.pause-in-checkpoint-ms=4000"));
        awaitLog(p, "driver-kill-1.err", "checkpoint file:"); // checkpoint 1 published (after its pause)
        Path tmp2 = awaitFile(p, ckpts, ".ckpt-", ".zip.tmp");  // checkpoint 2 uploaded, rename pending
        LocalCluster.kill(p.toHandle());
        p.waitFor();
        List<String> left = names(ckpts);
        assertThat(left).as("checkpoints when the driver died").hasSize(2).contains(tmp2.getFileName().toString());
        String complete = left.stream().filter(n -> n.startsWith("ckpt-")).findFirst().orElseThrow();

        Process again = cluster.submit("driver-kill-2", env(2), job(run));
        int rc = LocalCluster.await(again, JOB_TIMEOUT);
        assertThat(rc).as("exit code; driver log:\n%s", tail(LocalCluster.read(cluster.log("driver-kill-2.err")))).isZero();
        JsonNode summary = lastJson(cluster.log("driver-kill-2.out"));
        assertThat("ckpt-" + summary.get("resumed_from_step").asLong() + ".zip").isEqualTo(complete);
        assertThat(summary.get("epochs").asInt()).isEqualTo(2);
        assertThat(names(ckpts)).noneMatch(n -> n.endsWith(".tmp")).contains("ckpt-" + summary.get("steps").asLong() + ".zip");
    }

    /** Fault (c): a NaN in chunk 2's data stops the run with exit code 4; checkpoint 1 stays, nothing after it. */
    @Test
    void nanStopsTheRunWithExitCode4AndKeepsTheLastGoodCheckpoint() throws Exception {
        Path run = tmp.resolve("nan");
        Process p = cluster.submit("nan", env(2), job(run, "debug.nan-at-chunk=1", "optim.epochs=1"));
        int rc = LocalCluster.await(p, JOB_TIMEOUT);
        String err = LocalCluster.read(cluster.log("nan.err"));
        assertThat(rc).as("exit code; driver log:\n%s", tail(err)).isEqualTo(4);
        assertThat(err).contains("diverged").containsPattern("last good checkpoint: \\S*ckpt-\\d+\\.zip");
        assertThat(names(run.resolve("checkpoints"))).hasSize(1).allMatch(n -> n.matches("ckpt-\\d+\\.zip"));
    }

    static List<String> names(Path dir) throws IOException {
        try (var s = Files.list(dir)) {
            return s.map(f -> f.getFileName().toString()).sorted().toList();
        }
    }

    /** Waits (while the job runs) for a file in dir named prefix*suffix. */
    static Path awaitFile(Process job, Path dir, String prefix, String suffix) throws Exception {
        while (job.isAlive()) {
            if (Files.isDirectory(dir)) {
                for (String n : names(dir)) if (n.startsWith(prefix) && n.endsWith(suffix)) return dir.resolve(n);
            }
            Thread.sleep(100);
        }
        throw new AssertionError("job exited (" + job.exitValue() + ") before " + dir + "/" + prefix + "*" + suffix + " appeared");
    }

    static Path awaitFile(Process job, Path file) throws Exception {
        return awaitFile(job, file.getParent(), file.getFileName().toString(), "");
    }

    static void awaitLog(Process job, String log, String text) throws Exception {
        while (job.isAlive()) {
            if (LocalCluster.read(cluster.log(log)).contains(text)) return;
            Thread.sleep(100);
        }
        throw new AssertionError("job exited (" + job.exitValue() + ") before its log showed '" + text + "'");
    }

    /** The per-chunk training records (the epoch-end hooks' records, e.g. online kNN, are left out). */
    static List<JsonNode> metrics(Path run) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String l : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            JsonNode n = JSON.readTree(l);
            if (n.has("probe_loss")) out.add(n);
        }
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
