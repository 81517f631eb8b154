package org.sparkmim.model.data;

import java.util.Arrays;
import java.util.Objects;

/**
 * An immutable in-memory image set: unsigned bytes in per-image HWC order, with optional labels.
 *
 * <p>A final class rather than a record because a record would hand out its arrays: callers (augmentation on a
 * helper thread, Spark partitions sharing one set) must never see the data change underneath them. Arrays are
 * therefore copied in and out; the hot paths ({@link #copyImage}, {@link #pixel}) read the private arrays directly
 * so training never pays for those copies.
 */
public final class ImageSet {
    private final int count;
    private final int height;
    private final int width;
    private final int channels;
    private final byte[] pixels;
    private final int[] labels;
    private final String[] classNames;
    private final String split;
    private final String source;
    private final int firstIndex;

    /**
     * @param pixels     count·H·W·C bytes (0..255 as unsigned), copied
     * @param labels     [count] class indices in 0..classNames.length-1, or null when unlabelled; copied
     * @param classNames index → class name (may be empty when unlabelled); copied
     * @param split      name used in stable image keys ("train" → key "train/123")
     * @param source     where the data came from, quoted in error messages
     * @param firstIndex index of image 0 in the original file, so keys survive {@link #subset}
     */
    public ImageSet(int count, int height, int width, int channels, byte[] pixels, int[] labels, String[] classNames,
                    String split, String source, int firstIndex) {
        this(count, height, width, channels, pixels.clone(), labels == null ? null : labels.clone(),
                classNames == null ? new String[0] : classNames.clone(), split, source, firstIndex, true);
    }

    /** Takes ownership of the arrays: only for callers that just allocated them (IdxReader, subset). */
    ImageSet(int count, int height, int width, int channels, byte[] pixels, int[] labels, String[] classNames,
             String split, String source, int firstIndex, boolean owned) {
        this.source = Objects.requireNonNullElse(source, "<unnamed image set>");
        if (count < 0 || height <= 0 || width <= 0 || channels <= 0 || firstIndex < 0) {
            throw new IllegalArgumentException(this.source + ": invalid shape " + count + "x" + height + "x" + width + "x"
                    + channels + " (first index " + firstIndex + ")");
        }
        long need = (long) count * height * width * channels;
        if (pixels.length != need) {
            throw new IllegalArgumentException(this.source + ": " + pixels.length + " pixel bytes for " + count
                    + " images of " + height + "x" + width + "x" + channels + " (expected " + need + ")");
        }
        if (labels != null) {
            if (labels.length != count) {
                throw new IllegalArgumentException(this.source + ": " + labels.length + " labels for " + count + " images");
            }
            // Checked once here so every consumer can index classNames (and one-hot buffers) with a label safely.
            if (classNames.length > 0) {
                for (int i = 0; i < count; i++) {
                    if (labels[i] < 0 || labels[i] >= classNames.length) {
                        throw new IllegalArgumentException(this.source + ": label " + labels[i] + " of image " + i
                                + " is outside 0.." + (classNames.length - 1));
                    }
                }
            }
        }
        this.count = count;
        this.height = height;
        this.width = width;
        this.channels = channels;
        this.pixels = pixels;
        this.labels = labels;
        this.classNames = classNames;
        this.split = Objects.requireNonNullElse(split, "images");
        this.firstIndex = firstIndex;
    }

    public int count() {
        return count;
    }

    public int height() {
        return height;
    }

    public int width() {
        return width;
    }

    public int channels() {
        return channels;
    }

    /** A copy of all pixel bytes (count·H·W·C, HWC per image): allocates, so not for per-batch use. */
    public byte[] pixels() {
        return pixels.clone();
    }

    /** A copy of the labels, or null when unlabelled. */
    public int[] labels() {
        return labels == null ? null : labels.clone();
    }

    public boolean hasLabels() {
        return labels != null;
    }

    /** Classes the labels can take: the named ones, or more when a label goes past the names. */
    public int classCount() {
        int m = classNames.length;
        if (labels != null) for (int y : labels) m = Math.max(m, y + 1);
        return m;
    }

    public String[] classNames() {
        return classNames.clone();
    }

    public String split() {
        return split;
    }

    public String source() {
        return source;
    }

    public int firstIndex() {
        return firstIndex;
    }

    /** Values per image (H·W·C). */
    public int imageSize() {
        return height * width * channels;
    }

    public int label(int i) {
        if (labels == null) throw new IllegalStateException(source + " is unlabelled");
        return labels[Objects.checkIndex(i, count)];
    }

    /** Pixel in [0,1]. Every coordinate is range-checked: an out-of-range x would otherwise read a neighbour pixel. */
    public float pixel(int i, int y, int x, int c) {
        Objects.checkIndex(i, count);
        Objects.checkIndex(y, height);
        Objects.checkIndex(x, width);
        Objects.checkIndex(c, channels);
        return (pixels[i * imageSize() + (y * width + x) * channels + c] & 0xFF) / 255f;
    }

    /** Image i as [0,1] floats, HWC, into dst[off .. off+imageSize()). */
    public void copyImage(int i, float[] dst, int off) {
        int n = imageSize();
        int base = Objects.checkIndex(i, count) * n;
        Objects.checkFromIndexSize(off, n, dst.length);
        for (int k = 0; k < n; k++) dst[off + k] = (pixels[base + k] & 0xFF) / 255f;
    }

    /** Image i's 8-bit pixels (HWC), copied. */
    public byte[] imageBytes(int i) {
        int n = imageSize();
        byte[] out = new byte[n];
        System.arraycopy(pixels, Objects.checkIndex(i, count) * n, out, 0, n);
        return out;
    }

    /** Stable key of image i: split/index in the original file, so masks and augmentation do not depend on batching. */
    public String key(int i) {
        return split + "/" + (firstIndex + Objects.checkIndex(i, count));
    }

    /** Images [from, to) as a new set; keys keep their original indices. */
    public ImageSet subset(int from, int to) {
        if (from < 0 || to > count || from > to) {
            throw new IllegalArgumentException(source + ": subset [" + from + ", " + to + ") outside [0, " + count + ")");
        }
        int n = imageSize();
        return new ImageSet(to - from, height, width, channels, Arrays.copyOfRange(pixels, from * n, to * n),
                labels == null ? null : Arrays.copyOfRange(labels, from, to), classNames, split, source,
                firstIndex + from, true);
    }

    @Override
    public String toString() {
        return "ImageSet[" + split + ", " + count + "x" + height + "x" + width + "x" + channels
                + (labels == null ? ", unlabelled" : "") + ", from " + source + "]";
    }
}
