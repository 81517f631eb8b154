package org.sparkmim.masking;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * MaPeT's permuted order and its two-stream attention masks (METHODS.md §6; aimagelab/MaPeT
 * utils/models.py {@code attention_mask_full_mapet_1}), generalised from 196 patches to any N.
 *
 * <p>A uniform permutation π of the N patches is drawn per image; CLS has order 0 and patch π_k
 * has order k+1. The first {@code L} orders (CLS plus L−1 patches) are the always-visible
 * context C; the other Np = N − (L−1) patches Pd are predicted autoregressively in order. As a
 * {@link SampleMask}, idsShuffle = π and keep = L−1: the "kept" tokens are the context, so the
 * report's mask pictures show what the model is given.
 *
 * <p>The sequence the blocks see (T = 1+N+2·Np rows, the first Tk = 1+N+Np of which are keys):
 * <pre>
 *   rows 0..N            content stream: CLS, patches 0..N-1 in grid order
 *   rows 1+N+j           content stream: mask-position token m_u of the j-th predicted patch u (Pd in grid order)
 *   rows 1+N+Np+j        query stream:   g_u for the same u (not a key)
 * </pre>
 * Additive mask entries are 0 (attend) or {@link #BLOCKED}. Every row sees each of the 1+N
 * positions exactly once, through its content or through its mask-position token:
 * <pre>
 *   t ∈ C   : content of C;                                  every m_u
 *   t ∈ Pd  : content of C, of u ∈ Pd with ord(u) &lt; ord(t), and t itself;   m_u iff ord(u) &gt; ord(t)
 *   m_u     : content of C;                                  every m_*
 *   g_p     : content of C and of u ∈ Pd with ord(u) &lt; ord(p) (not p);      m_u iff ord(u) ≥ ord(p)
 * </pre>
 */
public final class PermutedPrediction implements MaskingOperator {

    /** The additive mask value of a blocked key (METHODS.md: −1e30). */
    public static final float BLOCKED = -1e30f;

    private final double contextFraction;

    /**
     * @param contextFraction share of the patches in the context (config {@code method.mapet.context-ratio});
     *                        L = 1 + round(fraction·N), 0 &lt; fraction &lt; 1
     */
    public PermutedPrediction(double contextFraction) {
        if (!(contextFraction > 0 && contextFraction < 1)) {
            throw new IllegalArgumentException("MaPeT's context fraction must be in (0, 1), got " + contextFraction);
        }
        this.contextFraction = contextFraction;
    }

    /** Context patches L−1 = round(fraction·N), at least 1 and at most N−1 (something is always predicted). */
    public static int contextPatches(int n, double fraction) {
        int c = (int) Math.round(fraction * n);
        return Math.max(1, Math.min(n - 1, c));
    }

    /** Np = N − (L−1). */
    public int predicted(int n) {
        return n - contextPatches(n, contextFraction);
    }

    @Override
    public SampleMask sample(int gridH, int gridW, SplittableRandom rng) {
        int n = MaskingOperator.tokenCount(gridH, gridW);
        if (n < 2) throw new IllegalArgumentException("MaPeT needs at least 2 patches, got a " + gridH + "x" + gridW + " grid");
        int[] perm = new int[n];
        for (int i = 0; i < n; i++) perm[i] = i;
        Permutations.shuffle(perm, 0, n, rng);
        return SampleMask.fromShuffle(perm, contextPatches(n, contextFraction));
    }

    @Override
    public String name() {
        return String.format(java.util.Locale.ROOT, "permuted(context %.2f)", contextFraction);
    }

    /** The predicted patches in grid order, [Np]. */
    public static int[] predictedPatches(SampleMask plan) {
        int n = plan.n(), keep = plan.keep();
        int[] shuffle = plan.idsShuffle();
        int[] pd = Arrays.copyOfRange(shuffle, keep, n);
        Arrays.sort(pd);
        return pd;
    }

    /**
     * Fills one image's additive mask [T, Tk] (row-major at out[off ..]) for the plan, layout as in the class comment.
     */
    public static void fillMask(SampleMask plan, float[] out, int off) {
        int n = plan.n(), keep = plan.keep(), np = n - keep;
        int tk = 1 + n + np, t = 1 + n + 2 * np;
        int[] restore = plan.idsRestore();
        int[] ord = new int[1 + n];                       // [1+N] order of each content position (CLS = 0)
        for (int p = 0; p < n; p++) ord[1 + p] = restore[p] + 1;
        int[] pd = predictedPatches(plan);
        int ctx = keep + 1;                               // L: orders below it are context
        Arrays.fill(out, off, off + t * tk, BLOCKED);
        for (int row = 0; row < t; row++) {
            int base = off + row * tk;
            // the order of the row's own token; MIN for rows that see C's content only (C rows, m rows)
            int own;
            boolean query = row >= 1 + n + np;
            if (row <= n) own = ord[row] < ctx ? Integer.MIN_VALUE : ord[row];
            else if (!query) own = Integer.MIN_VALUE;
            else own = ord[1 + pd[row - 1 - n - np]];
            boolean contextRow = own == Integer.MIN_VALUE;
            for (int c = 0; c <= n; c++) {
                boolean see = ord[c] < ctx
                        || (!contextRow && (ord[c] < own || (!query && ord[c] == own)));
                if (see) out[base + c] = 0f;
            }
            for (int j = 0; j < np; j++) {
                int ou = ord[1 + pd[j]];
                boolean see = contextRow || (query ? ou >= own : ou > own);
                if (see) out[base + 1 + n + j] = 0f;
            }
        }
    }

    /** T = 1 + N + 2·Np rows of the sequence. */
    public static int rows(int n, int np) {
        return 1 + n + 2 * np;
    }

    /** Tk = 1 + N + Np keys (the content stream). */
    public static int keys(int n, int np) {
        return 1 + n + np;
    }
}
