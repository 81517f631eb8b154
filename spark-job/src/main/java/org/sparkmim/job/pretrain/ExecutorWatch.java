package org.sparkmim.job.pretrain;

import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorRemoved;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

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
 * Spark would rerun its task in; a rerun task would start its partition from the first step while they wait at a
 * later one. So there the watch cancels the running jobs at once when an executor is lost or a task fails (a
 * diverged worker, an exception), the fit fails, and the same restart, or the divergence report, follows.
 */
final class ExecutorWatch extends SparkListener {
    private final List<String> removed = new CopyOnWriteArrayList<>();
    private final SparkContext cancelOnFailure;

    /** @param cancelOnFailure the context whose jobs a lost executor or a failed task cancels, or null to let them run on */
    ExecutorWatch(SparkContext cancelOnFailure) {
        this.cancelOnFailure = cancelOnFailure;
    }

    @Override
    public void onExecutorRemoved(SparkListenerExecutorRemoved e) {
        removed.add("executor " + e.executorId() + " (" + e.reason() + ")");
        if (cancelOnFailure != null) cancelOnFailure.cancelAllJobs();
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd e) {
        if (cancelOnFailure == null) return;
        if (!(e.reason() instanceof org.apache.spark.Success$)) cancelOnFailure.cancelAllJobs();
        // A worker whose training ended early (DL4J swallows a worker's exception, e.g. NonFiniteGuard's, and ends
        // the task normally) never arrives at its next step: release the others of its stage instead of leaving
        // them waiting. At a chunk's normal end every worker has passed its last sync before its task ends.
        StepSync.taskEnded(e.stageId() + "." + e.stageAttemptId());
    }

    /** Executors removed so far; compare sizes before and after a fit. */
    List<String> removed() {
        return List.copyOf(removed);
    }
}
