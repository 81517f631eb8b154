package org.sparkmim.masking;

import java.util.Locale;
import java.util.SplittableRandom;

/**
 * ROPIM's operator (docs/METHODS.md, ROPIM): instead of removing tokens, project the N token embeddings of an image
 * onto a random d'-dimensional subspace of the token axis, with a count sketch S [N, d'].
 *
 * <pre>
 *   d'     = ceil(N · ratio)                         ratio 1/7, N = 49 → 7 buckets of 7
 *   h[i]   = bucket of token i: fresh permutations of 0..d'−1 laid end to end, cut at N (balanced buckets)
 *   s[i]   = sign of token i: a shuffle of ceil(N/2) × (−1, +1), cut at N (balanced signs)
 *   S[i,j] = s[i] if j = h[i], else 0
 *   P      = S (SᵀS)⁻¹ Sᵀ, i.e. P[i,j] = s[i]·s[j] / |bucket h[i]| if h[i] = h[j], else 0   (exact)
 *          = 0.14 · S Sᵀ                                                                  (released code)
 * </pre>
 * The exact form is the orthogonal projector onto span(S): symmetric, idempotent, trace d'. It stays exact when N
 * is not a multiple of d' (buckets then differ in size by one). The released code's 0.14 · S Sᵀ has eigenvalues
 * 0.14·|bucket| (0.98 for buckets of 7), so it is not idempotent; it is offered for comparison only.
 *
 * <p>Like the masking operators, a sketch is a pure function of the image's stream ({@link MaskSeeds}: run seed,
 * epoch, image key), so it does not depend on batching or on Spark partitioning.
 */
public final class OrthogonalProjection {

    /** The released code's constant in place of 1/|bucket|. */
    public static final double RELEASED_SCALE = 0.14;

    private final double ratio;
    private final boolean exact;

    /**
     * @param ratio sketch ratio d'/N, in (0, 1] (config {@code method.ropim.sketch-ratio})
     * @param exact true: P = S(SᵀS)⁻¹Sᵀ; false: the released code's 0.14 · S Sᵀ
     */
    public OrthogonalProjection(double ratio, boolean exact) {
        if (!(ratio > 0 && ratio <= 1)) {
            throw new IllegalArgumentException("method.ropim.sketch-ratio=" + ratio + " is out of range: allowed (0, 1]");
        }
        this.ratio = ratio;
        this.exact = exact;
    }

    public double ratio() {
        return ratio;
    }

    public boolean exact() {
        return exact;
    }

    /** d' = ceil(N · ratio); the epsilon absorbs binary rounding (49 · (1/7) must give 7, not 8). */
    public int buckets(int n) {
        return Math.max(1, (int) Math.ceil(n * ratio - 1e-9));
    }

    /** One image's sketch over n tokens, drawn from its own stream. */
    public Sketch sample(int n, SplittableRandom rng) {
        if (n < 1) throw new IllegalArgumentException("token count must be >= 1, got " + n);
        int d = buckets(n);
        int[] bucket = new int[n];
        int[] perm = new int[d];
        for (int start = 0; start < n; start += d) {
            for (int j = 0; j < d; j++) perm[j] = j;
            Permutations.shuffle(perm, 0, d, rng);
            System.arraycopy(perm, 0, bucket, start, Math.min(d, n - start));
        }
        int half = (n + 1) / 2;
        int[] signs = new int[2 * half];
        for (int i = 0; i < signs.length; i++) signs[i] = i % 2 == 0 ? -1 : 1;
        Permutations.shuffle(signs, 0, signs.length, rng);
        int[] sign = new int[n];
        System.arraycopy(signs, 0, sign, 0, n);
        int[] size = new int[d];
        for (int b : bucket) size[b]++;
        double[] weight = new double[n];
        for (int i = 0; i < n; i++) weight[i] = exact ? 1.0 / size[bucket[i]] : RELEASED_SCALE;
        return new Sketch(bucket, sign, weight, d);
    }

    /** The identity "sketch" (every token its own bucket, sign +1, weight 1): P = I, for feature extraction. */
    public static Sketch identity(int n) {
        int[] bucket = new int[n], sign = new int[n];
        double[] weight = new double[n];
        for (int i = 0; i < n; i++) {
            bucket[i] = i;
            sign[i] = 1;
            weight[i] = 1;
        }
        return new Sketch(bucket, sign, weight, n);
    }

    public String name() {
        return String.format(Locale.ROOT, "orthogonal-projection(%s, %s)", ratio, exact ? "exact" : "released");
    }

    /**
     * One image's count sketch.
     *
     * @param bucket [N] bucket of each token, in [0, buckets)
     * @param sign   [N] ±1
     * @param weight [N] the projector's scale for the token's bucket: 1/|bucket| (exact) or 0.14 (released)
     */
    public record Sketch(int[] bucket, int[] sign, double[] weight, int buckets) {

        public int tokens() {
            return bucket.length;
        }

        /** Members of each bucket. */
        public int[] bucketSizes() {
            int[] size = new int[buckets];
            for (int b : bucket) size[b]++;
            return size;
        }

        /** The dense projector P [N, N] (tests and pictures; the model applies P as bucket sums). */
        public double[][] projector() {
            int n = tokens();
            double[][] p = new double[n][n];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    if (bucket[i] == bucket[j]) p[i][j] = weight[i] * sign[i] * sign[j];
                }
            }
            return p;
        }

        /**
         * y = P x along the token axis, x and y [N, D] row-major from the given offsets, in O(N·D): per bucket the
         * signed sum of its members' rows, then each token takes weight · sign · its bucket's sum. y may alias x.
         */
        public void apply(double[] x, int xOff, double[] y, int yOff, int d) {
            int n = tokens();
            double[] sums = new double[buckets * d];
            for (int i = 0; i < n; i++) {
                int o = xOff + i * d, so = bucket[i] * d;
                double s = sign[i];
                for (int k = 0; k < d; k++) sums[so + k] += s * x[o + k];
            }
            for (int i = 0; i < n; i++) {
                int o = yOff + i * d, so = bucket[i] * d;
                double c = weight[i] * sign[i];
                for (int k = 0; k < d; k++) y[o + k] = c * sums[so + k];
            }
        }
    }
}
