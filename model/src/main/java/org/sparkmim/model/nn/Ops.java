package org.sparkmim.model.nn;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastAddOp;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastSubOp;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Erf;
import org.nd4j.linalg.api.ops.impl.transforms.strict.Exp;
import org.nd4j.linalg.api.blas.params.MMulTranspose;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The tensor kernels our vertices are written with: gemm-backed linear maps, batched matmul, a hand-written
 * LayerNorm (STACK-NOTES: ND4J's LayerNorm/LayerNormBp ops were 4-7x slower), softmax and GELU. LayerNorm and
 * fc1 + GELU ({@link #linearGelu}, the GELU backward with its bias gradient) run as fused single-pass kernels when
 * {@link Kernels} allows (float, CPU, Vector API); {@link #gelu} and the 5-argument {@link #geluBackward} are the
 * ND4J reference path they fall back to.
 *
 * <p>Every method writes into caller-provided arrays so the caller decides the workspace of each result.
 */
public final class Ops {
    /** timm / MAE LayerNorm epsilon. */
    public static final double LN_EPS = 1e-6;

    private Ops() { }

    /** Detached all-ones vectors by (length, type), reused: reductions below are gemms against them. */
    private static final java.util.concurrent.ConcurrentHashMap<String, INDArray> ONES = new java.util.concurrent.ConcurrentHashMap<>();

    private static INDArray ones(long n, org.nd4j.linalg.api.buffer.DataType dt, boolean row) {
        return ONES.computeIfAbsent(n + ":" + dt + ":" + row, k -> {
            try (var ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                return row ? Nd4j.ones(dt, 1, n) : Nd4j.ones(dt, n, 1);
            }
        });
    }

    /**
     * out[N] = Σ_rows x[M,N]. A gemm with a ones row: ND4J's sum(0) on [3328,768] takes 9.8 ms, this 0.7 ms
     * (measured; column reductions are a slow path in libnd4j).
     */
    public static void colSum(INDArray x, INDArray out) {
        Nd4j.gemm(ones(x.size(0), x.dataType(), true), x, out.reshape(1, x.size(1)), false, false, 1.0, 0.0);
    }

    /** out[M,1] = mean over the columns of x[M,N], as a gemm with a ones column (row reductions are slow too). */
    public static void rowMean(INDArray x, INDArray out) {
        Nd4j.gemm(x, ones(x.size(1), x.dataType(), false), out, false, false, 1.0 / x.size(1), 0.0);
    }

    /** out[M,O] = x[M,I] · W[I,O] + b[O]. */
    public static void linear(INDArray x, INDArray w, INDArray b, INDArray out) {
        linearResidual(x, w, b, null, out);
    }

    /**
     * out[M,O] = x[M,I] · W[I,O] + b[O] + res[M,O] (res may be null; it must not alias out). The two adds after the
     * gemm are one pass when {@link Kernels} allows.
     */
    public static void linearResidual(INDArray x, INDArray w, INDArray b, INDArray res, INDArray out) {
        Nd4j.gemm(x, w, out, false, false, 1.0, 0.0);
        if (b != null && res != null && Kernels.use(out, res) && b.dataType() == out.dataType()) {
            Kernels.addBiasResidual(out, b, res);
            return;
        }
        if (b != null) out.addiRowVector(b);
        if (res != null) out.addi(res);
    }

    /**
     * Backward of {@link #linear}: dW[I,O] = xᵀ·dy, db[O] = Σ_rows dy, and, if dx != null, dx[M,I] = dy·Wᵀ
     * (beta = 1 accumulates into dx, used where a residual already holds a gradient).
     */
    public static void linearBackward(INDArray x, INDArray w, INDArray dy, INDArray dw, INDArray db, INDArray dx,
                                      double beta) {
        Nd4j.gemm(x, dy, dw, true, false, 1.0, 0.0);
        if (db != null) colSum(dy, db);
        if (dx != null) Nd4j.gemm(dy, w, dx, false, true, 1.0, beta);
    }

    /** Batched out[...,M,N] = alpha · op(a)[...,M,K] · op(b)[...,K,N] + beta · out. */
    public static void bmm(INDArray a, INDArray b, INDArray out, boolean transA, boolean transB, double alpha,
                           double beta) {
        MMulTranspose mt = MMulTranspose.builder().transposeA(transA).transposeB(transB).build();
        Nd4j.exec(new Mmul(a, b, out, alpha, beta, mt));
    }

    /**
     * LayerNorm over the last axis. x[M,D] → y[M,D]; keeps xhat[M,D] and rstd[M,1] for backward.
     */
    public static void layerNorm(INDArray x, INDArray g, INDArray b, INDArray xhat, INDArray rstd, INDArray y) {
        if (Kernels.use(x, xhat, rstd, y) && g.dataType() == x.dataType()) {
            Kernels.layerNorm(x, g, b, xhat, rstd, y);
            return;
        }
        rowMean(x, rstd);                               // rstd holds the mean μ [M,1] for a moment
        xhat.assign(x).subiColumnVector(rstd);
        y.assign(xhat).muli(xhat);                      // y as scratch: (x−μ)²
        rowMean(y, rstd);                               // biased variance, as torch LayerNorm
        rstd.addi(LN_EPS);
        Nd4j.exec(new org.nd4j.linalg.api.ops.impl.transforms.floating.RSqrt(rstd, rstd));
        xhat.muliColumnVector(rstd);
        y.assign(xhat).muliRowVector(g).addiRowVector(b);
    }

    /**
     * LayerNorm backward: dg[D], db[D] (overwritten), and dx[M,D] = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)).
     * If accumulate, dx is added to (residual streams), otherwise overwritten.
     */
    public static void layerNormBackward(INDArray dy, INDArray xhat, INDArray rstd, INDArray g, INDArray dg,
                                         INDArray db, INDArray dx, boolean accumulate) {
        layerNormBackwardAdd(dy, xhat, rstd, g, dg, db, accumulate ? dx : null, dx);
    }

    /**
     * {@link #layerNormBackward} into dx = add + LN'(dy): a residual stream's gradient written in the same pass, with
     * no copy of the residual first. add may be null (dx = LN'(dy)) or dx itself.
     */
    public static void layerNormBackwardAdd(INDArray dy, INDArray xhat, INDArray rstd, INDArray g, INDArray dg,
                                            INDArray db, INDArray add, INDArray dx) {
        if (Kernels.use(dy, xhat, rstd, dx) && (add == null || Kernels.use(add)) && g.dataType() == dy.dataType()
                && dg.dataType() == dy.dataType()) {
            Kernels.layerNormBackward(dy, xhat, rstd, g, dg, db, dx, add);
            return;
        }
        INDArray prod = dy.mul(xhat);                   // [M,D]
        colSum(prod, dg);
        colSum(dy, db);
        INDArray dxhat = dy.mulRowVector(g);           // [M,D]
        INDArray m1 = rstd.ulike(), m2 = rstd.ulike();  // [M,1]
        rowMean(dxhat, m1);
        rowMean(prod.assign(dxhat).muli(xhat), m2);
        INDArray t = prod.assign(xhat).muliColumnVector(m2).rsubi(dxhat).subiColumnVector(m1).muliColumnVector(rstd);
        if (add == null) dx.assign(t);
        else if (add == dx) dx.addi(t);
        else dx.assign(add).addi(t);
    }

    /** Row softmax over the last axis of s[..., T] into a. */
    public static void softmaxLastDim(INDArray s, INDArray a) {
        Nd4j.exec(new SoftMax(s, a, s.rank() - 1));
    }

    /**
     * Softmax backward in place: da ← a ⊙ (da − Σ_last(da ⊙ a)). Shapes [B,H,T,T].
     */
    public static void softmaxBackwardInPlace(INDArray a, INDArray da) {
        int r = a.rank();
        INDArray dot = da.mul(a).sum(r - 1);            // [B,H,T]
        int[] dims = new int[r - 1];
        for (int i = 0; i < r - 1; i++) dims[i] = i;
        Nd4j.exec(new BroadcastSubOp(da, dot, da, dims));
        da.muli(a);
    }

    /** s[B,H,T,T] += bias[B,T] broadcast over heads and query rows (additive key-padding mask). */
    public static void addKeyBias(INDArray s, INDArray bias) {
        Nd4j.exec(new BroadcastAddOp(s, bias, s, 0, 3));
    }

    /** s[B,H,T,Tk] += mask[B,T,Tk], the same additive mask for every head (MaPeT's two-stream masks). */
    public static void addHeadSharedMask(INDArray s, INDArray mask) {
        Nd4j.exec(new BroadcastAddOp(s, mask, s, 0, 2, 3));
    }

    /**
     * Exact GELU (timm's nn.GELU): y = x·Φ(x), Φ(x) = ½(1 + erf(x/√2)). Writes Φ(x) into cdf (kept for backward).
     * ND4J's PreciseGELUDerivative does not match PreciseGELU's forward (gradient check), hence this.
     */
    public static void gelu(INDArray x, INDArray cdf, INDArray y) {
        cdf.assign(x).muli(1.0 / Math.sqrt(2.0));
        Nd4j.exec(new Erf(cdf, cdf));
        cdf.addi(1.0).muli(0.5);
        y.assign(x).muli(cdf);
    }

    /** dx = dy ⊙ (Φ(x) + x·φ(x)), φ the standard normal pdf; dx may alias dy. scratch has x's shape (null: allocated here when the ND4J path needs it). */
    public static void geluBackward(INDArray x, INDArray cdf, INDArray dy, INDArray dx, INDArray scratch) {
        if (scratch == null) scratch = x.ulike();
        scratch.assign(x).muli(x).muli(-0.5);
        Nd4j.exec(new Exp(scratch, scratch));
        scratch.muli(1.0 / Math.sqrt(2.0 * Math.PI)).muli(x).addi(cdf);
        if (dx != dy) dx.assign(dy);
        dx.muli(scratch);
    }

    /**
     * fc1 + GELU: f[M,H] = x·W + b (kept for backward), cdf = Φ(f), y = f·Φ(f). The bias add is fused into the GELU
     * pass when {@link Kernels} allows.
     */
    public static void linearGelu(INDArray x, INDArray w, INDArray b, INDArray f, INDArray cdf, INDArray y) {
        Nd4j.gemm(x, w, f, false, false, 1.0, 0.0);
        if (Kernels.use(f, cdf, y) && b.dataType() == f.dataType()) {
            Kernels.biasGelu(f, b, cdf, y);
            return;
        }
        f.addiRowVector(b);
        gelu(f, cdf, y);
    }

    /**
     * {@link #geluBackward} that also writes the bias gradient of the linear map before the GELU: db[H] = Σ_rows dx
     * (fused into the same pass when {@link Kernels} allows). dx may alias dy.
     */
    public static void geluBackward(INDArray x, INDArray cdf, INDArray dy, INDArray dx, INDArray scratch, INDArray db) {
        if (Kernels.use(x, cdf, dy, dx) && db.dataType() == x.dataType()) {
            Kernels.geluBackwardColSum(x, cdf, dy, dx, db);
            return;
        }
        geluBackward(x, cdf, dy, dx, scratch);
        colSum(dx, db);
    }

    /** Xavier-uniform init for a [fanIn, fanOut] weight (MAE's init for Linear layers). */
    public static void xavierUniform(INDArray w, long fanIn, long fanOut) {
        double bound = Math.sqrt(6.0 / (fanIn + fanOut));
        w.assign(Nd4j.rand(w.dataType(), w.shape()).muli(2 * bound).subi(bound));
    }

    /** N(0, std) init (MAE: cls and mask tokens, std 0.02). */
    public static void normal(INDArray w, double std) {
        w.assign(Nd4j.randn(w.dataType(), w.shape()).muli(std));
    }
}
