package org.sparkmim.masking;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** METHODS.md §6 invariants of MaPeT's permuted order and two-stream masks, at N = 49 and N = 196. */
class PermutedPredictionTest {

    @Test
    void contextAndPredictedCountsFollowLEqualsOnePlusRoundQuarterN() {
        PermutedPrediction op = new PermutedPrediction(0.25);
        // N = 196: L = 50 (CLS + 49), 147 predicted = 75%, as in the paper
        assertThat(PermutedPrediction.contextPatches(196, 0.25)).isEqualTo(49);
        assertThat(op.predicted(196)).isEqualTo(147);
        // N = 49: L = 13 (CLS + 12), 37 predicted
        assertThat(PermutedPrediction.contextPatches(49, 0.25)).isEqualTo(12);
        assertThat(op.predicted(49)).isEqualTo(37);
        SampleMask plan = op.sample(14, 14, new SplittableRandom(3));
        assertThat(plan.keep()).isEqualTo(49);
        assertThat(PermutedPrediction.predictedPatches(plan)).hasSize(147).isSorted();
        assertThat(PermutedPrediction.rows(196, 147)).isEqualTo(1 + 196 + 2 * 147);
        assertThat(PermutedPrediction.keys(196, 147)).isEqualTo(344);
    }

    @Test
    void badContextFractionIsRefused() {
        assertThatThrownBy(() -> new PermutedPrediction(1.0)).hasMessageContaining("(0, 1)");
        assertThatThrownBy(() -> new PermutedPrediction(0)).hasMessageContaining("(0, 1)");
    }

    @ParameterizedTest(name = "grid {0}")
    @ValueSource(ints = {7, 14})
    void everyRowSeesEveryPositionExactlyOnceAndNothingFromTheFuture(int g) {
        PermutedPrediction op = new PermutedPrediction(0.25);
        int n = g * g, np = op.predicted(n), ctx = n - np;
        int t = PermutedPrediction.rows(n, np), tk = PermutedPrediction.keys(n, np);
        for (int seed = 0; seed < 20; seed++) {
            SampleMask plan = op.sample(g, g, MaskSeeds.stream(seed, 0, "img" + seed));
            float[] m = new float[t * tk];
            PermutedPrediction.fillMask(plan, m, 0);
            int[] restore = plan.idsRestore();
            int[] ord = new int[1 + n];
            for (int p = 0; p < n; p++) ord[1 + p] = restore[p] + 1;
            int[] pd = PermutedPrediction.predictedPatches(plan);
            int[] slotOf = new int[1 + n];                         // content position -> its m column, or -1
            java.util.Arrays.fill(slotOf, -1);
            for (int j = 0; j < np; j++) slotOf[1 + pd[j]] = 1 + n + j;
            // CLS is always context; exactly ctx patches have order < L
            assertThat(ord[0]).isZero();
            int contextPatches = 0;
            for (int p = 1; p <= n; p++) if (ord[p] <= ctx) contextPatches++;
            assertThat(contextPatches).isEqualTo(ctx);
            for (int row = 0; row < t; row++) {
                int allowed = 0;
                for (int c = 0; c < tk; c++) {
                    float v = m[row * tk + c];
                    assertThat(v == 0f || v == PermutedPrediction.BLOCKED).isTrue();
                    if (v == 0f) allowed++;
                }
                assertThat(allowed).as("row %d allowed keys", row).isEqualTo(1 + n);
                for (int pos = 0; pos <= n; pos++) {
                    boolean content = m[row * tk + pos] == 0f;
                    boolean viaMask = slotOf[pos] >= 0 && m[row * tk + slotOf[pos]] == 0f;
                    assertThat(content ^ viaMask).as("row %d position %d: content xor mask token", row, pos).isTrue();
                }
                boolean query = row >= 1 + n + np;
                boolean contextRow = row <= n ? ord[row] <= ctx : !query;
                if (contextRow) {                                  // context rows (and m rows): no predicted content
                    for (int pos = 0; pos <= n; pos++) {
                        if (ord[pos] > ctx) assertThat(m[row * tk + pos]).isEqualTo(PermutedPrediction.BLOCKED);
                    }
                }
                if (query) {                                       // a query never sees its own or later content
                    int own = ord[1 + pd[row - 1 - n - np]];
                    for (int pos = 0; pos <= n; pos++) {
                        if (ord[pos] >= own) assertThat(m[row * tk + pos]).isEqualTo(PermutedPrediction.BLOCKED);
                        else assertThat(m[row * tk + pos]).isZero();
                    }
                } else if (row <= n && !contextRow) {              // a predicted content row sees itself and earlier
                    for (int pos = 0; pos <= n; pos++) {
                        assertThat(m[row * tk + pos] == 0f).isEqualTo(ord[pos] <= ord[row]);
                    }
                }
            }
        }
    }

    @Test
    void aFourPatchExampleWorkedByHand() {
        // π = [2, 0, 3, 1]: ord(CLS)=0, ord(p2)=1, ord(p0)=2, ord(p3)=3, ord(p1)=4; context 1 patch -> C = {CLS, p2}
        SampleMask plan = SampleMask.fromShuffle(new int[]{2, 0, 3, 1}, 1);
        assertThat(PermutedPrediction.predictedPatches(plan)).containsExactly(0, 1, 3);
        int n = 4, np = 3, tk = 8;
        float[] m = new float[PermutedPrediction.rows(n, np) * tk];
        PermutedPrediction.fillMask(plan, m, 0);
        // columns: 0 CLS, 1 p0, 2 p1, 3 p2, 4 p3, 5 m_p0, 6 m_p1, 7 m_p3
        String[] want = {
                "10010111", // CLS (context): C content + every m
                "11010011", // p0 (ord 2): CLS, p0, p2; m of p1 (ord 4), p3 (ord 3)
                "11111000", // p1 (ord 4): every content
                "10010111", // p2 (context)
                "11011010", // p3 (ord 3): CLS, p0, p2, p3; m of p1
                "10010111", // m_p0: C content + every m
                "10010111", // m_p1
                "10010111", // m_p3
                "10010111", // g_p0 (ord 2): CLS, p2; m of p0, p1, p3
                "11011010", // g_p1 (ord 4): CLS, p0, p2, p3; m of p1
                "11010011", // g_p3 (ord 3): CLS, p0, p2; m of p1, p3
        };
        for (int r = 0; r < want.length; r++) {
            StringBuilder got = new StringBuilder();
            for (int c = 0; c < tk; c++) got.append(m[r * tk + c] == 0f ? '1' : '0');
            assertThat(got.toString()).as("row %d", r).isEqualTo(want[r]);
        }
    }
}
