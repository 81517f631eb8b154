package org.sparkmim.model.sbam;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** METHODS.md §2 "Tests" on the planner: saliency, ranking, noise, AMR bounds, plan packing. */
class SbamPlannerTest {
    static final int B = 6, N = 16, D = 8;
    static final SbamPlanner.Settings AMR = new SbamPlanner.Settings(0.75, 0.1, 0.5, 0.5, true, true);

    static INDArray x(long seed) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.randn(DataType.DOUBLE, B, N, D);
    }

    static double[][] noise(Random r) {
        double[][] u = new double[B][N];
        for (double[] row : u) for (int t = 0; t < N; t++) row[t] = r.nextDouble();
        return u;
    }

    static int[] modes(int m) {
        int[] a = new int[B];
        Arrays.fill(a, m);
        return a;
    }

    static boolean[] masked(SbamPlanner.Plans p, int b) {
        boolean[] m = new boolean[N];
        Arrays.fill(m, true);
        for (int j = 0; j < p.keep()[b]; j++) m[p.idsShuffle()[b][j]] = false;
        return m;
    }

    @Test
    void rawSaliencyIsNonNegativeAndSumsToNAndNormalizesToZeroOne() {
        double[][] raw = SbamPlanner.rawSaliency(x(1)).toDoubleMatrix();
        for (double[] s : raw) {
            assertThat(Arrays.stream(s).min().getAsDouble()).isGreaterThanOrEqualTo(0);
            assertThat(Arrays.stream(s).sum()).isCloseTo(N, within(1e-9));
            double[] nrm = SbamPlanner.minMax(s);
            assertThat(Arrays.stream(nrm).min().getAsDouble()).isEqualTo(0);
            assertThat(Arrays.stream(nrm).max().getAsDouble()).isEqualTo(1);
        }
    }

    @Test
    void withoutNoiseAndAmrTheMaskedSetIsTheMostSalientTokens() {
        var st = new SbamPlanner.Settings(0.75, 0.1, 0.5, 0.0, false, true);
        SbamPlanner.Plans p = SbamPlanner.plan(x(2), noise(new Random(2)), modes(SbamPlanner.MODE_SALIENCY), st);
        int k = (int) Math.floor(N * 0.25);
        for (int b = 0; b < B; b++) {
            assertThat(p.keep()[b]).isEqualTo(k);
            double[] s = p.saliency()[b];
            Integer[] bySal = new Integer[N];
            for (int t = 0; t < N; t++) bySal[t] = t;
            Arrays.sort(bySal, (a, c) -> Double.compare(s[c], s[a]));           // descending
            boolean[] m = masked(p, b);
            for (int i = 0; i < N; i++) assertThat(m[bySal[i]]).as("rank %d", i).isEqualTo(i < N - k);
        }
    }

    @Test
    void maskProbabilityRisesWithSalience() {
        INDArray x = x(3);
        var st = new SbamPlanner.Settings(0.5, 0.1, 0.5, 0.5, false, true);
        Random r = new Random(3);
        double[][] freq = new double[B][N];
        int draws = 400;
        SbamPlanner.Plans p = null;
        for (int d = 0; d < draws; d++) {
            p = SbamPlanner.plan(x, noise(r), modes(SbamPlanner.MODE_SALIENCY), st);
            for (int b = 0; b < B; b++) {
                boolean[] m = masked(p, b);
                for (int t = 0; t < N; t++) freq[b][t] += m[t] ? 1.0 / draws : 0;
            }
        }
        for (int b = 0; b < B; b++) {
            double[] s = p.saliency()[b];
            Integer[] order = new Integer[N];
            for (int t = 0; t < N; t++) order[t] = t;
            Arrays.sort(order, (a, c) -> Double.compare(s[a], s[c]));
            // mean masking frequency per salience quartile is increasing, and the extremes are far apart
            double[] q = new double[4];
            for (int i = 0; i < N; i++) q[i * 4 / N] += freq[b][order[i]] / (N / 4.0);
            for (int i = 0; i < 3; i++) assertThat(q[i + 1]).as("sample %d quartiles %s", b, Arrays.toString(q)).isGreaterThanOrEqualTo(q[i]);
            assertThat(q[3] - q[0]).isGreaterThan(0.3);
        }
    }

    @Test
    void aTokenMoreSalientThanAllOthersByHalfIsAlwaysMasked() {
        INDArray x = x(4);
        for (int b = 0; b < B; b++) {
            // token b % N points where every other token leans: they all attend to it
            x.get(org.nd4j.linalg.indexing.NDArrayIndex.point(b), org.nd4j.linalg.indexing.NDArrayIndex.all(),
                    org.nd4j.linalg.indexing.NDArrayIndex.point(0)).addi(1.5);
            x.putScalar(new long[]{b, b % N, 0}, 6.0);
        }
        Random r = new Random(4);
        for (int d = 0; d < 200; d++) {
            SbamPlanner.Plans p = SbamPlanner.plan(x, noise(r), modes(SbamPlanner.MODE_SALIENCY), AMR);
            for (int b = 0; b < B; b++) {
                double[] s = p.saliency()[b];
                int top = b % N;
                for (int t = 0; t < N; t++) if (t != top) assertThat(s[top] - s[t]).as("precondition").isGreaterThan(0.5);
                assertThat(masked(p, b)[top]).isTrue();
            }
        }
    }

    @Test
    void amrRatioStaysInItsBoundsAndHitsThemAtExtremeThresholds() {
        INDArray x = x(5);
        double[][] u = noise(new Random(5));
        for (boolean perSample : new boolean[]{true, false}) {
            var hiDelta = new SbamPlanner.Settings(0.75, 0.1, 1.0, 0.5, true, perSample);
            var loDelta = new SbamPlanner.Settings(0.75, 0.1, -0.01, 0.5, true, perSample);
            for (int b = 0; b < B; b++) {
                assertThat(SbamPlanner.plan(x, u, modes(1), hiDelta).ratio()[b]).isCloseTo(0.65, within(1e-12));
                assertThat(SbamPlanner.plan(x, u, modes(1), loDelta).ratio()[b]).isCloseTo(0.85, within(1e-12));
            }
        }
        Random r = new Random(6);
        boolean varied = false;
        for (int d = 0; d < 50; d++) {
            INDArray xd = x(100 + d).muli(0.5 + d / 25.0);
            SbamPlanner.Plans ps = SbamPlanner.plan(xd, noise(r), modes(1), AMR);
            SbamPlanner.Plans pb = SbamPlanner.plan(xd, noise(r), modes(1),
                    new SbamPlanner.Settings(0.75, 0.1, 0.5, 0.5, true, false));
            double shareMean = 0;
            for (int b = 0; b < B; b++) {
                assertThat(ps.ratio()[b]).isBetween(0.65, 0.85);
                assertThat(ps.keep()[b]).isEqualTo((int) Math.floor(N * (1 - ps.ratio()[b]) + 1e-9));
                double share = Arrays.stream(ps.saliency()[b]).filter(v -> v > 0.5).count() / (double) N;
                assertThat(ps.ratio()[b]).isCloseTo(0.65 + 0.2 * share, within(1e-12));
                shareMean += share / B;
                varied |= ps.keep()[b] != ps.keep()[0];
            }
            // batch mode (released code): one ratio from the batch-mean share, the same K for every sample
            for (int b = 0; b < B; b++) {
                assertThat(pb.ratio()[b]).isCloseTo(0.65 + 0.2 * shareMean, within(1e-12));
                assertThat(pb.keep()[b]).isEqualTo(pb.keep()[0]);
            }
        }
        assertThat(varied).as("per-sample AMR gives ragged keep counts").isTrue();
    }

    @Test
    void packedPlanIsConsistentForRaggedKeepCounts() {
        SbamPlanner.Plans p = new SbamPlanner.Plans(new int[][]{{3, 0, 1, 2}, {2, 1, 0, 3}}, new int[]{1, 3}, null, null);
        double[][] w = SbamPlanner.pack(p, 4);         // Kmax = 3: width 2·4 + 1 + 2·3 = 15
        assertThat(w[0]).containsExactly(-1, -1, -1, 0, /* mask */ 1, 1, 1, 0, /* key bias */ 0, 0, -1e9, -1e9,
                /* ids */ 3, -1, -1);
        assertThat(w[1]).containsExactly(2, 1, 0, -1, /* mask */ 0, 0, 0, 1, /* key bias */ 0, 0, 0, 0, /* ids */ 2, 1, 0);
    }
}
