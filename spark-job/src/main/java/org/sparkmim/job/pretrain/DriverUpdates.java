package org.sparkmim.job.pretrain;

import org.deeplearning4j.spark.parameterserver.networking.v2.UpdatesConsumer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.parameterserver.distributed.v2.ModelParameterServer;
import org.nd4j.parameterserver.distributed.v2.transport.UpdatesHandler;
import org.reactivestreams.Subscription;

import java.lang.reflect.Field;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The driver's side of gradient sharing: makes the driver's model whole after each fit, and counts the
 * threshold-encoded updates it receives.
 *
 * <p>Why: under SharedTrainingMaster the executors keep their own models between fit() calls; the driver's model
 * (which we probe and checkpoint) is only a replica that DL4J's driver-side {@code UpdatesConsumer} builds from the
 * update messages of every worker. That consumer decodes the messages into a buffer and applies the buffer only
 * on every 32nd message, and nothing flushes it when fit() returns ({@code finalizeTraining} has no driver in the
 * v2 transport). So after a chunk up to 31 worker updates were missing from the driver's model: the probe loss
 * stood still in chunks with fewer than 32 messages, and the final checkpoint lacked the last chunk's training.
 * That was the "probe loss stopped falling after the first epoch" seen on the cluster. {@link #settle} waits
 * until the messages in flight have arrived (as many as the workers sent, where that count is known: in local mode
 * and under step-sync; else until none has come for a while), then flushes.
 *
 * <p>It is registered as an updates subscriber of the driver's {@link ModelParameterServer} (a JVM singleton).
 * When it is the first subscriber, DL4J also answers a (re)joining executor's parameter request from it, so it
 * flushes before answering: a replacement executor starts from the whole model, not a stale one.
 */
final class DriverUpdates implements UpdatesHandler {
    private final AtomicLong messages = new AtomicLong();
    private final AtomicLong bytes = new AtomicLong();

    /** Subscribes (again, if DL4J's server was restarted since, which clears its subscribers) and returns it. */
    static DriverUpdates attach(DriverUpdates existing) {
        DriverUpdates d = existing != null ? existing : new DriverUpdates();
        if (!subscribers().contains(d)) ModelParameterServer.getInstance().addUpdatesSubscriber(d);
        return d;
    }

    /** Updates received so far (one per worker per step, unless a worker's update had nothing above threshold). */
    long messages() {
        return messages.get();
    }

    /** Bytes of encoded update payload received so far (threshold or bitmap encoded int arrays). */
    long bytes() {
        return bytes.get();
    }

    @Override
    public void onNext(INDArray encoded) {
        messages.incrementAndGet();
        bytes.addAndGet(encoded.length() * encoded.data().getElementSize());
    }

    /**
     * Waits until the driver has received {@code expected} updates since its count was {@code from} (−1: not known),
     * or until none has arrived for {@code quietMs} (a message lost before the mesh was up never comes), at most
     * {@code maxMs}; then applies every received update to the driver's model.
     */
    void settle(long from, long expected, long quietMs, long maxMs) {
        long deadline = System.currentTimeMillis() + maxMs, seen = -1, since = System.currentTimeMillis();
        while (System.currentTimeMillis() < deadline) {
            long now = messages.get();
            if (expected >= 0 && now - from >= expected) break;
            if (now != seen) {
                seen = now;
                since = System.currentTimeMillis();
            } else if (System.currentTimeMillis() - since >= quietMs) {
                break;
            }
            sleep(expected >= 0 ? 2 : 20);
        }
        flushConsumers();
    }

    @Override
    public INDArray getParametersArray() {
        UpdatesConsumer c = flushConsumers();
        return c == null ? null : c.getParametersArray();
    }

    private static UpdatesConsumer flushConsumers() {
        UpdatesConsumer first = null;
        for (UpdatesHandler h : subscribers()) {
            if (h instanceof UpdatesConsumer c) {
                c.flush();
                if (first == null) first = c;
            }
        }
        return first;
    }

    /** DL4J's subscriber list of this JVM's parameter server (also read by {@link WorkerUpdates}). */
    @SuppressWarnings("unchecked")
    static List<UpdatesHandler> subscribers() {
        try {
            Field f = ModelParameterServer.class.getDeclaredField("updatesSubscribers");
            f.setAccessible(true);
            return (List<UpdatesHandler>) f.get(ModelParameterServer.getInstance());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("DL4J's ModelParameterServer changed: no updatesSubscribers field", e);
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void onSubscribe(Subscription s) { }

    @Override
    public void onError(Throwable t) { }

    @Override
    public void onComplete() { }
}
