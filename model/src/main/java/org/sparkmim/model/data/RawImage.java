package org.sparkmim.model.data;

import java.io.Serializable;
import java.util.Objects;

/**
 * One decoded image as it travels through a Spark job: 8-bit pixels, HWC order. Kept as bytes (not floats) so a
 * partition of them costs 1 byte per pixel in executor memory and in shuffles.
 *
 * <p>A plain class, not a record: Spark's Kryo (4.x) cannot serialize Java records ("can't get field offset on a
 * record class").
 */
public final class RawImage implements Serializable {
    private static final long serialVersionUID = 1L;
    private String key;
    private int label;
    private int height;
    private int width;
    private int channels;
    private byte[] pixels;

    private RawImage() { } // for Kryo

    /**
     * @param key    stable image key (relative path or split/index): seeds augmentation and masks
     * @param label  class index, or -1 when unlabelled
     * @param pixels [height, width, channels] row-major, 0..255
     */
    public RawImage(String key, int label, int height, int width, int channels, byte[] pixels) {
        this.key = Objects.requireNonNull(key, "key");
        if ((long) height * width * channels != pixels.length) {
            throw new IllegalArgumentException("image " + key + ": " + pixels.length + " bytes for " + height + "x"
                    + width + "x" + channels);
        }
        this.label = label;
        this.height = height;
        this.width = width;
        this.channels = channels;
        this.pixels = pixels;
    }

    /** Image i of a set, copied (the set's array is shared by all its images). */
    public static RawImage of(ImageSet set, int i) {
        return new RawImage(set.key(i), set.hasLabels() ? set.label(i) : -1, set.height(), set.width(),
                set.channels(), set.imageBytes(i));
    }

    /** The pixels as [0,1] floats into dst[0 .. pixels().length), HWC, the same scaling as ImageSet.copyImage. */
    public void copyTo(float[] dst) {
        for (int k = 0; k < pixels.length; k++) dst[k] = (pixels[k] & 0xFF) / 255f;
    }

    public String key() {
        return key;
    }

    public int label() {
        return label;
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

    public byte[] pixels() {
        return pixels;
    }
}
