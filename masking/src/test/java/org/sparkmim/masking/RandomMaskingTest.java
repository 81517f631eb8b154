package org.sparkmim.masking;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class RandomMaskingTest {

    /** Grid shapes x ratios from the brief: N = 49, 196, 64; r = 0.6, 0.75, 0.9. */
    static Stream<Arguments> shapesAndRatios() {
        int[][] grids = {{7, 7}, {14, 14}, {8, 8}};
        double[] ratios = {0.6, 0.75, 0.9};
        return Arrays.stream(grids).flatMap(g -> Arrays.stream(ratios).mapToObj(r -> Arguments.of(g[0], g[1], r)));
    }

    @Test
    void keepCountIsFloorOfNTimesOneMinusRatio() {
        assertThat(RandomMasking.keepCount(196, 0.75)).isEqualTo(49);
        assertThat(RandomMasking.keepCount(49, 0.75)).isEqualTo(12);
        assertThat(RandomMasking.keepCount(49, 0.6)).isEqualTo(19);
        assertThat(RandomMasking.keepCount(64, 0.9)).isEqualTo(6);
        assertThat(RandomMasking.keepCount(196, 0.0)).isEqualTo(196);
        // 100*(1-0.7) is 29.999999999999996 in doubles; must still give 30
        assertThat(RandomMasking.keepCount(100, 0.7)).isEqualTo(30);
        assertThat(RandomMasking.keepCount(10, 0.3)).isEqualTo(7);
    }

    @ParameterizedTest(name = "{0}x{1} r={2}")
    @MethodSource("shapesAndRatios")
    void everyPlanSatisfiesMaeInvariants(int gh, int gw, double ratio) {
        RandomMasking op = new RandomMasking(ratio);
        int n = gh * gw;
        int keep = RandomMasking.keepCount(n, ratio);
        for (int i = 0; i < 300; i++) {
            SampleMask p = op.sample(gh, gw, 17L, i % 5, "img-" + i);
            PlanChecks.assertValidPlan(p, n, keep);
        }
    }

    @ParameterizedTest(name = "{0}x{1} r={2}")
    @MethodSource("shapesAndRatios")
    void eachTokenIsMaskedWithFrequencyNearRatio(int gh, int gw, double ratio) {
        RandomMasking op = new RandomMasking(ratio);
        int n = gh * gw;
        int trials = 4000;
        int[] maskedCount = new int[n]; // [N]
        for (int i = 0; i < trials; i++) {
            float[] mask = op.sample(gh, gw, 3L, 0, "u" + i).mask();
            for (int t = 0; t < n; t++) {
                maskedCount[t] += (int) mask[t];
            }
        }
        double expected = (double) (n - RandomMasking.keepCount(n, ratio)) / n; // exact rate
        double sigma = Math.sqrt(expected * (1 - expected) / trials);
        for (int t = 0; t < n; t++) {
            double freq = (double) maskedCount[t] / trials;
            assertThat(freq).as("token %d", t).isCloseTo(expected, within(5 * sigma));
            assertThat(freq).as("token %d vs nominal ratio", t).isCloseTo(ratio, within(0.05));
        }
    }

    @Test
    void matchesMaeReferenceArgsortOfNoise() {
        // The plan is argsort of N uniform draws from the stream, ascending, first K kept.
        RandomMasking op = new RandomMasking(0.75);
        for (int i = 0; i < 50; i++) {
            long seed = MaskSeeds.seed(5L, 1, "k" + i);
            SplittableRandom ref = new SplittableRandom(seed);
            double[] noise = new double[196];
            for (int t = 0; t < noise.length; t++) {
                noise[t] = ref.nextDouble();
            }
            Integer[] order = new Integer[196];
            for (int t = 0; t < order.length; t++) {
                order[t] = t;
            }
            Arrays.sort(order, (a, b) -> Double.compare(noise[a], noise[b]));
            int[] expected = Arrays.stream(order).mapToInt(Integer::intValue).toArray();

            SampleMask p = op.sample(14, 14, new SplittableRandom(seed));
            assertThat(p.idsShuffle()).isEqualTo(expected);
            assertThat(p.keep()).isEqualTo(49);
        }
    }

    @Test
    void visibleOrderIsRandomNotSorted() {
        RandomMasking op = new RandomMasking(0.75);
        int sortedCount = 0;
        for (int i = 0; i < 100; i++) {
            int[] keep = op.sample(14, 14, 1L, 0, "o" + i).idsKeep();
            if (Arrays.equals(keep, PlanChecks.sorted(keep))) {
                sortedCount++;
            }
        }
        assertThat(sortedCount).isZero();
    }

    @Test
    void deterministicGivenStreamState() {
        RandomMasking op = new RandomMasking(0.6);
        for (int i = 0; i < 100; i++) {
            assertThat(op.sample(8, 8, new SplittableRandom(i))).isEqualTo(op.sample(8, 8, new SplittableRandom(i)));
            assertThat(op.sample(8, 8, new SplittableRandom(i)).mask())
                    .isNotEqualTo(op.sample(8, 8, new SplittableRandom(i + 1000)).mask());
        }
    }

    @Test
    void ratioZeroKeepsEverything() {
        SampleMask p = new RandomMasking(0.0).sample(7, 7, new SplittableRandom(1));
        PlanChecks.assertValidPlan(p, 49, 49);
    }

    @ParameterizedTest
    @ValueSource(doubles = {-0.1, 1.0, 1.5, Double.NaN, Double.POSITIVE_INFINITY})
    void badRatioNamesTheConfigKey(double ratio) {
        assertThatThrownBy(() -> new RandomMasking(ratio))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("method.mask-ratio=" + ratio)
                .hasMessageContaining("0 <= method.mask-ratio < 1");
        assertThatThrownBy(() -> RandomMasking.keepCount(196, ratio))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("method.mask-ratio");
    }

    @Test
    void ratioLeavingNoVisibleTokenIsRejected() {
        assertThatThrownBy(() -> new RandomMasking(0.9).sample(2, 2, new SplittableRandom(1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("method.mask-ratio=0.9")
                .hasMessageContaining("no visible token")
                .hasMessageContaining("2x2");
    }

    @Test
    void badGridIsRejected() {
        assertThatThrownBy(() -> new RandomMasking(0.5).sample(0, 7, new SplittableRandom(1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("0x7");
    }

    @Test
    void nameMentionsRatio() {
        assertThat(new RandomMasking(0.75).name()).isEqualTo("random(0.75)");
    }
}
