package org.sparkmim.job;

import org.sparkmim.job.tokenize.TokenizeJob;
import org.sparkmim.job.tokenize.TokensManifest;
import org.sparkmim.model.config.MimConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.Map;
import java.util.concurrent.Callable;

/** bin/spark-mim tokenize: MaPeT's visual tokens, k-means over patch pixels fitted with Spark MLlib. */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Fit a k-means codebook (Spark MLlib) on per-patch-normalized pixel patches of a dataset, assign "
                + "every patch of every image to its nearest centroid on the executors, and publish Parquet (key, "
                + "tokens) with a manifest, the codebook and its pictures: the targets of method.name = mapet. Model "
                + "geometry (model.image-size, model.patch) comes from --preset/--set, as for pretrain.")
public class TokenizeCommand implements Callable<Integer> {
    @Mixin
    CommonOptions opts = new CommonOptions();

    @Option(names = "--data", required = true, description = "A dataset directory written by preprocess (any Hadoop "
            + "URI), or a Fashion-MNIST IDX directory (\"system\" = /usr/share/datasets/fashion-mnist): train and test images.")
    String data;

    @Option(names = "--output", required = true, description = "Tokens directory URI to create.")
    String output;

    @Option(names = "--k", defaultValue = "512", description = "Codebook size (default ${DEFAULT-VALUE}).")
    int k;

    @Option(names = "--sample-patches", defaultValue = "200000",
            description = "Patch vectors the k-means is fitted on, sampled per image key (default ${DEFAULT-VALUE}).")
    long samplePatches;

    @Option(names = "--iterations", defaultValue = "20", description = "k-means iterations (default ${DEFAULT-VALUE}, as MaPeT's).")
    int iterations;

    @Option(names = "--overwrite", description = "Replace an existing output (atomically, after the new tokens are complete).")
    boolean overwrite;

    @Option(names = "--master", description = "Spark master when not under spark-submit (default local[*]).")
    String master;

    @Option(names = "--progress-seconds", defaultValue = "10", description = "Seconds between progress lines (default ${DEFAULT-VALUE}).")
    int progressSeconds;

    @Override
    public Integer call() {
        // MaPeT's data path: no crop, no flip (its config refuses them), so the tokens see the trainer's pixels
        MimConfig cfg = opts.resolve(null, Map.of("method.name", "mapet"));
        try (LocalSpark s = LocalSpark.start("spark-mim tokenize", master)) {
            TokenizeJob.Result r = TokenizeJob.run(s.session(), cfg, new TokenizeJob.Request(data, output, k,
                    samplePatches, iterations, overwrite, Math.max(1, progressSeconds)));
            TokensManifest m = r.manifest();
            System.err.printf("tokens %s: %d images x %d tokens, k = %d (fitted on %d patches in %.1f s), assignment "
                            + "%.0f patches/s, %d shards%n", r.output(), m.images(), (m.imageSize() / m.patch()) * (m.imageSize() / m.patch()),
                    m.k(), m.sampledPatches(), m.fitSeconds(), m.assignPatchesPerS(), m.shards().size());
            new Summary("tokenize").put("output", r.output()).put("images", m.images()).put("k", m.k())
                    .put("patch", m.patch()).put("image_size", m.imageSize()).put("sampled_patches", m.sampledPatches())
                    .put("fit_s", m.fitSeconds()).put("assign_patches_per_s", m.assignPatchesPerS())
                    .put("dataset_fingerprint", m.datasetFingerprint()).put("codebook_sha256", m.codebookSha256()).print();
        }
        return ExitCodes.OK;
    }
}
