package org.sparkmim.job.pretrain;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import org.sparkmim.model.config.MimConfig;

import java.io.Serializable;
import java.util.List;

/**
 * The {@code mim.spark.*} and {@code mim.debug.*} keys (spark-job/src/main/resources/reference.conf), validated.
 * Errors name the key, the value, where it came from (file:line or --set) and what is allowed.
 */
public record SparkSettings(String sync, int workers, int workersPerNode, double threshold, double thresholdRatio, double residualClip,
                            boolean localCatchUp, String encoder, String localTransport, String sharedLr, int averagingFrequency,
                            String approach, int chunksPerEpoch, int probeImages, String resume,
                            String controllerAddress, int port, String networkMask, int minShmMb, int maxRestarts,
                            int nanAtChunk, long pauseInCheckpointMs, double progressSeconds, double timerSlackUs, int stepSync, long stepSleepMs) implements Serializable {

    /** threshold = auto: NaN here, resolved from the LR schedule by {@link #thresholdAlgorithm}. */
    static final double AUTO = Double.NaN;
    /** threshold = rms: −1 here, resolved per step from the update itself ({@link RmsThreshold}). */
    static final double RMS = -1;

    /**
     * The gradient-sharing encoder's threshold. auto: {@link LrThreshold}, threshold-ratio × the scheduled LR at
     * every step (floor: 1e-4 of that at the peak). rms: {@link RmsThreshold}, threshold-ratio × the RMS of each
     * step's update plus residual (same floor). A number: DL4J's AdaptiveThresholdAlgorithm starting there (its
     * 0.01%..1% sparsity band; DL4J's own default, kept for comparison).
     */
    public org.deeplearning4j.optimize.solvers.accumulation.encoding.ThresholdAlgorithm thresholdAlgorithm(
            org.sparkmim.model.train.WarmupCosineSchedule schedule) {
        double floor = 1e-4 * thresholdRatio * schedule.peakLr;
        if (Double.isNaN(threshold)) return new LrThreshold(schedule, thresholdRatio, floor);
        if (threshold == RMS) return new RmsThreshold(thresholdRatio, floor);
        return new org.deeplearning4j.optimize.solvers.accumulation.encoding.threshold.AdaptiveThresholdAlgorithm(threshold);
    }

    public static SparkSettings of(MimConfig cfg) {
        Config s = cfg.tree().getConfig("spark");
        Config d = cfg.tree().getConfig("debug");
        SparkSettings r = new SparkSettings(
                oneOf(s, "sync", List.of("shared", "averaging")),
                (int) num(s, "workers", 1, 100000),
                (int) num(s, "workers-per-node", 1, 1),
                threshold(s),
                num(s, "threshold-ratio", 0.01, 100),
                num(s, "residual-clip", 0, 1e6),
                bool(s, "local-catch-up"),
                oneOf(s, "encoder", List.of("java", "nd4j")),
                oneOf(s, "local-transport", List.of("in-jvm", "aeron")),
                oneOf(s, "shared-lr", List.of("split", "full")),
                (int) num(s, "averaging-frequency", 1, 1e6),
                oneOf(s, "approach", List.of("direct", "export")),
                (int) num(s, "chunks-per-epoch", 1, 10000),
                (int) num(s, "probe-images", 1, 1 << 16),
                oneOf(s, "resume", List.of("auto", "never")),
                s.getString("controller-address"),
                (int) num(s, "port", 1024, 65535),
                s.getString("network-mask"),
                (int) num(s, "min-shm-mb", 0, 1 << 20),
                (int) num(s, "max-restarts", 0, 1000),
                (int) num(d, "nan-at-chunk", -1, Integer.MAX_VALUE),
                (long) num(d, "pause-in-checkpoint-ms", 0, 3_600_000),
                num(s, "progress-seconds", 0, 86400),
                num(s, "timer-slack-us", 0, 100_000),
                (int) num(s, "step-sync", 0, 1_000_000),
                (long) num(d, "step-sleep-ms", 0, 600_000));
        if (cfg.optim.batch() % r.workers != 0) {
            throw new IllegalArgumentException("config key mim.optim.batch = " + cfg.optim.batch() + " (from "
                    + cfg.tree().getValue("optim.batch").origin().description() + ") must be a multiple of mim.spark.workers = "
                    + r.workers + " (from " + s.getValue("workers").origin().description()
                    + "): the global batch is split evenly over the workers");
        }
        return r;
    }

    /** The same settings with resume = auto (a restart after a failure continues from the last checkpoint). */
    public SparkSettings resumingAuto() {
        return new SparkSettings(sync, workers, workersPerNode, threshold, thresholdRatio, residualClip, localCatchUp, encoder, localTransport, sharedLr, averagingFrequency, approach, chunksPerEpoch,
                probeImages, "auto", controllerAddress, port, networkMask, minShmMb, maxRestarts, nanAtChunk,
                pauseInCheckpointMs, progressSeconds, timerSlackUs, stepSync, stepSleepMs);
    }

    /**
     * The factor on each worker's LR schedule (and so on the threshold that follows it). Gradient sharing adds the
     * workers' updates, each an AdamW step of its own slice of the global batch; with shared-lr = split each takes
     * 1/workers of the LR, so one step of the cluster moves the weights as far as one step of the JVM engine or of
     * parameter averaging (which averages the workers' steps) on the same global batch.
     */
    public double workerLrScale() {
        return "shared".equals(sync) && "split".equals(sharedLr) ? 1.0 / workers : 1.0;
    }

    /**
     * Whether {@link StepSync} holds the workers within step-sync steps of each other: gradient sharing, more than
     * one worker, step-sync above 0.
     */
    public boolean stepSynced() {
        return "shared".equals(sync) && workers > 1 && stepSync > 0;
    }

    /** Minibatch size on each worker: the global batch split evenly. */
    public int batchPerWorker(MimConfig cfg) {
        return cfg.optim.batch() / workers;
    }

    private static double threshold(Config s) {
        Object v = s.getValue("threshold").unwrapped();
        if ("auto".equals(v)) return AUTO;
        if ("rms".equals(v)) return RMS;
        if (v instanceof String str && !str.matches("[-+0-9.eE]+")) throw bad(s, "threshold", str, "auto, rms, or a number in [1e-09, 1]");
        return num(s, "threshold", 1e-9, 1);
    }

    private static String oneOf(Config c, String key, List<String> allowed) {
        String v = c.getString(key);
        if (!allowed.contains(v)) throw bad(c, key, v, "one of " + allowed);
        return v;
    }

    private static boolean bool(Config c, String key) {
        try {
            return c.getBoolean(key);
        } catch (ConfigException.WrongType e) {
            throw bad(c, key, c.getValue(key).render(), "true or false");
        }
    }

    private static double num(Config c, String key, double lo, double hi) {
        double v;
        try {
            v = c.getDouble(key);
        } catch (ConfigException.WrongType e) {
            throw bad(c, key, c.getValue(key).render(), "a number in [" + fmt(lo) + ", " + fmt(hi) + "]");
        }
        if (!(v >= lo && v <= hi)) throw bad(c, key, fmt(v), "a number in [" + fmt(lo) + ", " + fmt(hi) + "]");
        return v;
    }

    private static String fmt(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? String.valueOf((long) v) : String.valueOf(v);
    }

    private static IllegalArgumentException bad(Config c, String key, Object v, String allowed) {
        String section = c.hasPath("nan-at-chunk") ? "mim.debug." : "mim.spark.";
        return new IllegalArgumentException("config key " + section + key + " = " + v + " is invalid (from "
                + c.getValue(key).origin().description() + "): allowed " + allowed);
    }
}
