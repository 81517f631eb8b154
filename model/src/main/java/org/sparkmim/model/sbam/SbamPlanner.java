package org.sparkmim.model.sbam;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.sparkmim.masking.RandomMasking;
import org.sparkmim.model.nn.Ops;

import java.util.Arrays;

/**
 * SBAM's saliency-guided masking with AMR (METHODS.md §2), as pure functions of the token embeddings, the seeded
 * noise and the per-sample mode. Deterministic given its inputs; nothing here is differentiated.
 *
 * <pre>
 * A = softmax_row(X Xᵀ)  [B,N,N];  s = Σ_i A[i,·]  [B,N] (≥ 0, Σ_n s = N);  s ← per-sample min-max to [0,1]
 * AMR: y_b = #(s_b > δ);  r_b = r_base − r_var + 2·r_var·y_b/N  (per-sample)  or  y = mean_b y_b  (batch)
 * K_b = floor(N(1 − r_b));  score = s + noise·u, u ~ U(0,1);  ids_shuffle = argsort(score) ascending
 * </pre>
 * Low-salience tokens are kept, the most salient are masked.
 */
public final class SbamPlanner {
    /** Per-sample mode: plain random masking (warmup), saliency masking, or keep every token (features). */
    public static final int MODE_RANDOM = 0;
    public static final int MODE_SALIENCY = 1;
    public static final int MODE_ALL = 2;

    /**
     * @param ratio      r_base (method.mask-ratio)
     * @param noise      upper bound of the uniform noise added to the normalized saliency (0.5)
     * @param perSample  AMR per sample (padded batches) rather than one batch ratio
     */
    public record Settings(double ratio, double rVar, double delta, double noise, boolean amr, boolean perSample) { }

    /**
     * @param idsShuffle [B][N] ascending score order; the first keep[b] are the visible tokens in encoder order
     * @param keep       [B] visible counts K_b
     * @param saliency   [B][N] min-max normalized saliency (null rows for samples that did not need it)
     * @param ratio      [B] the mask ratio each sample used
     */
    public record Plans(int[][] idsShuffle, int[] keep, double[][] saliency, double[] ratio) {
        public int maxKeep() {
            return Arrays.stream(keep).max().orElse(0);
        }
    }

    private SbamPlanner() { }

    /** Raw saliency [B,N]: column sums of softmax_row(X Xᵀ), no projections, no scaling, no heads. */
    public static INDArray rawSaliency(INDArray x) {
        long b = x.size(0), n = x.size(1);
        INDArray xc = x.dup('c');
        INDArray s = Nd4j.createUninitialized(x.dataType(), b, n, n);
        Ops.bmm(xc, xc, s, false, true, 1.0, 0.0);
        INDArray a = s.ulike();
        Ops.softmaxLastDim(s, a);
        return a.sum(1);                                    // Σ over query rows i: attention received by token j
    }

    /** Per-sample min-max to [0, 1]; a constant row maps to 0. */
    public static double[] minMax(double[] s) {
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (double v : s) {
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        double[] out = new double[s.length];
        if (hi > lo) for (int i = 0; i < s.length; i++) out[i] = (s[i] - lo) / (hi - lo);
        return out;
    }

    /** AMR: r = r_base − r_var + 2·r_var·share, share ∈ [0, 1]. */
    public static double amrRatio(Settings st, double share) {
        return st.ratio() - st.rVar() + 2 * st.rVar() * share;
    }

    /**
     * @param x    [B,N,D] token embeddings + position code (the current parameters' X)
     * @param u    [B][N] uniform [0,1) noise, seeded per image by prepare()
     * @param mode [B] MODE_*
     */
    public static Plans plan(INDArray x, double[][] u, int[] mode, Settings st) {
        int b = mode.length, n = u[0].length;
        double[][] sal = new double[b][];
        boolean any = Arrays.stream(mode).anyMatch(m -> m == MODE_SALIENCY);
        double[][] raw = any ? rawSaliency(x).toDoubleMatrix() : null;
        double shareSum = 0;
        int salCount = 0;
        int[] above = new int[b];
        for (int i = 0; i < b; i++) {
            if (mode[i] != MODE_SALIENCY) continue;
            sal[i] = minMax(raw[i]);
            for (double v : sal[i]) above[i] += v > st.delta() ? 1 : 0;
            shareSum += above[i] / (double) n;
            salCount++;
        }
        int[][] order = new int[b][];
        int[] keep = new int[b];
        double[] ratio = new double[b];
        for (int i = 0; i < b; i++) {
            double[] score = new double[n];
            switch (mode[i]) {
                case MODE_ALL -> {
                    for (int t = 0; t < n; t++) score[t] = t;
                    ratio[i] = 0;
                }
                case MODE_RANDOM -> {
                    score = u[i].clone();
                    ratio[i] = st.ratio();
                }
                case MODE_SALIENCY -> {
                    for (int t = 0; t < n; t++) score[t] = sal[i][t] + st.noise() * u[i][t];
                    double share = st.perSample() ? above[i] / (double) n : shareSum / salCount;
                    ratio[i] = st.amr() ? amrRatio(st, share) : st.ratio();
                }
                default -> throw new IllegalArgumentException("SBAM plan mode " + mode[i] + " (allowed 0, 1, 2)");
            }
            keep[i] = mode[i] == MODE_ALL ? n : RandomMasking.keepCount(n, ratio[i]);
            if (keep[i] < 1) throw new IllegalStateException("mask ratio " + ratio[i] + " keeps no token of " + n);
            order[i] = argsort(score);
        }
        return new Plans(order, keep, sal, ratio);
    }

    /** Stable ascending argsort. */
    static int[] argsort(double[] v) {
        Integer[] idx = new Integer[v.length];
        for (int i = 0; i < idx.length; i++) idx[i] = i;
        Arrays.sort(idx, (a, c) -> Double.compare(v[a], v[c]));
        return Arrays.stream(idx).mapToInt(Integer::intValue).toArray();
    }

    /** Packs plans in the {@link org.sparkmim.model.nn.PlanSlice} layout: [B, 2N + 1 + 2·Kmax]. */
    public static double[][] pack(Plans p, int n) {
        int b = p.keep().length, k = p.maxKeep(), w = 2 * n + 1 + 2 * k;
        double[][] out = new double[b][w];
        for (int i = 0; i < b; i++) {
            double[] row = out[i];
            int kb = p.keep()[i];
            int[] order = p.idsShuffle()[i];
            Arrays.fill(row, 0, n, -1);                                       // slot: −1 = masked
            Arrays.fill(row, n, 2 * n, 1);                                    // mask: 1 = masked
            for (int j = 0; j < kb; j++) {
                row[order[j]] = j;
                row[n + order[j]] = 0;
            }
            for (int j = kb; j < k; j++) row[2 * n + 1 + j] = -1e9;           // key bias of padded slots
            for (int j = 0; j < k; j++) row[2 * n + 1 + k + j] = j < kb ? order[j] : -1;
        }
        return out;
    }
}
