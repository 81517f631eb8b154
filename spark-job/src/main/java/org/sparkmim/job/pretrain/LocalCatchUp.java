package org.sparkmim.job.pretrain;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.deeplearning4j.optimize.solvers.accumulation.encoding.ResidualPostProcessor;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.io.Serializable;
import java.lang.ref.WeakReference;

/**
 * Gradient sharing in which a worker's own model takes its own update whole (spark.local-catch-up).
 *
 * <p>Why. DL4J's encoder sends, per step and element, at most one quantum: ±τ (or −τ/2 in its bitmap form), and
 * keeps the rest in the worker's residual. Every model, the sender's included, applies only what was sent. AdamW's
 * steps are mostly far smaller than τ = LR: measured on full Fashion-MNIST at the peak LR, the update plus residual
 * averaged 0.40 τ per element and reached τ for 4% of them, so most of every update waited several steps in the
 * residual. That lag alone cost the 3–4 kNN points between gradient sharing and the JVM engine: the same encoder
 * inside the JVM engine (one process, no Spark) lost the same (docs/RESULTS.md). A smaller τ does not help: an
 * element can still move only one quantum per step, so large updates pile up in the residual instead.
 *
 * <p>What. After DL4J has applied the decoded message q to the worker's model, the worker also applies its
 * residual's change r_t − r_{t−1} = u_t − q_t, so its own model has taken u_t exactly, the JVM engine's step. The
 * messages are unchanged: other workers and the driver's replica still receive q and lag by the sender's residual,
 * which error feedback keeps within about one threshold per element, and which the next messages deliver. With one
 * worker the training trajectory is the JVM engine's; the driver's copy (probed and checkpointed) lags it by the
 * residual, about one LR-sized step at most, which the cosine schedule shrinks to nothing by the end of a run.
 *
 * <p>How. The residual post-processor (DL4J calls it on the training thread right after encoding, with the
 * residual it keeps) records the change; the listener (called on the same thread after the step) applies it. DL4J
 * keeps one model per executor JVM across fit() calls (with one worker per node), so model and residual stay in
 * step from chunk to chunk; should a thread ever train a model it has not trained before, that model lacks the
 * whole residual, and the first change after it is measured from zero. The residual handling it wraps (DL4J's
 * clipping, spark.residual-clip) runs first, and what it drops is dropped from the worker's own model too: every worker's model stays the common sum of all messages plus its own residual, so the models of several
 * workers never drift apart by more than their residuals.
 */
public final class LocalCatchUp {
    private LocalCatchUp() { }

    /** Per training thread: the residual after the last step and the change not applied yet, both [P]. */
    private static final class State {
        INDArray prev;
        INDArray delta;
        boolean pending;
        WeakReference<Model> model = new WeakReference<>(null);
    }

    private static final ThreadLocal<State> STATE = ThreadLocal.withInitial(State::new);

    /** The post-processor for SharedTrainingMaster, around DL4J's own residual handling {@code inner}. */
    public static Residual residual(ResidualPostProcessor inner) {
        return new Residual(inner);
    }

    /** The listener that goes with {@link #residual}, among the fit's listeners. */
    public static Listener listener() {
        return new Listener();
    }

    /**
     * The worker's own message did not go to DL4J's queue ({@link BitmapSharing} under local catch-up): its values q
     * join the change this step's listener applies, so the worker's model still takes q + (r_t − r_{t−1}). Call after
     * this step's {@link Residual#processResidual}, on the same thread.
     *
     * @param quanta [P] the values the message carries, per parameter
     */
    static void ownMessage(INDArray quanta) {
        State s = STATE.get();
        if (!s.pending || s.delta.length() != quanta.length()) {
            throw new IllegalStateException("local catch-up: the own message came without this step's residual"
                    + " (LocalCatchUp.residual must be the handler's post-processor)");
        }
        s.delta.addi(quanta);
    }

    public static final class Residual implements ResidualPostProcessor {
        private static final long serialVersionUID = 2L;
        private ResidualPostProcessor inner;

        private Residual() { } // Kryo

        Residual(ResidualPostProcessor inner) {
            this.inner = inner;
        }

        /** @param residual [P] the worker's residual after encoding, DL4J's own buffer (modified in place) */
        @Override
        public void processResidual(int iteration, int epoch, double lastThreshold, INDArray residual) {
            inner.processResidual(iteration, epoch, lastThreshold, residual);
            State s = STATE.get();
            try (MemoryWorkspace ignored = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
                if (s.prev == null || s.prev.length() != residual.length() || s.prev.dataType() != residual.dataType()) {
                    s.prev = Nd4j.zeros(residual.dataType(), residual.length());
                    s.delta = Nd4j.zeros(residual.dataType(), residual.length());
                }
                INDArray r = residual.reshape(residual.length());
                s.delta.assign(r).subi(s.prev);
                s.prev.assign(r);
                s.pending = true;
            }
        }

        @Override
        public Residual clone() {
            return new Residual(inner.clone());
        }
    }

    public static final class Listener extends BaseTrainingListener implements Serializable {
        private static final long serialVersionUID = 1L;

        /** A model this thread has not trained before starts from the driver's replica: nothing of the residual. */
        @Override
        public void onGradientCalculation(Model model) {
            State s = STATE.get();
            if (s.model.get() != model) {
                s.model = new WeakReference<>(model);
                if (s.prev != null) s.prev.assign(0);
                s.pending = false;
            }
        }

        @Override
        public void iterationDone(Model model, int iteration, int epoch) {
            State s = STATE.get();
            if (!s.pending) return; // nothing was encoded this step (DL4J sends no message then): caught up next step
            s.pending = false;
            INDArray p = model.params();
            if (p.length() != s.delta.length()) {
                throw new IllegalStateException("local catch-up: residual has " + s.delta.length()
                        + " elements but the model " + p.length() + " parameters");
            }
            p.subi(s.delta.reshape(p.shape())); // DL4J's step is params -= update
        }
    }
}
