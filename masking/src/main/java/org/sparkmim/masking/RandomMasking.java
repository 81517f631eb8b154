package org.sparkmim.masking;

import java.util.Locale;
import java.util.SplittableRandom;

/**
 * MAE's per-sample random masking (facebookresearch/mae models_mae.py, {@code random_masking};
 * METHODS.md §1): keep K = floor(N(1-r)) tokens chosen uniformly at random.
 *
 * <pre>
 *   noise       = uniform[0,1)   [N]
 *   ids_shuffle = argsort(noise) [N]   ascending: small noise = kept
 *   ids_keep    = ids_shuffle[:K]
 * </pre>
 */
public final class RandomMasking implements MaskingOperator {

    private final double ratio;

    /**
     * @param ratio fraction of tokens to remove (config {@code method.mask-ratio}), 0 <= ratio < 1
     */
    public RandomMasking(double ratio) {
        this.ratio = checkRatio(ratio);
    }

    public double ratio() {
        return ratio;
    }

    /**
     * K = floor(N(1-r)). The epsilon absorbs binary rounding: 196*(1-0.75) is exactly 49, but
     * e.g. 100*(1-0.7) evaluates to 29.999999999999996 and must give 30, not 29.
     */
    public static int keepCount(int n, double ratio) {
        if (n < 0) {
            throw new IllegalArgumentException("token count must be >= 0, got " + n);
        }
        checkRatio(ratio);
        return (int) Math.floor(n * (1.0 - ratio) + 1e-9);
    }

    @Override
    public SampleMask sample(int gridH, int gridW, SplittableRandom rng) {
        int n = MaskingOperator.tokenCount(gridH, gridW);
        int keep = checkedKeep(n, ratio, gridH, gridW);
        int[] idsShuffle = Permutations.noiseArgsort(n, rng); // [N]
        return SampleMask.fromShuffle(idsShuffle, keep);
    }

    @Override
    public String name() {
        return String.format(Locale.ROOT, "random(%s)", ratio);
    }

    /** Validates method.mask-ratio; shared with the other operators so the message is the same. */
    static double checkRatio(double ratio) {
        if (!(ratio >= 0.0 && ratio < 1.0)) { // also rejects NaN
            throw new IllegalArgumentException("method.mask-ratio=" + ratio
                    + " is out of range: the fraction of tokens to mask must satisfy 0 <= method.mask-ratio < 1");
        }
        return ratio;
    }

    /**
     * K, refusing plans with no visible token: the encoder cannot run on an empty sequence, and a
     * tiny grid with a high ratio is a config mistake worth a clear message.
     */
    static int checkedKeep(int n, double ratio, int gridH, int gridW) {
        int keep = keepCount(n, ratio);
        if (keep < 1) {
            throw new IllegalArgumentException("method.mask-ratio=" + ratio + " leaves no visible token on a "
                    + gridH + "x" + gridW + " grid (N=" + n + "): need floor(N*(1-method.mask-ratio)) >= 1");
        }
        return keep;
    }
}
