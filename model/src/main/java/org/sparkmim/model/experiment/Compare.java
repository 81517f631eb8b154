package org.sparkmim.model.experiment;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.data.ImageSet;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.sparkmim.model.eval.Encoders;
import org.sparkmim.model.eval.FeatureEncoder;
import org.sparkmim.model.eval.ModelEncoder;
import org.sparkmim.model.eval.OnlineKnn;
import org.sparkmim.model.eval.PixelEncoder;
import org.sparkmim.model.eval.Scores;
import org.sparkmim.model.method.Methods;
import org.sparkmim.model.method.MimMethod;
import org.sparkmim.model.report.Metrics;
import org.sparkmim.model.report.RunHooks;
import org.sparkmim.model.train.Bench;
import org.sparkmim.model.train.Checkpoints;
import org.sparkmim.model.train.Trainer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * experiment compare: methods (and mask ratios) pretrained one after another in this JVM on the same data under the
 * same wall-time budget, then scored on frozen features with one protocol.
 * <p>
 * Fairness: each run's LR schedule is fitted to the budget (optim.steps = measured img/s × budget / batch, from a
 * short throughput measurement of that very method), so a slow method gets fewer steps but still finishes its
 * cosine, instead of being cut off at a high LR. Time-to-accuracy comes from the run's own checkpoints (every
 * steps/curve-points): kNN of each, placed at the training wall time at which it was written (read from
 * metrics.jsonl), so evaluation time never counts as training time.
 */
public final class Compare {
    private static final Logger LOG = LoggerFactory.getLogger(Compare.class);

    private Compare() { }

    /** One run of the comparison: a method family and its mask ratio. */
    public record Variant(String label, String family, double ratio) {
        public static final List<String> FAMILIES = List.of("mae", "block", "emae", "sbam", "ropim", "a2mim", "mapet");

        public Variant {
            if (!FAMILIES.contains(family)) {
                throw new IllegalArgumentException("method '" + family + "': allowed " + String.join(", ", FAMILIES));
            }
            if (!(ratio > 0 && ratio < 1)) {
                throw new IllegalArgumentException("mask ratio " + ratio + " of " + family + ": allowed 0 < ratio < 1");
            }
        }

        /**
         * Config keys that make this variant; the rest of the config is shared by every run.
         *
         * @param tokens N of the shared model (EMAE's K must divide it)
         * @param rVar   the shared SBAM AMR half-range, narrowed where ratio + r-var would mask all tokens (0.9 ± 0.1)
         */
        public Map<String, String> overrides(int tokens, double rVar) {
            Map<String, String> m = new LinkedHashMap<>();
            switch (family) {
                case "mae", "block" -> {
                    m.put("method.name", "mae");
                    m.put("method.masking", family.equals("block") ? "block" : "random");
                    m.put("method.mask-ratio", String.valueOf(ratio));
                }
                case "sbam" -> {
                    m.put("method.name", "sbam");
                    m.put("method.mask-ratio", String.valueOf(ratio));
                    m.put("method.sbam.r-var", String.valueOf(fittingRVar(tokens, ratio, rVar)));
                }
                case "ropim" -> { // its "ratio" is the share of the token subspace the projection removes
                    m.put("method.name", "ropim");
                    m.put("method.ropim.sketch-ratio", String.valueOf(1 - ratio));
                }
                case "mapet" -> { // its ratio is the share of patches predicted (the rest is context)
                    m.put("method.name", "mapet");
                    m.put("method.mapet.context-ratio", String.valueOf(1 - ratio));
                }
                case "a2mim" -> { // its ratio is the share of input blocks masked
                    m.put("method.name", "a2mim");
                    m.put("method.a2mim.mask-ratio", String.valueOf(ratio));
                }
                default -> { // emae: its ratio is 1 - 1/K with K dividing N
                    m.put("method.name", "emae");
                    m.put("method.emae.parts", String.valueOf(emaeParts(tokens, ratio)));
                }
            }
            return m;
        }
    }

    /**
     * The largest r-var ≤ the configured one (in steps of 0.01) for which AMR keeps between 1 and N−1 tokens:
     * ratio + r-var ≤ 1 − 1/N and ratio − r-var ≥ 1/N.
     */
    public static double fittingRVar(int tokens, double ratio, double rVar) {
        double room = Math.min(1 - 1.0 / tokens - ratio, ratio - 1.0 / tokens);
        return Math.max(0, Math.min(rVar, Math.floor(room * 100 + 1e-9) / 100));
    }

    /**
     * EMAE's K: the divisor of N (K >= 2) whose per-part mask ratio 1 − 1/K is nearest the requested ratio
     * (N = 49 at patch 4 allows only 7, i.e. 85.7%; N = 16 at patch 7 gives 4, i.e. MAE's 75%).
     */
    public static int emaeParts(int tokens, double ratio) {
        int best = -1;
        for (int k = 2; k <= tokens; k++) {
            if (tokens % k != 0) continue;
            if (best < 0 || Math.abs(1 - 1.0 / k - ratio) < Math.abs(1 - 1.0 / best - ratio)) best = k;
        }
        if (best < 0) throw new IllegalArgumentException("EMAE needs a token count N with a divisor >= 2; N = " + tokens);
        return best;
    }

    /** The runs: every method at the default ratio, then the sweep methods at each other ratio. */
    public static List<Variant> plan(List<String> methods, double defaultRatio, List<String> sweep, List<Double> ratios) {
        List<Variant> out = new ArrayList<>();
        for (String m : methods) {
            // ROPIM has no mask ratio: in the method list it runs at its own default sketch ratio (1/7); A2MIM at its
            // recipe's block ratio (0.6)
            double r = m.equals("ropim") ? 1 - MimConfig.RopimConfig.DEFAULT.sketchRatio()
                    : m.equals("a2mim") ? MimConfig.A2mimConfig.DEFAULT.maskRatio()
                    : m.equals("mapet") ? 1 - MimConfig.MapetConfig.DEFAULT.contextRatio() : defaultRatio;
            out.add(new Variant(label(m, r), m, r));
        }
        for (String m : sweep) {
            for (double r : ratios) {
                if (out.stream().noneMatch(v -> v.family().equals(m) && v.ratio() == r)) out.add(new Variant(label(m, r), m, r));
            }
        }
        return out;
    }

    static String label(String family, double ratio) {
        return family + "-" + Math.round(ratio * 100);
    }

    /**
     * @param budgetMinutes training wall time per run
     * @param curvePoints   checkpoints per run scored for the time-to-accuracy curve
     * @param curveBank     train images in the curve's kNN bank; curveQueries test images as its queries
     * @param evalTrain     train images for the final kNN bank and probe (0 = all); evalTest test images (0 = all)
     */
    public record Options(double budgetMinutes, int curvePoints, int curveBank, int curveQueries, int evalTrain, int evalTest) {
        public Options {
            if (!(budgetMinutes > 0)) throw new IllegalArgumentException("--budget-minutes " + budgetMinutes + ": allowed > 0");
            if (curvePoints < 1) throw new IllegalArgumentException("--curve-points " + curvePoints + ": allowed >= 1");
        }
    }

    /** kNN top-1 of a checkpoint at training wall time {@code seconds}. */
    public record CurvePoint(long step, double seconds, double knnTop1) { }

    /** One finished run: how fast it trained, what it reached, and its curve. */
    public record RunResult(Variant variant, Path runDir, String method, double maskRatio, double benchImgPerSec,
                            double mfu, long plannedSteps, long steps, double trainSeconds, double imgPerSec,
                            double finalLoss, boolean stoppedByBudget, List<CurvePoint> curve, Scores scores) { }

    /** Everything compare measured; claims are judged from it by {@link Claims}. */
    public record Result(List<RunResult> runs, Scores pixels, Scores randomInit, double peakGflops, Options options,
                         String data, int testImages, int curveQueries) { }

    /**
     * Runs every variant in order and scores it.
     *
     * @param configFor builds a run's config from variant overrides (they win over the user's --set)
     * @param outDir    holds one run directory per variant
     */
    public static Result run(List<Variant> variants, Function<Map<String, String>, MimConfig> configFor, ImageSet train,
                             ImageSet test, Path outDir, Options o) {
        double peak = Bench.matmulPeak(Bench.defaultShapes(), 8);
        LOG.info(String.format(Locale.ROOT, "compare: %d runs x %.1f min on %s (%d train / %d test); fp32 matmul peak %.1f GFLOP/s",
                variants.size(), o.budgetMinutes(), train.source(), train.count(), test.count(), peak));
        ImageSet evalTrain = limit(train, o.evalTrain()), evalTest = limit(test, o.evalTest());
        ImageSet bank = limit(train, o.curveBank()), queries = limit(test, o.curveQueries());
        List<RunResult> runs = new ArrayList<>();
        // the shared model (EMAE's K depends on its token count)
        MimConfig shared = configFor.apply(sharedKeys(variants));
        int tokens = shared.model.tokens();
        double rVar = shared.method.sbam().rVar();
        MimConfig first = null;
        for (int i = 0; i < variants.size(); i++) {
            Variant v = variants.get(i);
            long t0 = System.nanoTime();
            Map<String, String> keys = runKeys(v, tokens, rVar, outDir);
            MimConfig cfg0 = configFor.apply(keys);
            if (first == null) first = cfg0;
            Bench.Result speed = throughput(cfg0, train, peak);
            int spe = train.count() / cfg0.optim.batch();
            long steps = Math.max(1, (long) Math.floor(speed.imgPerSec() * o.budgetMinutes() * 60 * 0.95 / cfg0.optim.batch()));
            long every = Math.max(1, steps / o.curvePoints());
            keys.put("optim.steps", String.valueOf(steps));
            keys.put("optim.warmup-epochs", String.valueOf(0.1 * steps / spe)); // warmup = 10% of the fitted run
            keys.put("run.checkpoint-every", String.valueOf(every));
            keys.put("run.keep-checkpoints", String.valueOf(o.curvePoints() + 2));
            keys.put("run.log-every", String.valueOf(Math.max(1, Math.min(20, every))));
            // a hard stop in case the measured rate was optimistic; the summary says when it cut the run
            keys.put("run.time-budget-minutes", String.valueOf(o.budgetMinutes() * 1.25));
            MimConfig cfg = configFor.apply(keys);
            LOG.info(String.format(Locale.ROOT, "compare [%d/%d] %s: %.1f img/s (MFU %.1f%%) -> optim.steps %d (checkpoint every %d)",
                    i + 1, variants.size(), v.label(), speed.imgPerSec(), 100 * speed.mfu(), steps, every));
            Path runDir = outDir.resolve(v.label()).toAbsolutePath();
            Trainer trainer = new Trainer(cfg, train, runDir);
            RunHooks.standard(cfg, train, test).forEach(trainer::onEpochEnd);
            Trainer.Result r = trainer.run();
            double[][] elapsed = Metrics.read(runDir).series("elapsed_s"); // [step, seconds] of the training records
            double trainSeconds = elapsed[0].length == 0 ? Double.NaN : elapsed[1][elapsed[1].length - 1];
            MimMethod method = Methods.create(cfg);
            List<CurvePoint> curve = curve(cfg, method, runDir, elapsed, bank, queries);
            ComputationGraph g = Checkpoints.load(r.checkpoint());
            Scores s = scores("encoder", new ModelEncoder("encoder", cfg, method, g, cfg.eval.featureSpec()), evalTrain,
                    evalTest, cfg);
            runs.add(new RunResult(v, runDir, cfg.method.name(), effectiveRatio(cfg), speed.imgPerSec(), speed.mfu(), steps,
                    r.steps(), trainSeconds, r.imgPerSec(), r.finalLoss(), r.stoppedByBudget(), curve, s));
            LOG.info(String.format(Locale.ROOT, "compare [%d/%d] %s: %d steps in %.0f s, kNN %.2f%%, probe %.2f%% (%s total)",
                    i + 1, variants.size(), v.label(), r.steps(), trainSeconds, 100 * s.knnTop1(), 100 * s.probeTop1(),
                    Trainer.human((System.nanoTime() - t0) / 1e9)));
        }
        // Floors once, with the first run's architecture and seed (every variant shares the encoder architecture).
        MimMethod m0 = Methods.create(first);
        Scores pixels = scores(PixelEncoder.NAME, new PixelEncoder(), evalTrain, evalTest, first);
        Scores random = scores("random_init", new ModelEncoder("random_init", first, m0, Encoders.randomInit(first, m0),
                first.eval.featureSpec()), evalTrain, evalTest, first);
        return new Result(runs, pixels, random, peak, o, train.source() + " (" + evalTrain.count() + " train / "
                + evalTest.count() + " test scored)", evalTest.count(), queries.count());
    }

    /**
     * Method keys that read the shared part of the config (model, data, optim): plain MAE keys, which fit any ViT, or
     * A2MIM's when the first run is A2MIM, the only method a ResNet takes (a ViT-only method on a ResNet is then
     * refused at once, naming the keys).
     */
    public static Map<String, String> sharedKeys(List<Variant> variants) {
        return !variants.isEmpty() && variants.get(0).family().equals("a2mim") ? Map.of("method.name", "a2mim")
                : Map.of("method.name", "mae", "method.masking", "random");
    }

    private static Map<String, String> runKeys(Variant v, int tokens, double rVar, Path outDir) {
        Map<String, String> keys = new LinkedHashMap<>(v.overrides(tokens, rVar));
        keys.put("run.dir", outDir.toAbsolutePath().toString());
        keys.put("run.name", v.label());
        keys.put("eval.online-knn-every", "0"); // the curve comes from checkpoints, scored after training
        return keys;
    }

    /** The method's training img/s on pre-built batches (no data path), as `bench` measures it. */
    static Bench.Result throughput(MimConfig cfg, ImageSet train, double peak) {
        MimMethod method = Methods.create(cfg);
        return Bench.trainThroughput(method, Bench.batches(method, train, cfg, 2), cfg.optim.batch(), 2, 3, 2,
                method.trainFlopsPerImage(), peak);
    }

    /** kNN top-1 of every checkpoint of the run (and of step 0, the random init) against training wall time. */
    static List<CurvePoint> curve(MimConfig cfg, MimMethod method, Path runDir, double[][] time, ImageSet bank,
                                  ImageSet queries) {
        List<CurvePoint> out = new ArrayList<>();
        out.add(new CurvePoint(0, 0, OnlineKnn.score(cfg, method, Encoders.randomInit(cfg, method), bank, queries).top1()));
        List<Path> ckpts = new ArrayList<>(Checkpoints.list(runDir));
        ckpts.sort(Comparator.comparingLong(Checkpoints::step));
        for (Path p : ckpts) {
            long step = Checkpoints.step(p);
            out.add(new CurvePoint(step, interpolate(time, step), OnlineKnn.score(cfg, method, Checkpoints.load(p), bank, queries).top1()));
        }
        return out;
    }

    private static Scores scores(String name, FeatureEncoder enc, ImageSet train, ImageSet test, MimConfig cfg) {
        var e = cfg.eval;
        INDArray tr = FeatureEncoder.extract(enc, train, e.extractBatch()), te = FeatureEncoder.extract(enc, test, e.extractBatch());
        return Scores.of(name, tr, train.labels(), te, test.labels(), train.classCount(), e, cfg.run.seed());
    }

    /**
     * The ratio the method really masks at: 1 − 1/K for EMAE, 1 − sketch-ratio for ROPIM (the share of the token
     * subspace removed), a2mim.mask-ratio for A2MIM, mask-ratio otherwise (SBAM's AMR centre).
     */
    static double effectiveRatio(MimConfig cfg) {
        return switch (cfg.method.name()) {
            case "emae" -> 1 - 1.0 / cfg.method.emae().parts();
            case "ropim" -> 1 - cfg.method.ropim().sketchRatio();
            case "a2mim" -> cfg.method.a2mim().maskRatio();
            case "mapet" -> 1 - org.sparkmim.masking.PermutedPrediction.contextPatches(cfg.model.tokens(),
                    cfg.method.mapet().contextRatio()) / (double) cfg.model.tokens();
            default -> cfg.method.maskRatio();
        };
    }

    /** Linear interpolation of y at x over (x, y) points sorted by x; clamped at the ends; NaN without points. */
    static double interpolate(double[][] xy, double x) {
        int n = xy[0].length;
        if (n == 0) return Double.NaN;
        if (x <= xy[0][0]) return xy[1][0] * (xy[0][0] == 0 ? 1 : x / xy[0][0]);
        for (int i = 1; i < n; i++) {
            if (x <= xy[0][i]) {
                double f = (x - xy[0][i - 1]) / (xy[0][i] - xy[0][i - 1]);
                return xy[1][i - 1] + f * (xy[1][i] - xy[1][i - 1]);
            }
        }
        return xy[1][n - 1];
    }

    private static ImageSet limit(ImageSet s, int n) {
        return n > 0 && n < s.count() ? s.subset(0, n) : s;
    }
}
