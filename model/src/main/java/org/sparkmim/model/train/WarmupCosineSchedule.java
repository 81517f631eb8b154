package org.sparkmim.model.train;

import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * MAE's LR schedule (util/lr_sched.py), set every iteration from the global step: linear warmup to the peak,
 * then half-cosine to minLr. Works on iterations so resume continues exactly where the step counter is.
 */
public class WarmupCosineSchedule implements ISchedule {
    @JsonProperty public double peakLr;
    @JsonProperty public double minLr;
    @JsonProperty public long warmupSteps;
    @JsonProperty public long totalSteps;

    public WarmupCosineSchedule() { }

    public WarmupCosineSchedule(double peakLr, double minLr, long warmupSteps, long totalSteps) {
        this.peakLr = peakLr;
        this.minLr = minLr;
        this.warmupSteps = warmupSteps;
        this.totalSteps = Math.max(totalSteps, 1);
    }

    /** The same schedule with every LR times f (fine-tuning's layer-wise LR decay). */
    public WarmupCosineSchedule scaled(double f) {
        return new WarmupCosineSchedule(f * peakLr, f * minLr, warmupSteps, totalSteps);
    }

    /** LR at global step (0-based). */
    public double lr(long step) {
        if (step < warmupSteps) return peakLr * (step + 1) / (double) warmupSteps;
        if (step >= totalSteps) return minLr;
        double t = (step - warmupSteps) / (double) Math.max(1, totalSteps - warmupSteps);
        return minLr + (peakLr - minLr) * 0.5 * (1 + Math.cos(Math.PI * t));
    }

    @Override
    public double valueAt(int iteration, int epoch) {
        return lr(iteration);
    }

    @Override
    public ISchedule clone() {
        return new WarmupCosineSchedule(peakLr, minLr, warmupSteps, totalSteps);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof WarmupCosineSchedule s && s.peakLr == peakLr && s.minLr == minLr
                && s.warmupSteps == warmupSteps && s.totalSteps == totalSteps;
    }

    @Override
    public int hashCode() {
        return Double.hashCode(peakLr) * 31 + Long.hashCode(totalSteps);
    }

    @Override
    public String toString() {
        return "WarmupCosine(peak=" + peakLr + ",min=" + minLr + ",warmup=" + warmupSteps + ",total=" + totalSteps + ")";
    }
}
