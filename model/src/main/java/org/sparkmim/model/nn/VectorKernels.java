package org.sparkmim.model.nn;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Single-pass float kernels for the elementwise work around the gemms (GELU, LayerNorm), written with the JDK's
 * Vector API straight onto ND4J's off-heap buffers: 16 lanes on AVX-512, 8 on AVX2. ND4J runs each of these as 4–6
 * separate passes over memory (erf, scale, add, multiply …); here each is one read of the inputs and one write of
 * the outputs. Only {@link Kernels} calls this class, and only after checking that the JVM has the module
 * (--add-modules jdk.incubator.vector, conf/jvm.properties) and that every array is a dense float array on the CPU.
 *
 * <p>Arguments are (buffer, element offset) pairs: a buffer is the array's whole {@code data().asNio()} and the
 * offset is the array's {@code offset()}, so views into a larger buffer work. Ranges are [from, to) in elements
 * (GELU) or rows (LayerNorm), so callers can split the work across threads.
 */
final class VectorKernels {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final ByteOrder NO = ByteOrder.nativeOrder();

    private static final float INV_SQRT2 = (float) (1 / Math.sqrt(2));
    private static final float INV_SQRT_2PI = (float) (1 / Math.sqrt(2 * Math.PI));
    /** Below this |z| = |x|/√2, erf by its Taylor series; above, by erfc (no cancellation either side). */
    private static final float SPLIT = 0.921875f;
    /** erf(z)/z = Σ (-1)^n 2/√π z^(2n) / (n! (2n+1)), n = 0..9: truncation below 3e-8 for |z| < SPLIT. */
    private static final float[] TAYLOR = new float[10];
    /**
     * erfc(z) = t·exp(-z² + P(t)), t = 1/(1 + z/2), the Chebyshev fit of Numerical Recipes' erfcc: relative error
     * below 1.2e-7 for every z ≥ 0. Coefficients from P's highest degree down.
     */
    private static final float[] ERFC = {0.17087277f, -0.82215223f, 1.48851587f, -1.13520398f, 0.27886807f,
            -0.18628806f, 0.09678418f, 0.37409196f, 1.00002368f, -1.26551223f};

    static {
        double fact = 1;
        for (int n = 0; n < TAYLOR.length; n++) {
            if (n > 0) fact *= n;
            TAYLOR[n] = (float) ((n % 2 == 0 ? 2 : -2) / (Math.sqrt(Math.PI) * fact * (2 * n + 1)));
        }
    }

    private VectorKernels() { }

    static int lanes() {
        return L;
    }

    /**
     * Φ(x) = ½(1 + erf(x/√2)), the standard normal CDF, |error| ≤ 1e-7 (ND4J's erf path: 7e-8), measured against
     * commons-math in {@code KernelsTest}.
     */
    static FloatVector phi(FloatVector x) {
        FloatVector z = x.mul(INV_SQRT2), az = z.abs();
        FloatVector z2 = z.mul(z);
        FloatVector p = FloatVector.broadcast(F, TAYLOR[TAYLOR.length - 1]);
        for (int n = TAYLOR.length - 2; n >= 0; n--) p = p.fma(z2, FloatVector.broadcast(F, TAYLOR[n]));
        FloatVector small = z.mul(p).fma(0.5f, 0.5f);                             // ½ + ½·erf(z)
        FloatVector t = az.fma(0.5f, 1f);
        t = FloatVector.broadcast(F, 1f).div(t);
        FloatVector q = FloatVector.broadcast(F, ERFC[0]);
        for (int i = 1; i < ERFC.length; i++) q = q.fma(t, FloatVector.broadcast(F, ERFC[i]));
        FloatVector h = q.sub(z2).lanewise(VectorOperators.EXP).mul(t).mul(0.5f);  // ½·erfc(|z|)
        FloatVector large = h.neg().add(1f).blend(h, x.compare(VectorOperators.LT, 0f));
        return large.blend(small, az.compare(VectorOperators.LT, SPLIT));
    }

    /** The scalar twin of {@link #phi(FloatVector)} for the tail of a range (same formulas, same rounding order). */
    static float phi(float x) {
        float z = x * INV_SQRT2, az = Math.abs(z), z2 = z * z;
        if (az < SPLIT) {
            float p = TAYLOR[TAYLOR.length - 1];
            for (int n = TAYLOR.length - 2; n >= 0; n--) p = Math.fma(p, z2, TAYLOR[n]);
            return Math.fma(z * p, 0.5f, 0.5f);
        }
        float t = 1f / Math.fma(az, 0.5f, 1f);
        float q = ERFC[0];
        for (int i = 1; i < ERFC.length; i++) q = Math.fma(q, t, ERFC[i]);
        float h = (float) Math.exp(q - z2) * t * 0.5f;
        return x < 0 ? h : 1f - h;
    }

    /**
     * fc1's epilogue over rows [from, to) of f[M, H]: f += b (kept, as backward needs the pre-activation), cdf = Φ(f),
     * y = f·Φ(f). One pass instead of a bias pass and a GELU pass.
     */
    static void biasGelu(ByteBuffer f, long fo, float[] b, ByteBuffer cdf, long co, ByteBuffer y, long yo, int h,
                         int from, int to) {
        int end = h / L * L;
        for (int r = from; r < to; r++) {
            long base = (long) r * h;
            int j = 0;
            for (; j < end; j += L) {
                FloatVector v = load(f, fo, base + j).add(FloatVector.fromArray(F, b, j)), c = phi(v);
                v.intoByteBuffer(f, off(fo, base + j), NO);
                c.intoByteBuffer(cdf, off(co, base + j), NO);
                v.mul(c).intoByteBuffer(y, off(yo, base + j), NO);
            }
            for (; j < h; j++) {
                float v = f.getFloat(off(fo, base + j)) + b[j], c = phi(v);
                f.putFloat(off(fo, base + j), v);
                cdf.putFloat(off(co, base + j), c);
                y.putFloat(off(yo, base + j), v * c);
            }
        }
    }

    /**
     * out[r, :] += b + res[r, :] for rows [from, to) of [M, N]: the bias and residual adds after a linear map's gemm in
     * one read-modify-write pass instead of two. (Prefilling C with b + res and letting the gemm accumulate onto it,
     * beta = 1, measured slower: ND4J's gemm with beta = 1 cost more than the passes it saved.)
     */
    static void addBiasResidual(ByteBuffer out, long oo, float[] b, ByteBuffer res, long ro, int n, int from, int to) {
        int end = n / L * L;
        for (int r = from; r < to; r++) {
            long base = (long) r * n;
            int j = 0;
            for (; j < end; j += L) {
                load(out, oo, base + j).add(FloatVector.fromArray(F, b, j)).add(load(res, ro, base + j))
                        .intoByteBuffer(out, off(oo, base + j), NO);
            }
            for (; j < n; j++) {
                out.putFloat(off(oo, base + j), out.getFloat(off(oo, base + j)) + b[j] + res.getFloat(off(ro, base + j)));
            }
        }
    }

    /**
     * GELU backward over rows [from, to) of [M, H] that also sums dx over rows into dbAcc[H] (fc1's bias gradient),
     * which saves the separate column-sum pass.
     */
    static void geluBackwardColSum(ByteBuffer x, long xo, ByteBuffer cdf, long co, ByteBuffer dy, long dyo,
                                   ByteBuffer dx, long dxo, int h, int from, int to, double[] dbAcc) {
        int end = h / L * L;
        float[] part = new float[h];
        for (int r = from; r < to; r++) {
            long base = (long) r * h;
            int j = 0;
            for (; j < end; j += L) {
                FloatVector v = load(x, xo, base + j);
                FloatVector pdf = v.mul(v).mul(-0.5f).lanewise(VectorOperators.EXP).mul(INV_SQRT_2PI);
                FloatVector g = load(dy, dyo, base + j).mul(v.fma(pdf, load(cdf, co, base + j)));
                g.intoByteBuffer(dx, off(dxo, base + j), NO);
                g.add(FloatVector.fromArray(F, part, j)).intoArray(part, j);
            }
            for (; j < h; j++) {
                float v = x.getFloat(off(xo, base + j));
                float pdf = (float) Math.exp(v * v * -0.5f) * INV_SQRT_2PI;
                float g = dy.getFloat(off(dyo, base + j)) * Math.fma(v, pdf, cdf.getFloat(off(co, base + j)));
                dx.putFloat(off(dxo, base + j), g);
                part[j] += g;
            }
            if ((r - from) % ROWS_PER_FLUSH == ROWS_PER_FLUSH - 1 || r == to - 1) {
                for (int k = 0; k < h; k++) {
                    dbAcc[k] += part[k];
                    part[k] = 0;
                }
            }
        }
    }

    /**
     * LayerNorm forward over rows [from, to) of x[M, D]: per row μ, biased variance σ², rstd = 1/√(σ² + eps),
     * x̂ = (x − μ)·rstd, y = x̂·g + b. Two reads of the row (it stays in L1) and one write of each output.
     */
    static void layerNorm(ByteBuffer x, long xo, float[] g, float[] b, ByteBuffer xhat, long ho, ByteBuffer rstd,
                          long ro, ByteBuffer y, long yo, int d, double eps, int from, int to) {
        int end = d / L * L;
        for (int r = from; r < to; r++) {
            long base = (long) r * d;
            FloatVector acc = FloatVector.zero(F);
            for (int j = 0; j < end; j += L) acc = acc.add(load(x, xo, base + j));
            float sum = acc.reduceLanes(VectorOperators.ADD);
            for (int j = end; j < d; j++) sum += x.getFloat(off(xo, base + j));
            float mu = sum / d;
            acc = FloatVector.zero(F);
            for (int j = 0; j < end; j += L) {
                FloatVector c = load(x, xo, base + j).sub(mu);
                acc = c.fma(c, acc);
            }
            float sq = acc.reduceLanes(VectorOperators.ADD);
            for (int j = end; j < d; j++) {
                float c = x.getFloat(off(xo, base + j)) - mu;
                sq += c * c;
            }
            float rs = (float) (1 / Math.sqrt(sq / d + eps));
            rstd.putFloat(off(ro, r), rs);
            for (int j = 0; j < end; j += L) {
                FloatVector h = load(x, xo, base + j).sub(mu).mul(rs);
                h.intoByteBuffer(xhat, off(ho, base + j), NO);
                h.fma(FloatVector.fromArray(F, g, j), FloatVector.fromArray(F, b, j)).intoByteBuffer(y, off(yo, base + j), NO);
            }
            for (int j = end; j < d; j++) {
                float h = (x.getFloat(off(xo, base + j)) - mu) * rs;
                xhat.putFloat(off(ho, base + j), h);
                y.putFloat(off(yo, base + j), Math.fma(h, g[j], b[j]));
            }
        }
    }

    /** Rows summed in float per column before they are added into the double totals (keeps the sums exact enough). */
    private static final int ROWS_PER_FLUSH = 64;

    /**
     * LayerNorm backward over rows [from, to): dx̂ = dy·g, dx = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)), written or
     * (accumulate) added into dx; the column sums Σ dy·x̂ and Σ dy are added into dgAcc/dbAcc [D] (doubles).
     */
    static void layerNormBackward(ByteBuffer dy, long dyo, ByteBuffer xhat, long ho, ByteBuffer rstd, long ro,
                                  float[] g, ByteBuffer dx, long dxo, ByteBuffer add, long ado, int d, int from, int to,
                                  double[] dgAcc, double[] dbAcc) {
        int end = d / L * L;
        float[] dgPart = new float[d], dbPart = new float[d];
        for (int r = from; r < to; r++) {
            long base = (long) r * d;
            FloatVector a1 = FloatVector.zero(F), a2 = FloatVector.zero(F);
            for (int j = 0; j < end; j += L) {
                FloatVector gy = load(dy, dyo, base + j), h = load(xhat, ho, base + j);
                FloatVector dh = gy.mul(FloatVector.fromArray(F, g, j));
                a1 = a1.add(dh);
                a2 = dh.fma(h, a2);
                gy.fma(h, FloatVector.fromArray(F, dgPart, j)).intoArray(dgPart, j);
                gy.add(FloatVector.fromArray(F, dbPart, j)).intoArray(dbPart, j);
            }
            float s1 = a1.reduceLanes(VectorOperators.ADD), s2 = a2.reduceLanes(VectorOperators.ADD);
            for (int j = end; j < d; j++) {
                float gy = dy.getFloat(off(dyo, base + j)), h = xhat.getFloat(off(ho, base + j)), dh = gy * g[j];
                s1 += dh;
                s2 += dh * h;
                dgPart[j] += gy * h;
                dbPart[j] += gy;
            }
            float m1 = s1 / d, m2 = s2 / d, rs = rstd.getFloat(off(ro, r));
            for (int j = 0; j < end; j += L) {
                FloatVector h = load(xhat, ho, base + j);
                FloatVector dh = load(dy, dyo, base + j).mul(FloatVector.fromArray(F, g, j));
                FloatVector t = dh.sub(m1).sub(h.mul(m2)).mul(rs);
                if (add != null) t = t.add(load(add, ado, base + j));
                t.intoByteBuffer(dx, off(dxo, base + j), NO);
            }
            for (int j = end; j < d; j++) {
                float h = xhat.getFloat(off(ho, base + j)), dh = dy.getFloat(off(dyo, base + j)) * g[j];
                float t = (dh - m1 - h * m2) * rs;
                if (add != null) t += add.getFloat(off(ado, base + j));
                dx.putFloat(off(dxo, base + j), t);
            }
            if ((r - from) % ROWS_PER_FLUSH == ROWS_PER_FLUSH - 1 || r == to - 1) {
                for (int j = 0; j < d; j++) {
                    dgAcc[j] += dgPart[j];
                    dbAcc[j] += dbPart[j];
                    dgPart[j] = 0;
                    dbPart[j] = 0;
                }
            }
        }
    }

    /** No second input / key bias [B, T] added to every query row / full mask [B, T, Tk]. */
    static final int NO_MASK = 0, KEY_BIAS = 1, FULL_MASK = 2;

    /**
     * Multi-head attention forward for units (image b, head h) in [from, to), straight from the qkv gemm's output
     * [B·T, 3·D] laid out (b, t, {q,k,v}, h, e): S = scale·Q·Kᵀ + mask, A = softmax(S) over the Tk keys (the first
     * Tk tokens), O = A·V. Writes A into att [B, H, T, Tk] (kept for backward) and O into out [B·T, D] with the heads
     * concatenated, so neither the [3, B, H, T, dh] permute before nor the one after is needed. dh is a multiple of
     * the lane count.
     */
    static void attention(ByteBuffer qkv, long qo, ByteBuffer mask, long mo, int maskKind, ByteBuffer att, long ao,
                          ByteBuffer out, long oo, int t, int tk, int heads, int dh, float scale, int from, int to) {
        int d = heads * dh, tkp = (tk + L - 1) / L * L;
        // Kᵀ [dh, tkp] (zero-padded keys) makes a row of S a few vector FMAs per e, with no lane reductions
        float[] kt = new float[dh * tkp], v = new float[tk * dh], q = new float[dh], s = new float[tkp];
        for (int u = from; u < to; u++) {
            int b = u / heads, h = u % heads;
            for (int j = 0; j < tk; j++) {
                long row = ((long) (b * t + j) * 3) * d + (long) h * dh;
                for (int e = 0; e < dh; e++) kt[e * tkp + j] = qkv.getFloat(off(qo, row + d + e));
                copyIn(qkv, qo, row + 2L * d, v, j * dh, dh);
            }
            for (int i = 0; i < t; i++) {
                copyIn(qkv, qo, ((long) (b * t + i) * 3) * d + (long) h * dh, q, 0, dh);
                for (int c = 0; c < tkp; c += L) {
                    FloatVector acc = FloatVector.zero(F);
                    for (int e = 0; e < dh; e++) {
                        acc = FloatVector.fromArray(F, kt, e * tkp + c).fma(FloatVector.broadcast(F, q[e]), acc);
                    }
                    acc.mul(scale).intoArray(s, c);
                }
                float mx = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < tk; j++) {
                    if (maskKind == KEY_BIAS) s[j] += mask.getFloat(off(mo, (long) b * t + j));
                    else if (maskKind == FULL_MASK) s[j] += mask.getFloat(off(mo, ((long) b * t + i) * tk + j));
                    mx = Math.max(mx, s[j]);
                }
                float inv = 1f / expShifted(s, tk, mx);
                long arow = ((long) u * t + i) * tk;
                for (int j = 0; j < tk; j++) {
                    s[j] *= inv;
                    att.putFloat(off(ao, arow + j), s[j]);
                }
                long orow = (long) (b * t + i) * d + (long) h * dh;
                for (int e = 0; e < dh; e += L) {
                    FloatVector acc = FloatVector.zero(F);
                    for (int j = 0; j < tk; j++) {
                        acc = FloatVector.fromArray(F, v, j * dh + e).fma(FloatVector.broadcast(F, s[j]), acc);
                    }
                    acc.intoByteBuffer(out, off(oo, orow + e), NO);
                }
            }
        }
    }

    /**
     * Backward of {@link #attention} for units [from, to): from dO (dout [B·T, D], heads concatenated) and the kept
     * A, dA = dO·Vᵀ, dS = A ⊙ (dA − rowsum(dA ⊙ A)), then dQ = scale·dS·K, dK = scale·dSᵀ·Q, dV = Aᵀ·dO, written
     * into dqkv [B·T, 3·D] in the qkv gemm's layout. Tokens at or after Tk are no keys: their dK and dV are 0.
     */
    static void attentionBackward(ByteBuffer qkv, long qo, ByteBuffer att, long ao, ByteBuffer dout, long doo,
                                  ByteBuffer dqkv, long dqo, int t, int tk, int heads, int dh, float scale, int from,
                                  int to) {
        int d = heads * dh, tkp = (tk + L - 1) / L * L;
        float[] k = new float[tk * dh], vt = new float[dh * tkp], q = new float[t * dh], g = new float[t * dh];
        float[] a = new float[t * tkp], ds = new float[t * tkp], da = new float[tkp];
        for (int u = from; u < to; u++) {
            int b = u / heads, h = u % heads;
            for (int j = 0; j < tk; j++) {
                long row = ((long) (b * t + j) * 3) * d + (long) h * dh;
                copyIn(qkv, qo, row + d, k, j * dh, dh);
                for (int e = 0; e < dh; e++) vt[e * tkp + j] = qkv.getFloat(off(qo, row + 2L * d + e));
            }
            for (int i = 0; i < t; i++) {
                copyIn(qkv, qo, ((long) (b * t + i) * 3) * d + (long) h * dh, q, i * dh, dh);
                copyIn(dout, doo, (long) (b * t + i) * d + (long) h * dh, g, i * dh, dh);
                for (int c = 0; c < tkp; c += L) {                         // dA row = dO_i·Vᵀ
                    FloatVector acc = FloatVector.zero(F);
                    for (int e = 0; e < dh; e++) {
                        acc = FloatVector.fromArray(F, vt, e * tkp + c).fma(FloatVector.broadcast(F, g[i * dh + e]), acc);
                    }
                    acc.intoArray(da, c);
                }
                long arow = ((long) u * t + i) * tk;
                float rowsum = 0;
                for (int j = 0; j < tk; j++) {
                    float aij = att.getFloat(off(ao, arow + j));
                    a[i * tkp + j] = aij;
                    rowsum += da[j] * aij;
                }
                for (int j = 0; j < tk; j++) ds[i * tkp + j] = a[i * tkp + j] * (da[j] - rowsum) * scale;
                long qrow = ((long) (b * t + i) * 3) * d + (long) h * dh;
                for (int e = 0; e < dh; e += L) {                          // dQ_i = Σ_j dS_ij K_j
                    FloatVector acc = FloatVector.zero(F);
                    for (int j = 0; j < tk; j++) {
                        acc = FloatVector.fromArray(F, k, j * dh + e).fma(FloatVector.broadcast(F, ds[i * tkp + j]), acc);
                    }
                    acc.intoByteBuffer(dqkv, off(dqo, qrow + e), NO);
                }
            }
            for (int j = 0; j < t; j++) {                                  // dK_j = Σ_i dS_ij Q_i, dV_j = Σ_i A_ij dO_i
                long row = ((long) (b * t + j) * 3) * d + (long) h * dh;
                for (int e = 0; e < dh; e += L) {
                    FloatVector kk = FloatVector.zero(F), vv = FloatVector.zero(F);
                    if (j < tk) {
                        for (int i = 0; i < t; i++) {
                            kk = FloatVector.fromArray(F, q, i * dh + e).fma(FloatVector.broadcast(F, ds[i * tkp + j]), kk);
                            vv = FloatVector.fromArray(F, g, i * dh + e).fma(FloatVector.broadcast(F, a[i * tkp + j]), vv);
                        }
                    }
                    kk.intoByteBuffer(dqkv, off(dqo, row + d + e), NO);
                    vv.intoByteBuffer(dqkv, off(dqo, row + 2L * d + e), NO);
                }
            }
        }
    }

    /** s[j] := exp(s[j] − mx) for j < n; returns their sum. */
    private static float expShifted(float[] s, int n, float mx) {
        int j = 0, end = n / L * L;
        FloatVector acc = FloatVector.zero(F);
        for (; j < end; j += L) {
            FloatVector e = FloatVector.fromArray(F, s, j).sub(mx).lanewise(VectorOperators.EXP);
            e.intoArray(s, j);
            acc = acc.add(e);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; j < n; j++) {
            s[j] = (float) Math.exp(s[j] - mx);
            sum += s[j];
        }
        return sum;
    }

    private static void copyIn(ByteBuffer b, long base, long at, float[] dst, int dstOff, int n) {
        for (int e = 0; e < n; e += L) {
            FloatVector.fromByteBuffer(F, b, off(base, at + e), NO).intoArray(dst, dstOff + e);
        }
    }

    private static FloatVector load(ByteBuffer b, long base, long i) {
        return FloatVector.fromByteBuffer(F, b, off(base, i), NO);
    }

    private static int off(long base, long i) {
        return (int) ((base + i) * Float.BYTES);
    }
}
