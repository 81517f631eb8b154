package org.sparkmim.masking;

import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Block-wise masking (BEiT {@code MaskingGenerator}, SimMIM/A2MIM style) producing an MAE plan.
 *
 * <p>Rectangles of random area and aspect ratio are masked until exactly N - K tokens are masked,
 * with K = {@link RandomMasking#keepCount}. Exactness matters: MAE gathers the K visible tokens
 * of every sample into one rectangular [B, K, D] tensor, so all samples must keep the same K.
 * BEiT instead stops early (masking fewer) when a block would overshoot; here the last block is
 * placed in full and the surplus tokens it added are unmasked again, chosen at random from the
 * stream.
 *
 * <p>Per block: area s ~ U[minBlock, min(maxBlock, max(minBlock, remaining))], log-aspect
 * a ~ U[log(minAspect), log(1/minAspect)], h = round(sqrt(s*a)), w = round(sqrt(s/a)); blocks that
 * do not fit the grid are redrawn; the top-left corner is uniform over valid positions.
 *
 * <p>Termination: a block can fall entirely on already-masked tokens (likely at high ratios on
 * small grids). After {@link #MAX_CONSECUTIVE_FAILURES} consecutive draws that add nothing, the
 * rest of the target is filled with uniformly chosen unmasked tokens, so {@link #sample} always
 * returns and always hits the exact count.
 */
public final class BlockMasking implements MaskingOperator {

    /** Consecutive useless block draws before falling back to random fill (see class doc). */
    static final int MAX_CONSECUTIVE_FAILURES = 100;

    public static final int DEFAULT_MIN_BLOCK_PATCHES = 4;
    public static final int UNLIMITED = -1;
    public static final double DEFAULT_MIN_ASPECT = 0.3;

    private final double ratio;
    private final int minBlockPatches;
    private final int maxBlockPatches; // UNLIMITED -> N
    private final double logAspectLo;
    private final double logAspectHi;
    private final double minAspect;

    /** Defaults: minBlockPatches 4, maxBlockPatches unlimited, minAspect 0.3 (BEiT's values). */
    public BlockMasking(double ratio) {
        this(ratio, DEFAULT_MIN_BLOCK_PATCHES, UNLIMITED, DEFAULT_MIN_ASPECT);
    }

    /**
     * @param ratio           fraction masked, {@code method.mask-ratio}, 0 <= ratio < 1
     * @param minBlockPatches smallest block area in tokens, >= 1
     * @param maxBlockPatches largest block area in tokens, >= minBlockPatches, or -1 for N
     * @param minAspect       aspect ratios h/w are drawn log-uniformly in [minAspect, 1/minAspect],
     *                        0 < minAspect <= 1
     */
    public BlockMasking(double ratio, int minBlockPatches, int maxBlockPatches, double minAspect) {
        this.ratio = RandomMasking.checkRatio(ratio);
        if (minBlockPatches < 1) {
            throw new IllegalArgumentException(
                    "method.block.min-patches=" + minBlockPatches + " is out of range: must be >= 1");
        }
        if (maxBlockPatches != UNLIMITED && maxBlockPatches < minBlockPatches) {
            throw new IllegalArgumentException("method.block.max-patches=" + maxBlockPatches
                    + " is out of range: must be >= method.block.min-patches (" + minBlockPatches
                    + "), or -1 for unlimited");
        }
        if (!(minAspect > 0.0 && minAspect <= 1.0)) {
            throw new IllegalArgumentException(
                    "method.block.min-aspect=" + minAspect + " is out of range: must satisfy 0 < min-aspect <= 1");
        }
        this.minBlockPatches = minBlockPatches;
        this.maxBlockPatches = maxBlockPatches;
        this.minAspect = minAspect;
        this.logAspectLo = Math.log(minAspect);
        this.logAspectHi = -Math.log(minAspect);
    }

    @Override
    public SampleMask sample(int gridH, int gridW, SplittableRandom rng) {
        int n = MaskingOperator.tokenCount(gridH, gridW);
        int keep = RandomMasking.checkedKeep(n, ratio, gridH, gridW);
        boolean[] masked = maskExactly(gridH, gridW, n - keep, rng); // [N]
        return toPlan(masked, keep, rng);
    }

    /** [N] a block mask with exactly {@code target} true entries. */
    private boolean[] maskExactly(int gridH, int gridW, int target, SplittableRandom rng) {
        int n = gridH * gridW;
        boolean[] masked = new boolean[n]; // [N]
        int maxBlock = maxBlockPatches == UNLIMITED ? n : Math.min(maxBlockPatches, n);
        int minBlock = Math.min(minBlockPatches, maxBlock);
        int[] added = new int[n]; // tokens newly masked by the current block
        int count = 0;
        int failures = 0;
        while (count < target) {
            if (failures >= MAX_CONSECUTIVE_FAILURES) {
                fillRandomly(masked, target - count, rng);
                return masked;
            }
            // Upper bound follows the remaining need (as BEiT does) so late blocks stay small and
            // the overshoot to trim is small; never below minBlock so the range is non-empty.
            int upper = Math.min(maxBlock, Math.max(minBlock, target - count));
            double area = minBlock + rng.nextDouble() * (upper - minBlock);
            double aspect = Math.exp(logAspectLo + rng.nextDouble() * (logAspectHi - logAspectLo));
            int h = Math.max(1, (int) Math.round(Math.sqrt(area * aspect)));
            int w = Math.max(1, (int) Math.round(Math.sqrt(area / aspect)));
            if (h > gridH || w > gridW) {
                failures++;
                continue;
            }
            int top = rng.nextInt(gridH - h + 1);
            int left = rng.nextInt(gridW - w + 1);
            int addedCount = 0;
            for (int r = top; r < top + h; r++) {
                for (int c = left; c < left + w; c++) {
                    int t = r * gridW + c;
                    if (!masked[t]) {
                        masked[t] = true;
                        added[addedCount++] = t;
                    }
                }
            }
            if (addedCount == 0) {
                failures++;
                continue;
            }
            failures = 0;
            count += addedCount;
            if (count > target) {
                // Overshoot: give back a random subset of what this last block added.
                int surplus = count - target;
                Permutations.chooseFront(added, addedCount, surplus, rng);
                for (int i = 0; i < surplus; i++) {
                    masked[added[i]] = false;
                }
                count = target;
            }
        }
        return masked;
    }

    /** Masks {@code m} more tokens chosen uniformly among the unmasked ones. masked: [N] */
    private static void fillRandomly(boolean[] masked, int m, SplittableRandom rng) {
        int[] free = new int[masked.length];
        int f = 0;
        for (int t = 0; t < masked.length; t++) {
            if (!masked[t]) {
                free[f++] = t;
            }
        }
        Permutations.chooseFront(free, f, m, rng);
        for (int i = 0; i < m; i++) {
            masked[free[i]] = true;
        }
    }

    /**
     * Turns the set into an MAE plan. The visible order is random (as in MAE's random_masking,
     * where ids_keep is in noise order) rather than ascending, so nothing downstream can come to
     * rely on a positional order of the visible tokens; masked tokens are shuffled too.
     */
    private static SampleMask toPlan(boolean[] masked, int keep, SplittableRandom rng) {
        int n = masked.length;
        int maskedCount = 0;
        for (boolean b : masked) {
            maskedCount += b ? 1 : 0;
        }
        if (maskedCount != n - keep) { // would break MAE's rectangular gather
            throw new IllegalStateException(
                    "block mask has " + maskedCount + " masked tokens, expected exactly " + (n - keep));
        }
        int[] idsShuffle = new int[n]; // [N]: visible [0, keep), masked [keep, N)
        int v = 0;
        int m = keep;
        for (int t = 0; t < n; t++) {
            if (masked[t]) {
                idsShuffle[m++] = t;
            } else {
                idsShuffle[v++] = t;
            }
        }
        Permutations.shuffle(idsShuffle, 0, keep, rng);
        Permutations.shuffle(idsShuffle, keep, n, rng);
        return SampleMask.fromShuffle(idsShuffle, keep);
    }

    public double ratio() {
        return ratio;
    }

    public int minBlockPatches() {
        return minBlockPatches;
    }

    /** -1 means unlimited (N). */
    public int maxBlockPatches() {
        return maxBlockPatches;
    }

    public double minAspect() {
        return minAspect;
    }

    @Override
    public String name() {
        return String.format(Locale.ROOT, "block(%s,min=%d,max=%d,aspect=%s)",
                ratio, minBlockPatches, maxBlockPatches, minAspect);
    }
}
