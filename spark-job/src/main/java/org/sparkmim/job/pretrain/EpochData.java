package org.sparkmim.job.pretrain;

import org.apache.spark.HashPartitioner;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.function.Function;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.sparkmim.masking.MaskSeeds;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.data.RawImage;
import org.sparkmim.model.method.Methods;
import org.sparkmim.model.method.MimMethod;
import org.sparkmim.model.train.Trainer;
import scala.Tuple2;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * One epoch's data plan, computed from (run seed, epoch, image key) only, so it is the same on every attempt:
 * which chunk of the epoch an image belongs to, which worker partition it goes to, and its order there. The
 * minibatches themselves are built on the executors (decode → augment → mask → MultiDataSet), lazily, inside the
 * training task: decoded tensors are never persisted or shuffled.
 *
 * @param <T> the record type the source shuffles (encoded bytes for a dataset directory, raw pixels for IDX)
 */
public final class EpochData<T> implements Serializable {
    private final long seed;
    private final int chunks;
    private final int workers;
    private final int batchPerWorker;
    private final Function<T, String> key;
    private final Function<T, RawImage> decode;

    public EpochData(long seed, int chunks, int workers, int batchPerWorker, Function<T, String> key,
                     Function<T, RawImage> decode) {
        this.seed = seed;
        this.chunks = chunks;
        this.workers = workers;
        this.batchPerWorker = batchPerWorker;
        this.key = key;
        this.decode = decode;
    }

    /** Chunk of the epoch this image trains in, in [0, chunks). */
    int chunkOf(int epoch, String k) {
        return (int) Long.remainderUnsigned(MaskSeeds.seed(seed, epoch, "chunk/" + k), chunks);
    }

    /** The image's rank within the epoch: random, fixed by the seeds. Also picks its worker partition. */
    long orderOf(int epoch, String k) {
        return MaskSeeds.seed(seed, epoch, "order/" + k);
    }

    int partitionOf(long order) {
        return (int) Long.remainderUnsigned(order, workers);
    }

    /** Exact number of minibatches in each chunk of the epoch (one cheap pass over the keys). */
    public long[] stepsPerChunk(JavaRDD<T> records, int epoch) {
        EpochData<T> self = this;
        Map<Tuple2<Integer, Integer>, Long> counts = records.map(r -> {
            String k = self.key.call(r);
            return new Tuple2<>(self.chunkOf(epoch, k), self.partitionOf(self.orderOf(epoch, k)));
        }).countByValue();
        long[] steps = new long[chunks];
        // Workers run their partitions concurrently; a global step is one minibatch on every worker, so the chunk
        // lasts as long as its largest partition.
        for (Map.Entry<Tuple2<Integer, Integer>, Long> e : counts.entrySet()) {
            steps[e.getKey()._1()] = Math.max(steps[e.getKey()._1()], e.getValue() / batchPerWorker);
        }
        return steps;
    }

    /**
     * The chunk's minibatches, one partition per worker. The shuffle moves the source records (encoded bytes or
     * 8-bit pixels); decoding, augmentation and masking happen after it, in the training task.
     *
     * @param nanAtThisChunk fault injection: the first minibatch of partition 0 gets non-finite pixels
     */
    public JavaRDD<MultiDataSet> chunk(JavaRDD<T> records, String configText, int epoch, int chunk,
                                       boolean nanAtThisChunk) {
        EpochData<T> self = this;
        // one key lookup and two seed hashes per record; records of other chunks map to null and are dropped
        return records.mapToPair(r -> {
                    String k = self.key.call(r);
                    return new Tuple2<>(self.chunkOf(epoch, k) == chunk ? self.orderOf(epoch, k) : null, r);
                })
                .filter(t -> t._1() != null)
                .repartitionAndSortWithinPartitions(new OrderPartitioner(workers))
                .values()
                .mapPartitionsWithIndex((p, it) -> self.batches(it, configText, epoch, nanAtThisChunk && p == 0), true);
    }

    private Iterator<MultiDataSet> batches(Iterator<T> records, String configText, int epoch, boolean poison) {
        MimConfig cfg = MimConfig.fromRendered(configText, "resolved config (shipped to the executor)", null, java.util.Map.of());
        MimMethod method = Methods.create(cfg);
        return new Iterator<>() {
            boolean first = true;
            List<RawImage> next = fill();

            private List<RawImage> fill() {
                List<RawImage> b = new ArrayList<>(batchPerWorker);
                try {
                    while (b.size() < batchPerWorker && records.hasNext()) b.add(decode.call(records.next()));
                } catch (Exception e) {
                    throw new IllegalStateException("decoding a training image failed: " + e.getMessage(), e);
                }
                return b.size() == batchPerWorker ? b : null; // drop_last: a short batch would change the LR math
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
                next = fill();
                return method.prepare(batch);
            }
        };
    }

    /** Partition = order mod workers (the same rule {@link #stepsPerChunk} counts with). */
    static final class OrderPartitioner extends HashPartitioner {
        OrderPartitioner(int n) {
            super(n);
        }

        @Override
        public int getPartition(Object key) {
            return (int) Long.remainderUnsigned((Long) key, numPartitions());
        }
    }
}
