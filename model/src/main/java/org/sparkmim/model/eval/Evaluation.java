package org.sparkmim.model.eval;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.data.ImageSet;
import org.sparkmim.model.method.MimMethod;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.sparkmim.model.report.ReportPage;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The evaluate job's core, independent of where features are computed: features of the train and test splits
 * for the pretrained encoder and both floors (its random-init twin, raw pixels) → kNN + linear probe for each →
 * verdict → eval.json and confusion.png in the output directory.
 */
public final class Evaluation {
    private static final Logger LOG = LoggerFactory.getLogger(Evaluation.class);

    private Evaluation() { }

    /** Which feature extractor: the checkpoint's encoder, the same architecture at init, or raw pixels. */
    public enum Kind {
        ENCODER("encoder"), RANDOM_INIT("random_init"), PIXELS("pixels");
        public final String label;

        Kind(String label) {
            this.label = label;
        }
    }

    /** Computes features [n, F] of one split ("train" or "test") in image order, e.g. on Spark executors. */
    @FunctionalInterface
    public interface Extraction {
        INDArray features(Kind kind, String split);
    }

    /** The labelled splits as the evaluator sees them. */
    public record Splits(int[] trainLabels, int[] testLabels, String[] classNames, String description) {
        public int classes() {
            int m = classNames.length;
            for (int y : trainLabels) m = Math.max(m, y + 1);
            return m;
        }
    }

    /** Runs all three feature sets, writes eval.json and confusion.png to outDir, returns the report. */
    public static Map<String, Object> run(Encoders.Loaded ck, Extraction extraction, Splits splits, Path outDir) {
        return run(ck, extraction, splits, outDir, null);
    }

    /**
     * As {@link #run(Encoders.Loaded, Extraction, Splits, Path)}, taking the floors from {@code floorCache} when it
     * already holds them for the same inputs, and adding them otherwise. The floors depend only on the architecture,
     * method, seed, feature and data, not on training (the random-init twin is rebuilt from the seed), so a set of
     * runs of one config (experiment engines) computes them once instead of once per run.
     */
    public static Map<String, Object> run(Encoders.Loaded ck, Extraction extraction, Splits splits, Path outDir,
                                          Map<String, Scores> floorCache) {
        MimConfig cfg = ck.cfg();
        var e = cfg.eval;
        long t0 = System.nanoTime();
        Map<Kind, Scores> scores = new LinkedHashMap<>();
        for (Kind k : Kind.values()) {
            String key = floorKey(k, ck, splits);
            if (floorCache != null && key != null && floorCache.containsKey(key)) {
                scores.put(k, floorCache.get(key));
                LOG.info("{}: scores reused from an earlier run of the same architecture, seed, feature and data", k.label);
                continue;
            }
            long t = System.nanoTime();
            INDArray tr = extraction.features(k, "train"), te = extraction.features(k, "test");
            check(tr, splits.trainLabels().length, k, "train");
            check(te, splits.testLabels().length, k, "test");
            long tf = System.nanoTime();
            Scores s = Scores.of(k.label, tr, splits.trainLabels(), te, splits.testLabels(), splits.classes(), e, cfg.run.seed());
            scores.put(k, s);
            if (floorCache != null && key != null) floorCache.put(key, s);
            LOG.info(String.format(Locale.ROOT, "%-11s dim %4d: kNN top-1 %.2f%% top-5 %.2f%%, probe top-1 %.2f%% (lr %.0e) "
                            + "(features %.1f s, scoring %.1f s)", k.label, s.featureDim(), 100 * s.knnTop1(), 100 * s.knnTop5(),
                    100 * s.probeTop1(), s.probeLr(), (tf - t) / 1e9, (System.nanoTime() - tf) / 1e9));
        }
        Verdict v = Verdict.judge(scores.get(Kind.ENCODER), scores.get(Kind.RANDOM_INIT), scores.get(Kind.PIXELS));
        LOG.info(v.message());
        Map<String, Object> report = EvalReport.build(provenance(ck), setup(cfg, splits, (System.nanoTime() - t0) / 1e9),
                scores.get(Kind.ENCODER), scores.get(Kind.RANDOM_INIT), scores.get(Kind.PIXELS), v, names(splits));
        EvalReport.write(outDir, report);
        ReportPage.confusionFromEval(outDir, new ObjectMapper().valueToTree(report));
        return report;
    }

    /** Single-JVM extraction over in-memory splits (tests, small data, online use). */
    public static Extraction local(Encoders.Loaded ck, ImageSet train, ImageSet test) {
        return (kind, split) -> {
            ImageSet set = split.equals("train") ? train : test;
            return FeatureEncoder.extract(encoder(kind, ck.cfg(), ck.method(), ck.graph()), set, ck.cfg().eval.extractBatch());
        };
    }

    /** The extractor for a kind; RANDOM_INIT builds the twin from the config (same seed path as pretraining). */
    public static FeatureEncoder encoder(Kind kind, MimConfig cfg, MimMethod method, ComputationGraph trained) {
        return switch (kind) {
            case ENCODER -> new ModelEncoder(kind.label, cfg, method, trained, cfg.eval.featureSpec());
            case RANDOM_INIT -> new ModelEncoder(kind.label, cfg, method, Encoders.randomInit(cfg, method), cfg.eval.featureSpec());
            case PIXELS -> new PixelEncoder();
        };
    }

    /** What a floor's scores depend on; null for the encoder itself (never reused). */
    private static String floorKey(Kind k, Encoders.Loaded ck, Splits s) {
        if (k == Kind.ENCODER) return null;
        var e = ck.cfg().eval;
        String data = s.description() + "|" + s.trainLabels().length + "|" + s.testLabels().length + "|" + e.knnK() + "|"
                + e.knnTemperature() + "|" + e.probeEpochs() + "|" + e.probeLrs() + "|" + e.probeBatch() + "|"
                + e.probeWeightDecay() + "|" + ck.cfg().run.seed();
        return k == Kind.PIXELS ? k.label + "|" + data : k.label + "|" + data + "|" + ck.cfg().method.name() + "|"
                + ck.provenance().get("architecture_fingerprint") + "|" + e.featureSpec().label();
    }

    private static void check(INDArray f, int n, Kind k, String split) {
        if (f.rows() != n) {
            throw new IllegalStateException(k.label + " features of the " + split + " split have " + f.rows() + " rows for "
                    + n + " labels: images were lost or duplicated during extraction");
        }
    }

    private static String[] names(Splits s) {
        int c = s.classes();
        String[] out = new String[c];
        for (int i = 0; i < c; i++) out[i] = i < s.classNames().length ? s.classNames()[i] : String.valueOf(i);
        return out;
    }

    static Map<String, Object> provenance(Encoders.Loaded ck) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("checkpoint", ck.checkpoint().toAbsolutePath().toString());
        m.put("run_dir", ck.runDir().toString());
        m.put("sha256", ck.sha256());
        for (String k : new String[]{"step", "epoch", "seed", "method", "fingerprint", "architecture_fingerprint"}) {
            m.put(k, ck.provenance().get(k));
        }
        m.put("model", ck.cfg().model.toString());
        return m;
    }

    static Map<String, Object> setup(MimConfig cfg, Splits s, double seconds) {
        var e = cfg.eval;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("feature", e.featureSpec().label());
        m.put("knn_k", e.knnK());
        m.put("knn_temperature", e.knnTemperature());
        m.put("probe", "multinomial logistic regression, minibatch Adam, cosine LR");
        m.put("probe_epochs", e.probeEpochs());
        m.put("probe_lrs", e.probeLrs());
        m.put("probe_lr_selection", "best accuracy on a held-out 10% of the train split, then refit on all of it");
        m.put("probe_batch", e.probeBatch());
        m.put("probe_weight_decay", e.probeWeightDecay());
        m.put("standardization", "per feature, train-split statistics");
        m.put("data", s.description());
        m.put("train_images", s.trainLabels().length);
        m.put("test_images", s.testLabels().length);
        m.put("elapsed_s", Math.round(seconds * 10) / 10.0);
        return m;
    }
}
