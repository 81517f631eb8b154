package org.sparkmim.job.pretrain;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.data.FashionMnist;
import org.sparkmim.model.data.ImageSet;
import org.sparkmim.model.method.Methods;
import org.sparkmim.model.method.MimMethod;
import org.sparkmim.model.train.Checkpoints;
import org.sparkmim.model.train.Trainer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Spark job trains as well as the single-JVM trainer at equal steps, on the bundled Fashion-MNIST sample with
 * the same seed: gradient sharing (the default) and parameter averaging, one worker each, reach a probe loss within
 * a few percent of the JVM engine's after the same steps, end exactly at optim.steps, and every chunk moves the
 * weights. Before the fix (DL4J's adaptive threshold with its 1% cap, a fixed threshold at the peak LR, the LR of
 * averaging stuck at each chunk's start, chunk-granular stops, DL4J's averaging master told the wrong worker count and
 * without saved updater state) the shared run's probe loss was far above the JVM's, its last chunk applied nothing,
 * and averaging was 15% above the JVM.
 */
class EngineParityTest {
    static org.sparkmim.job.LocalSpark spark;
    static JavaSparkContext sc;

    @BeforeAll
    static void start() {
        spark = org.sparkmim.job.LocalSpark.start("EngineParityTest", "local[2]");
        sc = spark.javaContext();
    }

    @AfterAll
    static void stop() {
        if (spark != null) spark.close();
    }

    static MimConfig cfg(Map<String, String> extra) {
        Map<String, String> m = new HashMap<>(Map.of(
                "model.dim", "64", "model.depth", "2", "model.heads", "2", "model.decoder-dim", "32",
                "model.decoder-depth", "1", "model.decoder-heads", "2", "data.train-limit", "2048",
                "optim.batch", "64", "optim.base-lr", "2e-3", "optim.steps", "72"));
        m.put("optim.warmup-epochs", "0.5");
        m.put("spark.probe-images", "256");
        m.put("spark.chunks-per-epoch", "3");
        m.putAll(extra);
        return MimConfig.load(m);
    }

    @Test
    void sparkEnginesMatchTheJvmEngineAtEqualSteps(@TempDir Path dir) throws Exception {
        MimConfig base = cfg(Map.of());
        TrainSource<?> source = TrainSource.idx(base);
        MimMethod method = Methods.create(base);
        MultiDataSet probe = method.prepare(Trainer.batch(source.probe(256), 0, base));

        ImageSet train = FashionMnist.load(FashionMnist.locate(""), "train").subset(0, 2048);
        Trainer.Result jvm = new Trainer(base, train, dir.resolve("jvm")).run();
        assertThat(jvm.steps()).isEqualTo(72);
        ComputationGraph init = Trainer.newGraph(base, method, 32);
        double initLoss = SparkPretrain.probeLoss(init, probe);
        double jvmLoss = SparkPretrain.probeLoss(Checkpoints.load(jvm.checkpoint()), probe);
        assertThat(jvmLoss).isLessThan(initLoss * 0.8);

        Map<String, Double> gaps = new java.util.TreeMap<>(), losses = new java.util.TreeMap<>();
        // "shared" runs this project's encoder (spark.encoder = java, the default), "shared-nd4j" DL4J's own
        for (String variant : List.of("shared", "shared-nd4j", "averaging")) {
            String sync = variant.replace("-nd4j", "");
            MimConfig c = cfg(Map.of("spark.sync", sync, "spark.encoder", variant.endsWith("nd4j") ? "nd4j" : "java"));
            Path run = dir.resolve(variant);
            long installed = BitmapSharing.installed(), taken = LocalReplica.taken();
            SparkPretrain.Result r = SparkPretrain.run(sc, c, SparkSettings.of(c), TrainSource.idx(c), run.toUri().toString());
            if (variant.equals("shared")) {
                assertThat(BitmapSharing.installed()).as("the Java encoder took over DL4J's").isGreaterThan(installed);
                // the driver's replica took (almost) every message's values from the worker instead of decoding
                assertThat(LocalReplica.taken() - taken).as("messages the local replica did not decode").isGreaterThan(60);
            } else {
                assertThat(BitmapSharing.installed()).as(variant + " keeps DL4J's encoder").isEqualTo(installed);
            }
            // 2048 / 64 = 32 steps per epoch; optim.steps = 72 ends inside epoch 3, in its second chunk
            assertThat(r.steps()).as(sync + " steps").isEqualTo(72);
            double loss = SparkPretrain.probeLoss(Checkpoints.load(Path.of(java.net.URI.create(r.checkpoint()))), probe);
            System.err.printf("parity: init %.4f jvm %.4f %s %.4f (%.2f%%)%n", initLoss, jvmLoss, variant, loss,
                    100 * (loss - jvmLoss) / jvmLoss);
            gaps.put(variant, Math.abs(loss - jvmLoss) / jvmLoss);
            losses.put(variant, loss);
            for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
                var rec = new ObjectMapper().readTree(line);
                if (!rec.has("param_change")) continue;
                assertThat(rec.get("param_change").asDouble()).as(sync + " weights move in " + line).isPositive();
                // the first chunk's count can miss messages sent before the driver's mesh was up (its weights
                // still move, checked above); every later chunk, the last one included, must apply updates
                if (rec.has("update_msgs") && rec.get("step").asLong() > 10) {
                    assertThat(rec.get("update_msgs").asLong()).as("updates applied in " + line).isPositive();
                    assertThat(rec.get("update_vs_dense").asDouble()).as("bytes per update in " + line)
                            .isLessThanOrEqualTo(1 / 16.0 + 1e-3);
                }
            }
        }
        // the relative gap of the probe loss. Measured 2026-12-01 (the initial weights are now the same in every
        // process): gradient sharing +1.0% before spark.local-catch-up, +0.80% / +0.85% with it (at full scale the
        // catch-up moved sharing from 3.6 kNN points below the JVM engine to 0.1; on this short run the encoder's
        // lag was small to begin with; LocalCatchUpTest checks the mechanism itself); parameter averaging +0.7%.
        // Before the fixes averaging was +15% (DL4J's default worker count = local[2]'s 2 cores, Adam's moments
        // reset at every split) and sharing far off (the 1% cap of DL4J's adaptive threshold, a threshold fixed at
        // the peak LR).
        assertThat(gaps.get("shared")).as("gradient sharing vs JVM").isLessThan(0.02);
        assertThat(gaps.get("averaging")).as("parameter averaging vs JVM").isLessThan(0.03);
        assertThat(gaps.get("shared-nd4j")).as("gradient sharing, DL4J's encoder, vs JVM").isLessThan(0.02);
        // the worker's steps are the same either way (local catch-up); only the driver's replica, built from the
        // messages, can differ where DL4J's encoder picks its sparse format
        assertThat(Math.abs(losses.get("shared") - losses.get("shared-nd4j")) / losses.get("shared-nd4j"))
                .as("Java encoder vs DL4J's").isLessThan(0.005);
    }

    /** ROPIM (no mask; sketch inputs and a complement loss) through Spark gradient sharing. */
    @Test
    void ropimTrainsTheSameThroughGradientSharingAsInOneJvm(@TempDir Path dir) throws Exception {
        assertSparkMatchesJvm(dir, "ropim");
    }

    /** A2MIM (its own inputs: mean-filled patches, token mask, targets; a batch-level frequency loss) through Spark. */
    @Test
    void a2mimTrainsTheSameThroughGradientSharingAsInOneJvm(@TempDir Path dir) throws Exception {
        assertSparkMatchesJvm(dir, "a2mim");
    }

    /**
     * A2MIM on the ResNet backbone (DL4J convolution and batch-norm layers; batch norm's running statistics travel
     * as DL4J "parameters" whose updates are encoded like every other) through Spark gradient sharing.
     */
    @Test
    void a2mimOnTheResNetTrainsTheSameThroughGradientSharingAsInOneJvm(@TempDir Path dir) throws Exception {
        // measured 2026-12-02: init 0.1926, JVM 0.1316, shared 0.1351 (+2.6%); without precise batch norm +23.7%
        // (the running statistics did not survive threshold encoding while the training-mode losses matched)
        assertSparkMatchesJvm(dir, "a2mim", Map.of("model.backbone", "resnet", "model.resnet.width", "4", "optim.base-lr", "1e-2"),
                0.05);
    }

    private void assertSparkMatchesJvm(Path dir, String name) throws Exception {
        assertSparkMatchesJvm(dir, name, Map.of(), 0.02);
    }

    /**
     * 48 steps of method through the JVM trainer and through Spark gradient sharing from the same seed on the
     * bundled sample: both lower the probe loss by > 10%, and they land within bound (2% for the ViTs) of each other.
     */
    private void assertSparkMatchesJvm(Path dir, String name, Map<String, String> extra, double bound) throws Exception {
        Map<String, String> keys = new HashMap<>(extra);
        keys.put("method.name", name);
        keys.put("optim.steps", "48");
        MimConfig base = cfg(keys);
        TrainSource<?> source = TrainSource.idx(base);
        MimMethod method = Methods.create(base);
        MultiDataSet probe = method.prepare(Trainer.batch(source.probe(256), 0, base));
        ImageSet train = FashionMnist.load(FashionMnist.locate(""), "train").subset(0, 2048);
        Trainer.Result jvm = new Trainer(base, train, dir.resolve("jvm")).run();
        double initLoss = SparkPretrain.probeLoss(Trainer.newGraph(base, method, 32), probe);
        double jvmLoss = SparkPretrain.probeLoss(Checkpoints.load(jvm.checkpoint()), probe);
        SparkPretrain.Result r = SparkPretrain.run(sc, base, SparkSettings.of(base), TrainSource.idx(base),
                dir.resolve("shared").toUri().toString());
        assertThat(r.steps()).isEqualTo(48);
        double loss = SparkPretrain.probeLoss(Checkpoints.load(Path.of(java.net.URI.create(r.checkpoint()))), probe);
        System.err.printf("%s %s parity: init %.4f jvm %.4f shared %.4f (%.2f%%)%n", name, base.model, initLoss, jvmLoss, loss,
                100 * (loss - jvmLoss) / jvmLoss);
        assertThat(jvmLoss).isLessThan(initLoss * 0.9);
        assertThat(loss).isLessThan(initLoss * 0.9);
        assertThat(Math.abs(loss - jvmLoss) / jvmLoss).as("gradient sharing vs JVM, " + name).isLessThan(bound);
    }
}
