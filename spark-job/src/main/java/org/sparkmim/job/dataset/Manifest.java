package org.sparkmim.job.dataset;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Map;

/**
 * {@code _manifest.json}: what a dataset directory holds, written last by preprocess. A directory without a valid
 * manifest is not a dataset (an interrupted or foreign directory), and readers refuse it.
 *
 * @param counts     listed = accepted + rejected + skipped (every file found under the source); converted ⊆ accepted
 * @param rows       rows over all shards (= counts.accepted)
 * @param splits     rows per split (train/val/test)
 * @param classRows  rows per class index (same order as classes; unlabelled rows are not counted)
 * @param shards     shard files (names relative to the directory) with their row count, size and SHA-256
 */
public record Manifest(String format, int version, String created, String source, String kind, String codec,
                       String configFingerprint, Map<String, Object> config, List<String> classes, Counts counts,
                       long rows, Map<String, Long> splits, List<Long> classRows, Map<String, Long> convertedFrom,
                       List<Shard> shards) {
    public static final String FORMAT = "spark-mim-dataset";
    public static final int VERSION = 1;
    public static final String FILE = "_manifest.json";
    public static final String REJECTS = "_rejects.json";

    public record Counts(long listed, long accepted, long converted, long rejected, long skipped) { }

    public record Shard(String file, long rows, long bytes, String sha256) { }

    /** snake_case, indented, tolerant of unknown fields: every manifest this project writes (datasets, tokens). */
    public static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    public byte[] toJson() {
        try {
            return JSON.writeValueAsBytes(this);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Parses and checks the internal consistency; every error names {@code where}. */
    public static Manifest parse(byte[] json, String where) {
        Manifest m;
        try {
            m = JSON.readValue(json, Manifest.class);
        } catch (IOException e) {
            throw new DatasetException(where + ": not a valid manifest (" + e.getMessage().lines().findFirst().orElse("") + ")", e);
        }
        m.validate(where);
        return m;
    }

    void validate(String where) {
        if (!FORMAT.equals(format)) throw bad(where, "format is " + format + ", expected " + FORMAT);
        if (version != VERSION) throw bad(where, "version " + version + ", this build reads version " + VERSION);
        if (counts == null || shards == null || classes == null) throw bad(where, "counts, shards or classes missing");
        if (counts.listed() != counts.accepted() + counts.rejected() + counts.skipped()) {
            throw bad(where, "counts do not add up: listed " + counts.listed() + " != accepted " + counts.accepted()
                    + " + rejected " + counts.rejected() + " + skipped " + counts.skipped());
        }
        long sum = shards.stream().mapToLong(Shard::rows).sum();
        if (sum != rows || rows != counts.accepted()) {
            throw bad(where, "shard rows sum to " + sum + ", rows = " + rows + ", accepted = " + counts.accepted());
        }
        if (new HashSet<>(classes).size() != classes.size()) throw bad(where, "duplicate class names");
        for (Shard s : shards) {
            if (s.file() == null || s.file().contains("/") || s.sha256() == null || s.sha256().length() != 64) {
                throw bad(where, "invalid shard entry " + s);
            }
        }
    }

    private static DatasetException bad(String where, String what) {
        return new DatasetException(where + ": invalid manifest: " + what);
    }
}
