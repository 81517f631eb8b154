package org.sparkmim.job.pretrain;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.parameterserver.distributed.v2.transport.UpdatesHandler;
import org.nd4j.parameterserver.distributed.v2.ModelParameterServer;
import org.reactivestreams.Subscription;

/**
 * A worker's count of the update messages it has received from the other workers (through the driver's mesh):
 * subscribed to this executor's DL4J parameter server after DL4J's own consumer, which queues each message for the
 * worker's next step before this count moves. {@link WorkerProgress} logs it; {@link StepSync} waits on it.
 */
final class WorkerUpdates implements UpdatesHandler {
    private static final WorkerUpdates INSTANCE = new WorkerUpdates();
    private long received;

    private WorkerUpdates() { }

    /** Messages received so far in this JVM; subscribes first (again after DL4J restarted its server). */
    static long received() {
        if (!DriverUpdates.subscribers().contains(INSTANCE)) ModelParameterServer.getInstance().addUpdatesSubscriber(INSTANCE);
        synchronized (INSTANCE) {
            return INSTANCE.received;
        }
    }

    /**
     * Blocks until at least {@code count} messages have been received in this JVM, or {@code timeoutMs} passed. Call
     * {@link #received()} first (once per chunk: it subscribes), not on every step: that check is reflective.
     *
     * @return whether the count was reached
     */
    static boolean await(long count, long timeoutMs) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        synchronized (INSTANCE) {
            while (INSTANCE.received < count) {
                long left = deadline - System.nanoTime();
                if (left <= 0) return false;
                INSTANCE.wait(Math.max(1, left / 1_000_000L));
            }
            return true;
        }
    }

    @Override
    public void onNext(INDArray encoded) {
        synchronized (this) {
            received++;
            notifyAll();
        }
    }

    @Override
    public INDArray getParametersArray() {
        return null;   // never the first subscriber on a worker: DL4J's consumer answers parameter requests
    }

    @Override
    public void onSubscribe(Subscription subscription) { }

    @Override
    public void onError(Throwable throwable) { }

    @Override
    public void onComplete() { }
}
