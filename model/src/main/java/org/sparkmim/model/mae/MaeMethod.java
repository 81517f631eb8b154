package org.sparkmim.model.mae;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.IUpdater;
import org.sparkmim.masking.BlockMasking;
import org.sparkmim.masking.MaskSeeds;
import org.sparkmim.masking.MaskingOperator;
import org.sparkmim.masking.RandomMasking;
import org.sparkmim.masking.SampleMask;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.config.ModelConfig;
import org.sparkmim.model.method.Batch;
import org.sparkmim.model.method.FeatureSpec;
import org.sparkmim.model.method.MimMethod;
import org.sparkmim.model.nn.MaskedPatchMse;
import org.sparkmim.model.train.Bench;
import org.sparkmim.model.method.PixelReconstruction;

import java.util.ArrayList;
import java.util.List;

/**
 * MAE (METHODS.md §1): random (or block) masking, encoder on visible tokens, decoder with mask tokens,
 * (norm-pix) MSE on masked patches only.
 */
public class MaeMethod implements MimMethod, PixelReconstruction {
    protected final ModelConfig model;
    protected final MimConfig.MethodConfig method;
    protected final MaskingOperator masking;
    protected final boolean normPix;

    public MaeMethod(ModelConfig model, MimConfig.MethodConfig method) {
        this.model = model;
        this.method = method;
        MimConfig.BlockConfig bc = method.block();
        this.masking = switch (method.masking()) {
            case "block" -> new BlockMasking(method.maskRatio(), bc.minPatches(), bc.maxPatches(), bc.minAspect());
            default -> new RandomMasking(method.maskRatio());
        };
        this.normPix = method.normPix();
        // fail at construction, not mid-run, if the ratio leaves nothing to encode or nothing to predict
        int n = model.tokens(), k = RandomMasking.keepCount(n, method.maskRatio());
        if (k < 1 || k >= n) {
            throw new IllegalArgumentException("method.mask-ratio=" + method.maskRatio() + " keeps " + k + " of " + n
                    + " tokens: need 1 <= kept < " + n);
        }
    }

    @Override
    public String name() {
        return "mae";
    }

    public ModelConfig model() {
        return model;
    }

    public MaskingOperator masking() {
        return masking;
    }

    @Override
    public ComputationGraphConfiguration graph(IUpdater updater, double weightDecay, long seed, DataType dataType) {
        return MaeGraph.build(model, updater, weightDecay, seed, dataType, false, new MaskedPatchMse(model.tokens()));
    }

    @Override
    public MultiDataSet prepare(Batch batch) {
        SampleMask[][] plans = new SampleMask[batch.size()][];
        for (int i = 0; i < batch.size(); i++) {
            plans[i] = new SampleMask[]{masking.sample(model.gridSize(), model.gridSize(),
                    MaskSeeds.stream(batch.runSeed(), batch.epoch(), batch.keys()[i]))};
        }
        return assemble(batch, plans);
    }

    @Override
    public double trainFlopsPerImage() {
        return Bench.maeFlopsPerImage(model, RandomMasking.keepCount(model.tokens(), method.maskRatio()));
    }

    /**
     * The MAE graph's MultiDataSet for R plans per image (R = 1 for MAE, K for EMAE), all with the same keep
     * count. Row b·R + r of every array is image b under plan r.
     *
     * <pre>
     * features: patches [B·R, N·P], ids_keep [B·R, K], slot [B·R, N] (−1 = masked)
     * labels:   targets [B·R, N, P] (norm-pix if on);  label mask [B·R, N] (1 = masked)
     * </pre>
     */
    protected MultiDataSet assemble(Batch batch, SampleMask[][] plans) {
        int b = batch.size(), n = model.tokens(), pd = model.patchDim(), r = plans[0].length;
        int k = plans[0][0].keep(), rows = b * r;
        float[] img = patchify(batch);                       // [B, N·P]
        float[] target = img.clone();
        if (normPix) Patchify.normalizePatches(target, 0, b * n, pd);
        float[] patches = new float[rows * n * pd];
        float[] targets = new float[rows * n * pd];
        float[] keep = new float[rows * k];
        float[] slot = new float[rows * n];
        float[] mask = new float[rows * n];
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < r; j++) {
                int row = i * r + j;
                SampleMask p = plans[i][j];
                if (p.keep() != k) throw new IllegalStateException("plans keep " + p.keep() + " and " + k + " tokens");
                System.arraycopy(img, i * n * pd, patches, row * n * pd, n * pd);
                System.arraycopy(target, i * n * pd, targets, row * n * pd, n * pd);
                int[] ids = p.idsKeep();
                int[] restore = p.idsRestore();
                for (int t = 0; t < k; t++) keep[row * k + t] = ids[t];
                for (int t = 0; t < n; t++) {
                    slot[row * n + t] = restore[t] < k ? restore[t] : -1;
                    mask[row * n + t] = restore[t] < k ? 0 : 1;
                }
            }
        }
        INDArray[] features = {Nd4j.create(patches, new long[]{rows, (long) n * pd}), Nd4j.create(keep, new long[]{rows, k}),
                Nd4j.create(slot, new long[]{rows, n})};
        return new org.nd4j.linalg.dataset.MultiDataSet(features, new INDArray[]{Nd4j.create(targets, new long[]{rows, n, pd})},
                null, new INDArray[]{Nd4j.create(mask, new long[]{rows, n})});
    }

    /** The batch's images in MAE patch order: [B, N·P]. */
    protected float[] patchify(Batch batch) {
        return patchify(model, batch);
    }

    /** The batch's images in MAE patch order: [B, N·P], after checking they have the model's shape. */
    public static float[] patchify(ModelConfig model, Batch batch) {
        checkShape(model, batch);
        int b = batch.size(), n = model.tokens(), pd = model.patchDim();
        float[] patches = new float[b * n * pd];
        int imgLen = batch.height() * batch.width() * batch.channels();
        for (int i = 0; i < b; i++) {
            Patchify.patchify(batch.pixels(), i * imgLen, batch.height(), batch.width(), batch.channels(), model.patch,
                    patches, i * n * pd);
        }
        return patches;
    }

    /**
     * The encoder on all N tokens: ids_keep = identity (every token, grid order), so no token is masked and each
     * keeps its own position code. Only the encoder vertices run (DL4J stops at the last requested vertex in
     * topological order; the decoder depends on enc_norm, so it is never computed).
     */
    @Override
    public INDArray features(ComputationGraph graph, Batch batch, FeatureSpec spec) {
        int b = batch.size(), n = model.tokens(), pd = model.patchDim();
        float[] patches = patchify(batch);
        float[] ids = new float[b * n];
        for (int i = 0; i < b; i++) {
            for (int t = 0; t < n; t++) ids[i * n + t] = t;
        }
        INDArray idsArr = Nd4j.create(ids, new long[]{b, n});
        // slot (decoder input) must be supplied because DL4J checks the input count; it is not used here
        INDArray[] in = {Nd4j.create(patches, new long[]{b, (long) n * pd}), idsArr, idsArr.dup()};
        return encoderFeatures(graph, model, in, b, spec);
    }

    /**
     * Pooled encoder features [B, F] of a graph whose encoder blocks are enc0..enc{L-1} → {@link MaeGraph#LATENT}
     * with outputs [B, R ≥ 1+N, D] (all N tokens first): CLS, or the mean over the spec's grid cells, of the last
     * spec.lastBlocks() blocks. Shared by every method built on MaeGraph's encoder.
     */
    public static INDArray encoderFeatures(ComputationGraph graph, ModelConfig model, INDArray[] in, int b, FeatureSpec spec) {
        int n = model.tokens(), d = model.dim;
        if (spec.lastBlocks() > model.depth) {
            throw new IllegalArgumentException("eval.last-k=" + spec.lastBlocks() + " exceeds model.depth=" + model.depth);
        }
        int side = model.gridSize(), cells = spec.grid() * spec.grid();
        if (spec.grid() > side) {
            throw new IllegalArgumentException("eval.pool-grid=" + spec.grid() + " exceeds the " + side + "x" + side
                    + " token grid (model.image-size / model.patch); allowed 1.." + side);
        }
        List<String> names = new ArrayList<>();
        for (int i = model.depth - spec.lastBlocks(); i < model.depth - 1; i++) names.add("enc" + i);
        names.add(MaeGraph.LATENT);
        INDArray[] acts = graph.output(names, false, in, null);              // each [B, 1+N, D]
        int[] cellOf = new int[n];
        for (int t = 0; t < n; t++) cellOf[t] = spec.cellOf(t, side);
        int blockWidth = cells * d;                                           // one block's pooled feature
        float[] out = new float[b * blockWidth * acts.length];
        int f = blockWidth * acts.length;
        for (int a = 0; a < acts.length; a++) {
            float[] lat = acts[a].castTo(DataType.FLOAT).dup('c').data().asFloat(); // row-major [B, R, D]
            // R = 1+N, or more for MaPeT, whose rows after CLS + N patches (mask-position and query tokens) are not
            // features
            int rows = (int) acts[a].size(1);
            boolean last = a == acts.length - 1;
            for (int i = 0; i < b; i++) {
                int base = i * rows * d;
                if (spec.pooling() == FeatureSpec.Pooling.CLS) {
                    System.arraycopy(lat, base, out, i * f, d);
                } else {
                    // earlier blocks' outputs are the un-normalized residual stream: normalize each token (LayerNorm
                    // without affine) so every concatenated block enters the pooled feature on the same scale
                    poolTokens(lat, base + d, n, d, !last, cellOf, cells, out, i * f + a * blockWidth);
                }
            }
        }
        return Nd4j.create(out, new long[]{b, f});
    }

    /**
     * Mean of the n tokens [n, d] at src[off..] within each of `cells` cells (token t in cell cellOf[t]),
     * optionally LayerNorm-ing (no affine) each token first → dst[dOff .. dOff + cells·d], cell-major.
     */
    public static void poolTokens(float[] src, int off, int n, int d, boolean normalize, int[] cellOf, int cells, float[] dst, int dOff) {
        double[] acc = new double[cells * d];
        int[] count = new int[cells];
        for (int t = 0; t < n; t++) {
            int o = off + t * d;
            double mean = 0, inv = 1;
            if (normalize) {
                double s = 0, ss = 0;
                for (int k = 0; k < d; k++) s += src[o + k];
                mean = s / d;
                for (int k = 0; k < d; k++) ss += (src[o + k] - mean) * (src[o + k] - mean);
                inv = 1 / Math.sqrt(ss / d + 1e-6);
            }
            int cell = cellOf[t];
            count[cell]++;
            for (int k = 0; k < d; k++) acc[cell * d + k] += (src[o + k] - mean) * inv;
        }
        for (int c = 0; c < cells; c++) {
            for (int k = 0; k < d; k++) dst[dOff + c * d + k] = (float) (acc[c * d + k] / count[c]);
        }
    }

    /** The method's own masks, one forward pass: what the model predicts for each masked patch. */
    @Override
    public PixelReconstruction.Result reconstruct(ComputationGraph graph, Batch batch) {
        MultiDataSet mds = prepare(batch);
        INDArray pred = graph.output(false, mds.getFeatures())[0];             // [B, N, P]
        int b = batch.size(), n = model.tokens(), pd = model.patchDim();
        float[] patches = mds.getFeatures(0).castTo(DataType.FLOAT).dup('c').data().asFloat();
        return new PixelReconstruction.Result(patches, pred.castTo(DataType.FLOAT).dup('c').data().asFloat(),
                mds.getLabelsMaskArray(0).castTo(DataType.FLOAT).dup('c').data().asFloat(), b, n, pd, normPix);
    }

    @Override
    public List<MaskingOperator> maskingOperators() {
        return List.of(masking);
    }

    /** Latent [B, 1+T, D] → CLS [B, D] or the mean of the T tokens [B, D]. */
    protected static INDArray pool(INDArray lat, boolean cls) {
        long t = lat.size(1);
        return cls ? lat.get(NDArrayIndex.all(), NDArrayIndex.point(0), NDArrayIndex.all()).dup()
                : lat.get(NDArrayIndex.all(), NDArrayIndex.interval(1, t), NDArrayIndex.all()).mean(1);
    }

    protected void checkShape(Batch batch) {
        checkShape(model, batch);
    }

    public static void checkShape(ModelConfig model, Batch batch) {
        if (batch.height() != model.imageSize || batch.width() != model.imageSize || batch.channels() != model.channels) {
            throw new IllegalArgumentException("images are " + batch.height() + "x" + batch.width() + "x" + batch.channels()
                    + " but model.image-size=" + model.imageSize + ", model.channels=" + model.channels);
        }
    }
}
