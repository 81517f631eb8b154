package org.sparkmim.job.pretrain;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.parameterserver.distributed.v2.ModelParameterServer;
import org.nd4j.parameterserver.distributed.v2.transport.UpdatesHandler;
import org.reactivestreams.Subscription;

import java.lang.reflect.Field;
import java.util.List;
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
        List<UpdatesHandler> subs = subscribers();
        if (subs != null && !subs.contains(INSTANCE)) ModelParameterServer.getInstance().addUpdatesSubscriber(INSTANCE);
        return INSTANCE.received.get();
    }

    // diagnostic: the last messages and their checksums at arrival, to see whether their memory changes later
    private final java.util.ArrayDeque<Object[]> recent = new java.util.ArrayDeque<>();

    private final AtomicLong duplicates = new AtomicLong();

    @Override
    public void onNext(INDArray encoded) {
        received.incrementAndGet();
        long sum = checksum(encoded);
        synchronized (recent) {
            for (Object[] r : recent) if ((Long) r[1] == sum) { duplicates.incrementAndGet(); break; }
            recent.addLast(new Object[]{encoded, sum});
            if (recent.size() > 16) recent.removeFirst();
        }
    }

    private static long checksum(INDArray a) {
        int[] v = a.data().asInt();
        long h = 1;
        for (int x : v) h = 31 * h + x;
        return h;
    }

    /** Of the last (up to 16) messages received, how many hold other bytes now than when they arrived. */
    static String changedSinceArrival() {
        int changed = 0, n;
        synchronized (INSTANCE.recent) {
            n = INSTANCE.recent.size();
            for (Object[] r : INSTANCE.recent) if (checksum((INDArray) r[0]) != (Long) r[1]) changed++;
        }
        return changed + " of the last " + n + " messages changed in memory since they arrived, "
                + INSTANCE.duplicates.get() + " received twice (same bytes as one of the 16 before)";
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

    @SuppressWarnings("unchecked")
    private static List<UpdatesHandler> subscribers() {
        try {
            Field f = ModelParameterServer.class.getDeclaredField("updatesSubscribers");
            f.setAccessible(true);
            return (List<UpdatesHandler>) f.get(ModelParameterServer.getInstance());
        } catch (ReflectiveOperationException e) {
            return null;
        }
    }
}
