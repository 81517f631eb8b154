package org.sparkmim.masking;

import java.util.Locale;
import java.util.SplittableRandom;

/**
 * A2MIM's (and SimMIM's) mask generator (docs/METHODS.md, A2MIM): the image is cut into square blocks of
 * {@code blockTokens × blockTokens} tokens, and a uniformly chosen {@code ceil(blocks · ratio)} of them are masked.
 * The token mask is the block mask upsampled by the block side: every token of a masked block is masked.
 *
 * <pre>
 *   blocks  = (gridH / s) · (gridW / s)          s = blockTokens     224 px, 32-px blocks: 7 · 7 = 49
 *   masked  = ceil(blocks · ratio)                ratio 0.6 → 30 of 49
 *   token (r, c) masked ⇔ block (r / s, c / s) masked
 * </pre>
 * Unlike {@link BlockMasking} (BEiT's rectangles of random shape), the blocks are a fixed grid, so the masked count
 * is exact. Pure: a function of (grid, ratio, block side, the image's stream) like every operator.
 */
public final class BlockwiseMasking implements MaskingOperator {

    private final double ratio;
    private final int blockTokens;

    /**
     * @param ratio       fraction of blocks masked, 0 <= ratio < 1 (config {@code method.a2mim.mask-ratio})
     * @param blockTokens block side in tokens, >= 1 (config {@code method.a2mim.block-size} / {@code model.patch})
     */
    public BlockwiseMasking(double ratio, int blockTokens) {
        if (!(ratio >= 0.0 && ratio < 1.0)) {
            throw new IllegalArgumentException("method.a2mim.mask-ratio=" + ratio
                    + " is out of range: the fraction of blocks to mask must satisfy 0 <= ratio < 1");
        }
        if (blockTokens < 1) {
            throw new IllegalArgumentException("method.a2mim.block-size gives " + blockTokens
                    + " tokens per block side: must be >= 1 (a multiple of model.patch)");
        }
        this.ratio = ratio;
        this.blockTokens = blockTokens;
    }

    public double ratio() {
        return ratio;
    }

    public int blockTokens() {
        return blockTokens;
    }

    /** ceil(blocks · ratio); the epsilon absorbs binary rounding (0.7 · 10 must give 7, not 8). */
    public static int maskedBlocks(int blocks, double ratio) {
        return Math.min(blocks, (int) Math.ceil(blocks * ratio - 1e-9));
    }

    @Override
    public SampleMask sample(int gridH, int gridW, SplittableRandom rng) {
        int n = MaskingOperator.tokenCount(gridH, gridW);
        int s = blockTokens;
        if (gridH % s != 0 || gridW % s != 0) {
            throw new IllegalArgumentException("method.a2mim.block-size of " + s + " tokens does not tile the " + gridH
                    + "x" + gridW + " token grid: the block side must divide the grid side (model.image-size / "
                    + "model.patch)");
        }
        int bh = gridH / s, bw = gridW / s, blocks = bh * bw;
        int m = maskedBlocks(blocks, ratio);
        if (m >= blocks) {
            throw new IllegalArgumentException("method.a2mim.mask-ratio=" + ratio + " masks all " + blocks
                    + " blocks of a " + bh + "x" + bw + " block grid: need ceil(blocks * ratio) < blocks");
        }
        int[] ids = new int[blocks];
        for (int i = 0; i < blocks; i++) ids[i] = i;
        Permutations.chooseFront(ids, blocks, m, rng);
        boolean[] masked = new boolean[n];                                     // [N]
        for (int i = 0; i < m; i++) {
            int br = ids[i] / bw, bc = ids[i] % bw;
            for (int r = br * s; r < (br + 1) * s; r++) {
                for (int c = bc * s; c < (bc + 1) * s; c++) masked[r * gridW + c] = true;
            }
        }
        return SampleMask.fromMasked(masked);
    }

    @Override
    public String name() {
        return String.format(Locale.ROOT, "blockwise(%s,%dx%d)", ratio, blockTokens, blockTokens);
    }
}
