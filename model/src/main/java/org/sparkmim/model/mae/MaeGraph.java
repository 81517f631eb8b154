package org.sparkmim.model.mae;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.weights.WeightInit;
import org.sparkmim.model.nn.DropCls;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.sparkmim.model.config.ModelConfig;
import org.sparkmim.model.nn.LayerNormVertex;
import org.sparkmim.model.nn.MaeDecoderEmbed;
import org.sparkmim.model.nn.MaskedPatchMse;
import org.sparkmim.model.nn.ParamVertexConf;
import org.sparkmim.model.nn.PatchEmbed;
import org.sparkmim.model.nn.TransformerBlock;

/**
 * The MAE encoder-decoder as a DL4J ComputationGraph of our hand-written vertices.
 *
 * <pre>
 * inputs:  patches [B, N·P]   ids_keep [B, K]   slot [B, N]   (+ key_bias [B, 1+K] if keyPadding)
 * embed(patches, ids_keep) → [B,1+K,D] → enc0..enc{L-1} → enc_norm  (= the encoder; "enc_norm" is the latent)
 * dec_embed(enc_norm, slot) → [B,1+N,Dd] → dec0..dec{Ld-1} → dec_norm → tokens [B,N,Dd]
 *     → head: RnnOutputLayer (NWC) → pred [B, N, P], MaskedPatchMse against labels [B, N, P], label mask [B, N]
 * </pre>
 * The encoder and decoder stacks are public building blocks so methods with another front or tail (SBAM's
 * in-graph plan) share them exactly.
 */
public final class MaeGraph {
    public static final String IN_PATCHES = "patches";
    public static final String IN_IDS_KEEP = "ids_keep";
    public static final String IN_SLOT = "slot";
    public static final String IN_KEY_BIAS = "key_bias";
    public static final String EMBED = "embed";
    public static final String LATENT = "enc_norm";
    public static final String TOKENS = "tokens";
    public static final String HEAD = "head";

    private MaeGraph() { }

    /** The MAE graph with MAE's loss. */
    public static ComputationGraphConfiguration build(ModelConfig m, IUpdater updater, double weightDecay, long seed,
                                                      DataType dt, boolean keyPadding) {
        return build(m, updater, weightDecay, seed, dt, keyPadding, new MaskedPatchMse(m.tokens()));
    }

    /**
     * @param keyPadding add the key_bias input to encoder blocks (variable visible counts per sample)
     * @param loss       the head's objective on pred [B, N, P] vs labels [B, N, P] with label mask [B, N]
     *                   (MaskedPatchMse for MAE; EmaeLoss for EMAE's B·K rows)
     */
    public static ComputationGraphConfiguration build(ModelConfig m, IUpdater updater, double weightDecay, long seed,
                                                      DataType dt, boolean keyPadding, ILossFunction loss) {
        int g = m.gridSize();
        var gb = builder(seed, dt);
        if (keyPadding) gb.addInputs(IN_PATCHES, IN_IDS_KEEP, IN_SLOT, IN_KEY_BIAS);
        else gb.addInputs(IN_PATCHES, IN_IDS_KEEP, IN_SLOT);
        gb.addVertex(EMBED, opt(new PatchEmbed(m.patchDim(), m.dim, g, g), updater, weightDecay), IN_PATCHES, IN_IDS_KEEP);
        addEncoder(gb, m, updater, weightDecay, EMBED, keyPadding ? IN_KEY_BIAS : null);
        addDecoder(gb, m, updater, weightDecay, IN_SLOT);
        // The pixel head is a real DL4J layer on purpose: ComputationGraph.numParams() counts only Layers, and
        // fit() silently does nothing when it is 0. Keeping one Layer with parameters keeps every instance of the
        // graph trainable, including the plain ComputationGraph that Spark workers rebuild from JSON.
        gb.addLayer(HEAD, new RnnOutputLayer.Builder(loss)
                .nIn(m.decoderDim).nOut(m.patchDim()).activation(Activation.IDENTITY)
                .dataFormat(RNNFormat.NWC).weightInit(WeightInit.XAVIER_UNIFORM).biasInit(0)
                .updater(updater.clone()).biasUpdater(updater.clone())
                .weightDecay(weightDecay, true).weightDecayBias(0, true).build(), TOKENS);
        gb.setOutputs(HEAD);
        return gb.build();
    }

    /** Graph builder with the settings every MIM graph needs (workspaces ENABLED for gradient sharing). */
    public static ComputationGraphConfiguration.GraphBuilder builder(long seed, DataType dt) {
        return new NeuralNetConfiguration.Builder()
                .seed(initSeed(seed))
                .updater(new org.nd4j.linalg.learning.config.NoOp()) // only param-free layers use it
                .dataType(dt)
                .trainingWorkspaceMode(WorkspaceMode.ENABLED)
                .inferenceWorkspaceMode(WorkspaceMode.ENABLED)
                .graphBuilder();
    }

    /**
     * The ND4J RNG seed for a run seed. ND4J's native RNG treats seed 0 as "no seed": after setSeed(0) every
     * process draws different numbers (measured: a 1000-element rand summed to 510.2 and 506.7 in two JVMs, while
     * seeds 1, 2, -1 repeat exactly). run.seed = 0 is the default, so the initial weights, and with them the
     * random-init floor of evaluate, changed from process to process and from engine to engine. A splitmix64 mix
     * keeps distinct run seeds distinct and never yields 0.
     */
    public static long initSeed(long runSeed) {
        long z = runSeed + 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z = z ^ (z >>> 31);
        return z != 0 ? z : 1;
    }

    /** embedded [B,1+K,D] → enc0..enc{L-1} (each also fed keyBias [B,1+K] if not null) → {@link #LATENT}. */
    public static void addEncoder(ComputationGraphConfiguration.GraphBuilder gb, ModelConfig m, IUpdater updater,
                                  double weightDecay, String embedded, String keyBias) {
        addEncoder(gb, m, updater, weightDecay, embedded, keyBias, null);
    }

    /**
     * As above, with a hook that may add vertices in front of block i (A2MIM's mask token before block k): it gets
     * (i, the name of block i's input) and returns the name block i should read instead.
     */
    public static void addEncoder(ComputationGraphConfiguration.GraphBuilder gb, ModelConfig m, IUpdater updater,
                                  double weightDecay, String embedded, String keyBias,
                                  java.util.function.BiFunction<Integer, String, String> beforeBlock) {
        addEncoder(gb, m, i -> updater, weightDecay, embedded, keyBias, beforeBlock);
    }

    /**
     * As above with an updater per layer: {@code updaterOf.apply(i)} for block i, {@code apply(m.depth)} for the
     * final norm (fine-tuning's layer-wise LR decay).
     */
    public static void addEncoder(ComputationGraphConfiguration.GraphBuilder gb, ModelConfig m,
                                  java.util.function.IntFunction<IUpdater> updaterOf, double weightDecay, String embedded,
                                  String keyBias, java.util.function.BiFunction<Integer, String, String> beforeBlock) {
        String prev = embedded;
        for (int i = 0; i < m.depth; i++) {
            if (beforeBlock != null) prev = beforeBlock.apply(i, prev);
            String name = "enc" + i;
            var blk = opt(new TransformerBlock(m.dim, m.heads), updaterOf.apply(i), weightDecay);
            if (keyBias != null) gb.addVertex(name, blk, prev, keyBias);
            else gb.addVertex(name, blk, prev);
            prev = name;
        }
        gb.addVertex(LATENT, opt(new LayerNormVertex(m.dim), updaterOf.apply(m.depth), weightDecay), prev);
    }

    /** {@link #LATENT} + slot [B,N] → dec_embed → dec blocks → dec_norm → {@link #TOKENS} [B,N,Dd]. */
    public static void addDecoder(ComputationGraphConfiguration.GraphBuilder gb, ModelConfig m, IUpdater updater,
                                  double weightDecay, String slot) {
        int g = m.gridSize();
        gb.addVertex("dec_embed", opt(new MaeDecoderEmbed(m.dim, m.decoderDim, g, g), updater, weightDecay), LATENT, slot);
        String prev = "dec_embed";
        for (int i = 0; i < m.decoderDepth; i++) {
            String name = "dec" + i;
            gb.addVertex(name, opt(new TransformerBlock(m.decoderDim, m.decoderHeads), updater, weightDecay), prev);
            prev = name;
        }
        gb.addVertex("dec_norm", opt(new LayerNormVertex(m.decoderDim), updater, weightDecay), prev);
        gb.addVertex(TOKENS, new DropCls(), "dec_norm");
    }

    /**
     * {@link #TOKENS} [B, N, D] → {@link #HEAD}: one linear map D → P per token (DenseLayer behind
     * RnnToFeedForwardPreProcessor(NWC), rows n·B + b), the per-token form of a 1×1 conv + PixelShuffle(p). The
     * head of the methods without a decoder (ROPIM, A2MIM); a real Layer, so numParams() counts the graph.
     */
    public static void addTokenHead(ComputationGraphConfiguration.GraphBuilder gb, ModelConfig m, IUpdater updater,
                                    double weightDecay) {
        addTokenHead(gb, m.dim, m.patchDim(), updater, weightDecay);
    }

    /** The per-token linear head on {@link #TOKENS} [B, N, nIn] → {@link #HEAD} [B·N, P] (a ResNet's nIn = its channels). */
    public static void addTokenHead(ComputationGraphConfiguration.GraphBuilder gb, int nIn, int patchDim, IUpdater updater,
                                    double weightDecay) {
        gb.addLayer(HEAD, new org.deeplearning4j.nn.conf.layers.DenseLayer.Builder().nIn(nIn).nOut(patchDim)
                .activation(Activation.IDENTITY).weightInit(WeightInit.XAVIER_UNIFORM).biasInit(0)
                .updater(updater.clone()).biasUpdater(updater.clone())
                .weightDecay(weightDecay, true).weightDecayBias(0, true).build(),
                new org.deeplearning4j.nn.conf.preprocessor.RnnToFeedForwardPreProcessor(RNNFormat.NWC), TOKENS);
    }

    /** Give a parameterized vertex the run's updater (own copy) and weight decay. */
    public static <T extends ParamVertexConf> T opt(T v, IUpdater updater, double wd) {
        v.updater = updater.clone();
        v.weightDecay = wd;
        return v;
    }
}
