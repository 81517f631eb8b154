package org.sparkmim.model.mapet;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.sparkmim.masking.MaskSeeds;
import org.sparkmim.masking.MaskingOperator;
import org.sparkmim.masking.PermutedPrediction;
import org.sparkmim.masking.SampleMask;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.config.ModelConfig;
import org.sparkmim.model.mae.MaeGraph;
import org.sparkmim.model.mae.MaeMethod;
import org.sparkmim.model.method.Batch;
import org.sparkmim.model.method.FeatureSpec;
import org.sparkmim.model.method.MimMethod;
import org.sparkmim.model.nn.LayerNormVertex;
import org.sparkmim.model.nn.MapetEmbed;
import org.sparkmim.model.nn.DropCls;
import org.sparkmim.model.nn.TokenCrossEntropy;
import org.sparkmim.model.nn.TransformerBlock;

import java.util.List;
import java.util.function.Supplier;

import static org.sparkmim.model.mae.MaeGraph.opt;

/**
 * MaPeT (docs/METHODS.md, MaPeT): permuted autoregressive prediction of visual tokens with two-stream attention.
 *
 * <pre>
 * inputs: patches [B, N·P]   pred_ids [B, Np] (predicted patches, grid order)   attn_mask [B, T, Tk]
 *         labels: one-hot token ids of the predicted patches [B, Np, k]
 * embed = MapetEmbed(patches, pred_ids) [B, T, D]   T = 1+N+2·Np: content stream (CLS, N patches, Np mask-position
 *         tokens, Tk = 1+N+Np rows) then the query stream (Np rows)
 *   → enc0..enc{L-1} (TransformerBlock with LayerScale; keys/values = the content stream, attn_mask per image)
 *   → enc_norm [B, T, D] → query = DropCls(Tk) [B, Np, D] → head: RnnOutputLayer D → k, softmax, TokenCrossEntropy
 * </pre>
 * Both streams run through the same weights in one pass because they are rows of one sequence: the content rows
 * attend to the content stream under mask_h, the query rows under mask_q (PermutedPrediction builds both as one
 * [T, Tk] mask). Evaluation runs the content stream as a plain ViT: the mask lets rows 0..N see exactly the CLS
 * and N patch tokens, so rows 0..N of enc_norm are a standard ViT's output (the extra rows are computed and ignored).
 */
public class MapetMethod implements MimMethod {
    public static final String IN_PRED_IDS = "pred_ids";
    public static final String IN_MASK = "attn_mask";
    public static final String QUERY = "query";

    private final ModelConfig model;
    private final MimConfig.MapetConfig cfg;
    private final PermutedPrediction masking;
    private final Supplier<TokenTable> tokens;
    private final int n, np;

    /**
     * @param tokens the per-image targets, opened on first use (evaluation never needs them)
     */
    public MapetMethod(ModelConfig model, MimConfig.MethodConfig method, Supplier<TokenTable> tokens) {
        if (model.isResNet()) {
            throw new IllegalArgumentException("mim.method.name = mapet needs mim.model.backbone = vit (two-stream "
                    + "attention over tokens), got resnet");
        }
        this.model = model;
        this.cfg = method.mapet();
        this.masking = new PermutedPrediction(cfg.contextRatio());
        this.tokens = tokens;
        this.n = model.tokens();
        this.np = masking.predicted(n);
    }

    /** Tokens from the configured directory (mim.method.mapet.tokens). */
    public MapetMethod(ModelConfig model, MimConfig.MethodConfig method) {
        this(model, method, () -> TokenTables.open(method.mapet().tokens()));
    }

    @Override
    public String name() {
        return "mapet";
    }

    /** Np, the predicted patches per image. */
    public int predicted() {
        return np;
    }

    @Override
    public List<MaskingOperator> maskingOperators() {
        return List.of(masking);
    }

    /** The table, checked against this model: its patch and image size must be the model's. */
    public TokenTable table() {
        TokenTable t = tokens.get();
        if (t.patch() != model.patch || t.imageSize() != model.imageSize) {
            throw new IllegalArgumentException("mim.method.mapet.tokens=" + t.location() + " was made at image size "
                    + t.imageSize() + ", patch " + t.patch() + " but this run has model.image-size=" + model.imageSize
                    + ", model.patch=" + model.patch + ": tokenize again with the run's sizes");
        }
        return t;
    }

    @Override
    public ComputationGraphConfiguration graph(IUpdater updater, double weightDecay, long seed, DataType dataType) {
        int k = table().vocab();
        ModelConfig m = model;
        var gb = MaeGraph.builder(seed, dataType);
        gb.addInputs(MaeGraph.IN_PATCHES, IN_PRED_IDS, IN_MASK);
        gb.addVertex(MaeGraph.EMBED, opt(new MapetEmbed(m.patchDim(), m.dim, n), updater, weightDecay),
                MaeGraph.IN_PATCHES, IN_PRED_IDS);
        String prev = MaeGraph.EMBED;
        for (int i = 0; i < m.depth; i++) {
            gb.addVertex("enc" + i, opt(new TransformerBlock(m.dim, m.heads, cfg.layerScale()), updater, weightDecay),
                    prev, IN_MASK);
            prev = "enc" + i;
        }
        gb.addVertex(MaeGraph.LATENT, opt(new LayerNormVertex(m.dim), updater, weightDecay), prev);
        gb.addVertex(QUERY, new DropCls(1 + n + np), MaeGraph.LATENT);      // the query stream [B, Np, D]
        gb.addLayer(MaeGraph.HEAD, new RnnOutputLayer.Builder(new TokenCrossEntropy(np))
                .nIn(m.dim).nOut(k).activation(Activation.SOFTMAX)
                .dataFormat(RNNFormat.NWC).weightInit(WeightInit.XAVIER_UNIFORM).biasInit(0)
                .updater(updater.clone()).biasUpdater(updater.clone())
                .weightDecay(weightDecay, true).weightDecayBias(0, true).build(), QUERY);
        gb.setOutputs(MaeGraph.HEAD);
        return gb.build();
    }

    /** The image's permuted order: seeded by (run seed, epoch, key) like every mask. */
    public SampleMask plan(Batch batch, int i) {
        return masking.sample(model.gridSize(), model.gridSize(),
                MaskSeeds.stream(batch.runSeed(), batch.epoch(), batch.keys()[i]));
    }

    @Override
    public MultiDataSet prepare(Batch batch) {
        TokenTable table = table();
        int b = batch.size(), k = table.vocab();
        int t = PermutedPrediction.rows(n, np), tk = PermutedPrediction.keys(n, np);
        float[] patches = MaeMethod.patchify(model, batch);
        float[] pred = new float[b * np];
        float[] mask = new float[b * t * tk];
        float[] onehot = new float[b * np * k];
        int[] ids = new int[n];
        for (int i = 0; i < b; i++) {
            SampleMask plan = plan(batch, i);
            PermutedPrediction.fillMask(plan, mask, i * t * tk);
            int[] pd = PermutedPrediction.predictedPatches(plan);
            table.fill(batch.keys()[i], ids, 0);
            for (int j = 0; j < np; j++) {
                pred[i * np + j] = pd[j];
                int id = ids[pd[j]];
                if (id < 0 || id >= k) {
                    throw new IllegalStateException("token id " + id + " of image " + batch.keys()[i] + " in "
                            + table.location() + " is outside [0, " + k + ")");
                }
                onehot[(i * np + j) * k + id] = 1f;
            }
        }
        INDArray[] features = {Nd4j.create(patches, new long[]{b, (long) n * model.patchDim()}),
                Nd4j.create(pred, new long[]{b, np}), Nd4j.create(mask, new long[]{b, t, tk})};
        return new org.nd4j.linalg.dataset.MultiDataSet(features, new INDArray[]{Nd4j.create(onehot, new long[]{b, np, k})});
    }

    /**
     * The content stream as a standard ViT over CLS + N patches: every row sees exactly rows 0..N (no mask-position
     * token), so rows 0..N of each block equal a plain ViT's; pred_ids only fill the unused rows.
     */
    @Override
    public INDArray features(ComputationGraph graph, Batch batch, FeatureSpec spec) {
        int b = batch.size();
        INDArray[] fixed = evalInputsBySize.computeIfAbsent(b, this::evalInputs);
        INDArray[] in = {Nd4j.create(MaeMethod.patchify(model, batch), new long[]{b, (long) n * model.patchDim()}),
                fixed[0], fixed[1]};
        return MaeMethod.encoderFeatures(graph, model, in, b, spec);
    }

    /**
     * Evaluation's pred ids [B, Np] and mask [B, T, Tk] are the same for every batch of size B: built once, outside
     * any workspace, and read only by the graph. Rebuilding them per batch cost 44 MB of off-heap memory per batch of
     * 256 that only a GC frees (an evaluation over 70,000 images reached 17 GB resident).
     */
    private final java.util.concurrent.ConcurrentHashMap<Integer, INDArray[]> evalInputsBySize = new java.util.concurrent.ConcurrentHashMap<>();

    private INDArray[] evalInputs(int b) {
        int t = PermutedPrediction.rows(n, np), tk = PermutedPrediction.keys(n, np);
        float[] pred = new float[b * np];
        for (int i = 0; i < b; i++) for (int j = 0; j < np; j++) pred[i * np + j] = j;
        float[] mask = new float[b * t * tk];
        for (int r = 0; r < b * t; r++) {
            java.util.Arrays.fill(mask, r * tk + 1 + n, (r + 1) * tk, PermutedPrediction.BLOCKED);
        }
        try (var ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            return new INDArray[]{Nd4j.create(pred, new long[]{b, np}), Nd4j.create(mask, new long[]{b, t, tk})};
        }
    }

    /**
     * 3 × forward matmul FLOPs: the patch embedding, per block the qkv/proj/MLP gemms on all T rows and attention
     * against Tk keys, and the head on the Np query rows.
     */
    @Override
    public double trainFlopsPerImage() {
        double d = model.dim, t = PermutedPrediction.rows(n, np), tk = PermutedPrediction.keys(n, np);
        int k = table().vocab();
        double perBlock = 24 * t * d * d + 4 * t * tk * d;
        return 3 * (2.0 * n * model.patchDim() * d + model.depth * perBlock + 2.0 * np * d * k);
    }
}
