package org.sparkmim.masking;

import static org.assertj.core.api.Assertions.assertThat;

/** The MAE plan invariants of METHODS.md §1 ("Tests"), shared by every operator's tests. */
final class PlanChecks {

    private PlanChecks() {
    }

    /** Asserts every §1 invariant of one plan with N tokens and K visible. */
    static void assertValidPlan(SampleMask p, int n, int keep) {
        assertThat(p.n()).as("N").isEqualTo(n);
        assertThat(p.keep()).as("K").isEqualTo(keep);
        assertThat(p.maskedCount()).isEqualTo(n - keep);

        int[] shuffle = p.idsShuffle(); // [N]
        int[] restore = p.idsRestore(); // [N]
        int[] idsKeep = p.idsKeep();    // [K]
        float[] mask = p.mask();        // [N]
        assertThat(shuffle).hasSize(n);
        assertThat(restore).hasSize(n);
        assertThat(idsKeep).hasSize(keep);
        assertThat(mask).hasSize(n);

        // ids_shuffle is a permutation of 0..N-1
        assertThat(sorted(shuffle)).as("ids_shuffle sorted").isEqualTo(range(n));
        // ids_restore[ids_shuffle[i]] == i and ids_shuffle[ids_restore[t]] == t (inverse both ways)
        for (int i = 0; i < n; i++) {
            assertThat(restore[shuffle[i]]).isEqualTo(i);
            assertThat(shuffle[restore[i]]).isEqualTo(i);
        }
        // mask row sums to N-K; values are exactly 0/1
        double sum = 0;
        for (float m : mask) {
            assertThat(m).isIn(0f, 1f);
            sum += m;
        }
        assertThat(sum).as("mask row sum").isEqualTo(n - keep);
        // mask[ids_keep] == 0; and the masked ones are exactly ids_shuffle[K..N)
        for (int k = 0; k < keep; k++) {
            assertThat(idsKeep[k]).isEqualTo(shuffle[k]);
            assertThat(mask[idsKeep[k]]).isZero();
            assertThat(p.isMasked(idsKeep[k])).isFalse();
        }
        for (int i = keep; i < n; i++) {
            assertThat(mask[shuffle[i]]).isEqualTo(1f);
            assertThat(p.isMasked(shuffle[i])).isTrue();
        }
        // mask[n] = m[ids_restore[n]] with m = [0]*K ++ [1]*(N-K)
        for (int t = 0; t < n; t++) {
            assertThat(mask[t]).isEqualTo(restore[t] >= keep ? 1f : 0f);
        }
        assertUnshuffle(p);
    }

    /**
     * Simulates MAE's decoder unshuffle: seq = [visible tokens in encoder order] ++ [N-K mask
     * tokens]; un[t] = seq[ids_restore[t]]. Visible token k must land at position ids_keep[k], and
     * mask tokens exactly at the masked positions.
     */
    static void assertUnshuffle(SampleMask p) {
        int n = p.n();
        int keep = p.keep();
        int[] idsKeep = p.idsKeep();
        int[] restore = p.idsRestore();
        final int maskToken = -1;
        int[] seq = new int[n]; // [N]; payload of visible slot k is "encoder output k" = k
        for (int i = 0; i < n; i++) {
            seq[i] = i < keep ? i : maskToken;
        }
        int[] un = new int[n]; // [N]
        for (int t = 0; t < n; t++) {
            un[t] = seq[restore[t]];
        }
        for (int k = 0; k < keep; k++) {
            assertThat(un[idsKeep[k]]).as("visible token %d lands at ids_keep[%d]", k, k).isEqualTo(k);
        }
        float[] mask = p.mask();
        for (int t = 0; t < n; t++) {
            assertThat(un[t] == maskToken).isEqualTo(mask[t] == 1f);
        }
    }

    static int[] range(int n) {
        int[] r = new int[n];
        for (int i = 0; i < n; i++) {
            r[i] = i;
        }
        return r;
    }

    /** Sorted copy, for set comparisons. */
    static int[] sorted(int[] a) {
        int[] s = a.clone();
        java.util.Arrays.sort(s);
        return s;
    }

    /**
     * Mean over masked tokens of (masked 4-neighbours / in-grid 4-neighbours): about the ratio for
     * independent tokens, clearly higher for blocks.
     */
    static double maskedNeighbourFraction(SampleMask p, int gridH, int gridW) {
        double total = 0;
        int count = 0;
        int[][] dirs = {{-1, 0}, {1, 0}, {0, -1}, {0, 1}};
        for (int r = 0; r < gridH; r++) {
            for (int c = 0; c < gridW; c++) {
                if (!p.isMasked(r * gridW + c)) {
                    continue;
                }
                int nb = 0;
                int nbMasked = 0;
                for (int[] d : dirs) {
                    int rr = r + d[0];
                    int cc = c + d[1];
                    if (rr >= 0 && rr < gridH && cc >= 0 && cc < gridW) {
                        nb++;
                        nbMasked += p.isMasked(rr * gridW + cc) ? 1 : 0;
                    }
                }
                total += (double) nbMasked / nb;
                count++;
            }
        }
        return total / count;
    }
}
