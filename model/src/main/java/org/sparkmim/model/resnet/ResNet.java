package org.sparkmim.model.resnet;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.sparkmim.model.config.ModelConfig;
import org.sparkmim.model.mae.MaeMethod;
import org.sparkmim.model.method.FeatureSpec;

import java.util.function.BiFunction;
import java.util.function.IntFunction;

/**
 * A ResNet (He et al. 2016) as DL4J layers: ConvolutionLayer, BatchNormalization, ReLU ActivationLayer and residual
 * adds (ElementWiseVertex), so it runs on oneDNN on CPU and cuDNN with the cuda profile; nothing here is
 * hand-written arithmetic. NCHW throughout.
 *
 * <pre>
 * image [B, C, H, W] → stem: small = conv3×3 s1 → BN → ReLU;  imagenet = conv7×7 s2 → BN → ReLU → max-pool 3×3 s2
 *   → [hook(0)] → stage 0 → [hook(1)] → stage 1 → [hook(2)] → stage 2 → [hook(3)] → stage 3 → out [B, C4, g, g]
 * basic block (18, 34):     x → conv3×3(s) → BN → ReLU → conv3×3 → BN(γ=0) → + shortcut(x) → ReLU
 * bottleneck (50):          x → conv1×1 → BN → ReLU → conv3×3(s) → BN → ReLU → conv1×1 (×4) → BN(γ=0) → + shortcut(x) → ReLU
 * shortcut: identity, or conv1×1(s) → BN when the stride or the width changes
 * </pre>
 * The last BN of every block starts at γ = 0 (timm's zero_init_last), so each block starts as the identity. Convs
 * have no bias (the BN after each has one); weight decay applies to conv weights only. Names: stem_*, s{i}b{j}_*,
 * and {@link #out} for the last block's output.
 */
public final class ResNet {
    /** The graph input of every ResNet graph: normalized images [B, C, H, W]. */
    public static final String IN_IMAGE = "image";

    private ResNet() { }

    /**
     * image [B, C, H, W] → stem, stages 0..3 (no hook) [B, C4, g, g] → global average pool {@code pooled} [B, C4]:
     * the trunk of a ResNet classifier (fine-tuning) and of the exported encoder; returns the last stage's name.
     */
    public static String addPooledTrunk(ComputationGraphConfiguration.GraphBuilder gb, ModelConfig m,
                                        IntFunction<IUpdater> updaterOf, double wd, String pooled) {
        gb.addInputs(IN_IMAGE);
        String last = addEncoder(gb, m, updaterOf, wd, IN_IMAGE, (stage, prev) -> prev);
        gb.addLayer(pooled, new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), last);
        return last;
    }

    /** The graph name of the last stage's output [B, C, g, g]. */
    public static String out(ModelConfig m) {
        int[] blocks = m.resnet.blocks();
        return "s3b" + (blocks[3] - 1) + "_relu";
    }

    /** Output channels of the last stage (the feature width). */
    public static int channels(ModelConfig m) {
        return m.resnet.stageChannels(3);
    }

    /**
     * Adds the ResNet on top of {@code input} ([B, C, H, W]). hook(k, prev) runs before stage k (0..3) and returns the
     * name the stage reads (prev itself to add nothing): A2MIM's mask token is one such hook.
     * @return the name of the last stage's output
     */
    public static String addEncoder(ComputationGraphConfiguration.GraphBuilder gb, ModelConfig m, IUpdater updater,
                                    double wd, String input, BiFunction<Integer, String, String> hook) {
        return addEncoder(gb, m, layer -> updater, wd, input, hook);
    }

    /**
     * The same with an updater per layer (fine-tuning's layer-wise LR decay): layer 0 is the stem, layer s + 1 is
     * stage s (0..3).
     */
    public static String addEncoder(ComputationGraphConfiguration.GraphBuilder gb, ModelConfig m,
                                    IntFunction<IUpdater> updaterOf, double wd, String input,
                                    BiFunction<Integer, String, String> hook) {
        ModelConfig.ResNetShape r = m.resnet;
        int w = r.width();
        String prev;
        IUpdater stem = updaterOf.apply(0);
        if (r.stem().equals("small")) {
            prev = convBn(gb, "stem", input, m.channels, w, 3, 1, true, false, stem, wd);
        } else {
            prev = convBn(gb, "stem", input, m.channels, w, 7, 2, true, false, stem, wd);
            gb.addLayer("stem_pool", new SubsamplingLayer.Builder(PoolingType.MAX).kernelSize(3, 3).stride(2, 2)
                    .padding(1, 1).convolutionMode(ConvolutionMode.Truncate).build(), prev);
            prev = "stem_pool";
        }
        int cin = w;
        int[] blocks = r.blocks();
        for (int s = 0; s < 4; s++) {
            prev = hook.apply(s, prev);
            int planes = w << s, cout = r.stageChannels(s);
            IUpdater updater = updaterOf.apply(s + 1);
            for (int b = 0; b < blocks[s]; b++) {
                int stride = b == 0 ? r.strides().get(s) : 1;
                prev = block(gb, "s" + s + "b" + b, prev, cin, planes, cout, stride, r.bottleneck(), updater, wd);
                cin = cout;
            }
        }
        return prev;
    }

    private static String block(ComputationGraphConfiguration.GraphBuilder gb, String name, String in, int cin, int planes,
                                int cout, int stride, boolean bottleneck, IUpdater u, double wd) {
        String x;
        if (bottleneck) {
            x = convBn(gb, name + "_a", in, cin, planes, 1, 1, true, false, u, wd);
            x = convBn(gb, name + "_b", x, planes, planes, 3, stride, true, false, u, wd);
            x = convBn(gb, name + "_c", x, planes, cout, 1, 1, false, true, u, wd);
        } else {
            x = convBn(gb, name + "_a", in, cin, planes, 3, stride, true, false, u, wd);
            x = convBn(gb, name + "_b", x, planes, cout, 3, 1, false, true, u, wd);
        }
        String shortcut = in;
        if (stride != 1 || cin != cout) shortcut = convBn(gb, name + "_down", in, cin, cout, 1, stride, false, false, u, wd);
        gb.addVertex(name + "_add", new ElementWiseVertex(ElementWiseVertex.Op.Add), x, shortcut);
        gb.addLayer(name + "_relu", new ActivationLayer.Builder().activation(Activation.RELU).build(), name + "_add");
        return name + "_relu";
    }

    /** conv k×k (stride, padding k/2, no bias) → BN (γ init 0 when zeroGamma) → optional ReLU; returns the last name. */
    private static String convBn(ComputationGraphConfiguration.GraphBuilder gb, String name, String in, int cin, int cout,
                                 int k, int stride, boolean relu, boolean zeroGamma, IUpdater u, double wd) {
        gb.addLayer(name + "_conv", new ConvolutionLayer.Builder(k, k).stride(stride, stride).padding(k / 2, k / 2)
                .convolutionMode(ConvolutionMode.Truncate).nIn(cin).nOut(cout).hasBias(false)
                .activation(Activation.IDENTITY).weightInit(WeightInit.RELU)
                .updater(u.clone()).weightDecay(wd, true).build(), in);
        gb.addLayer(name + "_bn", new BatchNormalization.Builder().nIn(cout).nOut(cout).decay(0.9).eps(1e-5)
                .gamma(zeroGamma ? 0.0 : 1.0).beta(0.0).updater(u.clone()).biasUpdater(u.clone()).build(),
                name + "_conv");
        if (!relu) return name + "_bn";
        gb.addLayer(name + "_relu", new ActivationLayer.Builder().activation(Activation.RELU).build(), name + "_bn");
        return name + "_relu";
    }

    /** A batch's normalized pixels [B, H, W, C] as the NCHW images [B, C, H, W] the ResNet reads. */
    public static INDArray image(ModelConfig m, org.sparkmim.model.method.Batch batch) {
        MaeMethod.checkShape(m, batch);
        return Nd4j.create(batch.pixels(), new long[]{batch.size(), batch.height(), batch.width(), batch.channels()})
                .permute(0, 3, 1, 2).dup('c');
    }

    /**
     * Forward FLOPs per image of the convolutions (2 per multiply-add), for bench's MFU: Σ 2·k²·C_in·C_out·H_out·W_out.
     * Batch norm, ReLU, adds and pooling are O(activations) and left out, as the ViT count leaves out LayerNorm.
     */
    public static double forwardFlops(ModelConfig m) {
        ModelConfig.ResNetShape r = m.resnet;
        int w = r.width();
        // the stem conv's output side: before the imagenet stem's max-pool
        double f = r.stem().equals("small") ? conv(3, m.channels, w, m.imageSize)
                : conv(7, m.channels, w, ModelConfig.ResNetShape.conv(m.imageSize, 7, 2, 3));
        int side = r.gridBefore(0, m.imageSize);
        int cin = w;
        int[] blocks = r.blocks();
        for (int s = 0; s < 4; s++) {
            int planes = w << s, cout = r.stageChannels(s);
            for (int b = 0; b < blocks[s]; b++) {
                int stride = b == 0 ? r.strides().get(s) : 1;
                int o = ModelConfig.ResNetShape.conv(side, 3, stride, 1);     // 3×3 padding 1 (= 1×1 padding 0)
                if (r.bottleneck()) {
                    f += conv(1, cin, planes, side) + conv(3, planes, planes, o) + conv(1, planes, cout, o);
                } else {
                    f += conv(3, cin, planes, o) + conv(3, planes, cout, o);
                }
                if (stride != 1 || cin != cout) f += conv(1, cin, cout, o);
                cin = cout;
                side = o;
            }
        }
        return f;
    }

    private static double conv(int k, int cin, int cout, int side) {
        return 2.0 * k * k * cin * cout * side * side;
    }

    /**
     * Frozen features [B, g²·C] of the last stage: the feature map [B, C, gs, gs] (inference mode: batch norm uses its
     * running statistics) average-pooled within each cell of the spec's grid (1 = global average pooling).
     */
    public static INDArray features(ComputationGraph graph, ModelConfig m, INDArray[] in, int b, FeatureSpec spec) {
        if (spec.pooling() != FeatureSpec.Pooling.MEAN) {
            throw new IllegalArgumentException("eval.feature=" + spec.label() + " is invalid with model.backbone = resnet: "
                    + "allowed mean (the last stage, average-pooled per eval.pool-grid cell)");
        }
        int side = m.gridSize(), n = side * side, c = channels(m), cells = spec.grid() * spec.grid();
        if (spec.grid() > side) {
            throw new IllegalArgumentException("eval.pool-grid=" + spec.grid() + " exceeds the ResNet's " + side + "x" + side
                    + " output grid; allowed 1.." + side);
        }
        INDArray map = graph.output(java.util.List.of(out(m)), false, in, null)[0];   // [B, C, gs, gs]
        float[] tok = map.castTo(DataType.FLOAT).reshape('c', b, c, n).permute(0, 2, 1).dup('c').data().asFloat();
        int[] cellOf = new int[n];
        for (int t = 0; t < n; t++) cellOf[t] = spec.cellOf(t, side);
        float[] feat = new float[b * cells * c];
        for (int i = 0; i < b; i++) MaeMethod.poolTokens(tok, i * n * c, n, c, false, cellOf, cells, feat, i * cells * c);
        return Nd4j.create(feat, new long[]{b, (long) cells * c});
    }
}
