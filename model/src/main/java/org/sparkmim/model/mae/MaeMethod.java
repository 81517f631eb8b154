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
import org.sparkmim.model.method.MimMethod;
import org.sparkmim.model.nn.MaskedPatchMse;
import org.sparkmim.model.train.Bench;

/**
 * MAE (METHODS.md §1): random (or block) masking, encoder on visible tokens, decoder with mask tokens,
 * (norm-pix) MSE on masked patches only.
 */
public class MaeMethod implements MimMethod {
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
        checkShape(batch);
        int b = batch.size(), n = model.tokens(), pd = model.patchDim();
        float[] patches = new float[b * n * pd];
        int imgLen = batch.height() * batch.width() * batch.channels();
        for (int i = 0; i < b; i++) {
            Patchify.patchify(batch.pixels(), i * imgLen, batch.height(), batch.width(), batch.channels(), model.patch,
                    patches, i * n * pd);
        }
        return patches;
    }

    @Override
    public INDArray features(ComputationGraph graph, Batch batch, boolean cls) {
        int b = batch.size(), n = model.tokens(), pd = model.patchDim();
        float[] patches = patchify(batch);
        float[] keep = new float[b * n];
        float[] slot = new float[b * n];
        for (int i = 0; i < b; i++) {
            for (int t = 0; t < n; t++) {
                keep[i * n + t] = t;
                slot[i * n + t] = t;
            }
        }
        INDArray[] in = {Nd4j.create(patches, new long[]{b, (long) n * pd}), Nd4j.create(keep, new long[]{b, n}),
                Nd4j.create(slot, new long[]{b, n})};
        return pool(graph.feedForward(in, false).get(MaeGraph.LATENT), cls);
    }

    /** Latent [B, 1+T, D] → CLS [B, D] or the mean of the T tokens [B, D]. */
    protected static INDArray pool(INDArray lat, boolean cls) {
        long t = lat.size(1);
        return cls ? lat.get(NDArrayIndex.all(), NDArrayIndex.point(0), NDArrayIndex.all()).dup()
                : lat.get(NDArrayIndex.all(), NDArrayIndex.interval(1, t), NDArrayIndex.all()).mean(1);
    }

    protected void checkShape(Batch batch) {
        if (batch.height() != model.imageSize || batch.width() != model.imageSize || batch.channels() != model.channels) {
            throw new IllegalArgumentException("images are " + batch.height() + "x" + batch.width() + "x" + batch.channels()
                    + " but model.image-size=" + model.imageSize + ", model.channels=" + model.channels);
        }
    }
}
