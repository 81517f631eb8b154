package org.sparkmim.job.pretrain;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.parameterserver.networking.v2.UpdatesConsumer;
import org.deeplearning4j.spark.parameterserver.training.SharedTrainingMaster;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.parameterserver.distributed.conf.VoidConfiguration;
import org.nd4j.parameterserver.distributed.v2.ModelParameterServer;
import org.nd4j.parameterserver.distributed.v2.messages.VoidMessage;
import org.nd4j.parameterserver.distributed.v2.transport.impl.BaseTransport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * DL4J's gradient-sharing transport for a JVM that is the whole mesh (Spark local mode): it delivers each message
 * to this JVM's subscribers on the sender's thread and starts no thread and no network at all.
 *
 * <p>Why. In local mode the one worker trains in the driver's JVM, and DL4J's {@code BaseTransport} already hands
 * every message to this JVM's parameter server directly (a mesh of one node: {@code internalProcessMessage} on the
 * sender's thread). Yet {@code SharedTrainingMaster} always builds an {@code AeronUdpTransport}, which binds a UDP
 * port, maps about 600 MiB of /dev/shm and starts an embedded Aeron media driver (conductor, sender and receiver
 * threads) and a subscription thread that polls with a 1 µs sleep, none of which ever carries a message here (idle,
 * they woke about 2,800 times a second). This transport keeps DL4J's delivery path (BaseTransport's propagate and
 * process code, the same subscribers, the same counting) without any of that, so a local run needs no free port and
 * no /dev/shm. Training speed did not change measurably (docs/RESULTS.md, session 37).
 *
 * <p>It is put in place by {@link #install} before the first fit. DL4J's {@code SharedTrainingMaster} sets up its
 * driver side on the first fit of a training master unless that master already ran; install does that setup
 * (DL4J's driver consumer over the driver's model, the parameter server in master mode) with this transport, and
 * marks the master as set up, so DL4J's own setup, and its Aeron transport, never happen. The executor side in the
 * same JVM finds the server running and joins it, as it did before.
 */
final class InJvmTransport extends BaseTransport {
    private static final Logger LOG = LoggerFactory.getLogger(InJvmTransport.class);
    private static final String ID = "in-jvm";

    private InJvmTransport(VoidConfiguration conf) {
        super(ID, ID, conf); // own id = root id: this node is the master and the whole mesh
    }

    /**
     * Sets up the driver's side of gradient sharing for {@code tm} in this JVM with an in-JVM transport, as
     * SharedTrainingMaster's first fit would with Aeron.
     *
     * @param graph the driver's model (the one the SparkComputationGraph trains): [P] its parameters are the
     *              replica that the driver's consumer updates
     */
    static void install(SharedTrainingMaster tm, ComputationGraph graph) {
        ModelParameterServer mps = ModelParameterServer.getInstance();
        // A server left by an earlier run in this JVM (tests, a restart) belongs to another training master: DL4J
        // shuts it down on a new master's first fit too.
        if (mps.isInitialized()) mps.shutdown();
        INDArray params = graph.params(); // [P] a view of the model's flat parameters
        UpdatesConsumer driver = UpdatesConsumer.builder()
                .params(params)
                .updates(Nd4j.create(params.shape(), params.ordering()))
                .stepFunction(graph.getOptimizer().getStepFunction())
                .build();
        tm.setUpdatesConsumer(driver); // DL4J flushes it in finalizeTraining
        mps.configure(tm.getVoidConfiguration(), new InJvmTransport(tm.getVoidConfiguration()), true);
        mps.addUpdatesSubscriber(driver);
        mps.launch();
        // DL4J's first-fit setup runs when isFirstRun is still false or the last master set up was another one
        tm.getIsFirstRun().set(true);
        lastMaster().set(tm.getInstanceId());
        LOG.info("gradient sharing: in-JVM transport (local mode: the worker and the driver share this JVM; "
                + "no Aeron driver or UDP port)");
    }

    private static AtomicInteger lastMaster() {
        try {
            return (AtomicInteger) BitmapSharing.field(SharedTrainingMaster.class, "LAST_TRAINING_INSTANCE").get(null);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("DL4J's SharedTrainingMaster changed: no LAST_TRAINING_INSTANCE", e);
        }
    }

    @Override
    public String id() {
        return id;
    }

    /** No threads: every message is delivered on its sender's thread (a mesh of one node). */
    @Override
    public synchronized void launch() {
        masterMode = true;
    }

    @Override
    public synchronized void launchAsMaster() {
        masterMode = true;
        mesh.get().getRootNode().setId(id);
    }

    @Override
    public void shutdown() {
        executorService.shutdownNow(); // BaseTransport's pool, never started here
    }

    @Override
    public void processMessage(VoidMessage message) {
        internalProcessMessage(message);
    }

    /** Only a message to another node ends here, and this mesh has none. */
    @Override
    public void sendMessage(VoidMessage message, String to) {
        if (id.equals(to)) {
            internalProcessMessage(message);
            return;
        }
        throw new IllegalStateException("the in-JVM gradient-sharing transport (Spark local mode) has no node " + to
                + " to send " + message.getClass().getSimpleName() + " to");
    }
}
