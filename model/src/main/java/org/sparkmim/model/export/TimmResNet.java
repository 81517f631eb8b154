package org.sparkmim.model.export;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.sparkmim.model.config.ModelConfig;
import org.sparkmim.model.finetune.FinetuneMethod;
import org.sparkmim.model.mae.MaeGraph;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A checkpoint's ResNet ({@link org.sparkmim.model.resnet.ResNet}, A2MIM's backbone) under the parameter names of
 * timm's {@code ResNet} (timm.models.resnet): {@code conv1}, {@code bn1}, {@code layer{s+1}.{b}.conv1..3},
 * {@code bn1..3}, {@code downsample.0} (1×1 conv) and {@code downsample.1} (its batch norm), and {@code fc} for a
 * fine-tuned classifier.
 *
 * <p>The tensors need no reordering: DL4J's convolution weights are [out, in, kH, kW] like torch's, and a batch
 * norm's running variance is DL4J's stored log10 of the standard deviation, exponentiated and squared (the value
 * DL4J itself normalizes with). timm's {@code num_batches_tracked} is written as the checkpoint's step, a counter
 * nothing reads in inference.
 *
 * <p>timm's constructor builds one stem (7×7 stride 2 with 64 channels, then a 3×3 max-pool) and stage strides
 * 1, 2, 2, 2. This project also has a small-image stem (3×3 stride 1, no max-pool), any width and other strides;
 * for those, {@link #adapt} gives the few module replacements, run on timm's model before loading the weights,
 * that make timm's ResNet this architecture (the usual CIFAR-style stem swap, and the first block of a stage whose
 * input width or stride differ), built from timm's own block classes.
 */
public final class TimmResNet {
    private TimmResNet() { }

    /** timm's model name for this depth: resnet18, resnet34 or resnet50. */
    public static String modelName(ModelConfig m) {
        return "resnet" + m.resnet.depth();
    }

    /** timm's state dict: name → tensor. A fine-tuned checkpoint also carries its classifier as {@code fc}. */
    public static LinkedHashMap<String, Safetensors.Tensor> stateDict(ComputationGraph g, ModelConfig m, long step) {
        if (!m.isResNet()) {
            throw new IllegalArgumentException("export to timm's ResNet needs a ResNet checkpoint; this one's backbone is "
                    + "model.backbone = " + m.backbone);
        }
        LinkedHashMap<String, Safetensors.Tensor> sd = new LinkedHashMap<>();
        convBn(sd, g, "stem", "conv1", "bn1", step);
        int[] blocks = m.resnet.blocks();
        String[] parts = m.resnet.bottleneck() ? new String[]{"a", "b", "c"} : new String[]{"a", "b"};
        for (int s = 0; s < 4; s++) {
            for (int b = 0; b < blocks[s]; b++) {
                String ours = "s" + s + "b" + b, theirs = "layer" + (s + 1) + "." + b + ".";
                for (int k = 0; k < parts.length; k++) {
                    convBn(sd, g, ours + "_" + parts[k], theirs + "conv" + (k + 1), theirs + "bn" + (k + 1), step);
                }
                if (g.getVertex(ours + "_down_conv") != null) {
                    convBn(sd, g, ours + "_down", theirs + "downsample.0", theirs + "downsample.1", step);
                }
            }
        }
        if (isClassifier(g)) {
            Map<String, INDArray> head = g.getLayer(MaeGraph.HEAD).paramTable();
            INDArray w = TimmVit.need(head, "W", "classifier");          // [C4, K]
            sd.put("fc.weight", TimmVit.transposed(w));
            sd.put("fc.bias", TimmVit.tensor(TimmVit.need(head, "b", "classifier"), w.size(1)));
        }
        return sd;
    }

    /** A fine-tuned ResNet (global average pool + linear head), not a pretraining graph. */
    public static boolean isClassifier(ComputationGraph g) {
        return g.getConfiguration().getVertices().containsKey(FinetuneMethod.POOL);
    }

    /** ours_conv → theirs.weight; ours_bn → bn.weight, bias, running_mean, running_var, num_batches_tracked. */
    private static void convBn(Map<String, Safetensors.Tensor> sd, ComputationGraph g, String ours, String conv, String bn,
                               long step) {
        INDArray w = TimmVit.need(TimmVit.params(g, ours + "_conv"), "W", ours + "_conv");     // [out, in, k, k]
        sd.put(conv + ".weight", TimmVit.tensor(w, w.shape()));
        Map<String, INDArray> p = TimmVit.params(g, ours + "_bn");
        long c = w.size(0);
        INDArray var = p.containsKey("var") ? p.get("var")
                : Transforms.pow(pow10(TimmVit.need(p, "log10stdev", ours + "_bn")), 2, false);
        sd.put(bn + ".weight", TimmVit.tensor(TimmVit.need(p, "gamma", ours + "_bn"), c));
        sd.put(bn + ".bias", TimmVit.tensor(TimmVit.need(p, "beta", ours + "_bn"), c));
        sd.put(bn + ".running_mean", TimmVit.tensor(TimmVit.need(p, "mean", ours + "_bn"), c));
        sd.put(bn + ".running_var", TimmVit.tensor(var, c));
        sd.put(bn + ".num_batches_tracked", Safetensors.Tensor.int64(step));
    }

    /** 10^x elementwise, as DL4J's batch norm turns its log10(std) into a standard deviation. */
    private static INDArray pow10(INDArray log10s) {
        return Transforms.pow(org.nd4j.linalg.factory.Nd4j.valueArrayOf(log10s.shape(), 10.0, DataType.FLOAT),
                log10s.castTo(DataType.FLOAT), false);
    }

    /** Keyword arguments of {@code timm.create_model(modelName(m), pretrained=False, **args)}. */
    public static LinkedHashMap<String, Object> constructorArgs(ComputationGraph g, ModelConfig m) {
        LinkedHashMap<String, Object> a = new LinkedHashMap<>();
        a.put("in_chans", m.channels);
        a.put("num_classes", isClassifier(g) ? g.getLayer(MaeGraph.HEAD).getParam("b").length() : 0);
        a.put("global_pool", "avg");
        int w = m.resnet.width();
        a.put("channels", List.of(w, 2 * w, 4 * w, 8 * w));
        return a;
    }

    /**
     * Python statements, run with {@code model} (timm's freshly built ResNet), {@code nn} (torch.nn) and {@code timm}
     * in scope, that turn timm's ResNet into this architecture; empty for timm's own (imagenet stem, width 64,
     * strides 1, 2, 2, 2).
     */
    public static List<String> adapt(ModelConfig m) {
        ModelConfig.ResNetShape r = m.resnet;
        int w = r.width(), exp = r.bottleneck() ? 4 : 1, c = m.channels;
        List<String> py = new ArrayList<>();
        if (r.stem().equals("small")) {
            py.add("model.conv1 = nn.Conv2d(" + c + ", " + w + ", 3, stride=1, padding=1, bias=False)");
            py.add("model.maxpool = nn.Identity()");
        } else if (w != 64) {
            py.add("model.conv1 = nn.Conv2d(" + c + ", " + w + ", 7, stride=2, padding=3, bias=False)");
        }
        if (w != 64) py.add("model.bn1 = nn.BatchNorm2d(" + w + ")");
        String block = r.bottleneck() ? "timm.models.resnet.Bottleneck" : "timm.models.resnet.BasicBlock";
        int cin = w;
        for (int s = 0; s < 4; s++) {
            int planes = w << s, cout = planes * exp, st = r.strides().get(s);
            // timm's first block of stage s reads 64 channels (s = 0) or the last stage's output, at stride 1 or 2
            if (cin != (s == 0 ? 64 : cin) || st != (s == 0 ? 1 : 2)) {
                String down = st != 1 || cin != cout ? "nn.Sequential(nn.Conv2d(" + cin + ", " + cout + ", 1, stride=" + st
                        + ", bias=False), nn.BatchNorm2d(" + cout + "))" : "None";
                py.add("model.layer" + (s + 1) + "[0] = " + block + "(" + cin + ", " + planes + ", stride=" + st
                        + ", downsample=" + down + ")");
            }
            cin = cout;
        }
        return py;
    }
}
