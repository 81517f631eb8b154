package org.sparkmim.job.pretrain;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.Solver;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.deeplearning4j.optimize.solvers.accumulation.EncodedGradientsAccumulator;
import org.deeplearning4j.optimize.solvers.accumulation.EncodingHandler;
import org.deeplearning4j.optimize.solvers.accumulation.GradientsAccumulator;
import org.deeplearning4j.optimize.solvers.accumulation.MessageHandler;
import org.deeplearning4j.optimize.solvers.accumulation.encoding.ResidualPostProcessor;
import org.deeplearning4j.optimize.solvers.accumulation.encoding.ThresholdAlgorithm;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.parameterserver.distributed.v2.ModelParameterServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.Serializable;
import java.lang.ref.WeakReference;
import java.lang.reflect.Field;

/**
 * The worker's side of gradient sharing with {@link BitmapCodec} in place of ND4J's encoder (spark.encoder = java).
 *
 * <p>Why. DL4J's {@code SharedTrainingWrapper} builds its handler ({@code WiredEncodingHandler}) inside each
 * executor and offers no way to choose another. On the training thread that handler encodes with ND4J's
 * branching native op, and the worker then decodes its own message with another, although with
 * spark.local-catch-up the worker's model takes its own update whole anyway (LocalCatchUp). This handler sends the
 * same messages (ND4J's bitmap format, so every receiver decodes them unchanged) and, with local catch-up, gives the
 * worker its own message's values from the encoding pass instead of a decode.
 *
 * <p>What changes against DL4J's handler: the encoding is always the bitmap (DL4J also switches to its sparse
 * "flexible" format when fewer than 1/32 of the elements cross the threshold; the bitmap is 1/16 of the dense
 * update whatever crosses, the bound the job promises). A step where no element crosses sends nothing, as DL4J
 * does. Thresholds come from the same algorithm, asked the same way; the residual post-processor (spark.residual-clip,
 * LocalCatchUp, StepSync's count) runs once per message, as DL4J runs it. Only {@link LrThreshold} and
 * {@link RmsThreshold} are served: DL4J's adaptive algorithm (a numeric spark.threshold) is tuned to its sparse
 * format, so with it DL4J's handler stays.
 *
 * <p>How it gets in. {@link Installer}, a training listener, finds the accumulator DL4J gave the worker's model
 * (ComputationGraph's solver) before the model's first update, and replaces the accumulator's handler with this
 * one, built from the old handler's threshold algorithm and post-processor. DL4J keeps one accumulator per
 * executor JVM, so this happens once per executor.
 */
public final class BitmapSharing extends EncodingHandler {
    private static final Logger LOG = LoggerFactory.getLogger(BitmapSharing.class);

    /** Where a message goes besides the worker itself. */
    public interface Transport {
        void send(INDArray message, int iteration, int epoch);
    }

    /** DL4J's transport: the executor's parameter server, as WiredEncodingHandler sends. */
    static final Transport WIRED = (m, it, ep) -> ModelParameterServer.getInstance().sendUpdate(m, it, ep);

    private static final java.util.concurrent.atomic.AtomicLong INSTALLED = new java.util.concurrent.atomic.AtomicLong();

    /** Accumulators whose handler was replaced, in this JVM so far. */
    static long installed() {
        return INSTALLED.get();
    }

    private static final class PerThread {
        ThresholdAlgorithm threshold;
        ResidualPostProcessor post;
        Double lastThreshold;
        INDArray quanta; // [P] the message's values, for LocalCatchUp and LocalReplica
    }

    private final boolean ownByCatchUp;
    private final Transport transport;
    private final ThreadLocal<PerThread> perThread = new ThreadLocal<>();

    /**
     * @param ownByCatchUp the post-processor contains {@link LocalCatchUp#residual}: the worker's own model takes
     *                     its message through LocalCatchUp, so it is not queued for a decode
     * @param transport    null: the worker alone (tests)
     */
    public BitmapSharing(ThresholdAlgorithm threshold, ResidualPostProcessor post, boolean ownByCatchUp,
                         Transport transport) {
        super(threshold, post, null, false);
        this.ownByCatchUp = ownByCatchUp;
        this.transport = transport;
    }

    /** Whether this handler serves the algorithm (see the class comment). */
    public static boolean serves(ThresholdAlgorithm threshold) {
        return threshold instanceof LrThreshold || threshold instanceof RmsThreshold;
    }

    /**
     * DL4J calls this on the training thread with its residual (update plus what earlier steps did not send), to
     * be encoded in place, sent, and queued for the worker's own model.
     *
     * @param residual [P] the worker's residual
     * @return whether a message was sent
     */
    @Override
    public boolean broadcastUpdates(INDArray residual, int iteration, int epoch) {
        if (!BitmapCodec.encodable(residual)) return super.broadcastUpdates(residual, iteration, epoch);
        PerThread s = perThread.get();
        if (s == null) {
            s = new PerThread();
            synchronized (this) {
                s.threshold = initialThresholdAlgorithm.clone();
                s.post = initialResidualPostProcessor == null ? null : initialResidualPostProcessor.clone();
            }
            perThread.set(s);
        }
        double tau = s.threshold.calculateThreshold(iteration, epoch, s.lastThreshold,
                s.lastThreshold == null ? null : Boolean.TRUE, null, residual);
        s.lastThreshold = tau;
        INDArray message;
        try (MemoryWorkspace ignored = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
            // a new array per message: the transport may hand this very object to a receiver in this JVM
            message = Nd4j.create(DataType.INT32, BitmapCodec.messageInts(residual.length()));
            if (s.quanta == null || s.quanta.length() != residual.length()) {
                s.quanta = Nd4j.create(DataType.FLOAT, residual.length());
            }
        }
        long sent = BitmapCodec.encode(residual, message, (float) tau, s.quanta);
        if (sent == 0) return false;  // nothing crossed: all of it waits in the residual
        if (s.post != null) s.post.processResidual(iteration, epoch, tau, residual);
        // a receiver in this JVM (the driver's replica in local mode) may take the values instead of decoding
        if (transport != null) LocalReplica.lend(message, s.quanta, () -> transport.send(message, iteration, epoch));
        if (ownByCatchUp) LocalCatchUp.ownMessage(s.quanta);
        else accumulator.receiveUpdate(message); // DL4J's way: the worker decodes its own message before its step
        return true;
    }

    /**
     * DL4J's own encoding path (a residual {@link BitmapCodec} does not take) ends here: the message goes out as
     * WiredEncodingHandler sends it, and to the worker's own queue.
     */
    @Override
    protected void sendMessage(INDArray message, int iteration, int epoch) {
        if (transport != null) transport.send(message, iteration, epoch);
        super.sendMessage(message, iteration, epoch);
    }

    /** The listener that puts a {@link BitmapSharing} into DL4J's accumulator on each executor. */
    public static Installer installer(boolean ownByCatchUp) {
        return new Installer(ownByCatchUp);
    }

    public static final class Installer extends BaseTrainingListener implements Serializable {
        private static final long serialVersionUID = 1L;
        private final boolean ownByCatchUp;
        private transient WeakReference<Model> seen;

        Installer(boolean ownByCatchUp) {
            this.ownByCatchUp = ownByCatchUp;
        }

        /** Before the model's update of this step reaches the accumulator; does its work once per model. */
        @Override
        public void onGradientCalculation(Model model) {
            if (seen != null && seen.get() == model) return;
            seen = new WeakReference<>(model);
            if (install(model, ownByCatchUp, WIRED)) LocalReplica.swapIn();
        }
    }

    /**
     * Replaces the handler of the gradient-sharing accumulator of {@code model} (a ComputationGraph under DL4J's
     * SharedTrainingWrapper) with a BitmapSharing; returns whether one is in place now.
     */
    static boolean install(Model model, boolean ownByCatchUp, Transport transport) {
        if (!(model instanceof ComputationGraph g)) return false;
        try {
            Solver solver = (Solver) field(ComputationGraph.class, "solver").get(g);
            GradientsAccumulator acc = solver == null ? null : solver.getOptimizer().getGradientsAccumulator();
            if (!(acc instanceof EncodedGradientsAccumulator e)) return false;
            MessageHandler old = e.getHandler();
            if (old instanceof BitmapSharing) return true;
            if (!(old instanceof EncodingHandler)) return false;
            ThresholdAlgorithm threshold = (ThresholdAlgorithm) field(EncodingHandler.class, "initialThresholdAlgorithm").get(old);
            ResidualPostProcessor post = (ResidualPostProcessor) field(EncodingHandler.class, "initialResidualPostProcessor").get(old);
            if (!Nd4j.getBackend().getClass().getName().toLowerCase().contains("cpu")) {
                LOG.info("gradient sharing: DL4J's encoder kept on ND4J backend {} (the Java encoder reads host memory)",
                        Nd4j.getBackend().getClass().getSimpleName());
                return false;
            }
            if (!serves(threshold)) {
                LOG.info("gradient sharing: DL4J's encoder kept for threshold algorithm {}", threshold);
                return false;
            }
            BitmapSharing mine = new BitmapSharing(threshold, post, ownByCatchUp, transport);
            mine.initialize(e);
            field(EncodedGradientsAccumulator.class, "handler").set(e, mine);
            INSTALLED.incrementAndGet();
            LOG.info("gradient sharing: Java bitmap encoder in place of ND4J's (spark.encoder = java){}",
                    ownByCatchUp ? "; the worker takes its own message through local catch-up" : "");
            return true;
        } catch (ReflectiveOperationException | RuntimeException ex) {
            LOG.warn("gradient sharing: could not install the Java bitmap encoder, DL4J's stays: {}", ex.toString());
            return false;
        }
    }

    /** A declared field of a DL4J class, made readable and writable: DL4J offers no accessor for these. */
    static Field field(Class<?> c, String name) throws NoSuchFieldException {
        Field f = c.getDeclaredField(name);
        f.setAccessible(true);
        return f;
    }
}
