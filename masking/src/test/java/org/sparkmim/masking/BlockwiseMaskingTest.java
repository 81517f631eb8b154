package org.sparkmim.masking;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BlockwiseMaskingTest {

    /** METHODS.md A2MIM: 224 px with 32-px blocks over 16-px tokens → 49 blocks, exactly 30 masked. */
    @Test
    void exactlyThirtyOfFortyNineBlocksAtTheDefaults() {
        BlockwiseMasking op = new BlockwiseMasking(0.6, 2);
        for (int i = 0; i < 200; i++) {
            SampleMask p = op.sample(14, 14, 3L, i % 4, "img" + i);
            PlanChecks.assertValidPlan(p, 196, 196 - 30 * 4);
            assertThat(maskedBlocks(p, 14, 14, 2)).isEqualTo(30);
        }
        assertThat(BlockwiseMasking.maskedBlocks(49, 0.6)).isEqualTo(30);
        assertThat(BlockwiseMasking.maskedBlocks(10, 0.7)).isEqualTo(7);
    }

    /** The token mask is the block mask upsampled: each block is all masked or all visible. */
    @Test
    void tokenMaskIsTheBlockMaskUpsampled() {
        BlockwiseMasking op = new BlockwiseMasking(0.5, 3);
        for (int i = 0; i < 100; i++) {
            SampleMask p = op.sample(9, 12, new SplittableRandom(i));
            for (int br = 0; br < 3; br++) {
                for (int bc = 0; bc < 4; bc++) {
                    boolean first = p.isMasked(br * 3 * 12 + bc * 3);
                    for (int r = br * 3; r < br * 3 + 3; r++) {
                        for (int c = bc * 3; c < bc * 3 + 3; c++) assertThat(p.isMasked(r * 12 + c)).isEqualTo(first);
                    }
                }
            }
            assertThat(maskedBlocks(p, 9, 12, 3)).isEqualTo(6);
        }
    }

    /** 28 px at patch 4 with 4-px blocks: one token per block, 30 of 49 tokens masked; each block equally likely. */
    @Test
    void oneTokenBlocksAreUniform() {
        BlockwiseMasking op = new BlockwiseMasking(0.6, 1);
        int[] hits = new int[49];
        int trials = 4000;
        for (int i = 0; i < trials; i++) {
            SampleMask p = op.sample(7, 7, 1L, 0, "k" + i);
            assertThat(p.maskedCount()).isEqualTo(30);
            for (int t = 0; t < 49; t++) if (p.isMasked(t)) hits[t]++;
        }
        for (int h : hits) assertThat(h / (double) trials).isBetween(30 / 49.0 - 0.04, 30 / 49.0 + 0.04);
    }

    @Test
    void deterministicFromRunSeedEpochAndKey() {
        BlockwiseMasking op = new BlockwiseMasking(0.6, 1);
        assertThat(op.sample(7, 7, 5L, 2, "a")).isEqualTo(op.sample(7, 7, 5L, 2, "a"));
        int differ = 0;
        for (int i = 0; i < 20; i++) {
            if (!op.sample(7, 7, 5L, 2, "a" + i).equals(op.sample(7, 7, 5L, 3, "a" + i))) differ++;
        }
        assertThat(differ).isGreaterThan(15);
    }

    @Test
    void badSettingsNameTheKey() {
        assertThatThrownBy(() -> new BlockwiseMasking(1.0, 1)).hasMessageContaining("method.a2mim.mask-ratio=1.0");
        assertThatThrownBy(() -> new BlockwiseMasking(0.6, 0)).hasMessageContaining("method.a2mim.block-size");
        assertThatThrownBy(() -> new BlockwiseMasking(0.6, 2).sample(7, 7, new SplittableRandom(1)))
                .hasMessageContaining("does not tile the 7x7 token grid");
        assertThatThrownBy(() -> new BlockwiseMasking(0.99, 7).sample(7, 7, new SplittableRandom(1)))
                .hasMessageContaining("masks all 1 blocks");
    }

    private static int maskedBlocks(SampleMask p, int gh, int gw, int s) {
        int m = 0;
        for (int br = 0; br < gh / s; br++) {
            for (int bc = 0; bc < gw / s; bc++) if (p.isMasked(br * s * gw + bc * s)) m++;
        }
        return m;
    }
}
