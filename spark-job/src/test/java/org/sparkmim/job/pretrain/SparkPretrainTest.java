package org.sparkmim.job.pretrain;

import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.parameterserver.distributed.v2.ModelParameterServer;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.train.Checkpoints;
import org.sparkmim.model.train.Trainer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The pretrain job on real Spark (local[2], two training partitions) with DL4J's training masters, on the
 * bundled Fashion-MNIST sample: the probe loss falls and the weights move under both sync modes; checkpoints
 * are published atomically and resume continues from the newest; a different architecture is refused by key;
 * a non-finite loss stops the run with the last good checkpoint kept.
 */
class SparkPretrainTest {
    static org.sparkmim.job.LocalSpark spark;
    static JavaSparkContext sc;

    @BeforeAll
    static void start() {
        spark = org.sparkmim.job.LocalSpark.start("SparkPretrainTest", "local[2]");
        sc = spark.javaContext();
    }

    @AfterAll
    static void stop() {
        if (spark != null) spark.close();
    }

    static MimConfig cfg(Map<String, String> extra) {
        Map<String, String> m = new HashMap<>(Map.of(
                "model.dim", "32", "model.depth", "1", "model.heads", "2", "model.decoder-dim", "16",
                "model.decoder-depth", "1", "model.decoder-heads", "2", "data.train-limit", "1024",
                "optim.batch", "64", "optim.base-lr", "2e-3", "spark.workers", "2"));
        m.put("spark.probe-images", "128");
        m.putAll(extra);
        return MimConfig.load(m);
    }

    static SparkPretrain.Result run(MimConfig c, Path dir) {
        return SparkPretrain.run(sc, c, SparkSettings.of(c), TrainSource.idx(c), dir.toUri().toString());
    }

    @Test
    void parameterAveragingTrainsChecksPointsAndResumes(@TempDir Path dir) {
        MimConfig c = cfg(Map.of("spark.sync", "averaging", "optim.epochs", "1", "optim.warmup-epochs", "0",
                "spark.chunks-per-epoch", "2"));
        SparkPretrain.Result r = run(c, dir);
        // 1024 images / 64 = 16 global steps, fewer when the seeded split over 2 workers is uneven (drop_last)
        assertThat(r.steps()).isBetween(12L, 16L);
        assertThat(r.lastProbe()).isLessThan(r.firstProbe() * 0.9);
        assertThat(Checkpoints.provenance(local(dir, r.steps()))).containsEntry("step", (int) r.steps())
                .containsEntry("epoch", 1).containsEntry("fingerprint", c.fingerprint());
        assertThat(dir.resolve("metrics.jsonl")).content().contains("\"probe_loss\"");

        // One more epoch: resume picks up step 16 and finishes at 32 with the same run directory.
        MimConfig c2 = cfg(Map.of("spark.sync", "averaging", "optim.epochs", "2", "optim.warmup-epochs", "0",
                "spark.chunks-per-epoch", "2"));
        SparkPretrain.Result r2 = run(c2, dir);
        assertThat(r2.resumedFromStep()).isEqualTo(r.steps());
        assertThat(r2.steps()).isBetween(r.steps() + 12, r.steps() + 16);
        assertThat(r2.epochs()).isEqualTo(2);
        assertThat(r2.lastProbe()).isLessThan(r.lastProbe());
        assertThat(Files.exists(local(dir, r2.steps()))).isTrue();

        // A different architecture in the same run dir is refused, naming the key.
        MimConfig wrong = cfg(Map.of("spark.sync", "averaging", "optim.epochs", "3", "model.dim", "48"));
        assertThatThrownBy(() -> run(wrong, dir)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("mim.model.dim").hasMessageContaining("resume refused");
    }

    @Test
    void gradientSharingMovesWeightsAndLowersProbeLossInEveryChunk(@TempDir Path dir) throws Exception {
        // local mode = one JVM = one gradient-sharing worker (see Preflight); the 2-executor case runs in
        // StandaloneClusterTest
        MimConfig c = cfg(Map.of("spark.sync", "shared", "spark.workers", "1", "optim.epochs", "2",
                "spark.chunks-per-epoch", "2", "spark.progress-seconds", "0"));
        List<String> progress;
        java.util.Set<Thread> before = Thread.getAllStackTraces().keySet();
        try (LogLines lines = LogLines.of(WorkerProgress.class)) {
            SparkPretrain.Result r = run(c, dir);
            progress = List.copyOf(lines.lines);
            checkSharedRun(r, dir);
            // the worker reports from inside the chunks (progress-seconds = 0: after every step but the first of
            // its JVM, which starts the clock), at the global step, up to the run's last one
            List<Long> steps = progress.stream().map(l -> Long.parseLong(l.replaceAll(".*: step (\\d+)/.*", "$1"))).toList();
            assertThat(steps).as(String.join("\n", progress)).hasSize((int) r.steps() - 1).isSorted()
                    .doesNotHaveDuplicates().endsWith(r.steps());
            assertThat(progress.get(0)).contains("worker driver: step 2/").contains("img/s per worker").contains("ETA");
        }
        // spark.local-transport = in-jvm (the default): every message reached the driver's replica (checkSharedRun
        // counts them) through InJvmTransport, and no Aeron media driver or receive loop was started for it
        assertThat(ModelParameterServer.getInstance().getTransport()).isInstanceOf(InJvmTransport.class);
        assertThat(transportThreads(before)).as("transport threads started by the run").isEmpty();
    }

    @Test
    void aeronTransportInLocalModeTrainsAndItsThreadsInheritTheTimerSlack(@TempDir Path dir) throws Exception {
        MimConfig c = cfg(Map.of("spark.sync", "shared", "spark.workers", "1", "optim.epochs", "1",
                "spark.local-transport", "aeron", "spark.port", "41745"));
        java.util.Set<Thread> before = Thread.getAllStackTraces().keySet();
        SparkPretrain.Result r = run(c, dir);
        assertThat(r.steps()).isBetween(14L, 16L);
        assertThat(r.lastProbe()).isLessThan(r.firstProbe() * 0.9);
        assertThat(ModelParameterServer.getInstance().getTransport().getClass().getSimpleName()).isEqualTo("AeronUdpTransport");
        // every step's message was counted by the driver, also when an earlier run in this JVM left its server up
        assertThat(updateMessages(dir)).isEqualTo(r.steps());
        List<Thread> started = transportThreads(before);
        assertThat(started).as("Aeron's threads").isNotEmpty();
        // DL4J's transport polls with 1 µs sleeps: its receive thread must have inherited the 1 ms timer slack
        // (spark.timer-slack-us) or it wakes ~17,000 times a second (TimerSlack)
        if (Files.exists(Path.of("/proc/self/timerslack_ns"))) {                     // Linux >= 4.6
            assertThat(TimerSlack.read()).as("this (the driver's) thread").isEqualTo(1_000_000L);
            Map<String, Long> slack = new java.util.TreeMap<>();
            try (var tasks = Files.list(Path.of("/proc/self/task"))) {
                for (Path t : tasks.toList()) {
                    String comm = Files.readString(t.resolve("comm")).trim();
                    if (comm.startsWith("MessagesExecut")) slack.put(t.getFileName() + " " + comm,
                            TimerSlack.read(Path.of("/proc", t.getFileName().toString(), "timerslack_ns")));
                }
            }
            assertThat(slack).as("DL4J's transport threads").isNotEmpty();
            assertThat(slack.values()).as("their timer slack, ns: %s", slack).allMatch(v -> v == 1_000_000L);
        }
    }

    /** Updates the driver counted over the run: the sum of metrics.jsonl's update_msgs. */
    private static long updateMessages(Path dir) throws java.io.IOException {
        long msgs = 0;
        for (String line : Files.readAllLines(dir.resolve("metrics.jsonl"))) {
            msgs += new com.fasterxml.jackson.databind.ObjectMapper().readTree(line).get("update_msgs").asLong();
        }
        return msgs;
    }

    /** Live threads not in {@code before} that belong to Aeron (media driver, client) or DL4J's Aeron transport. */
    private static List<Thread> transportThreads(java.util.Set<Thread> before) {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> !before.contains(t))
                .filter(t -> t.getName().matches("(aeron-client-|driver-)?conductor|sender|receiver|MessagesExecutorService.*"))
                .toList();
    }

    /** log4j2 events of one logger, collected while open (executors log in this JVM in local mode). */
    static final class LogLines extends org.apache.logging.log4j.core.appender.AbstractAppender implements AutoCloseable {
        final List<String> lines = new java.util.concurrent.CopyOnWriteArrayList<>();
        private final org.apache.logging.log4j.core.Logger logger;

        private LogLines(Class<?> of) {
            super("test-lines", null, null, true, org.apache.logging.log4j.core.config.Property.EMPTY_ARRAY);
            logger = (org.apache.logging.log4j.core.Logger) org.apache.logging.log4j.LogManager.getLogger(of);
        }

        static LogLines of(Class<?> of) {
            LogLines l = new LogLines(of);
            l.start();
            l.logger.addAppender(l);
            return l;
        }

        @Override
        public void append(org.apache.logging.log4j.core.LogEvent e) {
            lines.add(e.getMessage().getFormattedMessage());
        }

        @Override
        public void close() {
            logger.removeAppender(this);
            stop();
        }
    }

    private static void checkSharedRun(SparkPretrain.Result r, Path dir) throws Exception {
        assertThat(r.steps()).isBetween(28L, 32L); // 2 epochs x 2 chunks, each drops its last partial batch
        // every chunk lowers the probe loss: the LR follows the global step across fit() calls and epochs
        List<Double> probes = new java.util.ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve("metrics.jsonl"))) {
            probes.add(new com.fasterxml.jackson.databind.ObjectMapper().readTree(line).get("probe_loss").asDouble());
        }
        assertThat(probes).hasSize(4);
        // one message per step reached the driver's replica (DriverUpdates counts what its transport delivered)
        assertThat(updateMessages(dir)).isEqualTo(r.steps());
        assertThat(probes.get(0)).isLessThan(r.firstProbe());
        for (int i = 1; i < 3; i++) assertThat(probes.get(i)).as("chunk %d", i + 1).isLessThan(probes.get(i - 1));
        assertThat(r.lastProbe()).isLessThan(r.firstProbe() * 0.8);
    }

    @Test
    void gradientSharingRefusesSeveralWorkersInOneJvm(@TempDir Path dir) {
        MimConfig c = cfg(Map.of("spark.sync", "shared", "spark.workers", "2"));
        assertThatThrownBy(() -> run(c, dir)).hasMessageContaining("preflight failed")
                .hasMessageContaining("set mim.spark.workers = 1");
    }

    @Test
    void nonFiniteLossStopsAndKeepsTheLastGoodCheckpoint(@TempDir Path dir) {
        MimConfig c = cfg(Map.of("spark.sync", "averaging", "optim.epochs", "1", "spark.chunks-per-epoch", "2",
                "debug.nan-at-chunk", "1"));
        assertThatThrownBy(() -> run(c, dir)).isInstanceOf(Trainer.NonFiniteLossException.class)
                .hasMessageContaining("diverged").hasMessageMatching("(?s).*last good checkpoint: \\S*ckpt-\\d+\\.zip.*");
        String[] left = dir.resolve("checkpoints").toFile().list();
        assertThat(left).hasSize(1);
        assertThat(left[0]).matches("ckpt-\\d+\\.zip"); // the chunk-1 checkpoint; nothing written after the NaN
    }

    private static Path local(Path dir, long step) {
        return dir.resolve("checkpoints").resolve("ckpt-" + step + ".zip");
    }
}
