package org.sparkmim.masking;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class MaskSeedsTest {

    private static final RandomMasking MAE = new RandomMasking(0.75);

    @Test
    void sameInputsGiveSameSeedAndSameStream() {
        for (int i = 0; i < 200; i++) {
            String key = "train/n01440764/img_" + i + ".JPEG";
            assertThat(MaskSeeds.seed(42L, 7, key)).isEqualTo(MaskSeeds.seed(42L, 7, key));
            SplittableRandom a = MaskSeeds.stream(42L, 7, key);
            SplittableRandom b = MaskSeeds.stream(42L, 7, key);
            for (int j = 0; j < 10; j++) {
                assertThat(a.nextLong()).isEqualTo(b.nextLong());
            }
        }
    }

    @Test
    void sameSeedEpochKeyGiveIdenticalMask() {
        for (int i = 0; i < 100; i++) {
            String key = "img" + i;
            SampleMask a = MAE.sample(14, 14, 1234L, 3, key);
            SampleMask b = MAE.sample(14, 14, MaskSeeds.stream(1234L, 3, key));
            assertThat(a).isEqualTo(b);
            assertThat(a.idsShuffle()).isEqualTo(b.idsShuffle());
        }
    }

    @Test
    void differentKeyEpochOrRunGiveDifferentMasks() {
        for (int i = 0; i < 200; i++) {
            String key = "img" + i;
            SampleMask base = MAE.sample(14, 14, 99L, 5, key);
            assertThat(MAE.sample(14, 14, 99L, 5, key + "x").mask()).isNotEqualTo(base.mask());
            assertThat(MAE.sample(14, 14, 99L, 6, key).mask()).isNotEqualTo(base.mask());
            assertThat(MAE.sample(14, 14, 100L, 5, key).mask()).isNotEqualTo(base.mask());
        }
    }

    @Test
    void noSeedCollisionsAcrossManyKeysAndEpochs() {
        Set<Long> seen = new HashSet<>();
        int count = 0;
        for (int epoch = 0; epoch < 50; epoch++) {
            for (int i = 0; i < 2000; i++) {
                seen.add(MaskSeeds.seed(7L, epoch, "shard-0003/row-" + i));
                count++;
            }
        }
        for (long run = 0; run < 1000; run++) {
            seen.add(MaskSeeds.seed(run, 0, "same-key"));
            count++;
        }
        assertThat(seen).hasSize(count);
    }

    @Test
    void neighbouringInputsAvalanche() {
        // A good mix flips about half of the 64 bits when an input changes by one step.
        double epochBits = 0;
        double keyBits = 0;
        double runBits = 0;
        int trials = 2000;
        for (int i = 0; i < trials; i++) {
            long s = MaskSeeds.seed(i, i % 100, "k" + i);
            epochBits += Long.bitCount(s ^ MaskSeeds.seed(i, i % 100 + 1, "k" + i));
            keyBits += Long.bitCount(s ^ MaskSeeds.seed(i, i % 100, "k" + (i + 1)));
            runBits += Long.bitCount(s ^ MaskSeeds.seed(i + 1, i % 100, "k" + i));
        }
        assertThat(epochBits / trials).isBetween(30.0, 34.0);
        assertThat(keyBits / trials).isBetween(30.0, 34.0);
        assertThat(runBits / trials).isBetween(30.0, 34.0);
    }

    @Test
    void seedsAndMasksAreIndependentOfCallOrderAndBatchComposition() {
        long runSeed = 2024L;
        int epoch = 11;
        // A then B equals B then A
        long a1 = MaskSeeds.seed(runSeed, epoch, "A");
        long b1 = MaskSeeds.seed(runSeed, epoch, "B");
        long b2 = MaskSeeds.seed(runSeed, epoch, "B");
        long a2 = MaskSeeds.seed(runSeed, epoch, "A");
        assertThat(a1).isEqualTo(a2);
        assertThat(b1).isEqualTo(b2);
        assertThat(a1).isNotEqualTo(b1);

        // Masks for a set of images computed in one "partition order" equal those computed in a
        // shuffled order split into differently sized "batches".
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            keys.add("train/c" + (i % 10) + "/" + i + ".JPEG");
        }
        Map<String, SampleMask> inOrder = new HashMap<>();
        for (String k : keys) {
            inOrder.put(k, MAE.sample(7, 7, runSeed, epoch, k));
        }
        List<String> shuffled = new ArrayList<>(keys);
        Collections.shuffle(shuffled, new Random(5));
        for (int from = 0; from < shuffled.size(); from += 37) {
            for (String k : shuffled.subList(from, Math.min(shuffled.size(), from + 37))) {
                assertThat(MAE.sample(7, 7, runSeed, epoch, k)).isEqualTo(inOrder.get(k));
            }
        }
    }

    @Test
    void keyIsHashedAsUtf8() {
        assertThat(MaskSeeds.fnv1a64("")).isEqualTo(0xcbf29ce484222325L);
        // Published FNV-1a 64 test vector.
        assertThat(MaskSeeds.fnv1a64("a")).isEqualTo(0xaf63dc4c8601ec8cL);
        // Non-ASCII keys are distinct from look-alikes.
        assertThat(MaskSeeds.seed(1, 0, "café")).isNotEqualTo(MaskSeeds.seed(1, 0, "cafe"));
    }

    @Test
    void nullKeyIsRejected() {
        assertThatThrownBy(() -> MaskSeeds.seed(1, 0, null))
                .isInstanceOf(NullPointerException.class)
                .hasMessageContaining("imageKey");
    }
}
