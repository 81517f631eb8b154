package org.sparkmim.job.dataset;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import org.sparkmim.model.config.MimConfig;

import java.io.Serializable;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * The validated {@code mim.preprocess} tree (spark-job/src/main/resources/reference.conf documents each key).
 * Serializable because executors get it inside the task closure. Errors name key, value, origin and what is
 * allowed.
 */
public record PreprocessConfig(int shorterSide, int jpegQuality, int shardRows, long maxPixels, long maxFileBytes,
                               boolean keepOriginalIfSmall, long seed, String codec, Set<String> extensions,
                               String fingerprint) implements Serializable {
    static final String PREFIX = "mim.preprocess.";
    static final List<String> CODECS = List.of("auto", "turbo", "jvm");

    /** Reads mim.preprocess from a resolved config (reference ← preset ← --conf ← --set). */
    public static PreprocessConfig from(MimConfig cfg) {
        return from(cfg.tree().getConfig("preprocess"));
    }

    /** @param c the {@code mim.preprocess} subtree */
    public static PreprocessConfig from(Config c) {
        int side = (int) range(c, "resize.shorter-side", 0, 1 << 16, "an integer in [0, 65536] (0 = never resize)");
        int q = (int) range(c, "jpeg.quality", 1, 100, "an integer in [1, 100]");
        int rows = (int) range(c, "shard.rows", 1, 1 << 24, "an integer >= 1");
        long px = (long) range(c, "max-pixels", 1, 1e13, "a pixel count >= 1");
        long bytes = (long) range(c, "max-file-bytes", 1, Integer.MAX_VALUE - 64, "a byte count in [1, 2^31-65]");
        boolean keep;
        try {
            keep = c.getBoolean("keep-original-if-small");
        } catch (ConfigException.WrongType e) {
            throw err(c, "keep-original-if-small", c.getValue("keep-original-if-small").render(), "true or false");
        }
        long seed;
        try {
            seed = c.getLong("seed");
        } catch (ConfigException.WrongType e) {
            throw err(c, "seed", c.getValue("seed").render(), "a 64-bit integer");
        }
        String codec = c.getString("codec");
        if (!CODECS.contains(codec)) throw err(c, "codec", codec, "one of " + CODECS);
        Set<String> ext = new TreeSet<>();
        for (String e : c.getStringList("extensions")) {
            String x = e.strip().toLowerCase(Locale.ROOT);
            if (x.startsWith(".")) x = x.substring(1);
            if (x.isEmpty()) throw err(c, "extensions", c.getValue("extensions").render(), "non-empty extensions");
            ext.add(x);
        }
        if (ext.isEmpty()) throw err(c, "extensions", "[]", "at least one extension");
        String canon = MimConfig.canonical(c, PREFIX);
        return new PreprocessConfig(side, q, rows, px, bytes, keep, seed, codec, Set.copyOf(ext), MimConfig.sha256(canon));
    }

    /** The keys as written in reference.conf (stored in the manifest, so a dataset says how it was made). */
    public java.util.Map<String, Object> asMap() {
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("resize.shorter-side", shorterSide);
        m.put("jpeg.quality", jpegQuality);
        m.put("shard.rows", shardRows);
        m.put("max-pixels", maxPixels);
        m.put("max-file-bytes", maxFileBytes);
        m.put("keep-original-if-small", keepOriginalIfSmall);
        m.put("seed", seed);
        m.put("codec", codec);
        m.put("extensions", List.copyOf(new TreeSet<>(extensions)));
        return m;
    }

    /** True when the file name's extension marks it as an image to convert; anything else is skipped. */
    public boolean isImageName(String name) {
        int dot = name.lastIndexOf('.');
        return dot >= 0 && extensions.contains(name.substring(dot + 1).toLowerCase(Locale.ROOT));
    }

    private static double range(Config c, String key, double lo, double hi, String allowed) {
        double v;
        try {
            v = c.getDouble(key);
        } catch (ConfigException.WrongType e) {
            throw err(c, key, c.getValue(key).render(), allowed);
        }
        if (!(v >= lo && v <= hi) || v != Math.rint(v)) throw err(c, key, c.getValue(key).render(), allowed);
        return v;
    }

    private static IllegalArgumentException err(Config c, String key, Object value, String allowed) {
        return new IllegalArgumentException("config key " + PREFIX + key + " = " + value + " is invalid (from "
                + c.getValue(key).origin().description() + "): allowed " + allowed);
    }
}
