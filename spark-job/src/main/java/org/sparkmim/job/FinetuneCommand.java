package org.sparkmim.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.sparkmim.job.dataset.DatasetDir;
import org.sparkmim.job.dataset.Manifest;
import org.sparkmim.job.eval.DatasetImageSource;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.data.FashionMnist;
import org.sparkmim.model.data.ImageSet;
import org.sparkmim.model.eval.Encoders;
import org.sparkmim.model.finetune.FinetuneEval;
import org.sparkmim.model.train.Checkpoints;
import org.sparkmim.model.train.EpochHook;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The finetune job: a pretraining checkpoint's encoder (ViT, unmasked, or ResNet) plus a pooled linear classifier, trained end
 * to end on the labelled train split (method.name = finetune, {@link org.sparkmim.model.finetune.FinetuneMethod}).
 * It is the pretrain job with another objective: Spark with gradient sharing by default or --engine jvm, the same
 * checkpoints, resume, divergence guard, time budget, progress lines and metrics.jsonl. Its config is the
 * checkpoint's (model.*, data normalization) ← the recipe (conf/finetune.conf, or --preset) ← --conf ← --set.
 * {@code --from-scratch} trains the same architecture from its random init: the baseline.
 */
@Command(name = "finetune", mixinStandardHelpOptions = true,
        description = "Fine-tune a pretrained encoder (ViT or ResNet) end to end with a linear classifier on the labelled train split "
                + "(MAE's recipe: AdamW, layer-wise LR decay, warmup + cosine, label smoothing); --from-scratch trains "
                + "the same model from its random init as the baseline.")
public class FinetuneCommand extends PretrainCommand {
    @Option(names = "--checkpoint", required = true,
            description = "The pretraining checkpoint (.zip) or run directory (its newest checkpoint).")
    Path checkpoint;

    @Option(names = "--from-scratch", description = "Train the checkpoint's architecture from its random init "
            + "(run.seed) instead of its weights: the baseline the pretrained encoder is compared with.")
    boolean fromScratch;

    @Option(names = "--test-data", description = "With a dataset directory as --data: another preprocess dataset "
            + "directory whose split test, val or only split gives the test top-1 (an ImageNet-style train tree and its "
            + "val set preprocessed into two directories); same classes in the same order.")
    String testData;

    private Path source;
    private Map<String, Object> sourceInfo;

    @Override
    protected String commandName() {
        return "finetune";
    }

    @Override
    protected String defaultPreset() {
        return "finetune";
    }

    @Override
    protected MimConfig config() {
        source = Encoders.resolve(checkpoint).toAbsolutePath();
        Map<String, Object> prov = Checkpoints.provenance(source);
        if (!(prov.get("config") instanceof String stored) || stored.isBlank()) {
            throw new IllegalArgumentException("checkpoint " + source + " has no stored config in its provenance entry");
        }
        String origin = "config stored in " + source;
        MimConfig asTrained = MimConfig.fromRendered(stored, origin, null, Map.of());
        if ("finetune".equals(asTrained.method.name())) {
            throw new IllegalArgumentException("--checkpoint " + source + " is already a fine-tuned model; give a "
                    + "pretraining checkpoint (or resume its own run: the same command with its run.name)");
        }
        if (runDirUri != null && !runDirUri.startsWith("file:") && runDirUri.contains("://")) {
            throw new IllegalArgumentException("--run-dir " + runDirUri + ": finetune's epoch-end evaluation (test top-1, "
                    + "finetune.json, the confusion matrix) runs on the driver and writes to a local run directory; "
                    + "give a local path (file:// or plain) for now");
        }
        if (runDirUri != null && !runDirUri.contains(":")) runDirUri = Path.of(runDirUri).toAbsolutePath().toUri().toString();
        int classes;
        String data;
        if (dataUri != null && DatasetDir.isDataset(new org.apache.hadoop.conf.Configuration(), dataUri)) {
            // a preprocess dataset trains through Spark like pretrain's --data (its rows carry their labels); the
            // images of any stored size are brought to model.image-size by the training crop and evaluation's resize
            if ("jvm".equals(engine != null ? engine : defaultEngine())) {
                throw new IllegalArgumentException("--data " + dataUri + " is a preprocess dataset directory, which finetune "
                        + "reads through Spark only: drop --engine jvm (the JVM engine reads 'system' or a Fashion-MNIST directory)");
            }
            Manifest m = DatasetDir.open(new org.apache.hadoop.conf.Configuration(), dataUri).manifest();
            DatasetImageSource.heldOutSplit(m, dataUri, testData == null);
            if (testData != null) {
                DatasetImageSource.testSplitOf(DatasetDir.open(new org.apache.hadoop.conf.Configuration(), testData).manifest(),
                        testData, m, dataUri);
            }
            classes = m.classes().size();
            data = "dataset " + dataUri + (testData != null ? ", test: dataset " + testData : "");
        } else {
            if (testData != null) {
                throw new IllegalArgumentException("--test-data " + testData + " goes with a preprocess dataset directory as "
                        + "--data; 'system' and IDX directories have their own test split");
            }
            if (dataUri != null) {   // 'system' or a Fashion-MNIST IDX directory, as evaluate takes it
                opts.set.putIfAbsent("data.path", dataUri);
                dataUri = null;
            }
            ImageSet train = FashionMnist.load(FashionMnist.locate(opts.set.getOrDefault("data.path", asTrained.data.path())), "train");
            if (!train.hasLabels() || train.classCount() < 2) {
                throw new IllegalArgumentException("the train split of " + train.source() + " has no class labels: "
                        + "fine-tuning needs a labelled train split");
            }
            if (train.height() != asTrained.model.imageSize || train.width() != asTrained.model.imageSize) {
                throw new IllegalArgumentException("the data's images are " + train.height() + "x" + train.width() + " but "
                        + "checkpoint " + source + " was pretrained at model.image-size = " + asTrained.model.imageSize
                        + "; position-embedding interpolation to another size is not implemented");
            }
            classes = train.classCount();
            data = train.source();
        }
        Map<String, String> o = new LinkedHashMap<>();
        o.put("method.name", "finetune");
        o.put("finetune.source", source.toString());
        o.put("finetune.from-scratch", String.valueOf(fromScratch));
        o.put("finetune.classes", String.valueOf(classes));
        o.put("run.name", Encoders.runDirOf(source).getFileName() + (fromScratch ? "-scratch" : "-finetune"));
        o.putAll(opts.set);
        Path preset = CommonOptions.presetPath(opts.preset != null ? opts.preset : defaultPreset());
        MimConfig cfg = MimConfig.fromRendered(stored, origin, preset, opts.conf, o);
        String was = MimConfig.canonical(asTrained.tree().getConfig("model"), "model."),
                now = MimConfig.canonical(cfg.tree().getConfig("model"), "model.");
        if (!was.equals(now)) {
            throw new IllegalArgumentException("finetune cannot change the model.* keys of checkpoint " + source
                    + " (the encoder's architecture is fixed by pretraining: model.image-size = " + asTrained.model.imageSize
                    + " there, " + cfg.model.imageSize + " asked; " + asTrained.model + " vs " + cfg.model
                    + "); remove them from --set/--conf/--preset");
        }
        if (cfg.finetune.classes() != classes) {
            throw new IllegalArgumentException("mim.finetune.classes = " + cfg.finetune.classes() + " but the train split of "
                    + data + " has " + classes + " classes");
        }
        sourceInfo = new LinkedHashMap<>();
        sourceInfo.put("checkpoint", source.toString());
        sourceInfo.put("sha256", Encoders.sha256(source));
        sourceInfo.put("method", asTrained.method.name());
        sourceInfo.put("step", prov.get("step"));
        sourceInfo.put("config_fingerprint", asTrained.fingerprint());
        sourceInfo.put("architecture_fingerprint", asTrained.architectureFingerprint());
        sourceInfo.put("data", data);
        return cfg;
    }

    /** With a dataset directory, the test top-1 hook scores its test (or val) split, decoded at model.image-size. */
    @Override
    protected List<EpochHook> sparkHooks(MimConfig cfg, LocalSpark spark) {
        if (dataUri == null) return super.sparkHooks(cfg, spark);
        ImageSet test = DatasetImageSource.open(spark.session(), dataUri, testData, cfg.model.imageSize, cfg.model.channels,
                0, 0, 0).collect(spark.javaContext(), "test");
        System.err.println("finetune: epoch-end test top-1 on " + test);
        return List.of(new FinetuneEval(test, sourceInfo));
    }

    @Override
    protected List<EpochHook> hooks(MimConfig cfg, ImageSet train, ImageSet test) {
        if (test == null) throw new IllegalArgumentException("fine-tuning reports test-split top-1 and needs a labelled test split");
        return List.of(new FinetuneEval(test, sourceInfo));
    }

    @Override
    protected void summarize(Summary s, Path runDir) {
        Path f = runDir.resolve(FinetuneEval.FILE);
        if (!Files.isRegularFile(f)) return;
        try {
            JsonNode j = new ObjectMapper().readTree(f.toFile());
            s.put("test_top1", j.path("test_top1").asDouble()).put("test_top5", j.path("test_top5").asDouble())
                    .put("init", j.path("init").asText()).put("finetune_json", f.toString());
        } catch (java.io.IOException e) {
            System.err.println("could not read " + f + ": " + e);
        }
    }
}
