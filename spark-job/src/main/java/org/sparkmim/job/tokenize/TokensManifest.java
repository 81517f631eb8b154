package org.sparkmim.job.tokenize;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * {@code _manifest.json} of a tokens directory: what the tokens were computed from and how, so pretrain can refuse
 * a directory made for another dataset or model geometry. Written last: its presence means "complete".
 *
 * @param k                  codebook size (ids in [0, k))
 * @param patch              patch side in pixels
 * @param imageSize          image side in pixels (after the trainer's deterministic resize)
 * @param seed               k-means seed (also the patch sample's)
 * @param source             the dataset the tokens were computed from (a dataset directory URI or an IDX directory)
 * @param datasetFingerprint the source's fingerprint ({@link TokenizeJob#datasetFingerprint})
 * @param codebookSha256     SHA-256 of {@link #CODEBOOK}'s bytes
 * @param images             token rows written = images in the source
 * @param sampledPatches     patch vectors the k-means was fitted on
 * @param iterations         k-means iterations (Spark MLlib, k-means|| init)
 * @param fitSeconds         wall time of the fit
 * @param assignPatchesPerS  nearest-centroid assignment throughput over every patch of every image
 * @param shards             Parquet files (relative names) with their row counts
 */
public record TokensManifest(String format, int version, String created, int k, int patch, int imageSize, long seed,
                             String source, String datasetFingerprint, String codebookSha256, long images,
                             long sampledPatches, int iterations, double fitSeconds, double assignPatchesPerS,
                             List<Shard> shards) {
    public static final String FORMAT = "spark-mim-tokens";
    public static final int VERSION = 1;
    public static final String FILE = "_manifest.json";
    /** The centroids: JSON {"k", "dim", "centers": [[...], ...]} in per-patch-normalized pixel space. */
    public static final String CODEBOOK = "codebook.json";

    public record Shard(String file, long rows) { }

    static final ObjectMapper JSON = org.sparkmim.job.dataset.Manifest.JSON;

    public byte[] toJson() {
        try {
            return JSON.writeValueAsBytes(this);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static TokensManifest parse(byte[] json, String where) {
        TokensManifest m;
        try {
            m = JSON.readValue(json, TokensManifest.class);
        } catch (IOException e) {
            throw new IllegalArgumentException(where + " is not a tokens manifest: " + e.getMessage(), e);
        }
        if (!FORMAT.equals(m.format()) || m.version() != VERSION) {
            throw new IllegalArgumentException(where + " has format " + m.format() + " v" + m.version() + "; expected "
                    + FORMAT + " v" + VERSION + " (written by `bin/spark-mim tokenize`)");
        }
        return m;
    }
}
