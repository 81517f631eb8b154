package org.sparkmim.job.pretrain;

import org.apache.commons.lang3.SerializationUtils;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.solvers.accumulation.encoding.ThresholdAlgorithm;
import org.deeplearning4j.optimize.solvers.accumulation.encoding.residual.NoOpResidualPostProcessor;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.parameterserver.distributed.conf.VoidConfiguration;
import org.nd4j.parameterserver.distributed.v2.messages.impl.GradientsUpdateMessage;
import org.nd4j.parameterserver.distributed.v2.util.MessageSplitter;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

/**
 * What gradient sharing costs per step, stage by stage, for one model ({@code bench --sharing}).
 *
 * <p>Why. The Spark job's speed with one executor is the JVM engine's minus the sharing: DL4J encodes every step's
 * update, serializes it for its transport, and every model (the sender's own, the other workers', the driver's
 * replica) deserializes and decodes it. These costs grow with the parameter count, not with the batch, so they
 * decide how much of a step they take for a given model. Each stage here runs the very calls DL4J's
 * gradient-sharing path makes (ND4J's bitmap encoder and decoder, the transport's {@link MessageSplitter}, Java
 * serialization of the message) and our own {@link LocalCatchUp}, on the update of a real AdamW step of the model.
 */
public final class SharingCost {
    private SharingCost() { }

    /**
     * One stage: its name; which encoder runs it (spark.encoder: {@code java}, {@code nd4j}, or {@code both}); where
     * it runs ({@code worker}: the training thread; {@code local}: the training thread in local mode, where DL4J
     * delivers the message to the driver's replica inside the send; {@code cluster}: the training thread when the
     * message leaves the JVM; {@code receiver}: every other worker and a remote driver, per message); ms per step.
     */
    public record Stage(String name, String encoder, String thread, double ms) { }

    /**
     * The stages; the threshold the configured algorithm chose; the share of parameters the encoder sent a quantum
     * for (what its cost depends on); the bytes of one serialized message and of the dense fp32 update.
     */
    public record Result(List<Stage> stages, double threshold, double sentShare, long messageBytes, long denseBytes) {
        /** ms per step on the training thread of one executor in local mode, with this encoder */
        public double workerMs(String encoder) {
            return stages.stream().filter(s -> s.thread().equals("worker") || s.thread().equals("local"))
                    .filter(s -> s.encoder().equals("both") || s.encoder().equals(encoder)).mapToDouble(Stage::ms).sum();
        }

        /** ms per step the training thread adds when its message leaves the JVM (a cluster) */
        public double clusterMs() {
            return stages.stream().filter(s -> s.thread().equals("cluster")).mapToDouble(Stage::ms).sum();
        }

        /** ms per message at each receiver (every other worker, a remote driver's replica) */
        public double receiverMs() {
            return stages.stream().filter(s -> s.thread().equals("receiver")).mapToDouble(Stage::ms).sum();
        }

        public double messageVsDense() {
            return messageBytes / (double) denseBytes;
        }
    }

    /**
     * @param g         a model that has trained a few steps (Adam's moments set): one more step on {@code batch}
     *                  gives the update to share
     * @param threshold the run's threshold algorithm ({@link SparkSettings#thresholdAlgorithm}), asked as DL4J asks
     *                  it, at the model's step
     * @param reps      timed repetitions per stage; each stage's figure is their median
     */
    public static Result measure(ComputationGraph g, MultiDataSet batch, ThresholdAlgorithm threshold, int reps) {
        INDArray before = g.params().dup();
        g.fit(batch);
        INDArray update = before.sub(g.params()).reshape(before.length()); // [P] DL4J's step is params -= update
        long p = update.length();
        // update plus the part an earlier step left in the residual
        INDArray residual = update.mul(1.5);
        int step = g.getConfiguration().getIterationCount() - 1;   // the step that made the update
        double tau = threshold.calculateThreshold(step, 0, null, null, null, residual);
        INDArray encoded = Nd4j.create(DataType.INT32, p / 16 + 5);             // DL4J's bitmap message size
        INDArray decoded = Nd4j.zeros(update.dataType(), p);
        INDArray quanta = Nd4j.zeros(update.dataType(), p);
        int chunk = VoidConfiguration.builder().build().getMaxChunkSize();
        LocalCatchUp.Residual catchUpResidual = LocalCatchUp.residual(new NoOpResidualPostProcessor());
        LocalCatchUp.Listener catchUp = LocalCatchUp.listener();
        catchUp.onGradientCalculation(g);
        byte[][] serialized = new byte[1][];
        long[] sent = new long[1];

        List<Stage> out = new ArrayList<>();
        out.add(new Stage("residual += update", "both", "worker", median(reps, () -> residual.assign(update),
                () -> residual.addi(update))));
        // each repetition encodes the same residual
        out.add(new Stage("ND4J bitmap encode (residual -= sent)", "nd4j", "worker", median(reps,
                () -> residual.assign(update).muli(1.5),
                () -> sent[0] = Nd4j.getExecutioner().bitmapEncode(residual, encoded, tau))));
        out.add(new Stage("Java bitmap encode, values kept (BitmapCodec)", "java", "worker", median(reps,
                () -> residual.assign(update).muli(1.5),
                () -> BitmapCodec.encode(residual, encoded, (float) tau, quanta))));
        out.add(new Stage("local catch-up (spark.local-catch-up)", "both", "worker", median(reps, () -> { }, () -> {
            catchUpResidual.processResidual(0, 0, tau, residual);
            catchUp.iterationDone(g, 0, 0);
        })));
        out.add(new Stage("own message's values into the catch-up", "java", "worker", median(reps,
                () -> catchUpResidual.processResidual(0, 0, tau, residual), () -> LocalCatchUp.ownMessage(quanta))));
        out.add(new Stage("decode the own message", "nd4j", "worker", median(reps, () -> decoded.assign(0),
                () -> Nd4j.getExecutioner().bitmapDecode(encoded, decoded))));
        out.add(new Stage("apply it (params -= decoded)", "nd4j", "worker", median(reps, () -> { },
                () -> g.params().subi(decoded.reshape(g.params().shape())))));
        out.add(new Stage("driver's replica decodes it (ND4J)", "nd4j", "local", median(reps, () -> { },
                () -> Nd4j.getExecutioner().bitmapDecode(encoded, decoded))));
        out.add(new Stage("driver's replica adds its values (LocalReplica)", "java", "local", median(reps, () -> { },
                () -> decoded.addi(quanta))));
        out.add(new Stage("serialize + split for the transport", "both", "cluster", median(reps, () -> { }, () -> {
            try {
                MessageSplitter.getInstance().split(new GradientsUpdateMessage(UUID.randomUUID().toString(),
                        encoded.dup()), chunk);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        })));
        serialized[0] = SerializationUtils.serialize(new GradientsUpdateMessage("m", encoded.dup()));
        out.add(new Stage("deserialize a message", "both", "receiver", median(reps, () -> { },
                () -> SerializationUtils.deserialize(serialized[0]))));
        out.add(new Stage("decode a message", "both", "receiver", median(reps, () -> decoded.assign(0),
                () -> Nd4j.getExecutioner().bitmapDecode(encoded, decoded))));
        return new Result(out, tau, sent[0] / (double) p, serialized[0].length, 4 * p);
    }

    private static double median(int reps, Runnable untimedSetup, Runnable timed) {
        for (int i = 0; i < 3; i++) { // JIT and ND4J's first-call costs
            untimedSetup.run();
            timed.run();
        }
        double[] ms = new double[reps];
        for (int i = 0; i < reps; i++) {
            untimedSetup.run();
            long t = System.nanoTime();
            timed.run();
            ms[i] = (System.nanoTime() - t) / 1e6;
        }
        Arrays.sort(ms);
        return ms[reps / 2];
    }
}
