package org.sparkmim.model.finetune;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.distribution.NormalDistribution;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.config.ModelConfig;
import org.sparkmim.model.mae.MaeGraph;
import org.sparkmim.model.mae.MaeMethod;
import org.sparkmim.model.method.Batch;
import org.sparkmim.model.method.FeatureSpec;
import org.sparkmim.model.method.MimMethod;
import org.sparkmim.model.nn.PatchEmbed;
import org.sparkmim.model.nn.TokenPool;
import org.sparkmim.model.resnet.ResNet;
import org.sparkmim.model.train.Bench;
import org.sparkmim.model.train.Checkpoints;
import org.sparkmim.model.train.WarmupCosineSchedule;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Fine-tuning as a method (MAE's FINETUNE): the checkpoint's ViT encoder on all N tokens, unmasked, then the pooled
 * tokens (mean of the patch tokens, or CLS) and a linear classifier, trained end to end with label-smoothed
 * cross-entropy. It is a {@link MimMethod} so that both trainers, the Spark job's gradient sharing, checkpoints,
 * resume, the divergence guard, the time budget and the progress lines serve it unchanged.
 *
 * <pre>
 * patches [B, N·P], ids_keep = identity [B, N] → embed [B, 1+N, D] → enc0..enc{L-1} → enc_norm [B, 1+N, D]
 *   → pool (TokenPool) [B, D] → head (OutputLayer, softmax, MCXENT on smoothed one-hot labels [B, K])
 * </pre>
 *
 * On the ResNet backbone (A2MIM's): image [B, C, H, W] → stem, stages 0..3 → global average pool [B, C4] → head,
 * the classifier of torchvision's and timm's ResNet; stages take the place of blocks in the layer-wise decay.
 *
 * The encoder's vertex names are the pretraining graph's, so {@link #features} (evaluate, online kNN) and export read a fine-tuned
 * checkpoint exactly like a pretrained one. Layer-wise LR decay (BEiT's, as in MAE's param_groups_lrd): with L
 * blocks, block i gets LR × d^(L − i), the patch embedding and CLS token d^(L + 1), the final norm and the head 1;
 * the weight decay, which DL4J multiplies by the LR, scales with it, as in AdamW's param groups.
 */
public final class FinetuneMethod implements MimMethod {
    private static final Logger LOG = LoggerFactory.getLogger(FinetuneMethod.class);
    public static final String POOL = "pool";

    private final ModelConfig model;
    private final MimConfig.FinetuneConfig ft;

    public FinetuneMethod(ModelConfig model, MimConfig.FinetuneConfig ft) {
        if (model.isResNet() && ft.cls()) {
            throw new IllegalArgumentException("mim.finetune.pool = cls is invalid with model.backbone = resnet (a CNN has "
                    + "no CLS token): allowed mean (global average pooling of the last stage)");
        }
        this.model = model;
        this.ft = ft;
    }

    @Override
    public String name() {
        return "finetune";
    }

    public int classes() {
        return ft.classes();
    }

    /**
     * LR multiplier of layer {@code layer} in 0 .. L + 1: d^(L + 1 − layer). ViT: 0 = patch embedding and CLS,
     * i + 1 = block i, L + 1 = final norm and head (L = depth). ResNet: 0 = stem, s + 1 = stage s, 5 = head (L = 4).
     */
    public double lrScale(int layer) {
        return Math.pow(ft.layerDecay(), layers() + 1 - layer);
    }

    /** L: ViT blocks, or the ResNet's 4 stages. */
    private int layers() {
        return model.isResNet() ? 4 : model.depth;
    }

    @Override
    public ComputationGraphConfiguration graph(IUpdater updater, double weightDecay, long seed, DataType dataType) {
        if (model.isResNet()) return resnetGraph(updater, weightDecay, seed, dataType);
        int g = model.gridSize(), d = model.dim;
        var gb = MaeGraph.builder(seed, dataType);
        gb.addInputs(MaeGraph.IN_PATCHES, MaeGraph.IN_IDS_KEEP);
        gb.addVertex(MaeGraph.EMBED, MaeGraph.opt(new PatchEmbed(model.patchDim(), d, g, g), scaled(updater, lrScale(0)),
                weightDecay), MaeGraph.IN_PATCHES, MaeGraph.IN_IDS_KEEP);
        MaeGraph.addEncoder(gb, model, i -> scaled(updater, lrScale(i + 1)), weightDecay, MaeGraph.EMBED, null, null);
        gb.addVertex(POOL, new TokenPool(d, ft.cls()), MaeGraph.LATENT);
        addHead(gb, d, updater, weightDecay, POOL);
        return gb.build();
    }

    /**
     * The ResNet's classifier (torchvision's and timm's): image [B, C, H, W] → stem, stages 0..3 [B, C4, g, g]
     * → global average pool [B, C4] → head. A2MIM's mask token is left out: with nothing masked it adds nothing.
     */
    private ComputationGraphConfiguration resnetGraph(IUpdater updater, double weightDecay, long seed, DataType dataType) {
        var gb = MaeGraph.builder(seed, dataType);
        ResNet.addPooledTrunk(gb, model, layer -> scaled(updater, lrScale(layer)), weightDecay, POOL);
        addHead(gb, ResNet.channels(model), updater, weightDecay, POOL);
        return gb.build();
    }

    /** pooled [B, width] → linear + softmax [B, K], MCXENT on the smoothed one-hot labels. */
    private void addHead(ComputationGraphConfiguration.GraphBuilder gb, int width, IUpdater updater, double weightDecay,
                         String in) {
        // MAE's head init: trunc_normal(std = 2e-5), bias 0, so the first logits are ~0 and the first loss ~ln K
        gb.addLayer(MaeGraph.HEAD, new OutputLayer.Builder(new LossMCXENT()).nIn(width).nOut(ft.classes())
                .activation(Activation.SOFTMAX).weightInit(new NormalDistribution(0, 2e-5)).biasInit(0)
                .updater(updater.clone()).biasUpdater(updater.clone())
                .weightDecay(weightDecay, true).weightDecayBias(0, true).build(), in);
        gb.setOutputs(MaeGraph.HEAD);
    }

    /** The run's Adam with its LR schedule times f; other updaters keep their own LR (f only scales Adam's). */
    static IUpdater scaled(IUpdater u, double f) {
        IUpdater c = u.clone();
        if (f == 1.0 || !(c instanceof Adam a)) return c;
        if (a.getLearningRateSchedule() instanceof WarmupCosineSchedule s) a.setLearningRateSchedule(s.scaled(f));
        else if (a.getLearningRateSchedule() == null) a.setLearningRate(a.getLearningRate() * f);
        else throw new IllegalArgumentException("layer-wise LR decay needs the warmup-cosine schedule, got "
                    + a.getLearningRateSchedule());
        return a;
    }

    /**
     * features: patches [B, N·P], ids_keep [B, N] (identity); labels: (1 − ε) one-hot + ε / K [B, K] (ε =
     * finetune.label-smoothing), for which MCXENT is the label-smoothed cross-entropy.
     */
    @Override
    public MultiDataSet prepare(Batch batch) {
        int b = batch.size(), k = ft.classes();
        int[] y = batch.labels();
        if (y == null) {
            throw new IllegalArgumentException("fine-tuning needs labelled images; the batch starting with "
                    + batch.keys()[0] + " has no labels");
        }
        float eps = (float) ft.labelSmoothing();
        float[] target = new float[b * k];
        java.util.Arrays.fill(target, eps / k);
        for (int i = 0; i < b; i++) {
            if (y[i] < 0 || y[i] >= k) {
                throw new IllegalArgumentException("image " + batch.keys()[i] + " has label " + y[i] + "; fine-tuning with "
                        + "mim.finetune.classes = " + k + " needs labels in [0, " + (k - 1) + "] (unlabelled images, "
                        + "label -1, cannot be fine-tuned on)");
            }
            target[i * k + y[i]] += 1 - eps;
        }
        return new org.nd4j.linalg.dataset.MultiDataSet(inputs(batch),
                new INDArray[]{Nd4j.create(target, new long[]{b, k})});
    }

    /** ViT: patches [B, N·P] and ids_keep = identity [B, N], every token in grid order; ResNet: image [B, C, H, W]. */
    private INDArray[] inputs(Batch batch) {
        if (model.isResNet()) return new INDArray[]{ResNet.image(model, batch)};
        int b = batch.size(), n = model.tokens();
        float[] ids = new float[b * n];
        for (int i = 0; i < b; i++) for (int t = 0; t < n; t++) ids[i * n + t] = t;
        return new INDArray[]{Nd4j.create(MaeMethod.patchify(model, batch), new long[]{b, (long) n * model.patchDim()}),
                Nd4j.create(ids, new long[]{b, n})};
    }

    /** Class probabilities [B, K] in inference mode. */
    public INDArray probabilities(ComputationGraph graph, Batch batch) {
        return graph.output(false, inputs(batch))[0];
    }

    @Override
    public double trainFlopsPerImage() {
        if (model.isResNet()) return 3 * (ResNet.forwardFlops(model) + 2.0 * ResNet.channels(model) * ft.classes());
        return 3 * (Bench.featureFlopsPerImage(model) + 2.0 * model.dim * ft.classes());
    }

    @Override
    public INDArray features(ComputationGraph graph, Batch batch, FeatureSpec spec) {
        if (model.isResNet()) return ResNet.features(graph, model, inputs(batch), batch.size(), spec);
        return MaeMethod.encoderFeatures(graph, model, inputs(batch), batch.size(), spec);
    }

    /**
     * Copies the source checkpoint's encoder (patch embedding, CLS token, blocks, final norm) into a freshly built
     * fine-tuning graph; the head keeps its initialization. Nothing is copied with from-scratch. Runs where the
     * graph is built (the driver), never on executors, which receive the driver's parameters.
     */
    @Override
    public void initialize(ComputationGraph g) {
        if (ft.fromScratch()) {
            LOG.info("fine-tuning from scratch: the encoder keeps the random init of run.seed");
            return;
        }
        Path src = Path.of(ft.source());
        if (!Files.isRegularFile(src)) {
            throw new IllegalArgumentException("mim.finetune.source = " + ft.source() + ": no such checkpoint file");
        }
        copyEncoder(Checkpoints.load(src), g, model, src.toString());
        LOG.info("encoder initialized from {}", src);
    }

    /**
     * Encoder parameters of a pretraining graph (any method of this project) → the same vertices of g. The ResNet's
     * batch norms carry their running mean and variance along (they are parameters in DL4J).
     */
    public static void copyEncoder(ComputationGraph from, ComputationGraph to, ModelConfig m, String where) {
        if (m.isResNet()) {
            copyResNet(from, to, where);
            return;
        }
        Map<String, INDArray> embed = params(from, MaeGraph.EMBED, where);
        if (embed.containsKey("pos")) {
            throw new IllegalArgumentException(where + " learns its position table (MaPeT); fine-tuning keeps MAE's fixed "
                    + "sin-cos code, so this checkpoint cannot be fine-tuned yet");
        }
        // SBAM projects all patches in embed_all and only gathers (and adds the CLS token) in embed
        Map<String, INDArray> proj = embed.containsKey("W") ? embed : params(from, "embed_all", where);
        Map<String, INDArray> dst = params(to, MaeGraph.EMBED, "the fine-tuning graph");
        assign(dst, "W", proj, where + " embed W");
        assign(dst, "b", proj, where + " embed b");
        assign(dst, "cls", embed, where + " embed cls");
        for (int i = 0; i <= m.depth; i++) {
            String v = i < m.depth ? "enc" + i : MaeGraph.LATENT;
            Map<String, INDArray> s = params(from, v, where), t = params(to, v, "the fine-tuning graph");
            if (!s.keySet().equals(t.keySet())) {
                throw new IllegalArgumentException(where + ": vertex " + v + " has parameters " + s.keySet()
                        + ", the fine-tuning encoder " + t.keySet() + " (LayerScale blocks are not fine-tuned yet)");
            }
            for (String p : t.keySet()) assign(t, p, s, where + " " + v + " " + p);
        }
    }

    /** Every parameterized layer of the fine-tuning ResNet except the head (stem_*, s{i}b{j}_*) from the same name. */
    private static void copyResNet(ComputationGraph from, ComputationGraph to, String where) {
        int copied = 0;
        for (GraphVertex v : to.getVertices()) {
            if (v.numParams() == 0 || v.getVertexName().equals(MaeGraph.HEAD)) continue;
            Map<String, INDArray> s = params(from, v.getVertexName(), where), t = v.paramTable(false);
            for (String p : t.keySet()) assign(t, p, s, where + " " + v.getVertexName() + " " + p);
            copied++;
        }
        if (copied == 0) throw new IllegalStateException("the fine-tuning ResNet has no parameterized layers");
    }

    private static Map<String, INDArray> params(ComputationGraph g, String vertex, String where) {
        GraphVertex v = g.getVertex(vertex);
        if (v == null) {
            throw new IllegalArgumentException(where + " has no vertex '" + vertex + "': not an encoder of this project "
                    + "with the same model.* (ViT: embed, enc0..enc{depth-1}, enc_norm; ResNet: stem_*, s{i}b{j}_*)");
        }
        return v.paramTable(false);
    }

    private static void assign(Map<String, INDArray> dst, String key, Map<String, INDArray> src, String what) {
        INDArray s = src.get(key), t = dst.get(key);
        if (s == null) throw new IllegalArgumentException(what + ": missing (has " + src.keySet() + ")");
        if (!java.util.Arrays.equals(s.shape(), t.shape())) {
            throw new IllegalArgumentException(what + ": shape " + java.util.Arrays.toString(s.shape()) + ", the fine-tuning "
                    + "graph needs " + java.util.Arrays.toString(t.shape()));
        }
        t.assign(s.castTo(t.dataType()));
    }
}
