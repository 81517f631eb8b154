package org.sparkmim.job.pretrain;

import org.deeplearning4j.optimize.solvers.accumulation.encoding.residual.NoOpResidualPostProcessor;
import org.deeplearning4j.optimize.solvers.accumulation.encoding.residual.ResidualClippingPostProcessor;

import org.deeplearning4j.optimize.solvers.accumulation.encoding.ResidualPostProcessor;
import org.deeplearning4j.optimize.solvers.accumulation.encoding.ThresholdAlgorithm;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.api.Repartition;
import org.deeplearning4j.spark.api.TrainingMaster;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.deeplearning4j.spark.impl.repartitioner.NoOpRepartitioner;
import org.deeplearning4j.spark.parameterserver.training.SharedTrainingMaster;
import org.nd4j.parameterserver.distributed.conf.VoidConfiguration;
import org.nd4j.parameterserver.distributed.v2.transport.PortSupplier;

/** mim.spark.sync → the DL4J TrainingMaster, with the settings that were proven to work (STACK-NOTES). */
final class TrainingMasters {
    private TrainingMasters() { }

    /**
     * The Aeron UDP port of the driver and of every executor (each binds it on its own address). A class, not a
     * record: Spark's Kryo broadcasts it and cannot field-serialize records.
     */
    static final class FixedPort implements PortSupplier {
        private int port;

        private FixedPort() { } // Kryo

        FixedPort(int port) {
            this.port = port;
        }

        @Override
        public int getPort() {
            return port;
        }
    }

    /** DL4J's handling of the part of an update not sent yet: clipped every 5 steps (spark.residual-clip) or kept. */
    private static ResidualPostProcessor dl4jResidual(SparkSettings s) {
        return s.residualClip() > 0 ? new ResidualClippingPostProcessor(s.residualClip(), 5) : new NoOpResidualPostProcessor();
    }

    /**
     * @param threshold  the gradient-sharing encoder's threshold ({@link SparkSettings#thresholdAlgorithm})
     * @param controller the driver's address as executors see it
     * @param local      local[*] master: executors share the driver's loopback, so pin Aeron to 127.0.0.0/8
     */
    static TrainingMaster<?, ?> build(SparkSettings s, int batchPerWorker, ThresholdAlgorithm threshold, String controller,
                                      boolean local) {
        RDDTrainingApproach approach = "export".equals(s.approach()) ? RDDTrainingApproach.Export
                : RDDTrainingApproach.Direct;
        if ("averaging".equals(s.sync())) {
            // The worker count given, not DL4J's default (Spark's defaultParallelism, i.e. all cores): DL4J cuts a
            // fit into splits of workers x averaging-frequency minibatches and advances the iteration counter by
            // averaging-frequency per split. With local[2] and one worker it made splits of 10 minibatches while
            // counting 5, so the LR and Adam's bias correction fell behind the steps taken (EngineParityTest: probe
            // loss +15% vs the JVM engine; +0.7% with the count right).
            return new ParameterAveragingTrainingMaster.Builder(s.workers(), batchPerWorker)
                    .batchSizePerWorker(batchPerWorker)
                    // DL4J documents saveUpdater as the default, but its Builder never sets it: without this every
                    // averaging split (spark.averaging-frequency minibatches) restarted AdamW's moments from zero.
                    // (It once diverged at the second split: GlobalStepLr wrote into the updater configs, and so
                    // changed how DL4J grouped the parameters of the next split's updater; see GlobalStepLr.)
                    .saveUpdater(true)
                    .averagingFrequency(s.averagingFrequency())
                    .workerPrefetchNumBatches(2)
                    .rddTrainingApproach(approach)
                    // EpochData already made exactly one partition per worker; a DL4J repartition would shuffle
                    // the MultiDataSets themselves (decoded tensors) through disk.
                    .repartionData(Repartition.Never)
                    .build();
        }
        // Not .unicastPort(port): DL4J's StaticPortSupplier(int) never stores its argument, so every JVM used the
        // default 49876 and two jobs on one host collided ("Address already in use").
        VoidConfiguration.VoidConfigurationBuilder vc = VoidConfiguration.builder()
                .portSupplier(new FixedPort(s.port()))
                .controllerAddress(controller);
        if (local) vc.networkMask("127.0.0.0/8");
        else if (!s.networkMask().isEmpty()) vc.networkMask(s.networkMask());
        SharedTrainingMaster tm = new SharedTrainingMaster.Builder(vc.build(), batchPerWorker)
                .batchSizePerWorker(batchPerWorker)
                .thresholdAlgorithm(threshold)
                // what happens to the part of an update that has not been sent yet (spark.residual-clip,
                // spark.local-catch-up; the latter also needs LocalCatchUp's listener on the workers), and the
                // count of messages sent that StepSync's listener waits on
                .residualPostProcessor(StepSync.counting(
                        s.localCatchUp() ? LocalCatchUp.residual(dl4jResidual(s)) : dl4jResidual(s)))
                .workersPerNode(s.workersPerNode())
                .workerPrefetchNumBatches(2)
                .rddTrainingApproach(approach)
                // No persistence of the minibatch RDD. With Direct, DL4J persists the RDD at this level (default
                // MEMORY_ONLY_SER) and count()s it before training, so a whole chunk of minibatches was built and
                // kept in memory at once. Spark does not see their off-heap size. MAE's 1.5 MB batches went
                // unnoticed, but MaPeT's 55 MB batches (a [B, T, Tk] mask each) reached 24 GB resident and the
                // kernel killed the JVM. Without persistence, count() builds each batch and drops it at once.
                .storageLevel(null)
                .repartitionData(Repartition.Never)
                // Repartition.Never alone is ignored: SharedTrainingMaster uses its repartitioner whenever one is
                // set, and the default one split our 2 partitions into one task per minibatch.
                .repartitioner(new NoOpRepartitioner())
                .build();
        // "Number of minibatches processed per JVM/executor: {...}" at INFO after every fit: shows which executors
        // trained and how much
        tm.setLogMinibatchesPerWorker(true);
        return tm;
    }
}
