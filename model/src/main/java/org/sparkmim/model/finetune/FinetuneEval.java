package org.sparkmim.model.finetune;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.data.ImageSet;
import org.sparkmim.model.eval.EvalBatches;
import org.sparkmim.model.report.Charts;
import org.sparkmim.model.train.EpochHook;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The fine-tuned classifier on the labelled test split, un-augmented (evaluate's preprocessing): test_top1 and
 * test_top5 into metrics.jsonl every finetune.eval-every epochs, and at the end finetune.json (top-1, top-5, the
 * confusion matrix, the recipe, the source checkpoint's SHA-256) and finetune-confusion.png.
 */
public final class FinetuneEval implements EpochHook {
    public static final String FILE = "finetune.json";
    public static final String CONFUSION_PNG = "finetune-confusion.png";
    private static final Logger LOG = LoggerFactory.getLogger(FinetuneEval.class);
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final ImageSet test;
    private final Map<String, Object> provenance;

    /**
     * @param test       the labelled held-out split
     * @param provenance what finetune.json records about the source (checkpoint, sha256, method, step) and the run
     */
    public FinetuneEval(ImageSet test, Map<String, Object> provenance) {
        if (!test.hasLabels()) throw new IllegalArgumentException("fine-tune evaluation needs a labelled test split: " + test);
        this.test = test;
        this.provenance = provenance;
    }

    /** top-1, top-5 and the confusion matrix (rows = true class, columns = predicted) of a classifier graph. */
    public record Result(double top1, double top5, int[][] confusion, int images) { }

    public static Result score(MimConfig cfg, FinetuneMethod method, ComputationGraph graph, ImageSet data) {
        int k = method.classes(), bs = cfg.eval.extractBatch(), hit1 = 0, hit5 = 0;
        int[][] cm = new int[k][k];
        for (int from = 0; from < data.count(); from += bs) {
            int n = Math.min(bs, data.count() - from);
            INDArray p = method.probabilities(graph, EvalBatches.of(cfg, data, from, n, 0));   // [n, K]
            float[] pr = p.castTo(DataType.FLOAT).dup('c').data().asFloat();
            for (int i = 0; i < n; i++) {
                int y = data.label(from + i), best = 0, above = 0;
                for (int c = 0; c < k; c++) {
                    if (pr[i * k + c] > pr[i * k + best]) best = c;
                    if (pr[i * k + c] > pr[i * k + y]) above++;   // classes ranked above the true one
                }
                cm[y][best]++;
                if (best == y) hit1++;
                if (above < 5) hit5++;
            }
        }
        graph.clear();
        return new Result(hit1 / (double) data.count(), hit5 / (double) data.count(), cm, data.count());
    }

    @Override
    public void onEpochEnd(Context ctx) {
        MimConfig cfg = ctx.cfg();
        if (!(ctx.method() instanceof FinetuneMethod fm) || !(ctx.epoch() % cfg.finetune.evalEvery() == 0 || ctx.last())) return;
        if (test.classCount() > fm.classes()) {
            throw new IllegalArgumentException("the test split has " + test.classCount() + " classes, the classifier "
                    + fm.classes() + " (mim.finetune.classes)");
        }
        long t0 = System.nanoTime();
        Result r = score(cfg, fm, ctx.graph(), test);
        ctx.put("test_top1", r.top1());
        ctx.put("test_top5", r.top5());
        LOG.info(String.format(Locale.ROOT, "fine-tune test top-1 %.2f%% top-5 %.2f%% after epoch %s (%d images, %.1f s)",
                100 * r.top1(), 100 * r.top5(), ctx.progress() == ctx.epoch() ? String.valueOf(ctx.epoch())
                        : String.format(Locale.ROOT, "%.2f", ctx.progress()), r.images(), (System.nanoTime() - t0) / 1e9));
        if (ctx.last()) write(ctx, r);
    }

    private void write(Context ctx, Result r) {
        MimConfig cfg = ctx.cfg();
        String[] names = test.classNames().length > 0 ? test.classNames() : null;
        List<String> classes = new java.util.ArrayList<>();
        for (int c = 0; c < r.confusion().length; c++) classes.add(names != null && c < names.length ? names[c] : String.valueOf(c));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("test_top1", r.top1());
        m.put("test_top5", r.top5());
        m.put("test_images", r.images());
        m.put("init", cfg.finetune.fromScratch() ? "from-scratch" : "pretrained");
        m.put("steps", ctx.step());
        m.put("epochs", ctx.progress());
        Map<String, Object> setup = new LinkedHashMap<>();
        var ft = cfg.finetune;
        setup.put("layer_decay", ft.layerDecay());
        setup.put("label_smoothing", ft.labelSmoothing());
        setup.put("pool", ft.pool());
        setup.put("classes", ft.classes());
        setup.put("optimizer", String.format(Locale.ROOT, "AdamW(beta1 %s, beta2 %s), weight decay %s, peak LR %s "
                        + "(base-lr %s x batch %d / 256), warmup %s epochs, cosine to %s", cfg.optim.beta1(), cfg.optim.beta2(),
                cfg.optim.weightDecay(), cfg.optim.peakLr(), cfg.optim.baseLr(), cfg.optim.batch(), cfg.optim.warmupEpochs(),
                cfg.optim.minLr()));
        setup.put("augmentation", cfg.model.imageSize > 28
                ? "RandomResizedCrop(scale " + cfg.data.cropScaleMin() + "..1) + flip p " + cfg.data.flipProb()
                : "flip p " + cfg.data.flipProb() + " (no crop at 28 px)");
        setup.put("not_implemented", List.of("mixup", "cutmix", "drop-path", "RandAugment"));
        setup.put("model", cfg.model.toString());
        setup.put("config_fingerprint", cfg.fingerprint());
        m.put("setup", setup);
        m.put("source", provenance);
        Map<String, Object> cm = new LinkedHashMap<>();
        cm.put("classifier", "the fine-tuned model, test split; rows = true class, columns = predicted");
        cm.put("classes", classes);
        cm.put("matrix", r.confusion());
        m.put("confusion", cm);
        Path out = ctx.runDir().resolve(FILE);
        try {
            Path tmp = ctx.runDir().resolve("." + FILE + ".tmp");
            JSON.writeValue(tmp.toFile(), m);
            Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + out, e);
        }
        Charts.confusion(ctx.runDir().resolve(CONFUSION_PNG), r.confusion(), classes.toArray(String[]::new),
                String.format(Locale.ROOT, "fine-tuned (%s), test split: top-1 %s", m.get("init"), Charts.pct(r.top1())));
        LOG.info("wrote {}", out);
    }

    @Override
    public String toString() {
        return "finetune-eval";
    }
}
