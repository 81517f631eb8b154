package org.sparkmim.model.sbam;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.preprocessor.RnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.sparkmim.masking.MaskSeeds;
import org.sparkmim.masking.RandomMasking;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.config.ModelConfig;
import org.sparkmim.model.mae.MaeGraph;
import org.sparkmim.model.mae.MaeMethod;
import org.sparkmim.model.mae.Patchify;
import org.sparkmim.model.method.Batch;
import org.sparkmim.model.nn.PatchEmbedAll;
import org.sparkmim.model.nn.PlanMaskedMse;
import org.sparkmim.model.nn.PlanSlice;
import org.sparkmim.model.nn.SumLoss;
import org.sparkmim.model.nn.TokenGather;
import org.sparkmim.model.train.Bench;

import java.util.SplittableRandom;

import static org.sparkmim.model.mae.MaeGraph.opt;

/**
 * SBAM + AMR (METHODS.md §2): MAE whose mask is planned from the CURRENT patch embeddings, inside the graph.
 *
 * <pre>
 * inputs: patches [B,N·P]  noise [B,N] ~ U(0,1)  mode [B,1]  targets [B,N,P]      labels: dummy [B,1]
 * embed_all(patches) → X [B,N,D] ──→ plan(X, noise, mode) [B, 2N+1+2·Kmax] → plan_slot / plan_mask /
 *                     │                                                      plan_key_bias / plan_ids_keep
 *                     └→ embed = TokenGather(X, plan_ids_keep) [B,1+Kmax,D] → encoder (key bias: padding)
 *   → MAE decoder (slot: padded encoder rows never referenced) → tokens [B,N,Dd] → head (DenseLayer) [B·N,P]
 *   → loss_terms = PlanMaskedMse(head, targets, plan_mask) [B,1] → loss: LossLayer(SumLoss)
 * </pre>
 * The loss mask is decided in the graph, so the objective is a vertex rather than the head's label mask; the
 * pixel head is still a real DL4J layer (ComputationGraph.numParams counts only Layers).
 * prepare() stays a pure function of (run seed, epoch, key): it supplies the seeded noise and the mode
 * (random masking for the first sbam.warmup-epochs, then saliency); with the same stream as MAE's random
 * masking, warmup masks are exactly MAE's.
 */
public class SbamMethod extends MaeMethod {
    public static final String IN_NOISE = "noise";
    public static final String IN_MODE = "mode";
    public static final String IN_TARGETS = "targets";
    public static final String PLAN = "plan";
    public static final String LOSS_TERMS = "loss_terms";

    private final MimConfig.SbamConfig sbam;
    private final SbamPlanner.Settings settings;

    public SbamMethod(ModelConfig model, MimConfig.MethodConfig method) {
        super(model, method);
        this.sbam = method.sbam();
        this.settings = new SbamPlanner.Settings(method.maskRatio(), sbam.rVar(), sbam.delta(), sbam.noise(), sbam.amr(),
                sbam.perSample());
        if (sbam.amr()) {
            int n = model.tokens();
            int lo = RandomMasking.keepCount(n, Math.min(0.999, method.maskRatio() + sbam.rVar()));
            int hi = RandomMasking.keepCount(n, Math.max(0, method.maskRatio() - sbam.rVar()));
            if (lo < 1 || hi >= n) {
                throw new IllegalArgumentException("mim.method.sbam.r-var=" + sbam.rVar() + " with mask-ratio "
                        + method.maskRatio() + " keeps " + lo + ".." + hi + " of " + n + " tokens: need 1 <= kept < " + n);
            }
        }
    }

    @Override
    public String name() {
        return "sbam";
    }

    @Override
    public ComputationGraphConfiguration graph(IUpdater updater, double weightDecay, long seed, DataType dataType) {
        ModelConfig m = model;
        int g = m.gridSize(), n = m.tokens();
        var gb = MaeGraph.builder(seed, dataType);
        gb.addInputs(MaeGraph.IN_PATCHES, IN_NOISE, IN_MODE, IN_TARGETS);
        gb.addVertex("embed_all", opt(new PatchEmbedAll(m.patchDim(), m.dim, g, g), updater, weightDecay), MaeGraph.IN_PATCHES);
        gb.addVertex(PLAN, new SaliencyPlan(n, settings), "embed_all", IN_NOISE, IN_MODE);
        for (String f : new String[]{PlanSlice.SLOT, PlanSlice.MASK, PlanSlice.KEY_BIAS, PlanSlice.IDS_KEEP}) {
            gb.addVertex(PLAN + "_" + f, new PlanSlice(n, f), PLAN);
        }
        gb.addVertex(MaeGraph.EMBED, opt(new TokenGather(m.dim), updater, weightDecay), "embed_all", PLAN + "_" + PlanSlice.IDS_KEEP);
        MaeGraph.addEncoder(gb, m, updater, weightDecay, MaeGraph.EMBED, PLAN + "_" + PlanSlice.KEY_BIAS);
        MaeGraph.addDecoder(gb, m, updater, weightDecay, PLAN + "_" + PlanSlice.SLOT);
        gb.addLayer(MaeGraph.HEAD, new DenseLayer.Builder().nIn(m.decoderDim).nOut(m.patchDim())
                .activation(Activation.IDENTITY).weightInit(WeightInit.XAVIER_UNIFORM).biasInit(0)
                .updater(updater.clone()).biasUpdater(updater.clone())
                .weightDecay(weightDecay, true).weightDecayBias(0, true).build(),
                new RnnToFeedForwardPreProcessor(RNNFormat.NWC), MaeGraph.TOKENS);
        gb.addVertex(LOSS_TERMS, new PlanMaskedMse(), MaeGraph.HEAD, IN_TARGETS, PLAN + "_" + PlanSlice.MASK);
        gb.addLayer("loss", new LossLayer.Builder(new SumLoss()).activation(Activation.IDENTITY).build(), LOSS_TERMS);
        gb.setOutputs("loss");
        return gb.build();
    }

    /**
     * The saliency-planned masks of this epoch's mode, one forward pass. MAE's version reads the mask from the
     * DataSet's label mask; here the mask is planned inside the graph, so it is read from the plan's mask field
     * (1 = masked) next to the head's predictions, exactly what the loss compares.
     */
    @Override
    public org.sparkmim.model.method.PixelReconstruction.Result reconstruct(org.deeplearning4j.nn.graph.ComputationGraph graph,
                                                                         Batch batch) {
        MultiDataSet mds = prepare(batch);
        int b = batch.size(), n = model.tokens(), pd = model.patchDim();
        // feedForward, not output(names): DL4J's output() of a layer behind a preprocessor leaves a workspace open
        java.util.Map<String, INDArray> act = graph.feedForward(mds.getFeatures(), false);
        INDArray head = act.get(MaeGraph.HEAD), planMask = act.get(PLAN + "_" + PlanSlice.MASK);
        if (head.length() != (long) b * n * pd || planMask.length() != (long) b * n) {
            throw new IllegalStateException("SBAM graph gave " + head.length() + " predictions / " + planMask.length()
                    + " mask entries for " + b + " images of " + n + " tokens x " + pd);
        }
        // the head's rows come from RnnToFeedForwardPreProcessor (NWC) in 'f' order, row = n·B + b: [N, B, P] → [B, N, P]
        float[] pred = head.castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT).reshape('c', n, b, pd).permute(1, 0, 2).dup('c').data().asFloat();
        float[] mask = planMask.castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT).dup('c').data().asFloat(); // [B, N]
        float[] patches = mds.getFeatures(0).castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT).dup('c').data().asFloat();
        return new org.sparkmim.model.method.PixelReconstruction.Result(patches, pred, mask, b, n, pd, normPix);
    }

    /** Mode of every sample in an epoch: random masking during sbam.warmup-epochs, then saliency. */
    public int mode(int epoch) {
        return epoch < sbam.warmupEpochs() ? SbamPlanner.MODE_RANDOM : SbamPlanner.MODE_SALIENCY;
    }

    @Override
    public MultiDataSet prepare(Batch batch) {
        int b = batch.size(), n = model.tokens(), pd = model.patchDim();
        float[] patches = patchify(batch);
        float[] target = patches.clone();
        if (normPix) Patchify.normalizePatches(target, 0, b * n, pd);
        float[] noise = new float[b * n];
        for (int i = 0; i < b; i++) {
            SplittableRandom rng = MaskSeeds.stream(batch.runSeed(), batch.epoch(), batch.keys()[i]);
            for (int t = 0; t < n; t++) noise[i * n + t] = (float) rng.nextDouble();
        }
        return inputs(patches, noise, mode(batch.epoch()), target, b);
    }

    private MultiDataSet inputs(float[] patches, float[] noise, int mode, float[] target, int b) {
        int n = model.tokens(), pd = model.patchDim();
        INDArray[] features = {Nd4j.create(patches, new long[]{b, (long) n * pd}), Nd4j.create(noise, new long[]{b, n}),
                Nd4j.valueArrayOf(new long[]{b, 1}, (float) mode), Nd4j.create(target, new long[]{b, n, pd})};
        return new org.nd4j.linalg.dataset.MultiDataSet(features, new INDArray[]{Nd4j.zeros(org.nd4j.linalg.api.buffer.DataType.FLOAT, b, 1)});
    }

    /** All N tokens through the encoder (plan mode "all": nothing masked, no padding). [B, D] */
    @Override
    public INDArray features(ComputationGraph graph, Batch batch, org.sparkmim.model.method.FeatureSpec spec) {
        if (spec.lastBlocks() > 1) {
            throw new IllegalArgumentException("eval.feature = lastk is not available for method sbam yet; use mean or cls");
        }
        if (spec.grid() > 1) {
            throw new IllegalArgumentException("eval.pool-grid=" + spec.grid() + " is not available for method sbam yet; allowed 1");
        }
        int b = batch.size(), n = model.tokens(), pd = model.patchDim();
        MultiDataSet in = inputs(patchify(batch), new float[b * n], SbamPlanner.MODE_ALL, new float[b * n * pd], b);
        // output() stops at the latent: the decoder, head and loss are not computed
        return pool(graph.output(java.util.List.of(MaeGraph.LATENT), false, in.getFeatures(), null)[0],
                spec.pooling() == org.sparkmim.model.method.FeatureSpec.Pooling.CLS);
    }

    /** MAE's cost at r_base, plus embedding all N tokens and the (forward-only) saliency attention. */
    @Override
    public double trainFlopsPerImage() {
        int n = model.tokens(), k = RandomMasking.keepCount(n, method.maskRatio());
        return Bench.maeFlopsPerImage(model, k) + 3 * 2.0 * (n - k) * model.patchDim() * model.dim + 2.0 * 2 * n * n * model.dim;
    }
}
