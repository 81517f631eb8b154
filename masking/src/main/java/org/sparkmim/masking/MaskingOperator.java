package org.sparkmim.masking;

import java.util.SplittableRandom;

/**
 * A masking operator: a pure function of (grid shape, the operator's parameters, a random
 * stream) to a {@link SampleMask}.
 *
 * <p>Pure means: no hidden state, no global RNG, no dependence on the batch or partition. The
 * same parameters and a stream in the same state give the same plan, and each draw uses only
 * the stream it is given. Together with {@link MaskSeeds} this makes masks reproducible per
 * (run, epoch, image) on any cluster layout. Implementations must be immutable and thread-safe.
 */
public interface MaskingOperator {

    /**
     * Draws one image's plan over a gridH x gridW token grid (token n = r*gridW + c).
     *
     * @return a plan over N = gridH*gridW tokens
     */
    SampleMask sample(int gridH, int gridW, SplittableRandom rng);

    /** Short identifier for logs and metrics, e.g. "random(0.75)". */
    String name();

    /** Convenience: draws from the image's own stream {@link MaskSeeds#stream}. */
    default SampleMask sample(int gridH, int gridW, long runSeed, int epoch, String imageKey) {
        return sample(gridH, gridW, MaskSeeds.stream(runSeed, epoch, imageKey));
    }

    /** N = gridH * gridW, validated (both >= 1, no overflow). */
    static int tokenCount(int gridH, int gridW) {
        if (gridH < 1 || gridW < 1) {
            throw new IllegalArgumentException(
                    "token grid must be at least 1x1, got " + gridH + "x" + gridW);
        }
        return Math.multiplyExact(gridH, gridW);
    }
}
