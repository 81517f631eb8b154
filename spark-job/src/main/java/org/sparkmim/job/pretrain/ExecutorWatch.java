package org.sparkmim.job.pretrain;

import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorRemoved;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Notices executors lost while a chunk trains. Under gradient sharing Spark "recovers" a lost executor by running
 * its task again elsewhere, and the fit returns normally, but the training is broken: the lost worker's model and
 * its unsent residual are gone, the retried partition trains on the surviving JVM's model, and DL4J's update mesh
 * does not re-admit a replacement (measured: 0 updates reached the driver in every later chunk, the model
 * stopped changing, the job still exited 0). So a loss fails the chunk, and the driver restarts from the last
 * checkpoint in a fresh application ({@code mim.spark.max-restarts}).
 *
 * <p>With spark.step-sync the surviving workers wait at their next step for the lost one, and hold the slots that
 * Spark would rerun its task in. So there the watch cancels the running jobs at once, the fit fails, and the same
 * restart follows.
 */
final class ExecutorWatch extends SparkListener {
    private final List<String> removed = new CopyOnWriteArrayList<>();
    private final SparkContext cancelOnLoss;

    /** @param cancelOnLoss the context whose jobs a loss cancels, or null to let them run on */
    ExecutorWatch(SparkContext cancelOnLoss) {
        this.cancelOnLoss = cancelOnLoss;
    }

    @Override
    public void onExecutorRemoved(SparkListenerExecutorRemoved e) {
        removed.add("executor " + e.executorId() + " (" + e.reason() + ")");
        if (cancelOnLoss != null) cancelOnLoss.cancelAllJobs();
    }

    /** Executors removed so far; compare sizes before and after a fit. */
    List<String> removed() {
        return List.copyOf(removed);
    }
}
