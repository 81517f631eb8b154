package org.sparkmim.job.pretrain;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.parameterserver.distributed.v2.ModelParameterServer;
import org.nd4j.parameterserver.distributed.v2.transport.UpdatesHandler;
import org.reactivestreams.Subscription;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A worker's count of the update messages it has received from the other workers (through the driver's mesh),
 * for {@link WorkerProgress}: subscribed to this executor's DL4J parameter server beside DL4J's own consumer,
 * which queues them for the next step.
 */
final class WorkerUpdates implements UpdatesHandler {
    private static final WorkerUpdates INSTANCE = new WorkerUpdates();
    private final AtomicLong received = new AtomicLong();

    private WorkerUpdates() { }

    /** Messages received so far in this JVM; subscribes first (again after DL4J restarted its server). */
    static long received() {
        if (!DriverUpdates.subscribers().contains(INSTANCE)) ModelParameterServer.getInstance().addUpdatesSubscriber(INSTANCE);
        return INSTANCE.received.get();
    }

    @Override
    public void onNext(INDArray encoded) {
        received.incrementAndGet();
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
