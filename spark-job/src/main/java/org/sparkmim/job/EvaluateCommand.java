package org.sparkmim.job;

import org.apache.spark.api.java.JavaSparkContext;
import org.sparkmim.job.dataset.DatasetDir;
import org.sparkmim.job.eval.DatasetImageSource;
import org.sparkmim.job.eval.IdxImageSource;
import org.sparkmim.job.eval.ImageSource;
import org.sparkmim.job.eval.SparkFeatures;
import org.sparkmim.model.data.FashionMnist;
import org.sparkmim.model.eval.Encoders;
import org.sparkmim.model.eval.EvalReport;
import org.sparkmim.model.eval.Evaluation;
import org.sparkmim.model.report.ReportPage;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * Frozen-feature evaluation of a checkpoint: features of the train and test splits are made on Spark executors,
 * then kNN and the linear probe run on the driver for the encoder and its two floors (random init, raw pixels).
 */
@Command(name = "evaluate", mixinStandardHelpOptions = true,
        description = "kNN + linear probe on frozen encoder features of a checkpoint, with random-init and raw-pixel floors; "
                + "writes eval.json and confusion.png (and refreshes report.html) in the run directory.")
public class EvaluateCommand implements Callable<Integer> {
    @Mixin
    CommonOptions opts = new CommonOptions();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--checkpoint", required = true, description = "A checkpoint (.zip) or a run directory (its newest checkpoint).")
    Path checkpoint;

    @Option(names = "--data", description = "Labelled data with train and test splits: a dataset directory written by "
            + "preprocess (any Hadoop URI; splits train and test, else val; images brought to model.image-size), a "
            + "Fashion-MNIST IDX directory, or 'system' (default: the checkpoint's data.path, i.e. the bundled sample if "
            + "it was empty).")
    String data;

    @Option(names = "--test-data", description = "With a dataset directory as --data: another preprocess dataset "
            + "directory whose split test, val or only split is scored (an ImageNet-style train tree and its val set "
            + "preprocessed into two directories); same classes in the same order. Then --data needs only a split train.")
    String testData;

    @Option(names = "--feature", description = "mean | cls | lastk (sets eval.feature; default from config: mean).")
    String feature;

    @Option(names = "--master", description = "Spark master when not run by spark-submit (default local[*]).")
    String master;

    @Option(names = "--out", description = "Output directory (default: the checkpoint's run directory).")
    Path out;

    @Option(names = "--train-limit", defaultValue = "0", description = "Use only the first N train images (0 = all).")
    int trainLimit;

    @Option(names = "--test-limit", defaultValue = "0", description = "Use only the first N test images (0 = all).")
    int testLimit;

    @Option(names = "--holdout", defaultValue = "0", description = "Score on the last N train images instead of the test "
            + "split, which is then not read (for choosing feature and pooling without the test split). Output goes "
            + "to RUN/eval-holdout unless --out is given.")
    int holdout;

    @Override
    public Integer call() {
        if (opts.preset != null) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "evaluate takes its config from the checkpoint; --preset does not apply (use --set eval.KEY=VALUE)");
        }
        long t0 = System.nanoTime();
        Map<String, String> overrides = new LinkedHashMap<>(opts.set);
        if (feature != null) overrides.put("eval.feature", feature);
        if (holdout < 0) throw new CommandLine.ParameterException(spec.commandLine(), "--holdout " + holdout + " is invalid: allowed >= 0");
        Encoders.Loaded ck = Encoders.open(checkpoint, opts.conf, overrides);
        // a holdout evaluation must not overwrite the run's real eval.json / report
        Path outDir = (out != null ? out : holdout > 0 ? ck.runDir().resolve("eval-holdout") : ck.runDir()).toAbsolutePath();
        Map<String, Object> report = evaluate(ck, data, testData, trainLimit, testLimit, holdout, master, outDir, null);
        System.err.println(report.get("verdict_reason"));
        @SuppressWarnings("unchecked")
        Map<String, Object> floors = (Map<String, Object>) report.get("floors");
        new Summary("evaluate").put("checkpoint", ck.checkpoint().toAbsolutePath().toString())
                .put("eval_json", outDir.resolve(EvalReport.FILE).toString()).put("verdict", report.get("verdict"))
                .put("feature", ck.cfg().eval.featureSpec().label()).put("knn_top1", report.get("knn_top1"))
                .put("knn_top5", report.get("knn_top5")).put("probe_top1", report.get("probe_top1"))
                .put("floors", floors).put("elapsed_s", PretrainCommand.round((System.nanoTime() - t0) / 1e9)).print();
        return ExitCodes.OK;
    }

    /**
     * evaluate's protocol on one opened checkpoint: features on Spark executors (a local Spark unless under
     * spark-submit or given a master), kNN + linear probe of the encoder and its floors on the driver, eval.json and
     * confusion.png (and a refreshed report.html for a run directory) in outDir. {@code data} null = the
     * checkpoint's data.path; floorCache as in {@link Evaluation#run}.
     */
    static Map<String, Object> evaluate(Encoders.Loaded ck, String data, String testData, int trainLimit, int testLimit,
                                        int holdout, String master, Path outDir,
                                        Map<String, org.sparkmim.model.eval.Scores> floorCache) {
        boolean dataset = data != null && DatasetDir.isDataset(new org.apache.hadoop.conf.Configuration(), data);
        if (testData != null && !dataset) {
            throw new IllegalArgumentException("--test-data " + testData + " goes with a preprocess dataset directory as "
                    + "--data (--data " + (data == null ? "not given" : data) + " is IDX); an IDX directory has its own test split");
        }
        String where = dataset ? data : FashionMnist.locate(data != null ? data : ck.cfg().data.path()).toString();
        System.err.printf("evaluate %s (step %s, epoch %s) on %s, feature %s, output %s%n", ck.checkpoint(),
                ck.provenance().get("step"), ck.provenance().get("epoch"), where, ck.cfg().eval.featureSpec().label(), outDir);
        // IDX files are read before Spark starts, so a missing file fails fast; a dataset is read through Spark's
        // Hadoop configuration (spark-submit's credentials for hdfs:// or s3a://)
        ImageSource idx = dataset ? null : IdxImageSource.open(Path.of(where), trainLimit, testLimit, holdout);
        Map<String, Object> report;
        try (LocalSpark spark = LocalSpark.start("spark-mim evaluate", master)) {
            JavaSparkContext sc = spark.javaContext();
            ImageSource source = idx != null ? idx : DatasetImageSource.open(spark.session(), data, testData,
                    ck.cfg().model.imageSize, ck.cfg().model.channels, trainLimit, testLimit, holdout);
            Evaluation.Splits splits = new Evaluation.Splits(source.labels("train"), source.labels("test"),
                    source.classNames(), source.describe());
            report = Evaluation.run(ck, new SparkFeatures(sc, source, ck.checkpoint(), ck.cfg()), splits, outDir, floorCache);
        }
        if (Files.isRegularFile(outDir.resolve("metrics.jsonl")) || Files.isRegularFile(outDir.resolve("config.conf"))) {
            ReportPage.write(outDir);
        }
        return report;
    }
}
