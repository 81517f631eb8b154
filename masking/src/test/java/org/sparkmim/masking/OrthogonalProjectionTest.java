package org.sparkmim.masking;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** ROPIM's count-sketch projector: the invariants of docs/METHODS.md (ROPIM), in float64. */
class OrthogonalProjectionTest {

    private static double[][] mul(double[][] a, double[][] b) {
        int n = a.length, m = b[0].length, k = b.length;
        double[][] c = new double[n][m];
        for (int i = 0; i < n; i++) {
            for (int t = 0; t < k; t++) {
                if (a[i][t] == 0) continue;
                for (int j = 0; j < m; j++) c[i][j] += a[i][t] * b[t][j];
            }
        }
        return c;
    }

    private static double maxAbsDiff(double[][] a, double[][] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < a[i].length; j++) m = Math.max(m, Math.abs(a[i][j] - b[i][j]));
        }
        return m;
    }

    private static double[][] complement(double[][] p) {
        int n = p.length;
        double[][] q = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) q[i][j] = (i == j ? 1 : 0) - p[i][j];
        }
        return q;
    }

    @ParameterizedTest(name = "N={0} ratio={1}")
    @CsvSource({"49, 0.14285714285714285", "196, 0.14285714285714285", "50, 0.14285714285714285", "16, 0.25", "196, 0.14"})
    void exactProjectorIsSymmetricIdempotentWithTraceDAndComplementOrthogonal(int n, double ratio) {
        OrthogonalProjection op = new OrthogonalProjection(ratio, true);
        int d = op.buckets(n);
        for (int seed = 0; seed < 20; seed++) {
            OrthogonalProjection.Sketch s = op.sample(n, new SplittableRandom(seed));
            double[][] p = s.projector();
            double trace = 0;
            for (int i = 0; i < n; i++) {
                trace += p[i][i];
                for (int j = 0; j < n; j++) assertThat(p[i][j]).isEqualTo(p[j][i]);
            }
            assertThat(trace).isCloseTo(d, within(1e-9));
            assertThat(maxAbsDiff(mul(p, p), p)).isLessThan(1e-6);
            double[][] zero = mul(complement(p), p);
            assertThat(maxAbsDiff(zero, new double[n][n])).isLessThan(1e-6);
        }
    }

    @Test
    void paperSetting49TokensGivesSevenBucketsOfSevenAndBalancedSigns() {
        OrthogonalProjection op = new OrthogonalProjection(1.0 / 7, true);
        assertThat(op.buckets(49)).isEqualTo(7);
        assertThat(op.buckets(196)).isEqualTo(28);
        for (int seed = 0; seed < 50; seed++) {
            OrthogonalProjection.Sketch s = op.sample(49, new SplittableRandom(seed));
            assertThat(s.bucketSizes()).containsOnly(7);
            int plus = 0;
            for (int v : s.sign()) {
                assertThat(v).isIn(-1, 1);
                plus += v > 0 ? 1 : 0;
            }
            assertThat(plus).isBetween(24, 25);   // 49 odd: ceil(49/2) pairs cut at 49
            // every row of S has exactly one nonzero: the bucket is a single index in range
            assertThat(Arrays.stream(s.bucket()).allMatch(b -> b >= 0 && b < 7)).isTrue();
        }
        OrthogonalProjection.Sketch s196 = op.sample(196, new SplittableRandom(3));
        assertThat(s196.bucketSizes()).containsOnly(7);
        assertThat(Arrays.stream(s196.sign()).filter(v -> v > 0).count()).isEqualTo(98);
    }

    @Test
    void bucketsStayBalancedWhenNIsNotAMultiple() {
        OrthogonalProjection op = new OrthogonalProjection(1.0 / 7, true);
        OrthogonalProjection.Sketch s = op.sample(50, new SplittableRandom(1));
        assertThat(s.buckets()).isEqualTo(8);
        int[] size = s.bucketSizes();
        assertThat(Arrays.stream(size).max().getAsInt() - Arrays.stream(size).min().getAsInt()).isLessThanOrEqualTo(1);
        assertThat(Arrays.stream(size).sum()).isEqualTo(50);
    }

    @Test
    void signedBucketConstantsAreFixedPoints() {
        OrthogonalProjection.Sketch s = new OrthogonalProjection(1.0 / 7, true).sample(49, new SplittableRandom(7));
        int d = 5;
        double[] c = new double[s.buckets() * d];
        SplittableRandom r = new SplittableRandom(11);
        for (int i = 0; i < c.length; i++) c[i] = r.nextGaussian();
        double[] v = new double[49 * d];                         // v_i = s_i · c_{h_i}
        for (int i = 0; i < 49; i++) {
            for (int k = 0; k < d; k++) v[i * d + k] = s.sign()[i] * c[s.bucket()[i] * d + k];
        }
        double[] pv = new double[v.length];
        s.apply(v, 0, pv, 0, d);
        for (int i = 0; i < v.length; i++) assertThat(pv[i]).isCloseTo(v[i], within(1e-12));
    }

    @Test
    void bucketSumsEqualTheDenseProjector() {
        OrthogonalProjection.Sketch s = new OrthogonalProjection(0.2, true).sample(23, new SplittableRandom(5));
        int d = 3;
        double[] x = new double[23 * d];
        SplittableRandom r = new SplittableRandom(2);
        for (int i = 0; i < x.length; i++) x[i] = r.nextGaussian();
        double[] y = new double[x.length];
        s.apply(x, 0, y, 0, d);
        double[][] p = s.projector();
        for (int i = 0; i < 23; i++) {
            for (int k = 0; k < d; k++) {
                double e = 0;
                for (int j = 0; j < 23; j++) e += p[i][j] * x[j * d + k];
                assertThat(y[i * d + k]).isCloseTo(e, within(1e-12));
            }
        }
    }

    @Test
    void releasedFormIsNotIdempotent() {
        OrthogonalProjection.Sketch s = new OrthogonalProjection(1.0 / 7, false).sample(49, new SplittableRandom(0));
        double[][] p = s.projector();
        double err = maxAbsDiff(mul(p, p), p);
        // eigenvalue 0.14·7 = 0.98: PP − P = (0.98 − 1)·P, entries 0.02·0.14 = 0.0028
        assertThat(err).isCloseTo(0.0028, within(1e-9));
    }

    @Test
    void deterministicFromTheImageStreamAndDifferentAcrossImagesAndEpochs() {
        OrthogonalProjection op = new OrthogonalProjection(1.0 / 7, true);
        OrthogonalProjection.Sketch a = op.sample(49, MaskSeeds.stream(3, 1, "train/000007"));
        OrthogonalProjection.Sketch b = op.sample(49, MaskSeeds.stream(3, 1, "train/000007"));
        assertThat(a.bucket()).isEqualTo(b.bucket());
        assertThat(a.sign()).isEqualTo(b.sign());
        OrthogonalProjection.Sketch other = op.sample(49, MaskSeeds.stream(3, 1, "train/000008"));
        OrthogonalProjection.Sketch nextEpoch = op.sample(49, MaskSeeds.stream(3, 2, "train/000007"));
        assertThat(other.bucket()).isNotEqualTo(a.bucket());
        assertThat(nextEpoch.bucket()).isNotEqualTo(a.bucket());
    }

    @Test
    void identityIsTheIdentityProjector() {
        double[][] p = OrthogonalProjection.identity(9).projector();
        for (int i = 0; i < 9; i++) {
            for (int j = 0; j < 9; j++) assertThat(p[i][j]).isEqualTo(i == j ? 1.0 : 0.0);
        }
    }

    @Test
    void ratioOutOfRangeNamesTheKey() {
        assertThatThrownBy(() -> new OrthogonalProjection(0, true)).hasMessageContaining("method.ropim.sketch-ratio")
                .hasMessageContaining("(0, 1]");
        assertThatThrownBy(() -> new OrthogonalProjection(1.5, true)).hasMessageContaining("method.ropim.sketch-ratio");
    }
}
