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
import org.deeplearning4j.optimize.solvers.accumulation.GradientsAccumulator;
import org.deeplearning4j.optimize.solvers.accumulation.encoding.ResidualPostProcessor;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractPartialFunction;
import scala.runtime.BoxedUnit;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Synchronous gradient sharing (spark.step-sync, default 1): no worker starts the forward pass of step s + 1 before
 * it has applied every worker's update of step s.
 *
 * <p>Why. DL4J's gradient sharing never waits. A worker encodes and sends its update at the end of step s, and the
 * others apply it whenever it has arrived: at the start of their next step if it came in time (DL4J checks for
 * external updates before each forward pass), else after their next backward pass. On a loaded host the message
 * (serialized, chunked, relayed by the driver's mesh, merged, deserialized) arrives during the other worker's next
 * forward pass, so every worker computed each gradient on weights that lacked the other workers' last step: one
 * step of staleness for (W - 1)/W of every update. Measured on 2 workers at 600 steps (docs/RESULTS.md, "Two
 * workers in step"): holding them in step alone changed nothing (77.7-78.1 kNN), while the same lockstep with the
 * workers idle 0.7-1 s per step, long enough for every message to arrive before the next forward pass, came
 * within 0.2 points of the JVM engine (81.7 against 81.9). This class makes that wait exact instead of idle.
 *
 * <p>What. After every k-th global step (the same on every worker), and after a chunk's last step, each worker's
 * training thread tells a {@link Coordinator} on the driver (Spark RPC) how many messages it has sent in this chunk
 * and blocks until all workers of the chunk have come. The answer is the chunk's total; the worker then waits until
 * it has received all of them but its own ({@link WorkerUpdates}), and applies them at once through DL4J's own
 * accumulator, exactly as DL4J would before its next forward pass (so they are applied before a chunk ends, too:
 * DL4J discards a worker's unapplied messages after each fit). With k = 1 this is synchronous data-parallel training
 * over DL4J's transport: the same bytes on the wire, one RPC round trip and one message transit per step. k > 1
 * bounds the staleness at k steps; 0 is DL4J's unbounded asynchrony.
 *
 * <p>Counting. A start barrier (at the chunk's first {@code onEpochStart}) lets every worker note its received count
 * before any worker of the chunk sends, so later counts are this chunk's messages only. {@link Sent}, a residual
 * post-processor around the configured one, counts the messages this JVM sends: DL4J calls it once for every
 * message it encodes, and never for a step that sent nothing.
 *
 * <p>Not Spark's barrier mode: {@code BarrierTaskContext.barrier()} polls its RPC once a second (Spark 3.5), so a
 * barrier per step cost about a second per step (measured: 0.76 steps/s against 3). This asks Spark's RPC directly,
 * the same mechanism with a blocking wait. DL4J trains a gradient-sharing worker on the Spark task's own thread
 * (one worker per executor, the only value allowed), so the task context names the chunk's stage.
 */
public final class StepSync extends BaseTrainingListener implements Serializable {
    private static final long serialVersionUID = 2L;
    private static final Logger LOG = LoggerFactory.getLogger(StepSync.class);
    static final String ENDPOINT = "mim-step-sync";
    /** How long a worker waits for the others at one step before its task fails. */
    static final long WAIT_SECONDS = 600;

    private final int every;
    private final int workers;
    private final long sleepMs;
    private final long messageWaitMs;

    /** Messages this JVM has encoded and sent (all chunks), counted by {@link Sent}. */
    private static final AtomicLong SENT = new AtomicLong();
    /** On the driver: the total the coordinator last answered (all workers' messages of the chunk), −1 after a release. */
    private static final AtomicLong LAST_TOTAL = new AtomicLong(-1);

    /** Messages this JVM has sent as a gradient-sharing worker (in local mode the driver's JVM is the worker's). */
    static long sentHere() {
        return SENT.get();
    }

    /** On the driver, after a chunk's fit: every message its workers sent, as the coordinator last counted (or −1). */
    static long lastTotal() {
        return LAST_TOTAL.get();
    }

    /** This JVM's position in the chunk it is training: which stage, and the counts at its start barrier. */
    private static final class Chunk {
        String group;
        long sentAtStart, receivedAtStart, lastSynced = -1, lastDone = -1;
        INDArray buffer;

        /** The chunk of stage {@code g} starts on this thread: count messages from here. */
        void begin(String g) {
            group = g;
            lastSynced = -1;
            lastDone = -1;
            sentAtStart = SENT.get();
            receivedAtStart = WorkerUpdates.received();
        }
    }

    private static final ThreadLocal<Chunk> CHUNK = ThreadLocal.withInitial(Chunk::new);

    /**
     * @param every         k: sync after every k-th global step and at each chunk's end; 0 = never (DL4J's asynchrony)
     * @param workers       the workers of every chunk (spark.workers); below 2 nothing waits
     * @param sleepMs       debug.step-sleep-ms: a pause after every step, before the sync (experiments on step speed)
     * @param messageWaitMs how long a worker waits for the others' messages after the barrier before it goes on
     *                      without them (with a warning): messages are never lost in a healthy run
     */
    public StepSync(int every, int workers, long sleepMs, long messageWaitMs) {
        this.every = every;
        this.workers = workers;
        this.sleepMs = sleepMs;
        this.messageWaitMs = messageWaitMs;
    }

    public StepSync(int every, int workers) {
        this(every, workers, 0, 60_000);
    }

    private boolean active() {
        return every > 0 && workers > 1 && TaskContext.get() != null;
    }

    private static String group() {
        TaskContext task = TaskContext.get();
        return task.stageId() + "." + task.stageAttemptNumber();
    }

    /** Start barrier: every worker notes its counts before any worker sends a message of this chunk. */
    @Override
    public void onEpochStart(Model model) {
        if (!active()) return;
        Chunk c = CHUNK.get();
        String g = group();
        if (g.equals(c.group)) return;   // a second fit() within one task: the chunk has started already
        c.begin(g);
        arrive(new Arrive(g, -1, workers, 0));
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
        if (!active()) return;
        long done = ((ComputationGraph) model).getConfiguration().getIterationCount() + 1L; // global steps done
        CHUNK.get().lastDone = done;
        if (done % every == 0) sync((ComputationGraph) model, done);
    }

    /** A chunk's last step is always synced, so that no message of it is left for DL4J to discard. */
    @Override
    public void onEpochEnd(Model model) {
        if (!active()) return;
        Chunk c = CHUNK.get();
        if (c.lastDone >= 0 && c.lastSynced != c.lastDone) sync((ComputationGraph) model, c.lastDone);
    }

    private void sync(ComputationGraph graph, long done) {
        Chunk c = CHUNK.get();
        String g = group();
        if (!g.equals(c.group)) c.begin(g);   // no onEpochStart on this thread (a caller outside DL4J's fit)
        long sent = SENT.get() - c.sentAtStart;
        long total = arrive(new Arrive(g, done, workers, sent));
        c.lastSynced = done;
        long want = c.receivedAtStart + (total - sent);
        try {
            if (!WorkerUpdates.await(want, messageWaitMs)) {
                LOG.warn("step-sync: at step {} this worker has {} of the other workers' {} messages of this chunk after"
                        + " {} ms; going on without the rest", done, WorkerUpdates.received() - c.receivedAtStart,
                        total - sent, messageWaitMs);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        if (total - sent <= 0) return; // nothing came from the others
        // what DL4J would apply before its next forward pass, applied now (and at a chunk's end, where DL4J would not)
        var opt = graph.getOptimizer();
        GradientsAccumulator acc = opt.getGradientsAccumulator();
        if (acc != null && acc.hasAnything()) {
            INDArray p = graph.params();
            try (MemoryWorkspace ignored = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
                if (c.buffer == null || c.buffer.length() != p.length() || c.buffer.dataType() != p.dataType()) {
                    c.buffer = Nd4j.createUninitialized(p.dataType(), p.shape(), p.ordering());
                }
                acc.applyUpdate(opt.getStepFunction(), p, c.buffer, false);
            }
        }
    }

    /** Asks the coordinator; returns the messages all workers have sent in this chunk. */
    static long arrive(Arrive a) {
        Object total = driver().askSync(a, new RpcTimeout(scala.concurrent.duration.Duration.create(WAIT_SECONDS,
                TimeUnit.SECONDS), "mim.spark.step-sync"), ClassTag$.MODULE$.apply(Long.class));
        if (!(total instanceof Long t) || t < 0) {
            throw new IllegalStateException("step-sync: the driver released step " + a.step() + " of stage " + a.group()
                    + " before all " + a.parties() + " workers arrived (the chunk failed or was cancelled)");
        }
        return t;
    }

    /**
     * The residual post-processor that counts this JVM's messages, around the configured one ({@code inner}):
     * DL4J calls it on the training thread right after encoding each message it sends.
     */
    public static Sent counting(ResidualPostProcessor inner) {
        return new Sent(inner);
    }

    public static final class Sent implements ResidualPostProcessor {
        private static final long serialVersionUID = 1L;
        private ResidualPostProcessor inner;

        private Sent() { } // Kryo

        Sent(ResidualPostProcessor inner) {
            this.inner = inner;
        }

        /** @param residual [P] the worker's residual after encoding (DL4J's buffer, modified in place by inner) */
        @Override
        public void processResidual(int iteration, int epoch, double lastThreshold, INDArray residual) {
            SENT.incrementAndGet();
            inner.processResidual(iteration, epoch, lastThreshold, residual);
        }

        @Override
        public Sent clone() {
            return new Sent(inner.clone());
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

    /**
     * One worker at one step of a chunk's stage ("stageId.attempt"), with the messages it has sent in the chunk;
     * step -1 is the chunk's start barrier.
     */
    record Arrive(String group, long step, int parties, long sent) implements Serializable { }

    /**
     * A task of stage {@code group} ("stageId.attempt") ended, on the driver: every worker of that stage still
     * waiting, and any that arrives later, is answered with −1, since the ended one will never arrive.
     */
    record TaskEnded(String group) implements Serializable { }

    /** Sends {@link TaskEnded} to the coordinator (a Spark listener's call on the driver). */
    static void taskEnded(String group) {
        RpcEnv env = SparkEnv.get() == null ? null : SparkEnv.get().rpcEnv();
        if (env != null && coordinatorEnv == env) {
            RpcUtils.makeDriverRef(ENDPOINT, SparkEnv.get().conf(), env).send(new TaskEnded(group));
        }
    }

    /** Answers every waiting worker with -1: after a chunk's fit, so that no task of a failed one waits on. */
    record Release() implements Serializable { }

    /** Scala's Unit as the answer type an RPC endpoint's partial functions want. */
    @SuppressWarnings("unchecked")
    private static <B> B unit() {
        return (B) BoxedUnit.UNIT;
    }

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

    /**
     * The driver's side: collects arrivals per (stage, step) and, when all have come, answers each with the sum of
     * their sent counts.
     */
    static final class Coordinator implements ThreadSafeRpcEndpoint {
        private final RpcEnv env;
        private final Map<String, List<RpcCallContext>> waiting = new HashMap<>(); // one message at a time (thread-safe endpoint)
        private final Map<String, Long> sent = new HashMap<>();
        /** Stages with an ended task: their arrivals are answered with −1 at once (cleared by a release). */
        private final java.util.Set<String> ended = new java.util.HashSet<>();

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
                    return m instanceof Release || m instanceof TaskEnded;
                }

                @Override
                public <A1, B1> B1 applyOrElse(A1 m, scala.Function1<A1, B1> otherwise) {
                    if (m instanceof TaskEnded t) {
                        ended.add(t.group());
                        for (var it = waiting.entrySet().iterator(); it.hasNext(); ) {
                            var e = it.next();
                            if (!e.getKey().startsWith(t.group() + "@")) continue;
                            for (RpcCallContext c : e.getValue()) c.reply(-1L);
                            sent.remove(e.getKey());
                            it.remove();
                        }
                        return unit();
                    }
                    if (!(m instanceof Release)) return otherwise.apply(m);
                    for (List<RpcCallContext> l : waiting.values()) for (RpcCallContext c : l) c.reply(-1L);
                    LAST_TOTAL.set(-1);
                    waiting.clear();
                    ended.clear();
                    sent.clear();
                    return unit();
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
                    if (ended.contains(a.group())) {
                        ctx.reply(-1L);
                        return unit();
                    }
                    String key = a.group() + "@" + a.step();
                    List<RpcCallContext> l = waiting.computeIfAbsent(key, k -> new ArrayList<>());
                    l.add(ctx);
                    long total = sent.merge(key, a.sent(), Long::sum);
                    if (l.size() >= a.parties()) {
                        waiting.remove(key);
                        sent.remove(key);
                        LAST_TOTAL.set(total);
                        for (RpcCallContext c : l) c.reply(total);
                    }
                    return unit();
                }
            };
        }
    }
}
