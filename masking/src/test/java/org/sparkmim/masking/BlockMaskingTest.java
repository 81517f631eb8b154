package org.sparkmim.masking;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class BlockMaskingTest {

    static Stream<Arguments> shapesAndRatios() {
        int[][] grids = {{7, 7}, {14, 14}, {8, 8}};
        double[] ratios = {0.1, 0.4, 0.6, 0.75, 0.9};
        return Arrays.stream(grids).flatMap(g -> Arrays.stream(ratios).mapToObj(r -> Arguments.of(g[0], g[1], r)));
    }

    @ParameterizedTest(name = "{0}x{1} r={2}")
    @MethodSource("shapesAndRatios")
    void maskedCountIsExactAndPlanIsValid(int gh, int gw, double ratio) {
        BlockMasking op = new BlockMasking(ratio);
        int n = gh * gw;
        int keep = RandomMasking.keepCount(n, ratio);
        for (int i = 0; i < 300; i++) {
            SampleMask p = op.sample(gh, gw, 8L, i % 3, "b" + i);
            PlanChecks.assertValidPlan(p, n, keep);
        }
    }

    @Test
    void exactCountWithBoundedBlocksAndNonSquareGrid() {
        BlockMasking op = new BlockMasking(0.75, 2, 10, 0.5);
        for (int i = 0; i < 300; i++) {
            PlanChecks.assertValidPlan(op.sample(6, 11, new SplittableRandom(i)), 66, RandomMasking.keepCount(66, 0.75));
        }
    }

    @ParameterizedTest(name = "r={0}")
    @ValueSource(doubles = {0.4, 0.6, 0.75})
    void maskedTokensAreSpatiallyClustered(double ratio) {
        BlockMasking block = new BlockMasking(ratio);
        RandomMasking random = new RandomMasking(ratio);
        int trials = 300;
        double blockFrac = 0;
        double randomFrac = 0;
        for (int i = 0; i < trials; i++) {
            blockFrac += PlanChecks.maskedNeighbourFraction(block.sample(14, 14, 1L, 0, "c" + i), 14, 14);
            randomFrac += PlanChecks.maskedNeighbourFraction(random.sample(14, 14, 1L, 0, "c" + i), 14, 14);
        }
        blockFrac /= trials;
        randomFrac /= trials;
        // Independent tokens: a masked token's neighbour is masked with probability ~ ratio.
        assertThat(randomFrac).isBetween(ratio - 0.03, ratio + 0.01);
        assertThat(blockFrac).as("block %.3f vs random %.3f", blockFrac, randomFrac).isGreaterThan(randomFrac + 0.1);
    }

    @Test
    void smallestBlockIsASquareOfMinArea() {
        // T = 4 masked tokens with 2x2 blocks only (area 4, aspect 1): the mask is one 2x2 square.
        BlockMasking op = new BlockMasking(4.0 / 196, 4, 4, 1.0);
        for (int i = 0; i < 200; i++) {
            SampleMask p = op.sample(14, 14, new SplittableRandom(i));
            assertThat(p.maskedCount()).isEqualTo(4);
            int[] masked = PlanChecks.sorted(Arrays.copyOfRange(p.idsShuffle(), p.keep(), p.n()));
            int r0 = masked[0] / 14;
            int c0 = masked[0] % 14;
            assertThat(masked).containsExactly(r0 * 14 + c0, r0 * 14 + c0 + 1, (r0 + 1) * 14 + c0, (r0 + 1) * 14 + c0 + 1);
        }
    }

    @Test
    void fallsBackToRandomFillWhenNoBlockFits() {
        // On a 1x49 strip no block with h >= 2 fits (min area 4, aspect 1 -> 2x2), so every draw
        // fails; the operator must still terminate with the exact count.
        BlockMasking op = new BlockMasking(0.75, 4, -1, 1.0);
        for (int i = 0; i < 50; i++) {
            PlanChecks.assertValidPlan(op.sample(1, 49, new SplittableRandom(i)), 49, 12);
        }
    }

    @Test
    void deterministicGivenSeed() {
        BlockMasking op = new BlockMasking(0.6);
        for (int i = 0; i < 100; i++) {
            SampleMask a = op.sample(14, 14, 77L, 2, "d" + i);
            assertThat(op.sample(14, 14, 77L, 2, "d" + i)).isEqualTo(a);
            assertThat(op.sample(14, 14, 77L, 3, "d" + i).mask()).isNotEqualTo(a.mask());
        }
    }

    @Test
    void visibleOrderIsShuffled() {
        BlockMasking op = new BlockMasking(0.75);
        int sortedCount = 0;
        for (int i = 0; i < 100; i++) {
            int[] keep = op.sample(14, 14, 1L, 0, "v" + i).idsKeep();
            if (Arrays.equals(keep, PlanChecks.sorted(keep))) {
                sortedCount++;
            }
        }
        assertThat(sortedCount).isZero();
    }

    @Test
    void badParametersNameTheirKeys() {
        assertThatThrownBy(() -> new BlockMasking(1.0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("method.mask-ratio=1.0")
                .hasMessageContaining("0 <= method.mask-ratio < 1");
        assertThatThrownBy(() -> new BlockMasking(-0.2))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("method.mask-ratio");
        assertThatThrownBy(() -> new BlockMasking(0.5, 0, -1, 0.3))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("method.block.min-patches=0");
        assertThatThrownBy(() -> new BlockMasking(0.5, 8, 4, 0.3))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("method.block.max-patches=4");
        assertThatThrownBy(() -> new BlockMasking(0.5, 4, -1, 1.5))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("method.block.min-aspect=1.5");
        assertThatThrownBy(() -> new BlockMasking(0.5, 4, -1, 0.0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("method.block.min-aspect");
    }

    @Test
    void defaultsAreBeitValues() {
        BlockMasking op = new BlockMasking(0.6);
        assertThat(op.minBlockPatches()).isEqualTo(4);
        assertThat(op.maxBlockPatches()).isEqualTo(-1);
        assertThat(op.minAspect()).isEqualTo(0.3);
        assertThat(op.name()).startsWith("block(0.6");
    }
}
