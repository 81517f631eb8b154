package org.sparkmim.job.pretrain;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.solvers.accumulation.EncodedGradientsAccumulator;
import org.deeplearning4j.optimize.solvers.accumulation.encoding.ResidualPostProcessor;
import org.deeplearning4j.optimize.solvers.accumulation.encoding.residual.ResidualClippingPostProcessor;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.data.FashionMnist;
import org.sparkmim.model.data.ImageSet;
import org.sparkmim.model.method.Methods;
import org.sparkmim.model.method.MimMethod;
import org.sparkmim.model.train.EpochPlan;
import org.sparkmim.model.train.Trainer;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The worker side of gradient sharing with DL4J's real encoder (EncodedGradientsAccumulator, LrThreshold, bitmap
 * encoding) on real Fashion-MNIST batches, in one process: with {@link LocalCatchUp} the worker's model takes the
 * JVM engine's exact steps; with DL4J's own residual handling it takes only the quantized messages and falls
 * behind. That lag was the gap between gradient sharing and the JVM engine (docs/RESULTS.md).
 */
class LocalCatchUpTest {
    static final int STEPS = 16;

    static MimConfig cfg() {
        return MimConfig.load(Map.of("model.dim", "32", "model.depth", "1", "model.heads", "2",
                "model.decoder-dim", "32", "model.decoder-depth", "1", "model.decoder-heads", "2",
                "optim.batch", "32", "optim.steps", String.valueOf(2 * STEPS), "optim.warmup-epochs", "0.25"));
    }

    /**
     * [P] parameters after STEPS fits on the same batches; sharing = null: the plain JVM engine. The schedule runs
     * for 2 x STEPS, so the LR (and the threshold) is still large at the end: where the cosine reaches zero the
     * threshold collapses and clipping at 5 thresholds drops what is left of the residual, from every model.
     */
    static INDArray train(MimConfig cfg, List<MultiDataSet> batches, String sharing) {
        MimMethod method = Methods.create(cfg);
        ComputationGraph g = Trainer.newGraph(cfg, method, batches.size());
        if (sharing != null) {
            var sched = Trainer.schedule(cfg, batches.size());
            boolean catchUp = sharing.contains("catch-up");
            ResidualPostProcessor clip = new Recording(new ResidualClippingPostProcessor(5, 5));
            ResidualPostProcessor post = catchUp ? LocalCatchUp.residual(clip) : clip;
            LrThreshold threshold = new LrThreshold(sched, 1.0, 1e-4 * sched.peakLr);
            var builder = new EncodedGradientsAccumulator.Builder(1).thresholdAlgorithm(threshold).residualPostProcessor(post);
            // "java ...": this project's encoder as the accumulator's handler; its messages go to SENT
            if (sharing.startsWith("java")) builder.messageHandler(new BitmapSharing(threshold, post, catchUp, (m, it, ep) -> SENT.add(m.dup())));
            var acc = builder.build();
            // as SharedTrainingWrapper sets up a single worker per executor
            acc.fallbackToSingleConsumerMode(true);
            acc.touch();
            g.setGradientsAccumulator(acc);
            if (catchUp) g.setListeners(LocalCatchUp.listener());
        }
        for (MultiDataSet b : batches) g.fit(b);
        return g.params().dup();
    }

    @Test
    void theWorkersOwnModelTakesTheExactUpdateWhileTheMessagesStayQuantized() {
        MimConfig cfg = cfg();
        MimMethod method = Methods.create(cfg);
        List<MultiDataSet> batches = batches(cfg, method);

        INDArray init = Trainer.newGraph(cfg, method, STEPS).params().dup();
        INDArray jvm = train(cfg, batches, null);
        INDArray caughtUp = train(cfg, batches, "catch-up");
        INDArray dl4j = train(cfg, batches, "dl4j");

        double moved = dist(jvm, init);
        double catchUpGap = dist(caughtUp, jvm), dl4jGap = dist(dl4j, jvm);
        System.err.printf("local catch-up: |jvm - init| %.4g, |catch-up - jvm| %.4g, |dl4j - jvm| %.4g%n",
                moved, catchUpGap, dl4jGap);
        assertThat(moved).as("training moved the weights").isGreaterThan(0.01);
        // float rounding only: q and u - q are added separately
        assertThat(catchUpGap).as("catch-up follows the JVM engine's steps").isLessThan(1e-3 * moved);
        // DL4J's residual handling: most of each update waits in the residual
        assertThat(dl4jGap).as("DL4J's own handling lags").isGreaterThan(0.02 * moved);
        assertThat(dl4jGap).isGreaterThan(50 * catchUpGap);
    }

    /** Messages the Java encoder sent, in order. */
    static final List<INDArray> SENT = new ArrayList<>();

    /** A post-processor that keeps a reference to the worker's residual (DL4J's buffer) after each message. */
    static final class Recording implements ResidualPostProcessor {
        static INDArray last;
        private final ResidualPostProcessor inner;

        Recording(ResidualPostProcessor inner) {
            this.inner = inner;
        }

        @Override
        public void processResidual(int iteration, int epoch, double threshold, INDArray residual) {
            inner.processResidual(iteration, epoch, threshold, residual);
            last = residual;
        }

        @Override
        public ResidualPostProcessor clone() {
            return new Recording(inner.clone());
        }
    }

    /**
     * BitmapSharing in DL4J's accumulator: the worker's own model still takes the JVM engine's steps (it gets its
     * message's values from the encoding pass, with no decode), and the messages, read by ND4J's own decoder as
     * any receiver reads them, add up to the worker's model plus its residual: what the driver's replica holds.
     */
    @Test
    void theJavaEncoderKeepsTheWorkersStepsExactAndItsMessagesAddUpToTheReplica() {
        MimConfig cfg = cfg();
        MimMethod method = Methods.create(cfg);
        List<MultiDataSet> batches = batches(cfg, method);

        INDArray init = Trainer.newGraph(cfg, method, STEPS).params().dup().reshape(-1);
        INDArray jvm = train(cfg, batches, null);
        SENT.clear();
        INDArray worker = train(cfg, batches, "java catch-up").reshape(-1);
        INDArray residual = Recording.last.dup().reshape(-1);
        assertThat(SENT).as("a message per step").hasSize(STEPS);

        INDArray replica = init.dup(), decoded = Nd4j.zeros(init.dataType(), init.length());
        for (INDArray m : SENT) Nd4j.getExecutioner().bitmapDecode(m, decoded);
        replica.subi(decoded);    // DL4J's step: params -= update
        double moved = dist(jvm.reshape(-1), init);
        System.err.printf("java encoder: |worker - jvm| %.4g, |replica - residual - worker| %.4g, |residual| %.4g, moved %.4g%n",
                dist(worker, jvm.reshape(-1)), dist(replica.sub(residual), worker), residual.norm2Number().doubleValue(), moved);
        assertThat(dist(worker, jvm.reshape(-1))).as("the worker takes the JVM engine's steps").isLessThan(1e-3 * moved);
        assertThat(residual.norm2Number().doubleValue()).as("something waits in the residual").isGreaterThan(1e-3 * moved);
        assertThat(dist(replica.sub(residual), worker)).as("messages + residual = the worker's model")
                .isLessThan(1e-4 * moved);
    }

    /** STEPS real Fashion-MNIST batches of 32, in the epoch order of seed 0. */
    static List<MultiDataSet> batches(MimConfig cfg, MimMethod method) {
        ImageSet train = FashionMnist.load(FashionMnist.locate(""), "train").subset(0, STEPS * 32);
        String[] keys = new String[train.count()];
        for (int i = 0; i < keys.length; i++) keys[i] = train.key(i);
        int[] order = EpochPlan.order(keys, 0, 0);
        List<MultiDataSet> batches = new ArrayList<>();
        for (int s = 0; s < STEPS; s++) batches.add(method.prepare(Trainer.batch(train, order, s * 32, 32, 0, cfg)));
        return batches;
    }

    static double dist(INDArray a, INDArray b) {
        return a.distance2(b);
    }
}
