package org.sparkmim.model.mae;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
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

/**
 * MAE (METHODS.md §1): random (or block) masking, encoder on visible tokens, decoder with mask tokens,
 * (norm-pix) MSE on masked patches only.
 */
public class MaeMethod implements MimMethod {
    protected final ModelConfig model;
    protected final MaskingOperator masking;
    protected final boolean normPix;

    public MaeMethod(ModelConfig model, MimConfig.MethodConfig method) {
        this.model = model;
        this.masking = switch (method.masking()) {
            case "block" -> new BlockMasking(method.maskRatio());
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

    @Override
    public ComputationGraphConfiguration graph(IUpdater updater, double weightDecay, long seed, DataType dataType) {
        return MaeGraph.build(model, updater, weightDecay, seed, dataType, false);
    }

    @Override
    public MultiDataSet prepare(Batch batch) {
        int b = batch.size(), g = model.gridSize(), n = model.tokens(), pd = model.patchDim();
        checkShape(batch);
        SampleMask[] plans = new SampleMask[b];
        for (int i = 0; i < b; i++) {
            plans[i] = masking.sample(g, g, MaskSeeds.stream(batch.runSeed(), batch.epoch(), batch.keys()[i]));
        }
        int k = plans[0].keep();
        float[] patches = new float[b * n * pd];
        float[] keep = new float[b * k];
        float[] slot = new float[b * n];
        float[] mask = new float[b * n];
        int imgLen = batch.height() * batch.width() * batch.channels();
        for (int i = 0; i < b; i++) {
            Patchify.patchify(batch.pixels(), i * imgLen, batch.height(), batch.width(), batch.channels(), model.patch,
                    patches, i * n * pd);
            int[] ids = plans[i].idsKeep();
            int[] restore = plans[i].idsRestore();
            float[] m = plans[i].mask();
            for (int j = 0; j < k; j++) keep[i * k + j] = ids[j];
            for (int t = 0; t < n; t++) {
                slot[i * n + t] = restore[t] < k ? restore[t] : -1;
                mask[i * n + t] = m[t];
            }
        }
        float[] target = patches.clone();
        if (normPix) Patchify.normalizePatches(target, 0, b * n, pd);
        INDArray[] features = {Nd4j.create(patches, new long[]{b, (long) n * pd}), Nd4j.create(keep, new long[]{b, k}),
                Nd4j.create(slot, new long[]{b, n})};
        return new org.nd4j.linalg.dataset.MultiDataSet(features, new INDArray[]{Nd4j.create(target, new long[]{b, n, pd})},
                null, new INDArray[]{Nd4j.create(mask, new long[]{b, n})});
    }

    @Override
    public INDArray features(ComputationGraph graph, Batch batch, boolean cls) {
        int b = batch.size(), n = model.tokens(), pd = model.patchDim();
        checkShape(batch);
        float[] patches = new float[b * n * pd];
        float[] keep = new float[b * n];
        float[] slot = new float[b * n];
        int imgLen = batch.height() * batch.width() * batch.channels();
        for (int i = 0; i < b; i++) {
            Patchify.patchify(batch.pixels(), i * imgLen, batch.height(), batch.width(), batch.channels(), model.patch,
                    patches, i * n * pd);
            for (int t = 0; t < n; t++) {
                keep[i * n + t] = t;
                slot[i * n + t] = t;
            }
        }
        INDArray[] in = {Nd4j.create(patches, new long[]{b, (long) n * pd}), Nd4j.create(keep, new long[]{b, n}),
                Nd4j.create(slot, new long[]{b, n})};
        INDArray lat = graph.feedForward(in, false).get(MaeGraph.LATENT);        // [B, 1+N, D]
        return cls ? lat.get(org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.point(0),
                org.nd4j.linalg.indexing.NDArrayIndex.all()).dup()
                : lat.get(org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.interval(1, 1 + n),
                org.nd4j.linalg.indexing.NDArrayIndex.all()).mean(1);
    }

    protected void checkShape(Batch batch) {
        if (batch.height() != model.imageSize || batch.width() != model.imageSize || batch.channels() != model.channels) {
            throw new IllegalArgumentException("images are " + batch.height() + "x" + batch.width() + "x" + batch.channels()
                    + " but model.image-size=" + model.imageSize + ", model.channels=" + model.channels);
        }
    }
}
