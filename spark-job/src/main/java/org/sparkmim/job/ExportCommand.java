package org.sparkmim.job;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.sparkmim.model.eval.Encoders;
import org.sparkmim.model.export.Safetensors;
import org.sparkmim.model.export.TimmResNet;
import org.sparkmim.model.export.TimmVit;
import org.sparkmim.model.train.Checkpoints;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * The pretrained encoder for the PyTorch world: a checkpoint's encoder as a safetensors file under timm's names
 * (VisionTransformer, {@link TimmVit}; ResNet, {@link TimmResNet}), and beside it a JSON with timm's model name,
 * constructor arguments (and, for a ResNet timm's constructor cannot build as is, the module replacements that make
 * it this one), the input normalization and the provenance (source checkpoint and its SHA-256, config fingerprint,
 * method, step).
 */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Write a checkpoint's encoder as safetensors in timm's layout (VisionTransformer, or ResNet for "
                + "model.backbone = resnet), with a JSON of timm's model name and constructor arguments and the provenance "
                + "beside it.")
public class ExportCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Option(names = "--checkpoint", required = true, description = "A checkpoint (.zip) or a run directory (its newest checkpoint).")
    Path checkpoint;

    @Option(names = "--out", required = true, description = "The file to write, ending in .safetensors (.zip for "
            + "--format dl4j); FILE.json is written beside it.")
    Path out;

    @Option(names = "--format", defaultValue = "timm", description = "timm (safetensors in timm's VisionTransformer or ResNet layout) "
            + "or dl4j (the encoder alone as a DL4J ComputationGraph zip; --out ends in .zip). Default: ${DEFAULT-VALUE}.")
    String format;

    @Override
    public Integer call() throws Exception {
        if (!"timm".equals(format) && !"dl4j".equals(format)) {
            throw new IllegalArgumentException("--format " + format + " is not supported: allowed timm, dl4j");
        }
        if ("dl4j".equals(format)) return dl4j();
        if (!out.getFileName().toString().endsWith(".safetensors")) {
            throw new IllegalArgumentException("--out " + out + " must end in .safetensors");
        }
        Encoders.Loaded ck = Encoders.open(checkpoint, null, Map.of());
        var m = ck.cfg().model;
        boolean resnet = m.isResNet();
        LinkedHashMap<String, Safetensors.Tensor> sd = resnet
                ? TimmResNet.stateDict(ck.graph(), m, Checkpoints.step(ck.checkpoint()))
                : TimmVit.stateDict(ck.graph(), m);
        LinkedHashMap<String, Object> args = resnet ? TimmResNet.constructorArgs(ck.graph(), m)
                : TimmVit.constructorArgs(ck.graph(), m);
        var vitPool = resnet ? null : TimmVit.classifier(ck.graph());     // the ViT classifier's pooling, if fine-tuned
        boolean classifier = resnet ? TimmResNet.isClassifier(ck.graph()) : vitPool != null;
        long params = sd.values().stream().mapToLong(t -> t.data().length).sum();

        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");   // what safetensors' torch loader writes; timm's loaders read it
        meta.put("source_checkpoint", ck.checkpoint().toAbsolutePath().toString());
        meta.put("source_sha256", ck.sha256());
        meta.put("config_fingerprint", ck.cfg().fingerprint());
        meta.put("method", ck.cfg().method.name());
        Safetensors.write(out, sd, meta);

        LinkedHashMap<String, Object> side = new LinkedHashMap<>();
        side.put("weights", out.getFileName().toString());
        // the name only picks timm's class (VisionTransformer, or ResNet with its block and depth); timm_args set the rest
        side.put("timm_model", resnet ? TimmResNet.modelName(m) : "vit_small_patch16_224");
        side.put("timm_args", args);
        List<String> adapt = resnet ? TimmResNet.adapt(m) : List.of();
        side.put("timm_adapt", adapt);
        side.put("usage", "model = timm.create_model(timm_model, pretrained=False, **timm_args); "
                + (adapt.isEmpty() ? "" : "exec('\\n'.join(timm_adapt), {'model': model, 'nn': torch.nn, 'timm': timm}) "
                + "(this architecture's stem and first blocks of stages, in timm's own classes); ")
                + "model.load_state_dict(safetensors.torch.load_file(weights), strict=True); model.eval(); "
                + "features = model.forward_head(model.forward_features(x), pre_logits=True)");
        side.put("input", Map.of("layout", "NCHW float32, pixels in [0, 1] normalized per channel: (x - mean) / std",
                "mean", ck.cfg().data.mean(), "std", ck.cfg().data.std(), "size", m.imageSize));
        side.put("feature", resnet ? "the last stage's output, global-average-pooled (batch norms in inference mode): "
                + "evaluate's eval.feature = mean, eval.pool-grid = 1"
                : "mean of the final-norm patch tokens (CLS excluded): evaluate's eval.feature = mean, eval.pool-grid = 1");
        if (classifier) {
            if (!resnet) {
                side.put("feature", vitPool.cls ? "the final-norm CLS token (mim.finetune.pool = cls)"
                        : "mean of the final-norm patch tokens (CLS excluded), the classifier's input");
            }
            side.put("classifier", "fine-tuned: model(x) gives the logits of the " + args.get("num_classes")
                    + " classes (softmax = this product's class probabilities); the pooled feature as above with pre_logits=True");
            side.put("classes", ck.cfg().finetune.classes());
        }
        side.put("parameters", params);
        Path json = writeSidecar(ck, side);

        System.err.printf("export: %s (%d tensors, %,d parameters, %s) and %s%n", out, sd.size(), params,
                ck.cfg().method.name(), json);
        new Summary("export").put("checkpoint", ck.checkpoint().toAbsolutePath().toString()).put("out", out.toAbsolutePath().toString())
                .put("json", json.toAbsolutePath().toString()).put("tensors", sd.size()).put("parameters", params)
                .put("source_sha256", ck.sha256()).print();
        return ExitCodes.OK;
    }

    /**
     * --format dl4j: the encoder alone as a DL4J ComputationGraph ({@link org.sparkmim.model.export.Dl4jEncoder}),
     * ViT: inputs patches and ids_keep, outputs the final-norm tokens and their mean; ResNet: input the image, outputs
     * the last stage and its global average. JSON with the same provenance beside.
     */
    private Integer dl4j() throws Exception {
        if (!out.getFileName().toString().endsWith(".zip")) {
            throw new IllegalArgumentException("--out " + out + " must end in .zip for --format dl4j");
        }
        Encoders.Loaded ck = Encoders.open(checkpoint, null, Map.of());
        var m = ck.cfg().model;
        var enc = org.sparkmim.model.export.Dl4jEncoder.of(ck.graph(), m, ck.checkpoint().toString());
        org.sparkmim.model.export.Dl4jEncoder.write(enc, out);
        LinkedHashMap<String, Object> side = new LinkedHashMap<>();
        side.put("model", out.getFileName().toString());
        if (m.isResNet()) {
            side.put("usage", "ComputationGraph g = ComputationGraph.load(file, false); INDArray[] o = g.output(image); "
                    + "o[0] = the last stage [B, C, g, g], o[1] = its global average [B, C] (evaluate's mean feature)");
            side.put("inputs", Map.of("image", "[B, C, H, W] float32 (NCHW), C = " + m.channels + ", H = W = " + m.imageSize));
            side.put("outputs", enc.getConfiguration().getNetworkOutputs());
        } else {
            side.put("usage", "ComputationGraph g = ComputationGraph.load(file, false); INDArray[] o = g.output(patches, ids); "
                    + "o[0] = tokens [B, 1+N, D] (CLS first), o[1] = mean of the patch tokens [B, D]; needs spark-mim's model "
                    + "jar on the classpath (its vertex classes)");
            side.put("inputs", Map.of("patches", "[B, N*P] float32: patch t (row-major over the " + m.gridSize() + "x"
                            + m.gridSize() + " grid) holds pixel (i, j, c) of the patch at (i*p + j)*C + c, p = " + m.patch
                            + ", C = " + m.channels,
                    "ids_keep", "[B, N] float32 = 0, 1, ..., N-1 (every token; N = " + m.tokens() + ")"));
            side.put("outputs", List.of(org.sparkmim.model.export.Dl4jEncoder.TOKENS, org.sparkmim.model.export.Dl4jEncoder.POOLED));
        }
        side.put("input", Map.of("layout", "pixels in [0, 1] normalized per channel: (x - mean) / std",
                "mean", ck.cfg().data.mean(), "std", ck.cfg().data.std(), "size", m.imageSize));
        side.put("parameters", enc.params().length());
        Path json = writeSidecar(ck, side);
        System.err.printf("export: %s (DL4J encoder, %,d parameters, %s) and %s%n", out, enc.params().length(),
                ck.cfg().method.name(), json);
        new Summary("export").put("checkpoint", ck.checkpoint().toAbsolutePath().toString()).put("out", out.toAbsolutePath().toString())
                .put("json", json.toAbsolutePath().toString()).put("format", "dl4j").put("parameters", enc.params().length())
                .put("source_sha256", ck.sha256()).print();
        return ExitCodes.OK;
    }

    /** Adds the provenance (source checkpoint, SHA-256, step, method, fingerprints) and writes FILE.json atomically. */
    private Path writeSidecar(Encoders.Loaded ck, LinkedHashMap<String, Object> side) throws java.io.IOException {
        side.put("source_checkpoint", ck.checkpoint().toAbsolutePath().toString());
        side.put("source_sha256", ck.sha256());
        side.put("step", Checkpoints.step(ck.checkpoint()));
        side.put("method", ck.cfg().method.name());
        side.put("config_fingerprint", ck.cfg().fingerprint());
        side.put("architecture_fingerprint", ck.cfg().architectureFingerprint());
        Path json = sidecar(out);
        Path tmp = json.resolveSibling("." + json.getFileName() + ".tmp");
        JSON.writeValue(tmp.toFile(), side);
        Files.move(tmp, json, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return json;
    }

    /** model.safetensors (or model.zip) → model.json */
    static Path sidecar(Path out) {
        String n = out.getFileName().toString();
        return out.resolveSibling(n.substring(0, n.lastIndexOf('.')) + ".json");
    }
}
