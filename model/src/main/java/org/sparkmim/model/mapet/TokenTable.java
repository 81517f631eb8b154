package org.sparkmim.model.mapet;

/**
 * MaPeT's targets: one visual-token id per patch of every image, precomputed by {@code tokenize} and looked up by
 * the image's key. Implementations are immutable and thread-safe (executors share one per JVM).
 */
public interface TokenTable {
    /** k, the codebook size: ids are in [0, k). */
    int vocab();

    /** Patch side in pixels the tokens were computed at. */
    int patch();

    /** Image side in pixels the tokens were computed at. */
    int imageSize();

    /** N, tokens per image. */
    default int tokensPerImage() {
        int g = imageSize() / patch();
        return g * g;
    }

    /** The source dataset's fingerprint, as the dataset's manifest gives it. */
    String datasetFingerprint();

    /** Where the table came from, for messages. */
    String location();

    /**
     * The image's N token ids in grid order (token n = r·G + c) into dst[off .. off+N).
     *
     * @throws IllegalArgumentException naming the key and the table if the image has no tokens
     */
    void fill(String key, int[] dst, int off);
}
