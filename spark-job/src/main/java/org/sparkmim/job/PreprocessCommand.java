package org.sparkmim.job;

import org.sparkmim.job.dataset.Manifest;
import org.sparkmim.job.dataset.PreprocessConfig;
import org.sparkmim.job.dataset.PreprocessJob;
import org.sparkmim.job.dataset.SourceKind;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.Map;
import java.util.concurrent.Callable;

/** bin/spark-mim preprocess: an image tree, flat folder, ILSVRC val folder or IDX files → a dataset directory. */
@Command(name = "preprocess", mixinStandardHelpOptions = true,
        description = "Convert images (ImageNet-style tree, flat folder, ILSVRC val, or IDX) into a verified dataset "
                + "directory: shuffled Parquet shards, _manifest.json, _rejects.json. Keys: mim.preprocess.* "
                + "(spark-job/src/main/resources/reference.conf).")
public class PreprocessCommand implements Callable<Integer> {
    @Mixin
    CommonOptions opts = new CommonOptions();

    @Option(names = "--source", required = true, description = "Source directory URI (file://, hdfs://, s3a://, or a local path).")
    String source;

    @Option(names = "--output", required = true, description = "Dataset directory URI to create.")
    String output;

    @Option(names = "--kind", defaultValue = "auto",
            description = "auto, tree (ROOT/<class>/<file>), flat (unlabelled), idx (Fashion-MNIST/MNIST), imagenet-val (default ${DEFAULT-VALUE}).")
    String kind;

    @Option(names = "--labels", description = "imagenet-val: LOC_val_solution.csv-style file (ImageId,PredictionString).")
    String labels;

    @Option(names = "--classes", description = "imagenet-val: the train dataset directory or a synset list (LOC_synset_mapping.txt); idx: class names, one per line.")
    String classes;

    @Option(names = "--split", description = "Value of the split column (default: train; val for imagenet-val; idx: train and test).")
    String split;

    @Option(names = "--overwrite", description = "Replace an existing output (atomically, after the new dataset is complete).")
    boolean overwrite;

    @Option(names = "--master", description = "Spark master when not under spark-submit (default local[*]).")
    String master;

    @Option(names = "--progress-seconds", defaultValue = "10", description = "Seconds between progress lines (default ${DEFAULT-VALUE}).")
    int progressSeconds;

    @Override
    public Integer call() {
        PreprocessConfig cfg = PreprocessConfig.from(opts.resolve(null, Map.of()));
        SourceKind k = SourceKind.parse(kind);
        try (LocalSpark s = LocalSpark.start("spark-mim preprocess", master)) {
            PreprocessJob.Result r = new PreprocessJob(s.session(), cfg).run(new PreprocessJob.Request(source, output, k,
                    labels, classes, split, overwrite, Math.max(1, progressSeconds)));
            Manifest.Counts c = r.manifest().counts();
            System.err.printf("dataset %s: %d rows in %d shards, %d classes; listed %d = accepted %d + rejected %d + "
                            + "skipped %d; converted %d %s%n", r.output(), r.manifest().rows(), r.manifest().shards().size(),
                    r.manifest().classes().size(), c.listed(), c.accepted(), c.rejected(), c.skipped(), c.converted(),
                    r.manifest().convertedFrom());
            r.rejected().stream().limit(20).forEach(x -> System.err.println("  rejected " + x.key() + ": " + x.reason()));
            new Summary("preprocess").put("accepted", c.accepted()).put("converted", c.converted())
                    .put("rejected", c.rejected()).put("skipped", c.skipped()).put("listed", c.listed())
                    .put("shards", r.manifest().shards().size()).put("classes", r.manifest().classes().size())
                    .put("output", r.output()).print();
        }
        return ExitCodes.OK;
    }
}
