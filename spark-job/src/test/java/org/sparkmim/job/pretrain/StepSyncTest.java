package org.sparkmim.job.pretrain;

import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.sparkmim.job.LocalSpark;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.method.Methods;
import org.sparkmim.model.train.Trainer;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link StepSync} between two real Spark tasks of one stage (local[2], as the two workers of a chunk), through the
 * coordinator on the driver's real RPC environment: one worker is slow, and with step-sync = 1 the fast one never
 * starts step s + 1 before the slow one has finished step s. With step-sync = 4 it leads by 3 steps at most. Without
 * it (step-sync = 0) the fast one runs ahead, as DL4J's workers did by up to 10 steps. Whether the workers then
 * train as well as one JVM is StandaloneClusterTest's (real executors, DL4J's real transport).
 */
class StepSyncTest {
    static final int STEPS = 12;
    static LocalSpark spark;

    @BeforeAll
    static void start() {
        spark = LocalSpark.start("step-sync-test", "local[2]");
        StepSync.startCoordinator();
        // as after other gradient-sharing runs in this JVM: messages were sent before these workers' chunk began,
        // and they must not be waited for (they once were, 60 s per step)
        var sent = StepSync.counting(new org.deeplearning4j.optimize.solvers.accumulation.encoding.residual
                .NoOpResidualPostProcessor());
        for (int i = 0; i < 5; i++) sent.processResidual(i, 0, 1e-3, org.nd4j.linalg.factory.Nd4j.zeros(4));
    }

    @AfterAll
    static void stop() {
        if (spark != null) spark.close();
    }

    /** Per task: [step][0 = start, 1 = end of its work, before the listener] in ns. */
    static List<long[][]> run(int every) {
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.session().sparkContext());
        return sc.parallelize(List.of(0, 1), 2).mapPartitions(it -> {
                    int worker = it.next();
                    MimConfig cfg = MimConfig.load(Map.of("model.dim", "32", "model.depth", "1", "model.heads", "2",
                            "model.decoder-dim", "32", "model.decoder-depth", "1", "model.decoder-heads", "2"));
                    ComputationGraph g = Trainer.newGraph(cfg, Methods.create(cfg), STEPS);
                    StepSync sync = new StepSync(every, 2);
                    long[][] t = new long[STEPS][2];
                    for (int s = 0; s < STEPS; s++) {
                        t[s][0] = System.nanoTime();
                        if (worker == 0) sleep(40); // the slow worker's step
                        g.getConfiguration().setIterationCount(s);     // GlobalStepLr's global step
                        t[s][1] = System.nanoTime();                   // the step's work is done
                        sync.iterationDone(g, s, 0);
                    }
                    List<long[][]> one = new ArrayList<>();
                    one.add(t);
                    return one.iterator();
                }).collect();
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The most steps the fast worker (1) had started beyond the last step the slow one (0) had finished. */
    static int lead(List<long[][]> t) {
        long[][] slow = t.get(0), fast = t.get(1);
        int most = 0;
        for (int s = 0; s < STEPS; s++) {
            int finished = 0; // steps the slow worker had finished when the fast one started step s
            while (finished < STEPS && slow[finished][1] <= fast[s][0]) finished++;
            most = Math.max(most, s - finished);
        }
        return most;
    }

    @Test
    void withStepSyncNoWorkerStartsAStepBeforeAllFinishedThePreviousOne() {
        assertThat(lead(run(1))).as("steps the fast worker ran ahead").isLessThanOrEqualTo(0);
    }

    @Test
    void everyKStepsBoundsTheLeadByK() {
        assertThat(lead(run(4))).isLessThanOrEqualTo(3);
    }

    @Test
    void releaseWakesAWorkerWhoseOthersNeverCome() throws InterruptedException {
        // one task of a 2-worker chunk (the other was lost): the driver's release after the failed fit frees it
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.session().sparkContext());
        // released again and again until the job ends: a release that comes before the task's arrival wakes nobody
        java.util.concurrent.atomic.AtomicBoolean over = new java.util.concurrent.atomic.AtomicBoolean();
        Thread releaser = new Thread(() -> {
            while (true) {
                sleep(300);
                if (over.get()) return;
                StepSync.release();
            }
        });
        releaser.start();
        try {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> sc.parallelize(List.of(0), 1).foreach(i -> {
                    MimConfig cfg = MimConfig.load(Map.of("model.dim", "32", "model.depth", "1", "model.heads", "2",
                            "model.decoder-dim", "32", "model.decoder-depth", "1", "model.decoder-heads", "2"));
                    ComputationGraph g = Trainer.newGraph(cfg, Methods.create(cfg), STEPS);
                    new StepSync(1, 2).iterationDone(g, 0, 0);
                }))
                .hasMessageContaining("released step 1").hasMessageContaining("before all 2 workers arrived");
        } finally {
            over.set(true);
            releaser.join();
        }
    }

    /**
     * What makes the sync exact: every worker learns how many messages all workers have sent in the chunk so far,
     * so it can wait until it has received all but its own before its next forward pass.
     */
    @Test
    void everyWorkerLearnsHowManyMessagesAllWorkersHaveSent() {
        JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.session().sparkContext());
        List<Long> totals = sc.parallelize(List.of(0, 1), 2).map(w -> {
            if (w == 0) sleep(100); // arrives last
            var task = org.apache.spark.TaskContext.get();
            return StepSync.arrive(new StepSync.Arrive(task.stageId() + "." + task.stageAttemptNumber(), 7, 2,
                    w == 0 ? 3 : 5));
        }).collect();
        assertThat(totals).containsExactly(8L, 8L);
    }

    @Test
    void withoutItTheFastWorkerRunsAhead() {
        assertThat(lead(run(0))).isGreaterThanOrEqualTo(STEPS / 2);
    }
}
