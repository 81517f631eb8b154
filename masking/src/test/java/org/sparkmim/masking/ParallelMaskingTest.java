package org.sparkmim.masking;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ParallelMaskingTest {

    @ParameterizedTest(name = "{0}x{1} K={2}")
    @CsvSource({"14,14,4", "14,14,2", "14,14,7", "8,8,4", "8,8,8", "7,7,7"})
    void partsSatisfyEmaeInvariants(int gh, int gw, int k) {
        ParallelMasking op = new ParallelMasking(k);
        int n = gh * gw;
        int size = n / k;
        for (int s = 0; s < 200; s++) {
            SampleMask[] parts = op.parts(gh, gw, 21L, s % 4, "e" + s);
            assertThat(parts).hasSize(k);

            // |V_k| = N/K, pairwise disjoint, union = {0..N-1}
            int[] owner = new int[n]; // [N] which part sees the token
            Arrays.fill(owner, -1);
            for (int part = 0; part < k; part++) {
                int[] v = parts[part].idsKeep();
                assertThat(v).hasSize(size);
                for (int t : v) {
                    assertThat(owner[t]).as("token %d already visible in part %d", t, owner[t]).isEqualTo(-1);
                    owner[t] = part;
                }
            }
            assertThat(owner).doesNotContain(-1);

            // each part is a valid MAE plan with ratio 1 - 1/K; each token masked in exactly K-1 parts
            int[] timesMasked = new int[n]; // [N]
            for (SampleMask p : parts) {
                PlanChecks.assertValidPlan(p, n, size);
                for (int t = 0; t < n; t++) {
                    timesMasked[t] += p.isMasked(t) ? 1 : 0;
                }
            }
            for (int t = 0; t < n; t++) {
                assertThat(timesMasked[t]).isEqualTo(k - 1);
            }

            // |O_ij| = N - 2N/K, O_ij = all \ (V_i u V_j), ascending
            for (int i = 0; i < k; i++) {
                for (int j = 0; j < k; j++) {
                    if (i == j) {
                        continue;
                    }
                    int[] o = ParallelMasking.overlap(parts[i], parts[j]);
                    assertThat(o).hasSize(n - 2 * n / k);
                    assertThat(o).isSorted();
                    boolean[] om = ParallelMasking.overlapMask(parts[i], parts[j]);
                    for (int t = 0; t < n; t++) {
                        boolean expected = owner[t] != i && owner[t] != j;
                        assertThat(om[t]).isEqualTo(expected);
                        assertThat(Arrays.binarySearch(o, t) >= 0).isEqualTo(expected);
                    }
                }
            }

            // part k's order is the cyclic rotation of part 0's by k*N/K
            int[] base = parts[0].idsShuffle();
            for (int part = 1; part < k; part++) {
                int[] rot = parts[part].idsShuffle();
                for (int i = 0; i < n; i++) {
                    assertThat(rot[i]).isEqualTo(base[(part * size + i) % n]);
                }
            }
        }
    }

    @ParameterizedTest(name = "N={0}")
    @ValueSource(ints = {8, 14})
    void fourPartsGiveMaesRatio(int g) {
        ParallelMasking op = new ParallelMasking(4);
        assertThat(op.maskRatio()).isEqualTo(0.75);
        int n = g * g;
        for (SampleMask p : op.parts(g, g, new SplittableRandom(3))) {
            assertThat((double) p.maskedCount() / n).isEqualTo(0.75);
            assertThat(p.keep()).isEqualTo(RandomMasking.keepCount(n, 0.75));
        }
    }

    @Test
    void visibleSetsAreUniform() {
        // Each token is in V_0 with probability 1/K.
        ParallelMasking op = new ParallelMasking(4);
        int trials = 4000;
        int[] inV0 = new int[196];
        for (int s = 0; s < trials; s++) {
            for (int t : op.parts(14, 14, 9L, 0, "u" + s)[0].idsKeep()) {
                inV0[t]++;
            }
        }
        double sigma = Math.sqrt(0.25 * 0.75 / trials);
        for (int t = 0; t < 196; t++) {
            assertThat((double) inV0[t] / trials).as("token %d", t).isCloseTo(0.25, within(5 * sigma));
        }
    }

    @Test
    void deterministicGivenSeed() {
        ParallelMasking op = new ParallelMasking(4);
        for (int s = 0; s < 50; s++) {
            assertThat(op.parts(14, 14, 1L, 0, "x" + s)).containsExactly(op.parts(14, 14, 1L, 0, "x" + s));
            assertThat(op.parts(14, 14, 1L, 1, "x" + s)[0].mask()).isNotEqualTo(op.parts(14, 14, 1L, 0, "x" + s)[0].mask());
        }
    }

    @Test
    void indivisibleTokenCountNamesTheConfigKey() {
        assertThatThrownBy(() -> new ParallelMasking(4).parts(7, 7, new SplittableRandom(1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("method.emae.parts=4")
                .hasMessageContaining("N=49")
                .hasMessageContaining("divisible by K")
                .hasMessageContaining("[7, 49]");
        assertThatThrownBy(() -> new ParallelMasking(5).parts(14, 14, new SplittableRandom(1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("method.emae.parts=5")
                .hasMessageContaining("N=196")
                .hasMessageContaining("[2, 4, 7, 14, 28, 49, 98, 196]");
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 0, -3})
    void tooFewPartsAreRejected(int k) {
        assertThatThrownBy(() -> new ParallelMasking(k))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("method.emae.parts=" + k)
                .hasMessageContaining("at least 2");
    }

    @Test
    void overlapRejectsDifferentSizes() {
        SampleMask a = SampleMask.fromShuffle(new int[] {0, 1, 2, 3}, 1);
        SampleMask b = SampleMask.fromShuffle(new int[] {0, 1, 2}, 1);
        assertThatThrownBy(() -> ParallelMasking.overlap(a, b))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("4 vs 3");
    }
}
