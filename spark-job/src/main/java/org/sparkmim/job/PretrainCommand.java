package org.sparkmim.job;

import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.data.FashionMnist;
import org.sparkmim.model.data.ImageSet;
import org.sparkmim.model.report.ReportPage;
import org.sparkmim.model.report.RunHooks;
import org.sparkmim.model.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import org.apache.spark.api.java.JavaSparkContext;
import org.sparkmim.job.pretrain.SparkPretrain;
import org.sparkmim.job.pretrain.SparkSettings;
import org.sparkmim.job.pretrain.TrainSource;

import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * The pretrain job. {@code --engine spark} (default): executors train with DL4J's Spark training masters
 * ({@link SparkPretrain}); local mode unless spark-submit or --master says otherwise. {@code --engine jvm}: the
 * single-JVM trainer (no Spark), same method, config and checkpoint format.
 */
@Command(name = "pretrain", mixinStandardHelpOptions = true,
        description = "Pretrain a MIM model: on Spark executors (default) or in this JVM (--engine jvm).")
public class PretrainCommand implements Callable<Integer> {
    @Mixin
    CommonOptions opts = new CommonOptions();

    @Option(names = "--engine", description = "spark (default: DL4J Spark training) or jvm (single JVM, no Spark).")
    String engine;

    @Option(names = "--master", description = "Spark master when not under spark-submit (default local[spark.workers]).")
    String master;

    @Option(names = "--data", description = "Dataset directory written by preprocess (any Hadoop URI). Default: "
            + "the Fashion-MNIST IDX files of data.path (the bundled sample when empty). finetune also takes 'system' or "
            + "a Fashion-MNIST IDX directory, and needs a dataset's labels and its splits train and test (else val); "
            + "a dataset directory trains through Spark only (not --engine jvm).")
    String dataUri;

    @Option(names = "--run-dir", description = "Run directory URI (file://, hdfs://, s3a://); default run.dir/run.name.")
    String runDirUri;

    protected String defaultEngine() {
        return "spark";
    }

    protected String commandName() {
        return "pretrain";
    }

    protected String defaultPreset() {
        return null;
    }

    protected Map<String, String> defaults() {
        return Map.of();
    }

    /** The run's resolved config: reference ← preset ← --conf ← --set (finetune starts from a checkpoint's instead). */
    protected MimConfig config() {
        return opts.resolve(defaultPreset(), defaults());
    }

    /** Epoch-end hooks: pictures and online kNN for pretraining (test = the labelled test split, or null). */
    protected List<org.sparkmim.model.train.EpochHook> hooks(MimConfig cfg, ImageSet train, ImageSet test) {
        return RunHooks.standard(cfg, train, test);
    }

    /** Extra summary fields after the run (finetune adds its test top-1). */
    protected void summarize(Summary s, java.nio.file.Path runDir) { }

    @Override
    public Integer call() {
        MimConfig cfg = config();
        System.err.println("resolved config (fingerprint " + cfg.fingerprint().substring(0, 12) + "):\n" + cfg.render());
        String eng = engine != null ? engine : defaultEngine();
        if (!List.of("spark", "jvm").contains(eng)) {
            throw new IllegalArgumentException("--engine " + eng + ": allowed spark or jvm");
        }
        // MaPeT's tokens must be this dataset's, at this geometry: refuse before any work
        org.sparkmim.job.tokenize.TokenizeJob.checkTokensFor(cfg, "spark".equals(eng) ? dataUri : null,
                new org.apache.hadoop.conf.Configuration());
        if ("spark".equals(eng)) return callSpark(cfg);
        ImageSet train = trainSet(cfg);
        String name = runName(cfg);
        Path runDir = Path.of(cfg.run.dir()).resolve(name).toAbsolutePath();
        Trainer trainer = new Trainer(cfg, train, runDir);
        hooks(cfg, train, heldOut(cfg)).forEach(trainer::onEpochEnd);
        Trainer.Result r = trainer.run();
        String report = report(r.runDir());
        System.err.printf("run directory: %s%nfinal loss: %.4f (first %.4f) after %d steps, %d epochs, %.1f img/s%n",
                r.runDir(), r.finalLoss(), r.firstLoss(), r.steps(), r.epochs(), r.imgPerSec());
        Summary sum = new Summary(commandName()).put("engine", "jvm").put("method", cfg.method.name())
                .put("run_dir", r.runDir().toString())
                .put("steps", r.steps()).put("epochs", r.epochs()).put("first_loss", round(r.firstLoss()))
                .put("final_loss", round(r.finalLoss())).put("img_per_s", round(r.imgPerSec()))
                .put("checkpoint", String.valueOf(r.checkpoint())).put("stopped_by_budget", r.stoppedByBudget())
                .put("report", report);
        summarize(sum, r.runDir());
        sum.print();
        return ExitCodes.OK;
    }

    protected int callSpark(MimConfig cfg) {
        SparkSettings s = SparkSettings.of(cfg);
        String name = runName(cfg);
        String uri = runDirUri != null ? runDirUri : Path.of(cfg.run.dir()).resolve(name).toAbsolutePath().toUri().toString();
        TrainSource<?> idx = dataUri == null ? TrainSource.idx(cfg) : null; // before Spark: a missing dataset fails fast
        for (int restarts = 0; ; restarts++) {
            // a restart gets a new Spark application: fresh executors, so no JVM keeps DL4J's gradient-sharing
            // singletons (its model, its mesh membership) from the failed attempt
            try (LocalSpark spark = LocalSpark.start("spark-mim pretrain " + name, master, "local[" + s.workers() + "]")) {
                JavaSparkContext sc = spark.javaContext();
                TrainSource<?> source = idx != null ? idx : TrainSource.dataset(spark.session(), dataUri, cfg);
                List<org.sparkmim.model.train.EpochHook> hooks = uri.startsWith("file:") ? sparkHooks(cfg, spark) : List.of();
                SparkPretrain.Result r = SparkPretrain.run(sc, cfg, restarts == 0 ? s : s.resumingAuto(), source, uri,
                        hooks);
                String report = uri.startsWith("file:") ? report(Path.of(java.net.URI.create(uri))) : null;
                System.err.printf("run directory: %s%nprobe loss: %.4f (before training %.4f) after %d steps, %d epochs, "
                        + "%.1f img/s%n", r.runDir(), r.lastProbe(), r.firstProbe(), r.steps(), r.epochs(), r.imgPerSec());
                Summary sum = new Summary(commandName()).put("engine", "spark").put("method", cfg.method.name()).put("sync", s.sync())
                        .put("workers", s.workers()).put("run_dir", localOrUri(r.runDir())).put("steps", r.steps()).put("epochs", r.epochs())
                        .put("first_probe_loss", round(r.firstProbe())).put("final_probe_loss", round(r.lastProbe()))
                        .put("img_per_s", round(r.imgPerSec())).put("checkpoint", String.valueOf(r.checkpoint()))
                        .put("resumed_from_step", r.resumedFromStep()).put("restarts", restarts)
                        .put("stopped_by_budget", r.stoppedByBudget()).put("data", source.describe())
                        .put("report", report);
                if (uri.startsWith("file:")) summarize(sum, Path.of(java.net.URI.create(uri)));
                sum.print();
                return ExitCodes.OK;
            } catch (Exception e) { // also SparkException, which Scala throws undeclared
                if (!SparkPretrain.isRestartable(e) || restarts >= s.maxRestarts()) throw e;
                SparkPretrain.releaseDriverTransport(s);
                System.err.printf("training failed (%s); restart %d of mim.spark.max-restarts = %d from the newest "
                        + "checkpoint in %s%n", firstLine(e), restarts + 1, s.maxRestarts(), uri);
            }
        }
    }

    /** The JVM engine's training images: the train split of data.path, cut to data.train-limit. */
    static ImageSet trainSet(MimConfig cfg) {
        ImageSet train = FashionMnist.load(FashionMnist.locate(cfg.data.path()), "train");
        return cfg.data.trainLimit() > 0 && cfg.data.trainLimit() < train.count() ? train.subset(0, cfg.data.trainLimit()) : train;
    }

    /** run.name, or method-timestamp when empty. */
    static String runName(MimConfig cfg) {
        return cfg.run.name().isEmpty()
                ? cfg.method.name() + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"))
                : cfg.run.name();
    }

    /** A file: run directory as a plain path (what a user pastes into the next command), other URIs unchanged. */
    static String localOrUri(String uri) {
        return uri.startsWith("file:") ? Path.of(java.net.URI.create(uri)).toString() : uri;
    }

    private static String firstLine(Throwable e) {
        String m = String.valueOf(e.getMessage());
        int nl = m.indexOf('\n');
        return e.getClass().getSimpleName() + ": " + (nl < 0 ? m : m.substring(0, nl));
    }

    protected boolean isDemo() {
        return false;
    }

    /**
     * Epoch-end hooks of a Spark run whose run directory is on the driver's disk. Pretraining's pictures and online
     * kNN need labelled IDX images (Fashion-MNIST: the IDX source, or the demo's dataset made from the bundled
     * sample), so they are off for another dataset directory; finetune reads its test split from the dataset.
     */
    protected List<org.sparkmim.model.train.EpochHook> sparkHooks(MimConfig cfg, LocalSpark spark) {
        return dataUri == null || isDemo() ? epochHooks(cfg) : List.of();
    }

    private List<org.sparkmim.model.train.EpochHook> epochHooks(MimConfig cfg) {
        ImageSet train = FashionMnist.load(FashionMnist.locate(cfg.data.path()), "train");
        return hooks(cfg, train, heldOut(cfg));
    }

    /** report.html for the run; a failure here is reported but must not turn a finished training run into an error. */
    static String report(Path runDir) {
        try {
            return ReportPage.write(runDir).toString();
        } catch (RuntimeException e) {
            System.err.println("could not write the run report (the run itself is complete): " + e);
            return null;
        }
    }

    /** The labelled test split for online kNN and reconstruction pictures, or null when the data has none. */
    static ImageSet heldOut(MimConfig cfg) {
        try {
            return FashionMnist.load(FashionMnist.locate(cfg.data.path()), "test");
        } catch (IllegalArgumentException e) {
            System.err.println("no test split (" + e.getMessage() + "): online kNN is off");
            return null;
        }
    }

    static double round(double v) {
        return Math.round(v * 10000) / 10000.0;
    }
}
