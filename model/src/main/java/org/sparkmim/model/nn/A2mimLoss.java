package org.sparkmim.model.nn;

import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Locale;

/**
 * A2MIM's objective as a graph vertex (docs/METHODS.md, A2MIM): a spatial loss on the masked pixels plus λ times the
 * focal frequency loss between the batch-averaged spectra of the (mixed) prediction and of the target.
 *
 * <pre>
 * inputs: pred [N·B, P] (per-token head behind RnnToFeedForwardPreProcessor(NWC): row = n·B + b, MAE patch order)
 *         targets [B, N, P] (the unmasked normalized image)        mask [B, N] (1 = masked token)
 * images (HWC) x̂, x [B, H, W, C]; pixel mask M [B, H, W] = the token mask upsampled to its p×p pixels
 * L_spa  = Σ ℓ(x̂ − x)·M / (Σ M + 1e-5) / C          ℓ = |d| (l1) or |d|·(2σ(0.2|d|) − 1) (focal-l1)
 * M'     = M + (1 − M)·w_u
 * x̃      = x̂·M' + (0.5·sg(x̂) + 0.5·x)·(1 − M')            unmasked pixels mixed, without gradient
 * Δ      = DFT2_ortho(mean_b (x̃_b − x_b))  per channel    = F̂ − F of the batch-averaged spectra (linearity)
 * w      = sg(clamp(log(1 + |Δ|^α) / max_{c,u,v} log(1 + |Δ|^α), 0, 1))
 * L_freq = mean_{c,u,v} w·|Δ|²
 * output: c[b] = B·S_b/Z + λ·L_freq   [B, 1]  with S_b the spatial sum of image b, Z = (Σ M + 1e-5)·C,
 *         so that {@link SumLoss}'s Σ_b c[b] / B = L_spa + λ·L_freq
 * </pre>
 * Backward (hand-written, gradient-checked): dx̂_b = ε_b·B·ℓ'(d)·M/Z + (Σ_b' ε_b')·λ·(1/B)·M'_b ⊙ G, with
 * G = dL_freq/dD = (2 / (C·H·W))·Re(Aᴴ (w⊙Δ) conj(Bm)) ({@link Dft2#adjoint}); w is a constant, as in the released
 * code. Both terms are batch statistics, so each gradient-sharing worker computes them over its own minibatch.
 */
public class A2mimLoss extends LossTermConf {
    public int grid;
    public int patch;
    public int channels;
    /** "l1" (ViT) or "focal-l1" (ResNet). */
    public String spatial = "l1";
    /** λ, the weight of the frequency loss. */
    public double freqWeight;
    /** α, the exponent of the focal spectrum weight. */
    public double alpha = 1.0;
    /** w_u: the share of gradient unmasked pixels keep in the frequency loss (0 = none). */
    public double unmaskWeight;

    public A2mimLoss() { }

    public A2mimLoss(int grid, int patch, int channels, String spatial, double freqWeight, double alpha,
                     double unmaskWeight) {
        if (!spatial.equals("l1") && !spatial.equals("focal-l1")) {
            throw new IllegalArgumentException("method.a2mim.spatial-loss=" + spatial + " is not known; allowed: l1, focal-l1");
        }
        this.grid = grid;
        this.patch = patch;
        this.channels = channels;
        this.spatial = spatial;
        this.freqWeight = freqWeight;
        this.alpha = alpha;
        this.unmaskWeight = unmaskWeight;
    }

    @Override
    public A2mimLoss clone() {
        return new A2mimLoss(grid, patch, channels, spatial, freqWeight, alpha, unmaskWeight);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "A2mimLoss(grid=%d,p=%d,C=%d,spatial=%s,lambda=%s,alpha=%s,wu=%s)", grid,
                patch, channels, spatial, freqWeight, alpha, unmaskWeight);
    }

    @Override
    protected Runtime createRuntime(ComputationGraph graph, String name, int idx, DataType dt) {
        return new Impl(this, graph, name, idx, dt);
    }

    /** pixel offset in an HWC image of patch value k of token n: [N·P] */
    static int[] pixelOf(int grid, int p, int c) {
        int side = grid * p, pd = p * p * c;
        int[] map = new int[grid * grid * pd];
        for (int n = 0; n < grid * grid; n++) {
            int r = n / grid, col = n % grid;
            for (int i = 0; i < p; i++) {
                for (int j = 0; j < p; j++) {
                    for (int ch = 0; ch < c; ch++) {
                        map[n * pd + (i * p + j) * c + ch] = ((r * p + i) * side + col * p + j) * c + ch;
                    }
                }
            }
        }
        return map;
    }

    /** The spatial loss ℓ(d) and its derivative. */
    static double ell(boolean focal, double d) {
        double a = Math.abs(d);
        return focal ? a * (2 * sigmoid(0.2 * a) - 1) : a;
    }

    static double ellPrime(boolean focal, double d) {
        if (!focal) return Math.signum(d);
        double a = Math.abs(d), s = sigmoid(0.2 * a);
        return Math.signum(d) * ((2 * s - 1) + a * 0.4 * s * (1 - s));
    }

    private static double sigmoid(double z) {
        return 1 / (1 + Math.exp(-z));
    }

    /**
     * The focal spectrum weight of a difference image D [H, W, C] (HWC): w[c][u·W + v] =
     * clamp(log(1 + |DFT(D_c)[u, v]|^α) / max_{c,u,v}, 0, 1), 0 where the maximum is 0 (the released code's NaN → 0).
     */
    public static double[][] spectrumWeight(Dft2 dft, double[] d, int h, int w, int c, double alpha) {
        int hw = h * w;
        double[][] wt = new double[c][hw];
        double[] re = new double[hw], im = new double[hw];
        double max = 0;
        for (int ch = 0; ch < c; ch++) {
            dft.forward(d, ch, c, re, im);
            for (int k = 0; k < hw; k++) {
                wt[ch][k] = Math.log1p(Math.pow(Math.sqrt(re[k] * re[k] + im[k] * im[k]), alpha));
                max = Math.max(max, wt[ch][k]);
            }
        }
        for (double[] row : wt) {
            for (int k = 0; k < hw; k++) row[k] = max > 0 ? Math.min(1, Math.max(0, row[k] / max)) : 0;
        }
        return wt;
    }

    /**
     * mean_{c,u,v} w·|DFT(D_c)|² of a difference image D [H, W, C] (HWC), with w the given weight [C][H·W] taken as
     * a constant (the released code detaches it); writes dL/dD into grad if not null. With w ≡ 1 this is
     * Σ D² / (C·H·W) (Parseval).
     */
    public static double freqLoss(Dft2 dft, double[] d, int h, int w, int c, double[][] weight, double[] grad) {
        int hw = h * w;
        double loss = 0, k1 = 1.0 / ((double) c * hw);
        double[] re = new double[hw], im = new double[hw];
        for (int ch = 0; ch < c; ch++) {
            dft.forward(d, ch, c, re, im);
            double[] zr = new double[hw], zi = new double[hw];
            for (int k = 0; k < hw; k++) {
                double wk = weight[ch][k];
                loss += wk * (re[k] * re[k] + im[k] * im[k]);
                zr[k] = 2 * k1 * wk * re[k];
                zi[k] = 2 * k1 * wk * im[k];
            }
            if (grad != null) dft.adjoint(zr, zi, grad, ch, c);
        }
        return loss * k1;
    }

    /** The two terms for one batch, and what backward needs. */
    static final class Terms {
        double[] spa;       // [B] spatial sums S_b
        double z;           // (Σ M + 1e-5)·C
        double freq;        // L_freq
        double[] dSpa;      // [B, HWC] ℓ'(d)·M / Z
        double[] mPrime;    // [B, HWC] M'
        double[] gFreq;     // [HWC] dL_freq/dD, or null when λ = 0

        double spatial() {
            double t = 0;
            for (double v : spa) t += v;
            return t / z;
        }
    }

    /**
     * The forward computation on flat arrays: pred rows n·B + b [N·B·P], targets [B, N, P], mask [B, N]. Shared by
     * the vertex and by {@link #losses}, so the tests check the code that trains.
     */
    static Terms compute(A2mimLoss c, int[] pix, Dft2 dft, double[] pr, double[] tg, double[] m, int bSz) {
        int n = c.grid * c.grid, pd = c.patch * c.patch * c.channels, side = c.grid * c.patch;
        int img = side * side * c.channels;
        boolean focal = c.spatial.equals("focal-l1");
        Terms t = new Terms();
        double sumM = 0;
        for (double v : m) sumM += v;
        sumM *= (double) c.patch * c.patch;                                     // pixels, not tokens
        t.z = (sumM + 1e-5) * c.channels;
        t.dSpa = new double[bSz * img];
        t.mPrime = new double[bSz * img];
        t.spa = new double[bSz];
        double[] diff = new double[img];                                      // mean_b (x̃_b − x_b), HWC
        for (int b = 0; b < bSz; b++) {
            for (int tok = 0; tok < n; tok++) {
                double mk = m[b * n + tok], mp = mk + (1 - mk) * c.unmaskWeight;
                for (int k = 0; k < pd; k++) {
                    int q = tok * pd + k, px = b * img + pix[q];
                    double xh = pr[(tok * bSz + b) * pd + k], x = tg[b * n * pd + q], d = xh - x;
                    if (mk != 0) {
                        t.spa[b] += ell(focal, d) * mk;
                        t.dSpa[px] = ellPrime(focal, d) * mk / t.z;
                    }
                    t.mPrime[px] = mp;
                    double mixed = xh * mp + (0.5 * xh + 0.5 * x) * (1 - mp);
                    diff[pix[q]] += (mixed - x) / bSz;
                }
            }
        }
        if (c.freqWeight != 0) {
            t.gFreq = new double[img];
            double[][] w = spectrumWeight(dft, diff, side, side, c.channels, c.alpha);
            t.freq = freqLoss(dft, diff, side, side, c.channels, w, t.gFreq);
        }
        return t;
    }

    /** d(Σ_b ε_b·c[b])/dpred, rows n·B + b: the vertex's backward. */
    static double[] backward(A2mimLoss c, int[] pix, Terms t, double[] eps, int bSz) {
        double epsSum = 0;
        for (double e : eps) epsSum += e;
        int n = c.grid * c.grid, pd = c.patch * c.patch * c.channels, side = c.grid * c.patch, img = side * side * c.channels;
        double fScale = epsSum * c.freqWeight / bSz;
        double[] dp = new double[bSz * n * pd];
        for (int b = 0; b < bSz; b++) {
            for (int q = 0; q < n * pd; q++) {
                int px = b * img + pix[q];
                double g = eps[b] * bSz * t.dSpa[px];
                if (t.gFreq != null) g += fScale * t.mPrime[px] * t.gFreq[pix[q]];
                dp[((q / pd) * bSz + b) * pd + q % pd] = g;
            }
        }
        return dp;
    }

    /** dL/dpred [B, N, P] of L = L_spa + λ·L_freq as backward computes it (w and the mixed-in prediction detached). */
    public INDArray gradient(INDArray pred, INDArray targets, INDArray mask) {
        int b = (int) targets.size(0), n = grid * grid, pd = patch * patch * channels;
        double[] pr = pred.castTo(DataType.DOUBLE).reshape('c', b, n, pd).permute(1, 0, 2).dup('c')
                .reshape((long) n * b * pd).toDoubleVector();
        int[] pix = pixelOf(grid, patch, channels);
        Terms t = compute(this, pix, new Dft2(grid * patch, grid * patch), pr,
                targets.castTo(DataType.DOUBLE).dup('c').reshape(targets.length()).toDoubleVector(),
                mask.castTo(DataType.DOUBLE).dup('c').reshape(mask.length()).toDoubleVector(), b);
        double[] eps = new double[b];
        java.util.Arrays.fill(eps, 1.0 / b);
        return Nd4j.create(backward(this, pix, t, eps, b), new long[]{n, b, pd}).permute(1, 0, 2).dup('c');
    }

    /** {L_spa, L_freq} for pred, targets [B, N, P] and mask [B, N] (tests, reports): the vertex's own computation. */
    public double[] losses(INDArray pred, INDArray targets, INDArray mask) {
        int b = (int) targets.size(0), n = grid * grid, pd = patch * patch * channels;
        // [B, N, P] → rows n·B + b, as the head delivers them
        double[] pr = pred.castTo(DataType.DOUBLE).reshape('c', b, n, pd).permute(1, 0, 2).dup('c')
                .reshape((long) n * b * pd).toDoubleVector();
        A2mimLoss f = new A2mimLoss(grid, patch, channels, spatial, 1.0, alpha, unmaskWeight);
        Terms t = compute(f, pixelOf(grid, patch, channels), new Dft2(grid * patch, grid * patch), pr,
                targets.castTo(DataType.DOUBLE).dup('c').reshape(targets.length()).toDoubleVector(),
                mask.castTo(DataType.DOUBLE).dup('c').reshape(mask.length()).toDoubleVector(), b);
        return new double[]{t.spatial(), t.freq};
    }

    static final class Impl extends Runtime {
        private final A2mimLoss c;
        private final int[] pix;
        private final Dft2 dft;
        private Terms terms;
        private int bSz;

        Impl(A2mimLoss c, ComputationGraph graph, String name, int idx, DataType dt) {
            super(graph, name, idx, dt);
            this.c = c;
            this.pix = pixelOf(c.grid, c.patch, c.channels);
            int side = c.grid * c.patch;
            this.dft = new Dft2(side, side);
        }

        @Override
        public INDArray doForward(boolean training, LayerWorkspaceMgr ws) {
            INDArray pred = inputs[0], t = inputs[1], mask = inputs[2];
            bSz = (int) t.size(0);
            terms = compute(c, pix, dft, pred.dup('c').reshape(pred.length()).toDoubleVector(),
                    t.dup('c').reshape(t.length()).toDoubleVector(), mask.dup('c').reshape(mask.length()).toDoubleVector(), bSz);
            double[] out = new double[bSz];
            for (int b = 0; b < bSz; b++) out[b] = bSz * terms.spa[b] / terms.z + c.freqWeight * terms.freq;
            INDArray o = act(ws, bSz, 1);
            o.assign(Nd4j.create(out, new long[]{bSz, 1}).castTo(dataType));
            return o;
        }

        @Override
        public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr ws) {
            double[] eps = epsilon.castTo(DataType.DOUBLE).reshape(bSz).toDoubleVector();
            double[] dp = backward(c, pix, terms, eps, bSz);
            int n = c.grid * c.grid, pd = c.patch * c.patch * c.channels;
            INDArray dPred = ws.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, (long) n * bSz, pd);
            dPred.assign(Nd4j.create(dp, new long[]{(long) n * bSz, pd}).castTo(dataType));
            return new Pair<>(null, new INDArray[]{dPred, null, null});
        }
    }
}
