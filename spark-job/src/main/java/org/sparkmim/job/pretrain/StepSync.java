package org.sparkmim.job.pretrain;

import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.rpc.RpcCallContext;
import org.apache.spark.rpc.RpcEndpointRef;
import org.apache.spark.rpc.RpcEnv;
import org.apache.spark.rpc.RpcTimeout;
import org.apache.spark.rpc.ThreadSafeRpcEndpoint;
import org.apache.spark.util.RpcUtils;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractPartialFunction;
import scala.runtime.BoxedUnit;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Bounded staleness for gradient sharing (spark.step-sync, default 0 = off): no worker starts step s + k before
 * every worker has finished step s.
 *
 * <p>Why it exists. DL4J's gradient sharing never waits: each worker trains its own partition as fast as it can and
 * applies the other workers' messages whenever they have arrived. The workers of a chunk do not start together
 * (task launch, JIT, data), and their speeds differ from minute to minute on shared hosts: from the {@link
 * WorkerProgress} lines of a 2-worker run on the standalone cluster, up to 10 steps apart. That looked like the
 * cause of the 2-worker gap to the JVM engine. Measured (docs/RESULTS.md, "Two workers in step"): with k = 1 the
 * workers ran in step at full speed, every message arrived within the step, and the gap stayed (77.7-78.1 kNN
 * against 78.7-78.8 unsynchronized and the JVM engine's 81.9). Only when the workers also idled 0.7-1 s per step
 * did it close (81.7). So drift is not the cause, and this stays off by default; it remains for runs that need
 * the workers in step, and for those experiments ({@code debug.step-sleep-ms}).
 *
 * <p>What. After every k-th global step (the same on every worker) each worker's training thread asks the driver's
 * {@link Coordinator} "arrived at step s" and blocks until all workers of the chunk have asked. Every worker has
 * sent its message of step s before it asks (DL4J encodes and sends inside the update), so with k = 1 each
 * worker's step s + 1 receives the others' step s while it computes its own: one step of staleness. The bytes sent
 * are unchanged; the cost is one RPC round trip per k steps plus the wait for the slowest worker.
 *
 * <p>Not Spark's barrier mode: {@code BarrierTaskContext.barrier()} polls its RPC once a second (Spark 3.5), so a
 * barrier per step cost about a second per step (measured: 0.76 steps/s against 3). This asks Spark's RPC directly,
 * the same mechanism with a blocking wait. DL4J trains a gradient-sharing worker on the Spark task's own thread
 * (one worker per executor, the only value allowed), so the task context names the chunk's stage.
 */
public final class StepSync extends BaseTrainingListener implements Serializable {
    private static final long serialVersionUID = 1L;
    static final String ENDPOINT = "mim-step-sync";
    /** How long a worker waits for the others at one step before its task fails. */
    static final long WAIT_SECONDS = 600;

    private final int every;
    private final int workers;
    private final long sleepMs;

    /**
     * @param every   k: wait after every k-th global step; 0 = never (DL4J's unbounded asynchrony)
     * @param workers the workers of every chunk (spark.workers); below 2 nothing waits
     * @param sleepMs debug.step-sleep-ms: a pause after every step, before the wait (experiments on step speed)
     */
    public StepSync(int every, int workers, long sleepMs) {
        this.every = every;
        this.workers = workers;
        this.sleepMs = sleepMs;
    }

    public StepSync(int every, int workers) {
        this(every, workers, 0);
    }

    @Override
    public void iterationDone(Model model, int iteration, int epoch) {
        if (sleepMs > 0) {
            try {
                Thread.sleep(sleepMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        if (every <= 0 || workers < 2) return;
        TaskContext task = TaskContext.get();
        if (task == null) return;                                   // not inside a Spark task
        long done = ((ComputationGraph) model).getConfiguration().getIterationCount() + 1L; // global steps done
        if (done % every != 0) return;
        Arrive a = new Arrive(task.stageId() + "." + task.stageAttemptNumber(), done, workers);
        Object ok = driver().askSync(a, new RpcTimeout(scala.concurrent.duration.Duration.create(WAIT_SECONDS,
                TimeUnit.SECONDS), "mim.spark.step-sync"), ClassTag$.MODULE$.apply(Boolean.class));
        if (!Boolean.TRUE.equals(ok)) {
            throw new IllegalStateException("step-sync: the driver released step " + done + " of stage " + a.group()
                    + " before all " + workers + " workers arrived (the chunk failed or was cancelled)");
        }

    }

    private static RpcEndpointRef ref;
    private static RpcEnv refEnv;

    private static synchronized RpcEndpointRef driver() {
        RpcEnv env = SparkEnv.get().rpcEnv();
        if (ref == null || refEnv != env) {              // a new application in this JVM (local-mode tests)
            ref = RpcUtils.makeDriverRef(ENDPOINT, SparkEnv.get().conf(), env);
            refEnv = env;
        }
        return ref;
    }

    /** One worker at one step of a chunk's stage ("stageId.attempt"). */
    record Arrive(String group, long step, int parties) implements Serializable { }

    /** Answers every waiting worker with false: after a chunk's fit, so that no task of a failed one waits on. */
    record Release() implements Serializable { }

    /** Registers the coordinator on the driver's RPC environment, once per application. */
    public static synchronized void startCoordinator() {
        RpcEnv env = SparkEnv.get().rpcEnv();
        if (coordinatorEnv == env) return;
        env.setupEndpoint(ENDPOINT, new Coordinator(env));
        coordinatorEnv = env;
    }

    private static RpcEnv coordinatorEnv;

    /** After a chunk: wakes any worker still waiting (with false). */
    public static void release() {
        RpcEnv env = SparkEnv.get().rpcEnv();
        if (coordinatorEnv == env) RpcUtils.makeDriverRef(ENDPOINT, SparkEnv.get().conf(), env).send(new Release());
    }

    /** The driver's side: collects arrivals per (stage, step) and answers them together when all have come. */
    static final class Coordinator implements ThreadSafeRpcEndpoint {
        private final RpcEnv env;
        private final Map<String, List<RpcCallContext>> waiting = new HashMap<>(); // one message at a time (thread-safe endpoint)

        Coordinator(RpcEnv env) {
            this.env = env;
        }

        @Override
        public RpcEnv rpcEnv() {
            return env;
        }

        @Override
        public scala.PartialFunction<Object, BoxedUnit> receive() {
            return new AbstractPartialFunction<>() {
                @Override
                public boolean isDefinedAt(Object m) {
                    return m instanceof Release;
                }

                @Override
                public <A1, B1> B1 applyOrElse(A1 m, scala.Function1<A1, B1> otherwise) {
                    if (!(m instanceof Release)) return otherwise.apply(m);
                    for (List<RpcCallContext> l : waiting.values()) for (RpcCallContext c : l) c.reply(Boolean.FALSE);
                    waiting.clear();
                    @SuppressWarnings("unchecked") B1 unit = (B1) BoxedUnit.UNIT;
                    return unit;
                }
            };
        }

        @Override
        public scala.PartialFunction<Object, BoxedUnit> receiveAndReply(RpcCallContext ctx) {
            return new AbstractPartialFunction<>() {
                @Override
                public boolean isDefinedAt(Object m) {
                    return m instanceof Arrive;
                }

                @Override
                public <A1, B1> B1 applyOrElse(A1 m, scala.Function1<A1, B1> otherwise) {
                    if (!(m instanceof Arrive a)) return otherwise.apply(m);
                    String key = a.group() + "@" + a.step();
                    List<RpcCallContext> l = waiting.computeIfAbsent(key, k -> new ArrayList<>());
                    l.add(ctx);
                    if (l.size() >= a.parties()) {
                        waiting.remove(key);
                        for (RpcCallContext c : l) c.reply(Boolean.TRUE);
                    }
                    @SuppressWarnings("unchecked") B1 unit = (B1) BoxedUnit.UNIT;
                    return unit;
                }
            };
        }
    }
}
