package org.sparkmim.model.method;

/**
 * One minibatch of augmented, normalized images as they leave the data path, before any masking.
 *
 * @param pixels  [B, H, W, C] floats, per-image HWC order, already normalized
 * @param keys    [B] stable image keys (e.g. "train/000123"): masks are seeded by (runSeed, epoch, key), so they
 *                do not depend on batching or Spark partitioning
 * @param labels  [B] class indices (−1 = unlabelled image), or null when the source has no labels. Pretraining
 *                ignores them; fine-tuning's objective needs them.
 */
public record Batch(float[] pixels, int size, int height, int width, int channels, String[] keys, int epoch,
                    long runSeed, int[] labels) {
    public Batch {
        if (pixels.length != (long) size * height * width * channels) {
            throw new IllegalArgumentException("batch pixels " + pixels.length + " != " + size + "x" + height + "x"
                    + width + "x" + channels);
        }
        if (keys.length != size) throw new IllegalArgumentException("batch has " + keys.length + " keys for " + size + " images");
        if (labels != null && labels.length != size) {
            throw new IllegalArgumentException("batch has " + labels.length + " labels for " + size + " images");
        }
    }

    /** An unlabelled batch. */
    public Batch(float[] pixels, int size, int height, int width, int channels, String[] keys, int epoch, long runSeed) {
        this(pixels, size, height, width, channels, keys, epoch, runSeed, null);
    }
}
