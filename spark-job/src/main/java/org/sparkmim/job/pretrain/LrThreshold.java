package org.sparkmim.job.pretrain;

import org.deeplearning4j.optimize.solvers.accumulation.encoding.ThresholdAlgorithm;
import org.deeplearning4j.optimize.solvers.accumulation.encoding.ThresholdAlgorithmReducer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.sparkmim.model.train.WarmupCosineSchedule;

/**
 * The gradient-sharing threshold that follows the LR schedule: τ = ratio · LR(global step), never below
 * {@code floor}.
 *
 * <p>Why. DL4J shares the optimizer's <i>update</i> (AdamW's LR·m̂/(√v̂+ε) plus the decoupled weight decay), not
 * the gradient: each element whose update-plus-residual reaches ±τ is sent as exactly ±τ, and the rest stays in the
 * worker's residual (error feedback). An AdamW step per element is at most about the LR, so with τ ≈ LR every
 * element's residual stays within about one step's update: the shared model is at most one step behind the
 * exact one, and the encoding is ternary over all elements (DL4J's bitmap form, 2 bits per element = 1/16 of the
 * dense fp32 gradient), the densest it can be.
 *
 * <p>The alternatives measured on the same run (docs/RESULTS.md, "Gradient sharing"): DL4J's
 * AdaptiveThresholdAlgorithm keeps at most 1% of the elements per message, so 99% of every update waited in the
 * residual and was then clipped away by the residual post-processor; a fixed τ = peak LR sent nothing in the
 * warmup and cosine tail, where the LR is far below the peak ("0 updates received" in the last chunk).
 *
 * <p>The {@code iteration} DL4J passes is the model's counter, which {@link
 * org.sparkmim.model.train.GlobalStepLr} sets to the global step before every update.
 */
public final class LrThreshold implements ThresholdAlgorithm {
    private static final long serialVersionUID = 1L;
    private WarmupCosineSchedule schedule;
    private double ratio;
    private double floor;

    private LrThreshold() { } // Kryo

    public LrThreshold(WarmupCosineSchedule schedule, double ratio, double floor) {
        this.schedule = schedule;
        this.ratio = ratio;
        this.floor = floor;
    }

    /** τ at a global step. */
    public double at(long step) {
        return Math.max(ratio * schedule.lr(step), floor);
    }

    @Override
    public double calculateThreshold(int iteration, int epoch, Double lastThreshold, Boolean lastWasDense,
                                     Double lastSparsityRatio, INDArray updatesPlusResidual) {
        return at(iteration);
    }

    @Override
    public ThresholdAlgorithmReducer newReducer() {
        return new Reducer();
    }

    @Override
    public LrThreshold clone() {
        return new LrThreshold(schedule, ratio, floor);
    }

    /** Every worker's algorithm is the same function of the step: any one of them is the reduction. */
    static final class Reducer implements ThresholdAlgorithmReducer {
        private static final long serialVersionUID = 1L;
        private ThresholdAlgorithm any;

        @Override
        public void add(ThresholdAlgorithm instance) {
            if (any == null) any = instance;
        }

        @Override
        public ThresholdAlgorithmReducer merge(ThresholdAlgorithmReducer other) {
            if (any == null && other != null) any = other.getFinalResult();
            return this;
        }

        @Override
        public ThresholdAlgorithm getFinalResult() {
            return any;
        }
    }
}
