package org.sparkmim.job.dataset;

import java.io.Serializable;

/**
 * One input of the preprocess job, as listed by the driver: a file ({@code uri}, its listed size) or an IDX image
 * held inline ({@code gray}, [height, width] unsigned bytes). {@code key} is the path relative to the source root
 * (e.g. {@code n01440764/n01440764_10026.JPEG}) or {@code split/index} for IDX.
 *
 * <p>A plain class, not a record: Spark's Kryo (2.x/4.x FieldSerializer) cannot create records, and RDD elements
 * go through Kryo when {@code spark.serializer} is Kryo (as LocalSpark and the pretrain job set it).
 */
public final class SourceItem implements Serializable {
    private static final long serialVersionUID = 1L;
    private String key;
    private String uri;
    private long size;
    private int label;
    private String className;
    private String split;
    private byte[] gray;
    private int width;
    private int height;

    private SourceItem() { }   // for Kryo

    private SourceItem(String key, String uri, long size, int label, String className, String split, byte[] gray,
                       int width, int height) {
        this.key = key;
        this.uri = uri;
        this.size = size;
        this.label = label;
        this.className = className;
        this.split = split;
        this.gray = gray;
        this.width = width;
        this.height = height;
    }

    public static SourceItem file(String key, String uri, long size, int label, String className, String split) {
        return new SourceItem(key, uri, size, label, className, split, null, 0, 0);
    }

    public static SourceItem idx(String key, int label, String className, String split, byte[] gray, int width, int height) {
        return new SourceItem(key, null, gray.length, label, className, split, gray, width, height);
    }

    public String key() {
        return key;
    }

    public String uri() {
        return uri;
    }

    public long size() {
        return size;
    }

    public int label() {
        return label;
    }

    public String className() {
        return className;
    }

    public String split() {
        return split;
    }

    public byte[] gray() {
        return gray;
    }

    public int width() {
        return width;
    }

    public int height() {
        return height;
    }
}
