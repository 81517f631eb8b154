package org.sparkmim.masking;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * EMAE's parallel mask (METHODS.md §5): one random permutation split into K disjoint visible
 * sets V_0..V_{K-1} of N/K tokens each, giving K MAE tasks with ratio 1 - 1/K (K = 4 is MAE's
 * 75%) in which every token is visible exactly once, so one iteration uses 100% of the image.
 *
 * <pre>
 *   ids_shuffle   = argsort(uniform [N])
 *   V_k           = ids_shuffle[k*N/K, (k+1)*N/K)
 *   ids_shuffle_k = V_k ++ V_{k+1} ++ ... ++ V_{k-1}     (cyclic rotation), keep = N/K
 * </pre>
 * Each part is an ordinary {@link SampleMask}, so the MAE graph runs the K parts as K samples.
 */
public final class ParallelMasking {

    private final int k;

    /** @param k number of parts, config {@code method.emae.parts}, >= 2 */
    public ParallelMasking(int k) {
        if (k < 2) {
            throw new IllegalArgumentException("method.emae.parts=" + k
                    + " is out of range: need at least 2 parts (K = 4 gives MAE's 75% mask ratio)");
        }
        this.k = k;
    }

    /** Number of parts K. */
    public int k() {
        return k;
    }

    /** Per-part mask ratio 1 - 1/K. */
    public double maskRatio() {
        return 1.0 - 1.0 / k;
    }

    /**
     * Draws the K plans for one image.
     *
     * @return [K] plans over N = gridH*gridW tokens, each with keep = N/K; part k's visible set
     *         is V_k
     * @throws IllegalArgumentException if N is not divisible by K (the parts must be equal-sized
     *                                  so the K tasks batch into one rectangular tensor)
     */
    public SampleMask[] parts(int gridH, int gridW, SplittableRandom rng) {
        int n = MaskingOperator.tokenCount(gridH, gridW);
        checkDivisible(n, gridH, gridW);
        int[] perm = Permutations.noiseArgsort(n, rng); // [N]
        int size = n / k;
        SampleMask[] out = new SampleMask[k]; // [K]
        for (int part = 0; part < k; part++) {
            int[] rotated = new int[n]; // [N] = V_part ++ V_part+1 ++ ... cyclically
            int start = part * size;
            for (int i = 0; i < n; i++) {
                rotated[i] = perm[(start + i) % n];
            }
            out[part] = SampleMask.fromShuffle(rotated, size);
        }
        return out;
    }

    /** Convenience: parts drawn from the image's own stream {@link MaskSeeds#stream}. */
    public SampleMask[] parts(int gridH, int gridW, long runSeed, int epoch, String imageKey) {
        return parts(gridH, gridW, MaskSeeds.stream(runSeed, epoch, imageKey));
    }

    /**
     * O_ij: tokens masked in both plans, ascending. These carry the K-1 predictions that EMAE's
     * self-consistency loss compares. [|O_ij|]
     */
    public static int[] overlap(SampleMask a, SampleMask b) {
        boolean[] both = overlapMask(a, b); // [N]
        int count = 0;
        for (boolean x : both) {
            count += x ? 1 : 0;
        }
        int[] out = new int[count];
        int j = 0;
        for (int t = 0; t < both.length; t++) {
            if (both[t]) {
                out[j++] = t;
            }
        }
        return out;
    }

    /** [N] true where the token is masked in both plans. */
    public static boolean[] overlapMask(SampleMask a, SampleMask b) {
        Objects.requireNonNull(a, "a");
        Objects.requireNonNull(b, "b");
        if (a.n() != b.n()) {
            throw new IllegalArgumentException("plans cover different token counts: " + a.n() + " vs " + b.n());
        }
        boolean[] both = new boolean[a.n()]; // [N]
        for (int t = 0; t < both.length; t++) {
            both[t] = a.isMasked(t) && b.isMasked(t);
        }
        return both;
    }

    public String name() {
        return "parallel(K=" + k + ")";
    }

    private void checkDivisible(int n, int gridH, int gridW) {
        if (n % k != 0) {
            throw new IllegalArgumentException("method.emae.parts=" + k + " does not divide the token count N=" + n
                    + " (" + gridH + "x" + gridW + " grid): N must be divisible by K so that every part keeps"
                    + " N/K tokens. Allowed method.emae.parts for this grid: " + divisorsFrom2(n));
        }
    }

    /** Divisors of n that are >= 2, ascending. */
    static List<Integer> divisorsFrom2(int n) {
        List<Integer> out = new ArrayList<>();
        for (int d = 2; d <= n; d++) {
            if (n % d == 0) {
                out.add(d);
            }
        }
        return out;
    }
}
