package org.sparkmim.model.emae;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * EmaeLoss in double precision: the analytic gradient matches central differences (stop-gradient off), and with
 * the stop-gradient on it matches the gradient of the same loss with every partner frozen — so nothing flows
 * into the stop-gradient branch.
 */
class EmaeLossTest {
    static final int N = 8, K = 4, B = 2, P = 3;           // |O_ij| = 8 − 4 = 4 tokens per pair

    @BeforeAll
    static void dbl() {
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    }

    @AfterAll
    static void restore() {
        Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
    }

    /** Rows in DL4J's order n·(B·K) + b·K + k; per image a random split of the N tokens into K visible parts. */
    static INDArray[] rows(long seed) {
        Random r = new Random(seed);
        int rows = N * B * K;
        double[] mask = new double[rows];
        for (int b = 0; b < B; b++) {
            int[] perm = r.ints(0, Integer.MAX_VALUE).limit(N).toArray();
            Integer[] idx = new Integer[N];
            for (int i = 0; i < N; i++) idx[i] = i;
            java.util.Arrays.sort(idx, (x, y) -> Integer.compare(perm[x], perm[y]));
            for (int pos = 0; pos < N; pos++) {
                int n = idx[pos], visiblePart = pos / (N / K);
                for (int k = 0; k < K; k++) mask[n * B * K + b * K + k] = k == visiblePart ? 0 : 1;
            }
        }
        INDArray pred = Nd4j.randn(DataType.DOUBLE, rows, P);
        INDArray labels = Nd4j.randn(DataType.DOUBLE, rows, P);
        return new INDArray[]{labels, pred, Nd4j.create(mask, new long[]{rows, 1})};
    }

    static INDArray numericGrad(java.util.function.ToDoubleFunction<INDArray> f, INDArray x) {
        INDArray g = x.ulike();
        double h = 1e-6;
        for (int i = 0; i < x.length(); i++) {
            double v = x.getDouble(i);
            x.putScalar(i, v + h);
            double up = f.applyAsDouble(x);
            x.putScalar(i, v - h);
            double dn = f.applyAsDouble(x);
            x.putScalar(i, v);
            g.putScalar(i, (up - dn) / (2 * h));
        }
        return g;
    }

    static double relErr(INDArray a, INDArray b) {
        return a.sub(b).norm2Number().doubleValue() / Math.max(1e-12, a.norm2Number().doubleValue() + b.norm2Number().doubleValue());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"mse", "cosine"})
    void gradientMatchesCentralDifferencesWithoutStopGradient(String distance) {
        EmaeLoss loss = new EmaeLoss(N, K, 0.7, distance, false);
        INDArray[] a = rows(1);
        INDArray analytic = loss.computeGradient(a[0], a[1], null, a[2]);
        INDArray numeric = numericGrad(x -> loss.computeScore(a[0], x, null, a[2], false), a[1].dup());
        assertThat(relErr(analytic, numeric)).isLessThan(1e-7);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"mse", "cosine"})
    void stopGradientSendsNothingToThePartner(String distance) {
        INDArray[] a = rows(2);
        EmaeLoss sg = new EmaeLoss(N, K, 1.0, distance, true);
        // targets = predictions: L_rec and its gradient vanish, what remains is the self-consistency term
        INDArray labels = a[1].dup();
        INDArray analytic = sg.computeGradient(labels, a[1], null, a[2]);
        INDArray frozen = a[1].dup();
        // f(x) = Σ_{i≠j} d(x_i, frozen_j): the partner is a constant
        INDArray numeric = numericGrad(x -> frozenPartnerLoss(sg, x, frozen, a[2]), a[1].dup());
        assertThat(analytic.norm2Number().doubleValue()).isGreaterThan(1e-3);
        assertThat(relErr(analytic, numeric)).isLessThan(1e-7);
        // the full gradient of a symmetric pair sum is exactly twice the stop-gradient one; the value is unchanged
        EmaeLoss full = new EmaeLoss(N, K, 1.0, distance, false);
        assertThat(relErr(full.computeGradient(labels, a[1], null, a[2]), analytic.mul(2))).isLessThan(1e-12);
        assertThat(full.computeScore(labels, a[1], null, a[2], true))
                .isCloseTo(sg.computeScore(labels, a[1], null, a[2], true), within(1e-12));
    }

    /** frozenPartner's self-consistency loss on DL4J rows, as computeScore(average = false) reports it (× B·K). */
    static double frozenPartnerLoss(EmaeLoss l, INDArray x, INDArray frozen, INDArray mask) {
        return selfConsistency(byPart(x), byPart(frozen), maskByPart(mask), K, l.distance) * B * K;
    }

    /** DL4J rows n·(B·K) + b·K + k → [B·K][N][P]. */
    static double[][][] byPart(INDArray rows) {
        double[][] r = rows.toDoubleMatrix();
        double[][][] out = new double[B * K][N][];
        for (int n = 0; n < N; n++) for (int bk = 0; bk < B * K; bk++) out[bk][n] = r[n * B * K + bk];
        return out;
    }

    static double[][] maskByPart(INDArray mask) {
        double[] m = mask.toDoubleVector();
        double[][] out = new double[B * K][N];
        for (int n = 0; n < N; n++) for (int bk = 0; bk < B * K; bk++) out[bk][n] = m[n * B * K + bk];
        return out;
    }

    /**
     * L_sc by its definition: mean over images and ordered part pairs i ≠ j of the mean over O_ij (masked in both)
     * of d(x_i[n], partner_j[n]). x, partner [B·K][N][P], row b·K + k; mask [B·K][N], 1 = masked.
     */
    static double selfConsistency(double[][][] x, double[][][] partner, double[][] mask, int k, String distance) {
        int n = mask[0].length, b = mask.length / k;
        double sum = 0;
        int pairs = 0;
        for (int img = 0; img < b; img++)
            for (int i = 0; i < k; i++)
                for (int j = 0; j < k; j++) {
                    if (i == j) continue;
                    double s = 0;
                    int cnt = 0;
                    for (int t = 0; t < n; t++) {
                        if (mask[img * k + i][t] == 0 || mask[img * k + j][t] == 0) continue;
                        s += dist(distance, x[img * k + i][t], partner[img * k + j][t]);
                        cnt++;
                    }
                    assertThat(cnt).as("|O_ij|").isEqualTo(n - 2 * n / k);
                    sum += s / cnt;
                    pairs++;
                }
        return sum / pairs;
    }

    static double dist(String d, double[] a, double[] b) {
        double sq = 0, dot = 0, na = 0, nb = 0;
        for (int q = 0; q < a.length; q++) {
            sq += (a[q] - b[q]) * (a[q] - b[q]);
            dot += a[q] * b[q];
            na += a[q] * a[q];
            nb += b[q] * b[q];
        }
        return d.equals("mse") ? sq / a.length : 1 - dot / Math.sqrt(na * nb);
    }

    @Test
    void lambdaZeroIsTheMaeLossOverAllParts() {
        INDArray[] a = rows(3);
        EmaeLoss l = new EmaeLoss(N, K, 0, "mse", true);
        double expected = org.sparkmim.model.nn.MaskedPatchMse.loss(a[0].reshape(1, N * B * K, P), a[1].reshape(1, N * B * K, P),
                a[2].reshape(1, N * B * K));
        assertThat(l.computeScore(a[0], a[1], null, a[2], true)).isCloseTo(expected, within(1e-12));
    }
}
