package org.sparkmim.model.train;

import org.sparkmim.masking.MaskSeeds;

import java.util.Arrays;

/**
 * Which images form global step s of an epoch: the one data plan of both engines.
 *
 * <p>An image's place in epoch e is the rank of its key's hash {@code seed(run, e, "order/" + key)} among the
 * hashes of all training keys. Global step s takes the images at positions [s·B, (s+1)·B), B = optim.batch; the
 * last partial batch is dropped, so an epoch has floor(n / B) steps. On Spark, worker w of W trains positions
 * [s·B + w·B/W, s·B + (w+1)·B/W) of that step, and chunk c of C is the contiguous step range
 * [floor(c·spe/C), floor((c+1)·spe/C)). So the JVM trainer, Spark with one worker and Spark with W workers see the
 * same global minibatches in the same order, whatever the number of chunks or partitions: the engines can then be
 * compared step for step (measured: before this, Spark chunked by a second hash and dropped a partial batch per
 * chunk and partition, so its step count and batches differed from the JVM's).
 *
 * <p>Positions depend only on (run seed, epoch, the set of keys), never on partitioning or arrival order.
 */
public final class EpochPlan implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    private final long[] sortedRanks;
    private final int batch;
    private final int workers;
    private final int chunks;

    /** @param ranks {@link #rank} of every training image this epoch, in any order */
    public EpochPlan(long[] ranks, int batch, int workers, int chunks) {
        if (batch % workers != 0) throw new IllegalArgumentException("batch " + batch + " not a multiple of workers " + workers);
        this.sortedRanks = ranks.clone();
        Arrays.sort(this.sortedRanks);
        this.batch = batch;
        this.workers = workers;
        this.chunks = chunks;
    }

    /** The image's sort key in epoch {@code epoch}. */
    public static long rank(long seed, int epoch, String key) {
        return MaskSeeds.seed(seed, epoch, "order/" + key);
    }

    /** Position in [0, n) of the image with this rank (ranks are 64-bit hashes of distinct keys). */
    public int position(long rank) {
        int p = Arrays.binarySearch(sortedRanks, rank);
        if (p < 0) throw new IllegalArgumentException("rank " + rank + " is not a training image of this epoch");
        return p;
    }

    public int images() {
        return sortedRanks.length;
    }

    public long stepsPerEpoch() {
        return sortedRanks.length / batch;
    }

    /** Global step of a position, or -1 for the dropped partial last batch. */
    public long stepOf(int position) {
        long s = position / batch;
        return s < stepsPerEpoch() ? s : -1;
    }

    /** Worker (Spark partition) that trains this position. */
    public int workerOf(int position) {
        return workerOf(position, batch, workers);
    }

    /** Worker w of W trains the B/W slice w of every global batch of B positions. */
    public static int workerOf(long position, int batch, int workers) {
        return (int) ((position % batch) / (batch / workers));
    }

    /** First step (within the epoch) of chunk c; chunkStart(chunks) = steps per epoch. */
    public long chunkStart(int c) {
        return c * stepsPerEpoch() / chunks;
    }

    /**
     * The epoch's image indices in training order, for a data set held in memory (the JVM trainer): position p
     * holds the image whose rank is the p-th smallest.
     */
    public static int[] order(String[] keys, long seed, int epoch) {
        long[] r = new long[keys.length];
        for (int i = 0; i < keys.length; i++) r[i] = rank(seed, epoch, keys[i]);
        Integer[] idx = new Integer[keys.length];
        for (int i = 0; i < idx.length; i++) idx[i] = i;
        Arrays.sort(idx, (a, b) -> Long.compare(r[a], r[b]));
        int[] out = new int[idx.length];
        for (int i = 0; i < idx.length; i++) out[i] = idx[i];
        return out;
    }
}
