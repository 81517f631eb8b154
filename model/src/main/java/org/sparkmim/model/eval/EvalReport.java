package org.sparkmim.model.eval;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * eval.json: the scores of the encoder and of both floors, the verdict, and where the encoder came from
 * (checkpoint path and SHA-256, step, epoch, config fingerprints), so a number in docs/RESULTS.md can be traced
 * to the exact file that produced it.
 */
public final class EvalReport {
    public static final String FILE = "eval.json";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private EvalReport() { }

    /**
     * @param provenance checkpoint facts (checkpoint, sha256, step, epoch, method, fingerprints)
     * @param setup      how features were made and scored (feature, k, temperature, probe settings, data)
     * @param classNames index → class name, for the confusion matrix
     */
    public static Map<String, Object> build(Map<String, Object> provenance, Map<String, Object> setup, Scores encoder,
                                            Scores randomInit, Scores pixels, Verdict verdict, String[] classNames) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("verdict", verdict.label());
        m.put("verdict_reason", verdict.message());
        m.put("beats_pixels", verdict.beatsPixels());
        m.put("knn_top1", encoder.knnTop1());
        m.put("knn_top5", encoder.knnTop5());
        m.put("probe_top1", encoder.probeTop1());
        m.put("encoder", scores(encoder));
        Map<String, Object> floors = new LinkedHashMap<>();
        floors.put("random_init", scores(randomInit));
        floors.put("pixels", scores(pixels));
        m.put("floors", floors);
        m.put("setup", setup);
        m.put("provenance", provenance);
        Map<String, Object> cm = new LinkedHashMap<>();
        cm.put("classifier", "linear probe on the encoder's features, test split; rows = true class, columns = predicted");
        cm.put("classes", List.of(classNames));
        cm.put("matrix", encoder.confusion());
        m.put("confusion", cm);
        return m;
    }

    static Map<String, Object> scores(Scores s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("knn_top1", s.knnTop1());
        m.put("knn_top5", s.knnTop5());
        m.put("probe_top1", s.probeTop1());
        m.put("probe_lr", s.probeLr());
        m.put("feature_dim", s.featureDim());
        return m;
    }

    /** Written to a temporary name and renamed, so a reader never sees half a file. */
    public static Path write(Path dir, Map<String, Object> report) {
        try {
            Files.createDirectories(dir);
            Path tmp = dir.resolve(FILE + ".tmp"), out = dir.resolve(FILE);
            JSON.writeValue(tmp.toFile(), report);
            Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir.resolve(FILE), e);
        }
    }
}
