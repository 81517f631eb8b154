package org.sparkmim.job.pretrain;

import org.deeplearning4j.optimize.api.StepFunction;
import org.deeplearning4j.optimize.solvers.accumulation.GradientsAccumulator;
import org.deeplearning4j.optimize.solvers.accumulation.IndexedTail;
import org.deeplearning4j.spark.parameterserver.networking.v2.UpdatesConsumer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.parameterserver.distributed.v2.transport.UpdatesHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The driver's model replica when a worker runs in the driver's JVM (Spark local mode): it takes each message's
 * values from the worker's encoding pass instead of decoding the message again.
 *
 * <p>Why. In local mode the executor shares the driver's parameter server, and DL4J delivers a worker's message to
 * the driver's {@code UpdatesConsumer} on the worker's training thread, inside the send. That consumer decodes it
 * with ND4J (3.7 ms per step for 1.3M parameters, measured in a local run), so the worker trained that much slower
 * than it would with the driver on another machine, as on a cluster. {@link BitmapSharing} already holds the
 * message's values (it hands them to the worker's own model); while it sends, it lends them here, and this
 * consumer adds them to the replica's buffer (one pass, no branches), exactly what the decode would add.
 *
 * <p>Everything else is DL4J's consumer as it was: the same parameters, buffer and step function, applied every
 * 32 messages and flushed by {@link DriverUpdates}. A message it was not lent (from another JVM, from DL4J's own
 * encoder, or arriving after the send returned) is decoded by DL4J's code.
 */
final class LocalReplica extends UpdatesConsumer {
    private static final Logger LOG = LoggerFactory.getLogger(LocalReplica.class);

    /** Message → [P] its values, while the worker in this JVM sends it. */
    private static final Map<INDArray, INDArray> LENT = Collections.synchronizedMap(new IdentityHashMap<>());
    private static final AtomicLong TAKEN = new AtomicLong();

    private LocalReplica(int numWorkers, INDArray params, INDArray updates, StepFunction step,
                         GradientsAccumulator accumulator, IndexedTail buffer) {
        super(numWorkers, params, updates, step, accumulator, buffer);
    }

    /** Lends {@code quanta} [P] as the values of {@code message} during {@code send}. */
    static void lend(INDArray message, INDArray quanta, Runnable send) {
        LENT.put(message, quanta);
        try {
            send.run();
        } finally {
            LENT.remove(message);
        }
    }

    /** Messages whose values were taken without a decode, in this JVM so far. */
    static long taken() {
        return TAKEN.get();
    }

    @Override
    public void onNext(INDArray message) {
        INDArray q = LENT.get(message);
        if (q == null || bypassMode.get() || accumulator != null || params == null || updates == null || stepFunction == null) {
            super.onNext(message);
            return;
        }
        synchronized (this) { // as DL4J's consumer: the buffer and the count under the consumer's lock
            updates.addi(q.reshape(updates.shape()));
            denseCounter.incrementAndGet();
            hasSomething.set(true);
            if (updatesCount.incrementAndGet() % 32 == 0) flush();
        }
        TAKEN.incrementAndGet();
    }

    /**
     * Replaces DL4J's driver-side consumer (the one with a replica and no accumulator) among this JVM's parameter
     * server subscribers by a LocalReplica over the same arrays; returns whether one is in place. Where there is
     * none (an executor on its own machine), nothing changes.
     */
    static boolean swapIn() {
        List<UpdatesHandler> subs = DriverUpdates.subscribers();
        synchronized (subs) {
            for (int i = 0; i < subs.size(); i++) {
                UpdatesHandler h = subs.get(i);
                if (h instanceof LocalReplica) return true;
                if (h.getClass() != UpdatesConsumer.class) continue;
                try {
                    UpdatesConsumer c = (UpdatesConsumer) h;
                    if (get(c, "accumulator") != null || get(c, "params") == null) continue;
                    LocalReplica mine = new LocalReplica((int) get(c, "numWorkers"), (INDArray) get(c, "params"),
                            (INDArray) get(c, "updates"), (StepFunction) get(c, "stepFunction"), null,
                            (IndexedTail) get(c, "updatesBuffer"));
                    synchronized (c) {
                        c.flush(); // whatever DL4J's consumer holds goes into the replica first
                        subs.set(i, mine);
                    }
                    LOG.info("gradient sharing: the driver's replica takes the local worker's messages without decoding them");
                    return true;
                } catch (ReflectiveOperationException | RuntimeException e) {
                    LOG.warn("gradient sharing: the driver's replica keeps DL4J's consumer: {}", e.toString());
                    return false;
                }
            }
        }
        return false;
    }

    private static Object get(UpdatesConsumer c, String name) throws ReflectiveOperationException {
        return BitmapSharing.field(UpdatesConsumer.class, name).get(c);
    }
}
