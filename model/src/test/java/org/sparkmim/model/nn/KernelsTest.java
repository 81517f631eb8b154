package org.sparkmim.model.nn;

import org.apache.commons.math3.special.Erf;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The fused Vector API kernels (and, for plain GELU, ND4J's float reference path) against the double-precision ND4J path (double arrays never take the
 * fused path): GELU forward and backward, LayerNorm forward and backward, at sizes that leave a tail after the last
 * full vector, split across threads, and on views into larger buffers (parameters and gradients are views into the
 * flat vectors). The tolerance is float rounding: the fused path may not change a number beyond it.
 */
class KernelsTest {
    @Test
    void theSuiteRunsTheFusedPath() {
        // conf/jvm.properties gives Surefire --add-modules jdk.incubator.vector; without it these tests would
        // compare ND4J with itself
        assertThat(Kernels.MODE).startsWith("vector");
        assertThat(Kernels.use(Nd4j.create(DataType.FLOAT, 3, 5))).isTrue();
        assertThat(Kernels.use(Nd4j.create(DataType.DOUBLE, 3, 5))).isFalse();
        assertThat(Kernels.use(Nd4j.create(DataType.FLOAT, 5, 3).transpose())).isFalse();
    }

    @Test
    void phiIsTheNormalCdfToFloatRounding() {
        int lanes = VectorKernels.lanes();
        float[] xs = new float[400_016];
        for (int i = 0; i < xs.length; i++) xs[i] = -10f + 20f * i / xs.length;
        double worst = 0;
        float[] lane = new float[lanes];
        for (int i = 0; i + lanes <= xs.length; i += lanes) {
            VectorKernels.phi(jdk.incubator.vector.FloatVector.fromArray(VectorKernels.F, xs, i)).intoArray(lane, 0);
            for (int l = 0; l < lanes; l++) {
                double x = xs[i + l], ref = x < 0 ? 0.5 * Erf.erfc(-x / Math.sqrt(2)) : 0.5 * (1 + Erf.erf(x / Math.sqrt(2)));
                worst = Math.max(worst, Math.abs(lane[l] - ref));
                assertThat(VectorKernels.phi(xs[i + l])).as("scalar twin at %s", x).isCloseTo((float) ref, org.assertj.core.api.Assertions.within(1.2e-7f));
            }
        }
        // ND4J's float erf path reaches 6.7e-8; one float ulp just below 1 is 6e-8
        assertThat(worst).isLessThan(1.2e-7);
    }

    @Test
    void geluForwardAndBackwardMatchTheDoublePath() {
        for (long[] shape : new long[][]{{7, 13}, {300, 768}}) {                  // 91: tail only; 230400: threads
            INDArray x = Nd4j.randn(DataType.DOUBLE, shape).muli(2.5);
            INDArray dy = Nd4j.randn(DataType.DOUBLE, shape);
            INDArray cdfD = x.ulike(), yD = x.ulike(), dxD = x.ulike();
            Ops.gelu(x, cdfD, yD);
            Ops.geluBackward(x, cdfD, dy, dxD, x.ulike());

            INDArray xf = x.castTo(DataType.FLOAT), dyf = dy.castTo(DataType.FLOAT);
            INDArray cdf = xf.ulike(), y = xf.ulike();
            Ops.gelu(xf, cdf, y);
            assertClose(y, yD, 3e-7, "gelu y " + java.util.Arrays.toString(shape));
            assertClose(cdf, cdfD, 1.5e-7, "gelu cdf");
            Ops.geluBackward(xf, cdf, dyf, dyf, null);                            // in place, as TransformerBlock
            assertClose(dyf, dxD, 5e-7, "gelu dx");
        }
    }

    @Test
    void linearWithBiasAndResidualPrefilledMatchesTheDoublePath() {
        for (int[] mkn : new int[][]{{5, 3, 13}, {300, 192, 576}}) {               // 13: tail only; 576: threads
            int m = mkn[0], k = mkn[1], n = mkn[2];
            INDArray x = Nd4j.randn(DataType.DOUBLE, m, k), w = Nd4j.randn(DataType.DOUBLE, k, n).muli(0.3);
            INDArray flat = Nd4j.randn(DataType.DOUBLE, 1, n + 5);                // the bias: a view at offset 5
            INDArray b = flat.get(NDArrayIndex.point(0), NDArrayIndex.interval(5, 5 + n));
            INDArray res = Nd4j.randn(DataType.DOUBLE, m, n);
            INDArray ref = x.mmul(w).addiRowVector(b), refRes = ref.add(res);

            INDArray bf = flat.castTo(DataType.FLOAT).get(NDArrayIndex.point(0), NDArrayIndex.interval(5, 5 + n));
            INDArray xf = x.castTo(DataType.FLOAT), wf = w.castTo(DataType.FLOAT), resf = res.castTo(DataType.FLOAT);
            INDArray out = Nd4j.rand(DataType.FLOAT, m, n);                      // stale values must not leak in
            Ops.linear(xf, wf, bf, out);
            assertClose(out, ref, 2e-6 * Math.sqrt(k), "x·W + b " + m + "x" + k + "x" + n);
            out = Nd4j.rand(DataType.FLOAT, m, n);
            Ops.linearResidual(xf, wf, bf, resf, out);
            assertClose(out, refRes, 2e-6 * Math.sqrt(k), "x·W + b + res");
            assertClose(resf, res, 1e-6, "the residual is only read");
        }
    }

    @Test
    void fc1WithFusedBiasGeluAndItsBiasGradientMatchTheDoublePath() {
        for (int[] mkh : new int[][]{{5, 3, 13}, {300, 192, 768}}) {
            int m = mkh[0], k = mkh[1], h = mkh[2];
            INDArray x = Nd4j.randn(DataType.DOUBLE, m, k), w = Nd4j.randn(DataType.DOUBLE, k, h).muli(0.3);
            INDArray flat = Nd4j.randn(DataType.DOUBLE, 1, h + 7);                // the bias: a view at offset 7
            INDArray b = flat.get(NDArrayIndex.point(0), NDArrayIndex.interval(7, 7 + h));
            INDArray dy = Nd4j.randn(DataType.DOUBLE, m, h);
            INDArray fD = Nd4j.create(DataType.DOUBLE, m, h), cdfD = fD.ulike(), yD = fD.ulike();
            Ops.linearGelu(x, w, b, fD, cdfD, yD);
            INDArray dfD = dy.dup(), dbD = Nd4j.create(DataType.DOUBLE, h);
            Ops.geluBackward(fD, cdfD, dfD, dfD, fD.ulike(), dbD);

            INDArray flatF = flat.castTo(DataType.FLOAT);
            INDArray bf = flatF.get(NDArrayIndex.point(0), NDArrayIndex.interval(7, 7 + h));
            INDArray f = Nd4j.create(DataType.FLOAT, m, h), cdf = f.ulike(), y = f.ulike();
            Ops.linearGelu(x.castTo(DataType.FLOAT), w.castTo(DataType.FLOAT), bf, f, cdf, y);
            assertClose(f, fD, 2e-6, "fc1 pre-activation (bias added in place)");
            assertClose(y, yD, 2e-6, "fc1 gelu");
            INDArray grads = Nd4j.zeros(DataType.FLOAT, 1, h + 2);
            INDArray db = grads.get(NDArrayIndex.point(0), NDArrayIndex.interval(2, 2 + h));
            INDArray df = dy.castTo(DataType.FLOAT);
            Ops.geluBackward(f, cdf, df, df, null, db);
            assertClose(df, dfD, 1e-5, "gelu dx");
            assertClose(db, dbD, 1e-6 * m, "fc1 db");
            assertThat(grads.getDouble(0, 0)).as("nothing written before db").isZero();
        }
    }

    @Test
    void layerNormForwardAndBackwardMatchTheDoublePathOnViews() {
        for (int[] md : new int[][]{{9, 20}, {700, 192}}) {                      // 20: 4 tail columns; 134400: threads
            int m = md[0], d = md[1];
            INDArray x = Nd4j.randn(DataType.DOUBLE, m, d).muli(3).addi(1.5);
            INDArray dy = Nd4j.randn(DataType.DOUBLE, m, d);
            INDArray flatD = Nd4j.randn(DataType.DOUBLE, 1, 3L * d + 5);         // g and b are views at offsets
            INDArray g = flatD.get(NDArrayIndex.point(0), NDArrayIndex.interval(5, 5 + d));
            INDArray b = flatD.get(NDArrayIndex.point(0), NDArrayIndex.interval(5 + d, 5 + 2L * d));
            INDArray xhatD = x.ulike(), rstdD = Nd4j.create(DataType.DOUBLE, m, 1), yD = x.ulike();
            Ops.layerNorm(x, g, b, xhatD, rstdD, yD);
            INDArray dgD = Nd4j.create(DataType.DOUBLE, d), dbD = Nd4j.create(DataType.DOUBLE, d);
            INDArray residual = Nd4j.randn(DataType.DOUBLE, m, d);
            INDArray dxD = residual.dup();
            Ops.layerNormBackward(dy, xhatD, rstdD, g, dgD, dbD, dxD, true);

            INDArray flat = flatD.castTo(DataType.FLOAT);
            INDArray gf = flat.get(NDArrayIndex.point(0), NDArrayIndex.interval(5, 5 + d));
            INDArray bf = flat.get(NDArrayIndex.point(0), NDArrayIndex.interval(5 + d, 5 + 2L * d));
            INDArray xf = x.castTo(DataType.FLOAT), dyf = dy.castTo(DataType.FLOAT);
            INDArray xhat = xf.ulike(), rstd = Nd4j.create(DataType.FLOAT, m, 1), y = xf.ulike();
            Ops.layerNorm(xf, gf, bf, xhat, rstd, y);
            assertClose(xhat, xhatD, 2e-6, "ln xhat");
            assertClose(rstd, rstdD, 1e-6, "ln rstd");
            assertClose(y, yD, 5e-6, "ln y");
            INDArray grads = Nd4j.zeros(DataType.FLOAT, 1, 2L * d + 3);          // dg, db: views into a flat gradient
            INDArray dg = grads.get(NDArrayIndex.point(0), NDArrayIndex.interval(3, 3 + d));
            INDArray db = grads.get(NDArrayIndex.point(0), NDArrayIndex.interval(3 + d, 3 + 2L * d));
            INDArray dx = residual.castTo(DataType.FLOAT);
            Ops.layerNormBackward(dyf, xhat, rstd, gf, dg, db, dx, true);
            assertClose(dx, dxD, 5e-6, "ln dx (accumulated)");
            assertClose(dg, dgD, 1e-6 * m, "ln dg");
            assertClose(db, dbD, 1e-6 * m, "ln db");
            assertThat(grads.getDouble(0, 0)).as("nothing written before dg").isZero();
            INDArray dx2 = Nd4j.create(DataType.FLOAT, m, d).assign(99);
            Ops.layerNormBackward(dyf, xhat, rstd, gf, dg, db, dx2, false);
            assertClose(dx2.add(residual.castTo(DataType.FLOAT)), dxD, 5e-6, "ln dx (overwritten)");
        }
    }

    @Test
    void fusedAttentionMatchesAPlainDoubleReferenceForEveryMaskKind() {
        int b = 3, t = 9, heads = 2, dh = 2 * VectorKernels.lanes(), d = heads * dh;
        java.util.Random r = new java.util.Random(5);
        for (int kind = 0; kind < 3; kind++) {
            int tk = kind == VectorKernels.FULL_MASK ? 6 : t;                   // full mask: keys are a prefix
            double scale = 1 / Math.sqrt(dh);
            double[] qkv = new double[b * t * 3 * d], dout = new double[b * t * d];
            for (int i = 0; i < qkv.length; i++) qkv[i] = r.nextGaussian();
            for (int i = 0; i < dout.length; i++) dout[i] = r.nextGaussian();
            double[] mask = new double[kind == VectorKernels.FULL_MASK ? b * t * tk : b * t];
            for (int i = 0; i < mask.length; i++) {
                mask[i] = r.nextDouble() < 0.25 ? org.sparkmim.masking.PermutedPrediction.BLOCKED : r.nextGaussian();
            }
            if (kind == VectorKernels.KEY_BIAS) for (int i = 0; i < b; i++) mask[i * t] = 0;   // a key per image
            if (kind == VectorKernels.FULL_MASK) for (int i = 0; i < b * t; i++) mask[i * tk] = 0;
            // the reference, in double: S, A, O and the backward, written out per (b, h, i, j)
            double[] att = new double[b * heads * t * tk], out = new double[b * t * d], dqkv = new double[qkv.length];
            for (int bi = 0; bi < b; bi++) {
                for (int h = 0; h < heads; h++) {
                    double[][] a = new double[t][tk];
                    for (int i = 0; i < t; i++) {
                        double mx = Double.NEGATIVE_INFINITY;
                        for (int j = 0; j < tk; j++) {
                            double sdot = 0;
                            for (int e = 0; e < dh; e++) sdot += q(qkv, bi, i, 0, h, e, t, d, dh) * q(qkv, bi, j, 1, h, e, t, d, dh);
                            sdot = sdot * scale + (kind == 1 ? mask[bi * t + j] : kind == 2 ? mask[(bi * t + i) * tk + j] : 0);
                            a[i][j] = sdot;
                            mx = Math.max(mx, sdot);
                        }
                        double sum = 0;
                        for (int j = 0; j < tk; j++) sum += a[i][j] = Math.exp(a[i][j] - mx);
                        for (int j = 0; j < tk; j++) {
                            a[i][j] /= sum;
                            att[((bi * heads + h) * t + i) * tk + j] = a[i][j];
                        }
                        for (int e = 0; e < dh; e++) {
                            double o = 0;
                            for (int j = 0; j < tk; j++) o += a[i][j] * q(qkv, bi, j, 2, h, e, t, d, dh);
                            out[(bi * t + i) * d + h * dh + e] = o;
                        }
                    }
                    for (int i = 0; i < t; i++) {
                        double[] da = new double[tk];
                        double rs = 0;
                        for (int j = 0; j < tk; j++) {
                            for (int e = 0; e < dh; e++) da[j] += dout[(bi * t + i) * d + h * dh + e] * q(qkv, bi, j, 2, h, e, t, d, dh);
                            rs += da[j] * a[i][j];
                        }
                        for (int j = 0; j < tk; j++) {
                            double dsij = a[i][j] * (da[j] - rs) * scale;
                            for (int e = 0; e < dh; e++) {
                                dqkv[idx(bi, i, 0, h, e, t, d, dh)] += dsij * q(qkv, bi, j, 1, h, e, t, d, dh);
                                dqkv[idx(bi, j, 1, h, e, t, d, dh)] += dsij * q(qkv, bi, i, 0, h, e, t, d, dh);
                                dqkv[idx(bi, j, 2, h, e, t, d, dh)] += a[i][j] * dout[(bi * t + i) * d + h * dh + e];
                            }
                        }
                    }
                }
            }
            INDArray qkvF = Nd4j.create(qkv, new long[]{(long) b * t, 3L * d}).castTo(DataType.FLOAT);
            INDArray maskF = kind == 0 ? null : Nd4j.create(mask, kind == 2 ? new long[]{b, t, tk} : new long[]{b, t}).castTo(DataType.FLOAT);
            assertThat(Kernels.useAttention(dh, qkvF, maskF)).isTrue();
            INDArray attF = Nd4j.create(DataType.FLOAT, b, heads, t, tk), outF = Nd4j.create(DataType.FLOAT, (long) b * t, d);
            Kernels.attention(qkvF, maskF, scale, b, t, tk, heads, dh, attF, outF);
            String what = "mask kind " + kind;
            assertClose(attF, Nd4j.create(att, new long[]{b, heads, t, tk}), 1e-6, what + ": A");
            assertClose(outF, Nd4j.create(out, new long[]{(long) b * t, d}), 2e-6, what + ": O");
            INDArray dqkvF = Nd4j.create(DataType.FLOAT, (long) b * t, 3L * d).assign(7);    // every entry overwritten
            Kernels.attentionBackward(qkvF, attF, Nd4j.create(dout, new long[]{(long) b * t, d}).castTo(DataType.FLOAT),
                    scale, b, t, tk, heads, dh, dqkvF);
            assertClose(dqkvF, Nd4j.create(dqkv, new long[]{(long) b * t, 3L * d}), 5e-6, what + ": dQ, dK, dV");
        }
    }

    private static int idx(int b, int tok, int c, int h, int e, int t, int d, int dh) {
        return ((b * t + tok) * 3 + c) * d + h * dh + e;
    }

    private static double q(double[] qkv, int b, int tok, int c, int h, int e, int t, int d, int dh) {
        return qkv[idx(b, tok, c, h, e, t, d, dh)];
    }

    /** max |a − ref| ≤ tol·max(1, max|ref|): float rounding at the tensor's own scale. */
    private static void assertClose(INDArray a, INDArray ref, double tol, String what) {
        INDArray r = ref.castTo(DataType.DOUBLE).reshape(a.length());
        double diff = a.castTo(DataType.DOUBLE).reshape(a.length()).sub(r).amaxNumber().doubleValue();
        double scale = Math.max(1, r.amaxNumber().doubleValue());
        assertThat(diff).as(what + ": max abs diff %s at scale %s", diff, scale).isLessThanOrEqualTo(tol * scale);
    }
}
