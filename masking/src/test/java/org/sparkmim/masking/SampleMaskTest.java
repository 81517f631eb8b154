package org.sparkmim.masking;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SampleMaskTest {

    @Test
    void fromShuffleComputesInverseAndMask() {
        SampleMask p = SampleMask.fromShuffle(new int[] {3, 0, 4, 1, 2}, 2);
        assertThat(p.n()).isEqualTo(5);
        assertThat(p.keep()).isEqualTo(2);
        assertThat(p.maskedCount()).isEqualTo(3);
        assertThat(p.idsKeep()).containsExactly(3, 0);
        assertThat(p.idsRestore()).containsExactly(1, 3, 4, 0, 2);
        assertThat(p.mask()).containsExactly(0f, 1f, 1f, 0f, 1f);
        assertThat(p.isMasked(0)).isFalse();
        assertThat(p.isMasked(4)).isTrue();
        PlanChecks.assertValidPlan(p, 5, 2);
    }

    @Test
    void keepZeroAndKeepAllAreValid() {
        PlanChecks.assertValidPlan(SampleMask.fromShuffle(new int[] {2, 0, 1}, 0), 3, 0);
        PlanChecks.assertValidPlan(SampleMask.fromShuffle(new int[] {2, 0, 1}, 3), 3, 3);
    }

    @Test
    void rejectsNonPermutations() {
        assertThatThrownBy(() -> SampleMask.fromShuffle(new int[] {0, 1, 1}, 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not a permutation")
                .hasMessageContaining("token 1 appears at positions 1 and 2");
        assertThatThrownBy(() -> SampleMask.fromShuffle(new int[] {0, 3, 1}, 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("idsShuffle[1]=3 is out of range");
        assertThatThrownBy(() -> SampleMask.fromShuffle(new int[] {0, -1, 1}, 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("out of range");
    }

    @Test
    void rejectsKeepOutOfRange() {
        assertThatThrownBy(() -> SampleMask.fromShuffle(new int[] {0, 1, 2}, 4))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("keep=4")
                .hasMessageContaining("0 <= keep <= N=3");
        assertThatThrownBy(() -> SampleMask.fromShuffle(new int[] {0, 1, 2}, -1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("keep=-1");
    }

    @Test
    void fromMaskedOrdersVisibleThenMaskedAscending() {
        boolean[] masked = {true, false, true, false, false, true};
        SampleMask p = SampleMask.fromMasked(masked);
        assertThat(p.idsShuffle()).containsExactly(1, 3, 4, 0, 2, 5);
        assertThat(p.keep()).isEqualTo(3);
        for (int t = 0; t < masked.length; t++) {
            assertThat(p.isMasked(t)).isEqualTo(masked[t]);
        }
        PlanChecks.assertValidPlan(p, 6, 3);
    }

    @Test
    void isImmutable() {
        int[] input = {1, 0, 2};
        SampleMask p = SampleMask.fromShuffle(input, 1);
        input[0] = 0;
        p.idsShuffle()[0] = 2;
        p.idsRestore()[0] = 2;
        p.idsKeep()[0] = 2;
        p.mask()[0] = 0f;
        assertThat(p.idsShuffle()).containsExactly(1, 0, 2);
        assertThat(p.idsRestore()).containsExactly(1, 0, 2);
        assertThat(p.mask()).containsExactly(1f, 0f, 1f);
    }

    @Test
    void equalityIsByPlan() {
        assertThat(SampleMask.fromShuffle(new int[] {1, 0, 2}, 1))
                .isEqualTo(SampleMask.fromShuffle(new int[] {1, 0, 2}, 1))
                .hasSameHashCodeAs(SampleMask.fromShuffle(new int[] {1, 0, 2}, 1))
                .isNotEqualTo(SampleMask.fromShuffle(new int[] {1, 0, 2}, 2))
                .isNotEqualTo(SampleMask.fromShuffle(new int[] {0, 1, 2}, 1));
    }

    @Test
    void isMaskedChecksBounds() {
        SampleMask p = SampleMask.fromShuffle(new int[] {1, 0, 2}, 1);
        assertThatThrownBy(() -> p.isMasked(3)).isInstanceOf(IndexOutOfBoundsException.class);
    }
}
