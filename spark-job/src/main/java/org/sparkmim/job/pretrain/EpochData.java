package org.sparkmim.job.pretrain;

import org.apache.spark.HashPartitioner;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.function.Function;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.util.CollectionAccumulator;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.data.RawImage;
import org.sparkmim.model.method.Methods;
import org.sparkmim.model.method.MimMethod;
import org.sparkmim.model.train.EpochPlan;
import org.sparkmim.model.train.Trainer;
import scala.Tuple2;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * One epoch's data on Spark, planned by {@link EpochPlan} from (run seed, epoch, image key) only, so it is the same
 * on every attempt and the same as the JVM trainer's: which global step an image belongs to, which worker
 * partition trains it, and its order there. The minibatches themselves are built on the executors (decode →
 * augment → mask → MultiDataSet), lazily, inside the training task: decoded tensors are never persisted or
 * shuffled.
 *
 * @param <T> the record type the source shuffles (encoded bytes for a dataset directory, raw pixels for IDX)
 */
public final class EpochData<T> implements Serializable {
    private final long seed;
    private final int chunks;
    private final int workers;
    private final int batch;
    private final Function<T, String> key;
    private final Function<T, RawImage> decode;

    /** @param batch the global batch (optim.batch); each worker trains batch / workers images per step */
    public EpochData(long seed, int chunks, int workers, int batch, Function<T, String> key,
                     Function<T, RawImage> decode) {
        this.seed = seed;
        this.chunks = chunks;
        this.workers = workers;
        this.batch = batch;
        this.key = key;
        this.decode = decode;
    }

    /** The epoch's plan: one pass over the keys, their 8-byte ranks collected on the driver. */
    public EpochPlan plan(JavaRDD<T> records, int epoch) {
        Function<T, String> k = key;
        long s = seed;
        List<Long> ranks = records.map(r -> EpochPlan.rank(s, epoch, k.call(r))).collect();
        long[] a = new long[ranks.size()];
        for (int i = 0; i < a.length; i++) a[i] = ranks.get(i);
        return new EpochPlan(a, batch, workers, chunks);
    }

    /**
     * Global steps [from, to) of the epoch (see {@link EpochPlan#chunkStart}), one partition per worker, each with
     * exactly to − from minibatches in step order. The shuffle moves the source records (encoded bytes or 8-bit
     * pixels); decoding, augmentation and masking happen after it, in the training task.
     *
     * @param nanAtThisChunk fault injection: the first minibatch of partition 0 gets non-finite pixels
     */
    public JavaRDD<MultiDataSet> chunk(JavaRDD<T> records, Broadcast<EpochPlan> plan, String configText, int epoch,
                                       long from, long to, boolean nanAtThisChunk, CollectionAccumulator<String> served) {
        EpochData<T> self = this;
        // one key lookup, one hash and one binary search per record; records of other steps map to null and drop
        JavaRDD<MultiDataSet> batches = records.mapToPair(r -> {
                    EpochPlan p = plan.value();
                    int pos = p.position(EpochPlan.rank(self.seed, epoch, self.key.call(r)));
                    long st = p.stepOf(pos);
                    return new Tuple2<>(st >= from && st < to ? (long) pos : null, r);
                })
                .filter(t -> t._1() != null)
                .repartitionAndSortWithinPartitions(new WorkerPartitioner(workers, batch))
                .values()
                .mapPartitionsWithIndex((p, it) -> self.batches(it, configText, epoch, nanAtThisChunk && p == 0,
                        served), true);
        // DL4J count()s the RDD before training: answer with workers × steps instead of building every batch twice
        return new JavaRDD<>(new KnownCountRDD<>(batches.rdd(), (long) workers * (to - from), batches.classTag()),
                batches.classTag());
    }

    /** @param served gets "executorId=minibatches" when the partition is used up: which executor trained what */
    private Iterator<MultiDataSet> batches(Iterator<T> records, String configText, int epoch, boolean poison,
                                           CollectionAccumulator<String> served) {
        MimConfig cfg = MimConfig.fromRendered(configText, "resolved config (shipped to the executor)", null, java.util.Map.of());
        TimerSlack.apply(SparkSettings.of(cfg).timerSlackUs());   // before DL4J's worker starts its transport threads
        MimMethod method = Methods.create(cfg);
        return new Iterator<>() {
            boolean first = true;
            int count;
            List<RawImage> next = fill();

            private List<RawImage> fill() {
                int bpw = batch / workers;
                List<RawImage> b = new ArrayList<>(bpw);
                try {
                    while (b.size() < bpw && records.hasNext()) b.add(decode.call(records.next()));
                } catch (Exception e) {
                    throw new IllegalStateException("decoding a training image failed: " + e.getMessage(), e);
                }
                if (!b.isEmpty() && b.size() < bpw) {
                    throw new IllegalStateException("worker partition ended inside a minibatch (" + b.size() + " of "
                            + bpw + " images): the epoch plan gives every worker whole minibatches");
                }
                if (b.isEmpty()) served.add(org.apache.spark.SparkEnv.get().executorId() + "=" + count);
                return b.isEmpty() ? null : b;
            }

            @Override
            public boolean hasNext() {
                return next != null;
            }

            @Override
            public MultiDataSet next() {
                if (next == null) throw new NoSuchElementException();
                var batch = Trainer.batch(next, epoch, cfg);
                if (poison && first) Arrays.fill(batch.pixels(), Float.NaN);
                first = false;
                count++;
                next = fill();
                return method.prepare(batch);
            }
        };
    }

    /** Partition of a position = the worker that trains it ({@link EpochPlan#workerOf}). */
    static final class WorkerPartitioner extends HashPartitioner {
        private final int batch;

        WorkerPartitioner(int workers, int batch) {
            super(workers);
            this.batch = batch;
        }

        @Override
        public int getPartition(Object key) {
            return EpochPlan.workerOf((Long) key, batch, numPartitions());
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof WorkerPartitioner w && w.batch == batch && w.numPartitions() == numPartitions();
        }

        @Override
        public int hashCode() {
            return 31 * batch + numPartitions();
        }
    }
}
