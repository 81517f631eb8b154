package org.sparkmim.model.a2mim;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.sparkmim.masking.BlockwiseMasking;
import org.sparkmim.masking.MaskingOperator;
import org.sparkmim.masking.SampleMask;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.config.ModelConfig;
import org.sparkmim.model.mae.MaeGraph;
import org.sparkmim.model.mae.MaeMethod;
import org.sparkmim.model.mae.Patchify;
import org.sparkmim.model.method.Batch;
import org.sparkmim.model.method.FeatureSpec;
import org.sparkmim.model.method.MimMethod;
import org.sparkmim.model.method.PixelReconstruction;
import org.sparkmim.model.nn.A2mimLoss;
import org.sparkmim.model.nn.DropCls;
import org.sparkmim.model.nn.GridTokens;
import org.sparkmim.model.nn.MaskTokenAdd;
import org.sparkmim.model.nn.PatchEmbed;
import org.sparkmim.model.nn.SumLoss;
import org.sparkmim.model.resnet.ResNet;
import org.sparkmim.model.train.Bench;

import java.util.List;
import java.util.Map;

import static org.sparkmim.model.mae.MaeGraph.opt;

/**
 * A2MIM on a ViT (docs/METHODS.md, A2MIM): the mask is applied to the input pixels, every token runs through the
 * encoder, a learnable mask token is added to the masked tokens' features, and a per-token linear head predicts
 * the pixels under a spatial loss on masked pixels plus a focal frequency loss on batch-averaged spectra.
 *
 * <pre>
 * inputs: patches [B, N·P] (masked blocks' pixels = the image's per-channel mean)   ids [B, N] (identity)
 *         mask [B, N] (1 = masked token)   targets [B, N, P] (the unmasked image)    labels: dummy [B, 1]
 * embed = PatchEmbed(patches, ids) [B, 1+N, D] → enc0 .. [mask_token: + t·m before block mask-layer] .. enc{L-1}
 *   → enc_norm (the latent, as MAE's) → tokens = DropCls [B, N, D] → head: DenseLayer D → P [N·B, P]
 *   → loss_terms = A2mimLoss(head, targets, mask) [B, 1] → loss: LossLayer(SumLoss)
 * </pre>
 * The encoder is MaeGraph's vertex for vertex (the mask-token vertex adds nothing when m = 0), so evaluation and the
 * trainer treat an A2MIM run like any other. The head is the per-token form of the released 1×1 conv +
 * PixelShuffle(patch). Targets are the normalized pixels (no norm-pix), as in the released code.
 *
 * <p>On the ResNet backbone (model.backbone = resnet) the same objective runs on a CNN:
 * <pre>
 * inputs: image [B, C, H, W] (masked blocks = the image's per-channel mean)   mask [B, N]   targets [B, N, P]
 * image → ResNet stem, stages 0 .. [mask_token: f + t·m, or f·(1−m) + γ⊙f·m + t·m, before stage mask-layer] .. 3
 *   → [B, C4, g, g] → tokens = GridTokens [B, N, C4] → head [N·B, P] (1×1 conv + pixel shuffle) → loss as above
 * </pre>
 * The mask grid, the grid the mask token is added on and the head's grid are all the token grid image-size / patch
 * (MimConfig checks the strides), so one mask serves all three.
 */
public class A2mimMethod implements MimMethod, PixelReconstruction {
    public static final String IN_IMAGE = ResNet.IN_IMAGE;
    public static final String IN_MASK = "mask";
    public static final String IN_TARGETS = "targets";
    public static final String MASK_TOKEN = "mask_token";
    public static final String LOSS_TERMS = "loss_terms";

    private final ModelConfig model;
    private final MimConfig.A2mimConfig a2;
    private final BlockwiseMasking masking;

    public A2mimMethod(ModelConfig model, MimConfig.MethodConfig method) {
        this.model = model;
        this.a2 = method.a2mim();
        int s = a2.blockSize(model);
        if (s % model.patch != 0 || model.imageSize % s != 0) {
            throw new IllegalArgumentException("mim.method.a2mim.block-size=" + s + " is invalid: must be a multiple of "
                    + "model.patch (" + model.patch + ") that divides model.image-size (" + model.imageSize + ")");
        }
        if (!model.isResNet() && a2.maskLayer() >= model.depth) {
            throw new IllegalArgumentException("mim.method.a2mim.mask-layer=" + a2.maskLayer() + " is invalid: must be in "
                    + "[0, model.depth - 1 = " + (model.depth - 1) + "]");
        }
        this.masking = new BlockwiseMasking(a2.maskRatio(), s / model.patch);
    }

    @Override
    public String name() {
        return "a2mim";
    }

    public BlockwiseMasking masking() {
        return masking;
    }

    @Override
    public List<MaskingOperator> maskingOperators() {
        return List.of(masking);
    }

    @Override
    public ComputationGraphConfiguration graph(IUpdater updater, double weightDecay, long seed, DataType dataType) {
        if (model.isResNet()) return resnetGraph(updater, weightDecay, seed, dataType);
        ModelConfig m = model;
        int g = m.gridSize();
        var gb = MaeGraph.builder(seed, dataType);
        gb.addInputs(MaeGraph.IN_PATCHES, MaeGraph.IN_IDS_KEEP, IN_MASK, IN_TARGETS);
        gb.addVertex(MaeGraph.EMBED, opt(new PatchEmbed(m.patchDim(), m.dim, g, g), updater, weightDecay),
                MaeGraph.IN_PATCHES, MaeGraph.IN_IDS_KEEP);
        MaeGraph.addEncoder(gb, m, updater, weightDecay, MaeGraph.EMBED, null, (i, prev) -> {
            if (i != a2.maskLayer()) return prev;
            gb.addVertex(MASK_TOKEN, opt(new MaskTokenAdd(m.dim, a2.gammaInit()), updater, weightDecay), prev, IN_MASK);
            return MASK_TOKEN;
        });
        gb.addVertex(MaeGraph.TOKENS, new DropCls(), MaeGraph.LATENT);
        MaeGraph.addTokenHead(gb, m, updater, weightDecay);
        gb.addVertex(LOSS_TERMS, new A2mimLoss(g, m.patch, m.channels, a2.spatialLoss(), a2.freqWeight(), a2.alpha(),
                a2.unmaskWeight()), MaeGraph.HEAD, IN_TARGETS, IN_MASK);
        gb.addLayer("loss", new LossLayer.Builder(new SumLoss()).activation(Activation.IDENTITY).build(), LOSS_TERMS);
        gb.setOutputs("loss");
        return gb.build();
    }

    private ComputationGraphConfiguration resnetGraph(IUpdater updater, double weightDecay, long seed, DataType dataType) {
        ModelConfig m = model;
        var gb = MaeGraph.builder(seed, dataType);
        gb.addInputs(IN_IMAGE, IN_MASK, IN_TARGETS);
        String out = ResNet.addEncoder(gb, m, updater, weightDecay, IN_IMAGE, (stage, prev) -> {
            if (stage != a2.maskLayer()) return prev;
            int c = stage == 0 ? m.resnet.width() : m.resnet.stageChannels(stage - 1);
            gb.addVertex(MASK_TOKEN, opt(new MaskTokenAdd(c, a2.gammaInit(), true), updater, weightDecay), prev, IN_MASK);
            return MASK_TOKEN;
        });
        gb.addVertex(MaeGraph.TOKENS, new GridTokens(), out);
        MaeGraph.addTokenHead(gb, ResNet.channels(m), m.patchDim(), updater, weightDecay);
        gb.addVertex(LOSS_TERMS, new A2mimLoss(m.gridSize(), m.patch, m.channels, a2.spatialLoss(), a2.freqWeight(),
                a2.alpha(), a2.unmaskWeight()), MaeGraph.HEAD, IN_TARGETS, IN_MASK);
        gb.addLayer("loss", new LossLayer.Builder(new SumLoss()).activation(Activation.IDENTITY).build(), LOSS_TERMS);
        gb.setOutputs("loss");
        return gb.build();
    }

    /** Image i's token mask for this epoch: a pure function of (run seed, epoch, key), as every mask is. */
    public SampleMask mask(Batch batch, int i) {
        int g = model.gridSize();
        return masking.sample(g, g, batch.runSeed(), batch.epoch(), batch.keys()[i]);
    }

    /**
     * The encoder's input: a copy of the patches [B·N·P] with every masked token's pixels set to that image's
     * per-channel mean, computed over the whole image before filling (the released MaskedImage transform).
     */
    public float[] fill(float[] patches, float[] mask, int b) {
        int n = model.tokens(), pd = model.patchDim(), c = model.channels;
        float[] out = patches.clone();
        double[] mean = new double[c];
        for (int i = 0; i < b; i++) {
            java.util.Arrays.fill(mean, 0);
            int off = i * n * pd;
            for (int k = 0; k < n * pd; k++) mean[k % c] += patches[off + k];   // channel = k mod C in patch order
            for (int ch = 0; ch < c; ch++) mean[ch] /= (double) n * pd / c;
            for (int t = 0; t < n; t++) {
                if (mask[i * n + t] == 0) continue;
                for (int k = 0; k < pd; k++) out[off + t * pd + k] = (float) mean[k % c];
            }
        }
        return out;
    }

    @Override
    public MultiDataSet prepare(Batch batch) {
        int b = batch.size(), n = model.tokens();
        float[] mask = new float[b * n];
        for (int i = 0; i < b; i++) System.arraycopy(mask(batch, i).mask(), 0, mask, i * n, n);
        float[] patches = MaeMethod.patchify(model, batch);
        return inputs(fill(patches, mask, b), patches, mask, b);
    }

    /** The graph's features: ViT (patches, ids, mask, targets) or ResNet (image, mask, targets). */
    private MultiDataSet inputs(float[] input, float[] targets, float[] mask, int b) {
        int n = model.tokens(), pd = model.patchDim();
        if (model.isResNet()) {
            INDArray[] features = {image(input, b), Nd4j.create(mask, new long[]{b, n}),
                    Nd4j.create(targets, new long[]{b, n, pd})};
            return new org.nd4j.linalg.dataset.MultiDataSet(features, new INDArray[]{Nd4j.zeros(DataType.FLOAT, b, 1)});
        }
        float[] ids = new float[b * n];
        for (int i = 0; i < b; i++) {
            for (int t = 0; t < n; t++) ids[i * n + t] = t;
        }
        INDArray[] features = {Nd4j.create(input, new long[]{b, (long) n * pd}), Nd4j.create(ids, new long[]{b, n}),
                Nd4j.create(mask, new long[]{b, n}), Nd4j.create(targets, new long[]{b, n, pd})};
        return new org.nd4j.linalg.dataset.MultiDataSet(features, new INDArray[]{Nd4j.zeros(DataType.FLOAT, b, 1)});
    }

    /** Patches [B·N·P] → the images [B, C, H, W] a CNN reads. */
    private INDArray image(float[] patches, int b) {
        int s = model.imageSize, c = model.channels, len = s * s * c, n = model.tokens(), pd = model.patchDim();
        float[] hwc = new float[b * len];
        for (int i = 0; i < b; i++) Patchify.unpatchify(patches, i * n * pd, s, s, c, model.patch, hwc, i * len);
        return Nd4j.create(hwc, new long[]{b, s, s, c}).permute(0, 3, 1, 2).dup('c');
    }

    /** The index of each input in this backbone's graph. */
    private int featureIndex(String input) {
        List<String> order = model.isResNet() ? List.of(IN_IMAGE, IN_MASK, IN_TARGETS)
                : List.of(MaeGraph.IN_PATCHES, MaeGraph.IN_IDS_KEEP, IN_MASK, IN_TARGETS);
        return order.indexOf(input);
    }

    /** All N tokens, unmasked (m = 0, so the mask token adds nothing), through the encoder; pooled as for MAE. */
    @Override
    public INDArray features(ComputationGraph graph, Batch batch, FeatureSpec spec) {
        int b = batch.size();
        float[] patches = MaeMethod.patchify(model, batch);
        MultiDataSet in = inputs(patches, patches, new float[b * model.tokens()], b);
        if (model.isResNet()) return ResNet.features(graph, model, in.getFeatures(), b, spec);
        return MaeMethod.encoderFeatures(graph, model, in.getFeatures(), b, spec);
    }

    /**
     * The encoder on N tokens plus the per-token head; the mask token and the losses are O(N·D) and left out. On the
     * ResNet: its convolutions plus the head, forward × 3.
     */
    @Override
    public double trainFlopsPerImage() {
        if (model.isResNet()) {
            return 3 * (ResNet.forwardFlops(model) + 2.0 * model.tokens() * ResNet.channels(model) * model.patchDim());
        }
        return Bench.encoderFlopsPerImage(model, model.tokens());
    }

    /** One forward pass with this epoch's masks: original | encoder input (mean-filled) | reconstruction | pasted. */
    @Override
    public PixelReconstruction.Result reconstruct(ComputationGraph graph, Batch batch) {
        MultiDataSet mds = prepare(batch);
        int b = batch.size(), n = model.tokens(), pd = model.patchDim();
        Map<String, INDArray> act = graph.feedForward(mds.getFeatures(), false);
        float[] pred = PixelReconstruction.tokenRows(act.get(MaeGraph.HEAD), b, n, pd, "A2MIM");
        float[] targets = mds.getFeatures(featureIndex(IN_TARGETS)).castTo(DataType.FLOAT).dup('c').data().asFloat();
        float[] mask = mds.getFeatures(featureIndex(IN_MASK)).castTo(DataType.FLOAT).dup('c').data().asFloat();
        float[] input = fill(targets, mask, b);                                // the encoder's input, in patch order
        return new PixelReconstruction.Result(targets, pred, mask, b, n, pd, false, input, null);
    }
}
