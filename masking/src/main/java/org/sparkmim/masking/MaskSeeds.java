package org.sparkmim.masking;

import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Per-image random streams for masking.
 *
 * <p>A mask is a pure function of (run seed, epoch, image key). It must not depend on how Spark
 * partitions the data, on which executor runs the task, or on which other images share the
 * minibatch: otherwise a retried task, a resumed run or a different cluster size would train on
 * different masks. So there is no shared generator that images draw from in turn; each image
 * derives its own seed here and gets its own stream.
 */
public final class MaskSeeds {

    // 2^64 / golden ratio: the SplitMix64 increment. Odd, so multiples of it are distinct mod 2^64.
    private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;
    private static final long FNV64_OFFSET = 0xcbf29ce484222325L;
    private static final long FNV64_PRIME = 0x100000001b3L;

    private MaskSeeds() {
    }

    /**
     * Deterministic 64-bit seed for one image in one epoch.
     *
     * <p>Each input is folded in through the SplitMix64 finalizer, a bijection with full
     * avalanche. So for a fixed run, distinct epochs give distinct seeds, and for a fixed
     * (run, epoch), distinct key hashes give distinct seeds. Nearby inputs (epoch 3 vs 4,
     * "img_001" vs "img_002") give unrelated seeds.
     *
     * @param runSeed  the run's seed (config), shared by all images
     * @param epoch    0-based epoch, so every epoch draws fresh masks
     * @param imageKey stable identity of the image (e.g. its path or shard row key), not its
     *                 position in a batch or partition
     */
    public static long seed(long runSeed, int epoch, String imageKey) {
        Objects.requireNonNull(imageKey, "imageKey must not be null: masks are keyed by image identity");
        long h = mix64(runSeed + GOLDEN_GAMMA);
        h = mix64(h + GOLDEN_GAMMA * ((long) epoch + 1L));
        return mix64(h ^ fnv1a64(imageKey));
    }

    /** The image's own random stream; see {@link #seed(long, int, String)}. */
    public static SplittableRandom stream(long runSeed, int epoch, String imageKey) {
        return new SplittableRandom(seed(runSeed, epoch, imageKey));
    }

    /** 64-bit FNV-1a over the UTF-8 bytes: the key's hash must not depend on the JVM's charset. */
    static long fnv1a64(String s) {
        long h = FNV64_OFFSET;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            h ^= (b & 0xffL);
            h *= FNV64_PRIME;
        }
        return h;
    }

    /** SplitMix64 finalizer (Stafford's Mix13): a bijection on 64-bit values with good avalanche. */
    static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
