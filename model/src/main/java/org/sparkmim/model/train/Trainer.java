package org.sparkmim.model.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparkmim.masking.MaskSeeds;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.data.ImageSet;
import org.sparkmim.model.data.RawImage;
import org.sparkmim.model.method.Batch;
import org.sparkmim.model.method.Methods;
import org.sparkmim.model.method.MimMethod;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Single-JVM pretraining: the data path (augment → method.prepare) runs one batch ahead on a helper thread while
 * DL4J fits the current one. Logs progress (step/total, loss, img/s, LR, ETA), appends metrics.jsonl and writes
 * atomic checkpoints with provenance.
 */
public final class Trainer {
    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);
    private static final long AUG_SALT = 0x5DEECE66DL;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final MimConfig cfg;
    private final ImageSet train;
    private final Path runDir;
    private final MimMethod method;
    private final List<EpochHook> hooks = new ArrayList<>();

    public record Result(Path runDir, long steps, int epochs, double finalLoss, double firstLoss, double imgPerSec,
                         boolean stoppedByBudget, Path checkpoint) { }

    /** A non-finite loss: the run stops, and the last good checkpoint stays. */
    public static final class NonFiniteLossException extends RuntimeException {
        public NonFiniteLossException(String msg) {
            super(msg);
        }
    }

    public Trainer(MimConfig cfg, ImageSet train, Path runDir) {
        this.cfg = cfg;
        this.train = train;
        this.runDir = runDir;
        this.method = Methods.create(cfg);
        int s = cfg.model.imageSize;
        if (train.channels() != cfg.model.channels) {
            throw new IllegalArgumentException("data has " + train.channels() + " channels but model.channels="
                    + cfg.model.channels);
        }
        if (train.height() < s || train.width() < s) {
            throw new IllegalArgumentException("data images are " + train.height() + "x" + train.width()
                    + ", smaller than model.image-size=" + s);
        }
    }

    /** Adds work to run at the end of every epoch (see {@link EpochHook}); its results land in metrics.jsonl. */
    public Trainer onEpochEnd(EpochHook hook) {
        hooks.add(hook);
        return this;
    }

    public int stepsPerEpoch() {
        return train.count() / cfg.optim.batch();
    }

    public ComputationGraph newGraph() {
        return newGraph(cfg, method, stepsPerEpoch());
    }

    /**
     * A freshly initialized graph whose Adam LR follows warmup + cosine over the run's global steps. The schedule
     * lives in the updater config, so Spark workers (which rebuild the graph from JSON) apply the same LR at the
     * same global step.
     */
    /** The run's LR over global steps: warmup for optim.warmup-epochs, cosine to min-lr at the run's last step. */
    public static WarmupCosineSchedule schedule(MimConfig cfg, long stepsPerEpoch) {
        return schedule(cfg, stepsPerEpoch, 1.0);
    }

    /** The same with every LR times {@code lrScale} (a gradient-sharing worker's share, see spark.shared-lr). */
    public static WarmupCosineSchedule schedule(MimConfig cfg, long stepsPerEpoch, double lrScale) {
        return new WarmupCosineSchedule(lrScale * cfg.optim.peakLr(), lrScale * cfg.optim.minLr(),
                Math.round(cfg.optim.warmupEpochs() * stepsPerEpoch), cfg.optim.totalSteps(stepsPerEpoch));
    }

    public static ComputationGraph newGraph(MimConfig cfg, MimMethod method, long spe) {
        return newGraph(cfg, method, spe, 1.0);
    }

    public static ComputationGraph newGraph(MimConfig cfg, MimMethod method, long spe, double lrScale) {
        var sched = schedule(cfg, spe, lrScale);
        Adam adam = Adam.builder().learningRateSchedule(sched).beta1(cfg.optim.beta1()).beta2(cfg.optim.beta2())
                .epsilon(1e-8).build();
        ComputationGraph g = initialized(method.graph(adam, cfg.optim.weightDecay(), cfg.run.seed(), DataType.FLOAT),
                cfg.run.seed());
        method.initialize(g);   // e.g. fine-tuning's pretrained encoder
        return g;
    }

    /**
     * A graph whose initial parameters depend only on the seed. The custom vertices draw from ND4J's global RNG
     * (Ops.xavierUniform/normal) and DL4J's init() does not reseed it, so without this two graphs built from the
     * same config differed (measured: different parameters on every call in one JVM). DL4J's init() reseeds from
     * the conf's seed, which {@link org.sparkmim.model.mae.MaeGraph#builder} sets the same way.
     */
    public static ComputationGraph initialized(org.deeplearning4j.nn.conf.ComputationGraphConfiguration conf, long seed) {
        Nd4j.getRandom().setSeed(org.sparkmim.model.mae.MaeGraph.initSeed(seed));
        ComputationGraph g = new ComputationGraph(conf);
        g.init();
        return g;
    }

    public Result run() {
        int spe = stepsPerEpoch();
        if (spe < 1) {
            throw new IllegalArgumentException("optim.batch=" + cfg.optim.batch() + " is larger than the training set ("
                    + train.count() + " images from " + train.source() + ")");
        }
        long total = cfg.optim.totalSteps(spe);
        int epochs = cfg.optim.epochsToRun(spe);
        try {
            Files.createDirectories(runDir);
            Files.writeString(runDir.resolve("config.conf"), cfg.render() + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create run directory " + runDir, e);
        }
        ComputationGraph g = newGraph();
        var sched = schedule(cfg, spe);
        LOG.info("run {}: method {} model {} params {} | {} images, batch {}, {} steps/epoch, {} epochs, peak LR {}",
                runDir, method.name(), cfg.model, g.params().length(), train.count(), cfg.optim.batch(), spe,
                epochs + (cfg.optim.steps() > 0 ? " (optim.steps " + total + ")" : ""), String.format("%.3g", cfg.optim.peakLr()));

        long budgetNanos = (long) (cfg.run.timeBudgetMinutes() * 60e9);
        long t0 = System.nanoTime(), tWin = t0;
        long step = 0, winImages = 0;
        double loss = Double.NaN, firstLoss = Double.NaN, lastRate = 0, lossAcc = 0;
        int lossN = 0, epochsDone = 0;
        boolean budgetHit = false;
        Path lastCkpt = null;
        String[] keys = new String[train.count()];
        for (int i = 0; i < keys.length; i++) keys[i] = train.key(i);
        ExecutorService prep = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "mim-data");
            t.setDaemon(true);
            return t;
        });
        try (BufferedWriter metrics = Files.newBufferedWriter(runDir.resolve("metrics.jsonl"), StandardCharsets.UTF_8)) {
            outer:
            for (int epoch = 0; epoch < epochs; epoch++) {
                // the order the Spark engine uses too, so the engines train on the same global minibatches
                int[] order = EpochPlan.order(keys, cfg.run.seed(), epoch);
                final int ep = epoch;
                CompletableFuture<MultiDataSet> next = CompletableFuture.supplyAsync(() -> prepare(order, 0, ep), prep);
                int stepsHere = (int) Math.min(spe, total - step); // the last epoch is partial under optim.steps
                for (int s = 0; s < stepsHere; s++) {
                    MultiDataSet mds = next.join();
                    if (s + 1 < stepsHere) {
                        final int si = s + 1;
                        next = CompletableFuture.supplyAsync(() -> prepare(order, si, ep), prep);
                    }
                    g.fit(mds);
                    loss = dataLoss(g);
                    if (!Double.isFinite(loss)) {
                        throw new NonFiniteLossException("loss became " + loss + " at step " + step + " (epoch " + epoch
                                + "); last good checkpoint: " + (lastCkpt == null ? "none" : lastCkpt)
                                + ". Lower optim.base-lr or check the data.");
                    }
                    if (Double.isNaN(firstLoss)) firstLoss = loss;
                    step++;
                    winImages += cfg.optim.batch();
                    lossAcc += loss;
                    lossN++;
                    // the budget is checked here so that the run's last step always gets a record: a checkpoint's
                    // training time is read from these records, and one past the last record would be clamped
                    boolean budgetNow = budgetNanos > 0 && System.nanoTime() - t0 >= budgetNanos;
                    if (step % cfg.run.logEvery() == 0 || step == total || budgetNow) {
                        long now = System.nanoTime();
                        lastRate = winImages / ((now - tWin) / 1e9);
                        double elapsed = (now - t0) / 1e9;
                        double eta = (total - step) * (elapsed / step);
                        if (budgetNanos > 0) eta = Math.min(eta, Math.max(0, budgetNanos / 1e9 - elapsed));
                        double lr = sched.lr(step - 1);
                        LOG.info(String.format("step %d/%d (%.0f%%) epoch %d/%d loss %.4f lr %.3g %.1f img/s ETA %s",
                                step, total, 100.0 * step / total, epoch + 1, epochs, lossAcc / lossN, lr,
                                lastRate, human(eta)));
                        Map<String, Object> rec = new LinkedHashMap<>();
                        rec.put("step", step);
                        rec.put("epoch", epoch + (s + 1) / (double) spe);
                        rec.put("loss", lossAcc / lossN);
                        rec.put("lr", lr);
                        rec.put("img_per_s", lastRate);
                        rec.put("elapsed_s", elapsed);
                        metrics.write(JSON.writeValueAsString(rec));
                        metrics.newLine();
                        metrics.flush();
                        tWin = now;
                        winImages = 0;
                        lossAcc = 0;
                        lossN = 0;
                    }
                    if (cfg.run.checkpointEvery() > 0 && step % cfg.run.checkpointEvery() == 0) {
                        lastCkpt = checkpoint(g, step, epoch);
                    }
                    if (budgetNow) {
                        budgetHit = true;
                        LOG.info("time budget of {} min reached at step {} (epoch {})", cfg.run.timeBudgetMinutes(), step, epoch + 1);
                        break outer;
                    }
                }
                if (stepsHere < spe) { // optim.steps ended the run inside this epoch
                    lastCkpt = checkpoint(g, step, epochsDone);
                    runHooks(metrics, g, epochsDone, epochsDone + stepsHere / (double) spe, step, true);
                    break;
                }
                epochsDone = epoch + 1;
                lastCkpt = checkpoint(g, step, epoch + 1);
                runHooks(metrics, g, epochsDone, epochsDone, step, epochsDone == epochs);
            }
            if (budgetHit) {
                lastCkpt = checkpoint(g, step, epochsDone);
                runHooks(metrics, g, epochsDone, epochsDone + (step % spe) / (double) spe, step, true);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write metrics under " + runDir, e);
        } finally {
            prep.shutdownNow();
        }
        double rate = step * (double) cfg.optim.batch() / ((System.nanoTime() - t0) / 1e9);
        return new Result(runDir, step, epochsDone, loss, firstLoss, rate, budgetHit, lastCkpt);
    }

    /** Epoch-end hooks; what they report becomes one metrics.jsonl record {step, epoch, ...}. */
    private void runHooks(BufferedWriter metrics, ComputationGraph g, int epochsDone, double epoch, long step, boolean last)
            throws IOException {
        Map<String, Object> rec = EpochHook.runAll(hooks, cfg, method, g, runDir, epochsDone, epoch, step, last);
        if (rec.isEmpty()) return;
        metrics.write(JSON.writeValueAsString(rec));
        metrics.newLine();
        metrics.flush();
    }

    /** Batch s of the epoch's order → augmented, normalized images → the method's MultiDataSet. */
    private MultiDataSet prepare(int[] order, int s, int epoch) {
        return method.prepare(batch(train, order, s * cfg.optim.batch(), cfg.optim.batch(), epoch, cfg));
    }

    /** Augmented batch of images order[from .. from+size). Augmentation is seeded per (run, epoch, image). */
    public static Batch batch(ImageSet data, int[] order, int from, int size, int epoch, MimConfig cfg) {
        int c = data.channels(), h = data.height(), w = data.width(), out = cfg.model.imageSize;
        float[] src = new float[h * w * c];
        float[] px = new float[size * out * out * c];
        String[] keys = new String[size];
        int[] labels = data.hasLabels() ? new int[size] : null;
        for (int i = 0; i < size; i++) {
            int idx = order[from + i];
            keys[i] = data.key(idx);
            if (labels != null) labels[i] = data.label(idx);
            data.copyImage(idx, src, 0);
            augment(src, h, w, c, keys[i], epoch, cfg, px, i * out * out * c);
        }
        return new Batch(px, size, out, out, c, keys, epoch, cfg.run.seed(), labels);
    }

    /**
     * The same for decoded images arriving on a Spark executor: the result depends only on (run seed, epoch, key),
     * not on which executor or partition the image landed in.
     */
    public static Batch batch(java.util.List<RawImage> images, int epoch, MimConfig cfg) {
        int size = images.size(), out = cfg.model.imageSize, c = cfg.model.channels;
        float[] px = new float[size * out * out * c];
        String[] keys = new String[size];
        int[] labels = new int[size];                 // -1 where a row is unlabelled
        float[] src = new float[0]; // reused across images of the same size: this runs per minibatch on executors
        for (int i = 0; i < size; i++) {
            RawImage im = images.get(i);
            if (im.channels() != c) {
                throw new IllegalArgumentException("image " + im.key() + " has " + im.channels()
                        + " channels but model.channels=" + c);
            }
            if (src.length != im.pixels().length) src = new float[im.pixels().length];
            im.copyTo(src);
            keys[i] = im.key();
            labels[i] = im.label();
            augment(src, im.height(), im.width(), c, keys[i], epoch, cfg, px, i * out * out * c);
        }
        return new Batch(px, size, out, out, c, keys, epoch, cfg.run.seed(), labels);
    }

    /** RandomResizedCrop (when resizing or > 28 px) + flip + normalize one [h, w, c] image into dst. */
    private static void augment(float[] src, int h, int w, int c, String key, int epoch, MimConfig cfg, float[] dst,
                                int dstOff) {
        int out = cfg.model.imageSize;
        boolean crop = out > 28 || h != out || w != out;
        SplittableRandom rng = MaskSeeds.stream(cfg.run.seed() ^ AUG_SALT, epoch, key);
        Augment.apply(src, 0, h, w, c, out, crop, cfg.data.cropScaleMin(), cfg.data.flipProb(), cfg.data.mean(),
                cfg.data.std(), rng, dst, dstOff);
    }

    private MultiDataSet calibration;

    /** The images precise BN measures (the first ones of the training set, epoch-0 augmentation and masks). */
    private MultiDataSet calibration() {
        if (calibration == null) {
            int n = Math.min(PreciseBatchNorm.IMAGES, train.count());
            int[] first = new int[n];
            for (int i = 0; i < n; i++) first[i] = i;
            calibration = method.prepare(batch(train, first, 0, n, 0, cfg));
        }
        return calibration;
    }

    /** Checkpoints (and the epoch hooks after them) see batch-norm statistics of the current weights. */
    private Path checkpoint(ComputationGraph g, long step, int epoch) {
        if (PreciseBatchNorm.hasBatchNorm(g)) PreciseBatchNorm.recalibrate(g, calibration());
        Path p = Checkpoints.save(g, runDir, new Checkpoints.Provenance(step, epoch, cfg.run.seed(), cfg.render(),
                cfg.fingerprint(), cfg.architectureFingerprint(), method.name()), cfg.run.keepCheckpoints());
        LOG.info("checkpoint {}", p);
        return p;
    }

    /**
     * The method's objective on the last fitted batch. DL4J's score() adds the regularization term (here the
     * decoupled weight decay's 0.5·wd·Σw², about 0.6 for MAE-small), which is not the reconstruction loss.
     */
    public static double dataLoss(ComputationGraph g) {
        return g.score() - g.calcRegularizationScore(true);
    }

    public static int[] permutation(int n, SplittableRandom rng) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    /** "42s", "3m07s", "1h05m": progress lines' durations and ETAs. */
    public static String human(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format("%dh%02dm", s / 3600, (s % 3600) / 60)
                : s >= 60 ? String.format("%dm%02ds", s / 60, s % 60) : s + "s";
    }
}
