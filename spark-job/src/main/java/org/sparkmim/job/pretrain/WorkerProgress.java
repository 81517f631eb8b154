package org.sparkmim.job.pretrain;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparkmim.model.train.Trainer;

import java.io.Serializable;

/**
 * Progress from inside a chunk. The driver logs one line per chunk, and a chunk can run for many minutes on the
 * executors (a MaPeT chunk ran 9 silent minutes). So every worker's model carries this listener and logs, at most
 * once per {@code everySeconds}, the global step it is at, the loss (the method's objective, as the JVM engine
 * logs it: without DL4J's weight-decay term), the rate since its previous line and the
 * run's ETA at that rate. In local mode the line lands in the driver's console; on a cluster, in each executor's
 * log. Runs whose chunks are shorter than the interval print little.
 *
 * <p>The global step is the model's iteration counter, which {@code GlobalStepLr} sets to the run's step before
 * every update (DL4J's own counter is not the global step on workers). DL4J keeps a gradient-sharing worker's
 * listeners for the life of its JVM, while parameter averaging ships fresh copies per split: the counter is right
 * either way, so this keeps no count of its own that a fresh copy would lose.
 */
public final class WorkerProgress extends BaseTrainingListener implements Serializable {
    private static final Logger LOG = LoggerFactory.getLogger(WorkerProgress.class);

    private final long totalSteps;
    private final int batchPerWorker;
    private final double everySeconds;
    private final int workers;
    // transient: a deserialized copy starts with started = false (field initializers do not run on that path)
    private transient boolean started;
    private transient long lastNanos, lastStep, stepsSeen, receivedAtStart;
    /** Set at a chunk's start (before any message of it): count the others' messages from there, by global step. */
    private transient boolean chunkStarted;
    private transient long chunkFirstStep = -1;

    @Override
    public synchronized void onEpochStart(Model model) {
        if (workers > 1) {
            receivedAtStart = WorkerUpdates.received();
            chunkStarted = true;
            chunkFirstStep = -1;
        }
    }

    /** @param workers gradient sharing's workers: each line also counts the updates received from the others */
    public WorkerProgress(long totalSteps, int batchPerWorker, double everySeconds, int workers) {
        this.totalSteps = totalSteps;
        this.batchPerWorker = batchPerWorker;
        this.everySeconds = everySeconds;
        this.workers = workers;
    }

    @Override
    public synchronized void iterationDone(Model model, int iteration, int epoch) {
        long now = System.nanoTime();
        long global = ((ComputationGraph) model).getConfiguration().getIterationCount() + 1L;   // steps done
        if (chunkStarted && chunkFirstStep < 0) chunkFirstStep = global;
        if (!started || global <= lastStep) {           // first step on this copy: the clock starts here
            started = true;
            lastNanos = now;
            lastStep = global;
            stepsSeen = 0;
            if (!chunkStarted) receivedAtStart = workers > 1 ? WorkerUpdates.received() : 0;
            return;
        }
        stepsSeen++;
        double secs = (now - lastNanos) / 1e9;
        if (secs < everySeconds) return;
        double stepsPerSec = (global - lastStep) / secs;
        lastNanos = now;
        lastStep = global;
        // one message per other worker and step (unless a step had nothing above the threshold): the shortfall is
        // what is still in flight, or was lost
        String others = "";
        if (workers > 1) {
            long got = WorkerUpdates.received() - receivedAtStart,
                    want = (long) (workers - 1) * (chunkStarted ? global - chunkFirstStep + 1 : stepsSeen);
            others = String.format(java.util.Locale.ROOT, ", updates from the other workers %d of %d (%d behind)",
                    got, want, want - got);
        }
        LOG.info(String.format(java.util.Locale.ROOT,
                "worker %s: step %d/%d (%.0f%%), loss %.4f, %.2f steps/s = %.0f img/s per worker, ETA ~%s%s",
                executorId(), global, totalSteps, 100.0 * global / totalSteps, Trainer.dataLoss((ComputationGraph) model), stepsPerSec,
                stepsPerSec * batchPerWorker, Trainer.human(Math.max(0, totalSteps - global) / stepsPerSec), others));
    }

    private static String executorId() {
        org.apache.spark.SparkEnv env = org.apache.spark.SparkEnv.get();
        return env == null ? "?" : env.executorId();
    }
}
