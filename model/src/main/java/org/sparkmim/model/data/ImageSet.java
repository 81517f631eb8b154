package org.sparkmim.model.data;

import java.util.Arrays;

/**
 * An in-memory labelled (or unlabelled) image set: unsigned bytes, per-image HWC order.
 *
 * @param pixels     count·H·W·C bytes (0..255 as unsigned)
 * @param labels     [count] class indices, or null when unlabelled
 * @param classNames index → class name (may be empty when unlabelled)
 * @param split      name used in stable image keys ("train" → key "train/000123")
 * @param source     where the data came from (for messages)
 */
public record ImageSet(int count, int height, int width, int channels, byte[] pixels, int[] labels,
                       String[] classNames, String split, String source, int firstIndex) {

    public ImageSet {
        long need = (long) count * height * width * channels;
        if (pixels.length != need) {
            throw new IllegalArgumentException(source + ": " + pixels.length + " pixel bytes for " + count + " images of "
                    + height + "x" + width + "x" + channels + " (need " + need + ")");
        }
        if (labels != null && labels.length != count) {
            throw new IllegalArgumentException(source + ": " + labels.length + " labels for " + count + " images");
        }
    }

    public int imageSize() {
        return height * width * channels;
    }

    public int label(int i) {
        if (labels == null) throw new IllegalStateException(source + " is unlabelled");
        return labels[i];
    }

    /** Pixel in [0,1]. */
    public float pixel(int i, int y, int x, int c) {
        return (pixels[i * imageSize() + (y * width + x) * channels + c] & 0xFF) / 255f;
    }

    /** Image i as [0,1] floats, HWC, into dst at off. */
    public void copyImage(int i, float[] dst, int off) {
        int n = imageSize(), base = i * n;
        for (int k = 0; k < n; k++) dst[off + k] = (pixels[base + k] & 0xFF) / 255f;
    }

    /** Stable key of image i: split/index in the original file, so masks and augmentation do not depend on batching. */
    public String key(int i) {
        return split + "/" + (firstIndex + i);
    }

    /** Images [from, to) as a new set (keys keep their original indices). */
    public ImageSet subset(int from, int to) {
        if (from < 0 || to > count || from > to) throw new IllegalArgumentException("subset [" + from + "," + to + ") of " + count);
        int n = imageSize();
        return new ImageSet(to - from, height, width, channels, Arrays.copyOfRange(pixels, from * n, to * n),
                labels == null ? null : Arrays.copyOfRange(labels, from, to), classNames, split, source, firstIndex + from);
    }
}
