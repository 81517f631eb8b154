package org.sparkmim.job.pretrain;

import java.io.Serializable;

/**
 * A dataset row as pretraining shuffles it: the key, the label and the still-encoded image bytes (a JPEG is ~20x
 * smaller than its decoded pixels). Decoding happens after the shuffle, on the executor that trains on it.
 * A plain class, not a record: Spark's Kryo 4 cannot serialize records.
 */
public final class EncodedImage implements Serializable {
    private static final long serialVersionUID = 1L;
    private String key;
    private int label;
    private byte[] bytes;

    private EncodedImage() { } // Kryo

    public EncodedImage(String key, int label, byte[] bytes) {
        this.key = key;
        this.label = label;
        this.bytes = bytes;
    }

    public String key() {
        return key;
    }

    public int label() {
        return label;
    }

    public byte[] bytes() {
        return bytes;
    }
}
