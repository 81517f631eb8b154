package org.sparkmim.model.ropim;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.sparkmim.masking.MaskSeeds;
import org.sparkmim.masking.OrthogonalProjection;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.config.ModelConfig;
import org.sparkmim.model.mae.MaeGraph;
import org.sparkmim.model.mae.MaeMethod;
import org.sparkmim.model.method.Batch;
import org.sparkmim.model.method.FeatureSpec;
import org.sparkmim.model.method.MimMethod;
import org.sparkmim.model.method.PixelReconstruction;
import org.sparkmim.model.nn.ComplementL1;
import org.sparkmim.model.nn.DropCls;
import org.sparkmim.model.nn.SketchPatchEmbed;
import org.sparkmim.model.nn.SumLoss;
import org.sparkmim.model.train.Bench;

import java.util.Map;

import static org.sparkmim.model.mae.MaeGraph.opt;

/**
 * ROPIM (docs/METHODS.md, ROPIM): nothing is masked. Each image's patch embeddings are projected along the token
 * axis onto a random subspace (count sketch), all N tokens run through the encoder, a per-token linear head
 * predicts the pixels, and the loss is the L1 norm of the residual on the complement of that subspace.
 *
 * <pre>
 * inputs: patches [B, N·P]   sketch [B, 3N]   targets [B, N, P]          labels: dummy [B, 1]
 * embed = SketchPatchEmbed(patches, sketch) [B, 1+N, D] → enc0..enc{L-1} → enc_norm (the latent, as MAE's)
 *   → tokens = DropCls [B, N, D] → head: DenseLayer D → P [N·B, P]
 *   → loss_terms = ComplementL1(head, targets, sketch) [B, 1] → loss: LossLayer(SumLoss)
 * </pre>
 * The encoder is MaeGraph's, vertex for vertex, so evaluation, export and the trainer treat a ROPIM run like any
 * other. There is no decoder transformer and no mask token. The targets are the normalized pixels (the released
 * code has no norm-pix), so method.norm-pix, mask-ratio and masking do not apply.
 */
public class RopimMethod implements MimMethod, PixelReconstruction {
    public static final String IN_SKETCH = "sketch";
    public static final String IN_TARGETS = "targets";
    public static final String LOSS_TERMS = "loss_terms";

    private final ModelConfig model;
    private final OrthogonalProjection projection;

    public RopimMethod(ModelConfig model, MimConfig.MethodConfig method) {
        this.model = model;
        MimConfig.RopimConfig rc = method.ropim();
        this.projection = new OrthogonalProjection(rc.sketchRatio(), rc.exact());
        int n = model.tokens(), d = projection.buckets(n);
        if (d >= n) {
            throw new IllegalArgumentException("mim.method.ropim.sketch-ratio=" + rc.sketchRatio() + " gives d' = " + d
                    + " buckets for N = " + n + " tokens: the projection keeps everything and the loss is 0; need d' < N"
                    + " (sketch-ratio < " + (n - 1.0) / n + ")");
        }
    }

    @Override
    public String name() {
        return "ropim";
    }

    public OrthogonalProjection projection() {
        return projection;
    }

    @Override
    public ComputationGraphConfiguration graph(IUpdater updater, double weightDecay, long seed, DataType dataType) {
        ModelConfig m = model;
        int g = m.gridSize();
        var gb = MaeGraph.builder(seed, dataType);
        gb.addInputs(MaeGraph.IN_PATCHES, IN_SKETCH, IN_TARGETS);
        gb.addVertex(MaeGraph.EMBED, opt(new SketchPatchEmbed(m.patchDim(), m.dim, g, g), updater, weightDecay),
                MaeGraph.IN_PATCHES, IN_SKETCH);
        MaeGraph.addEncoder(gb, m, updater, weightDecay, MaeGraph.EMBED, null);
        gb.addVertex(MaeGraph.TOKENS, new DropCls(), MaeGraph.LATENT);
        MaeGraph.addTokenHead(gb, m, updater, weightDecay);
        gb.addVertex(LOSS_TERMS, new ComplementL1(), MaeGraph.HEAD, IN_TARGETS, IN_SKETCH);
        gb.addLayer("loss", new LossLayer.Builder(new SumLoss()).activation(Activation.IDENTITY).build(), LOSS_TERMS);
        gb.setOutputs("loss");
        return gb.build();
    }

    /** The image's sketch for this epoch: a pure function of (run seed, epoch, key), as every mask is. */
    public OrthogonalProjection.Sketch sketch(Batch batch, int i) {
        return projection.sample(model.tokens(), MaskSeeds.stream(batch.runSeed(), batch.epoch(), batch.keys()[i]));
    }

    @Override
    public MultiDataSet prepare(Batch batch) {
        int b = batch.size(), n = model.tokens();
        float[] sk = new float[b * 3 * n];
        for (int i = 0; i < b; i++) SketchPatchEmbed.encode(sketch(batch, i), sk, i * 3 * n);
        return inputs(MaeMethod.patchify(model, batch), sk, b);
    }

    private MultiDataSet inputs(float[] patches, float[] sketch, int b) {
        int n = model.tokens(), pd = model.patchDim();
        // the targets are the patches themselves: one buffer, two views, so the executor's data path copies it once
        INDArray p = Nd4j.create(patches, new long[]{b, (long) n * pd});
        INDArray[] features = {p, Nd4j.create(sketch, new long[]{b, 3L * n}), p.reshape('c', b, n, pd)};
        return new org.nd4j.linalg.dataset.MultiDataSet(features, new INDArray[]{Nd4j.zeros(DataType.FLOAT, b, 1)});
    }

    /** The identity sketch (P = I) for every image: what the encoder sees at evaluation. */
    private float[] identitySketches(int b) {
        int n = model.tokens();
        float[] sk = new float[b * 3 * n];
        OrthogonalProjection.Sketch id = OrthogonalProjection.identity(n);
        for (int i = 0; i < b; i++) SketchPatchEmbed.encode(id, sk, i * 3 * n);
        return sk;
    }

    /** All N tokens, unprojected (P = I), through the encoder; pooled as for MAE. [B, F] */
    @Override
    public INDArray features(ComputationGraph graph, Batch batch, FeatureSpec spec) {
        int b = batch.size();
        MultiDataSet in = inputs(MaeMethod.patchify(model, batch), identitySketches(b), b);
        return MaeMethod.encoderFeatures(graph, model, in.getFeatures(), b, spec);
    }

    /**
     * The encoder on N tokens (no masking) plus the per-token head; no decoder. The projection and the loss are
     * O(N·D) and O(N·P) per image and are left out.
     */
    @Override
    public double trainFlopsPerImage() {
        return Bench.encoderFlopsPerImage(model, model.tokens());
    }

    /**
     * One forward pass with this epoch's sketches. The grid's columns: the original, the projected input mapped
     * back to pixel space (P x: what the projection leaves of the image), the reconstruction, and the complement
     * residual (I − P)(x − rec) that the loss measures.
     */
    @Override
    public PixelReconstruction.Result reconstruct(ComputationGraph graph, Batch batch) {
        MultiDataSet mds = prepare(batch);
        int b = batch.size(), n = model.tokens(), pd = model.patchDim();
        Map<String, INDArray> act = graph.feedForward(mds.getFeatures(), false);
        float[] pred = PixelReconstruction.tokenRows(act.get(MaeGraph.HEAD), b, n, pd, "ROPIM");
        float[] patches = mds.getFeatures(0).castTo(DataType.FLOAT).dup('c').data().asFloat();
        OrthogonalProjection.Sketch[] sk = SketchPatchEmbed.decodeAll(mds.getFeatures(1), n);
        double[] px = new double[patches.length], res = new double[patches.length];
        for (int i = 0; i < patches.length; i++) {
            px[i] = patches[i];
            res[i] = patches[i] - pred[i];
        }
        SketchPatchEmbed.project(sk, px, n, pd);
        ComplementL1.complement(sk, res, n, pd);                               // exactly what the loss measures
        float[] input = new float[patches.length], residual = new float[patches.length];
        for (int i = 0; i < patches.length; i++) {
            input[i] = (float) px[i];
            residual[i] = (float) res[i];
        }
        return new PixelReconstruction.Result(patches, pred, new float[b * n], b, n, pd, false, input, residual);
    }
}
