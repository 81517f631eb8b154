package org.sparkmim.model.mae;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.learning.config.NoOp;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.config.ModelConfig;
import org.sparkmim.model.method.Batch;
import org.sparkmim.model.nn.MaskedPatchMse;
import org.sparkmim.model.nn.SinCosPosEmbed;

import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** METHODS.md §1 invariants that live in the model: patchify order, loss support, norm-pix, unshuffle. */
public class MaeInvariantsTest {

    static ModelConfig small() {
        return org.sparkmim.model.fixtures.TinyModels.of(8, 2, 3, 16);
    }

    public static Batch randomBatch(ModelConfig m, int b, long seed) {
        Random r = new Random(seed);
        float[] px = new float[b * m.imageSize * m.imageSize * m.channels];
        for (int i = 0; i < px.length; i++) px[i] = (float) r.nextGaussian();
        String[] keys = new String[b];
        for (int i = 0; i < b; i++) keys[i] = "img/" + i;
        return new Batch(px, b, m.imageSize, m.imageSize, m.channels, keys, 3, 42L);
    }

    static MaeMethod method(ModelConfig m, double ratio) {
        return new MaeMethod(m, new MimConfig.MethodConfig("mae", ratio, "random", true));
    }

    @Test
    void patchifyFollowsMaeOrderAndInverts() {
        int h = 8, w = 8, c = 3, p = 2, g = 4;
        float[] img = new float[h * w * c];
        for (int i = 0; i < img.length; i++) img[i] = i;
        float[] patches = new float[img.length];
        Patchify.patchify(img, 0, h, w, c, p, patches, 0);
        for (int r = 0; r < g; r++)
            for (int col = 0; col < g; col++)
                for (int i = 0; i < p; i++)
                    for (int j = 0; j < p; j++)
                        for (int ch = 0; ch < c; ch++) {
                            int n = r * g + col;
                            float expected = img[((r * p + i) * w + col * p + j) * c + ch]; // img[ch, r·p+i, c·p+j]
                            assertThat(patches[n * p * p * c + (i * p + j) * c + ch]).isEqualTo(expected);
                        }
        float[] back = new float[img.length];
        Patchify.unpatchify(patches, 0, h, w, c, p, back, 0);
        assertThat(back).containsExactly(img);
    }

    @Test
    void normPixTargetsHaveZeroMeanUnitUnbiasedVariancePerPatch() {
        ModelConfig m = small();
        MultiDataSet mds = method(m, 0.75).prepare(randomBatch(m, 4, 1));
        INDArray t = mds.getLabels(0).reshape(4L * m.tokens(), m.patchDim());
        INDArray mean = t.mean(1);
        INDArray var = t.var(true, 1);
        for (int i = 0; i < mean.length(); i++) {
            assertThat(mean.getDouble(i)).isCloseTo(0, within(1e-5));
            assertThat(var.getDouble(i)).isCloseTo(1, within(1e-3));
        }
    }

    @Test
    void lossIgnoresPredictionsAtVisiblePositionsButNotMasked() {
        ModelConfig m = small();
        MultiDataSet mds = method(m, 0.75).prepare(randomBatch(m, 3, 2));
        INDArray labels = mds.getLabels(0), mask = mds.getLabelsMaskArray(0);
        INDArray pred = org.nd4j.linalg.factory.Nd4j.rand(DataType.FLOAT, labels.shape());
        double base = MaskedPatchMse.loss(labels, pred, mask);
        int n = m.tokens(), pd = m.patchDim();
        INDArray visEdit = pred.dup(), maskEdit = pred.dup();
        for (int b = 0; b < 3; b++)
            for (int t = 0; t < n; t++)
                for (int k = 0; k < pd; k++) {
                    if (mask.getDouble(b, t) == 0) visEdit.putScalar(new long[]{b, t, k}, 1e3);
                    else maskEdit.putScalar(new long[]{b, t, k}, 1e3);
                }
        assertThat(MaskedPatchMse.loss(labels, visEdit, mask)).isEqualTo(base);
        assertThat(MaskedPatchMse.loss(labels, maskEdit, mask)).isGreaterThan(base * 10);
        assertThat(MaskedPatchMse.loss(labels, labels, mask)).isZero();
        // the masked count per row is N - K
        for (int b = 0; b < 3; b++) assertThat(mask.getRow(b).sumNumber().intValue()).isEqualTo(n - (int) Math.floor(n * 0.25));
    }

    @Test
    void prepareIsDeterministicPerImageKey() {
        ModelConfig m = small();
        MaeMethod me = method(m, 0.75);
        MultiDataSet a = me.prepare(randomBatch(m, 4, 5));
        MultiDataSet b = me.prepare(randomBatch(m, 4, 5));
        for (int i = 0; i < 3; i++) assertThat(a.getFeatures(i)).isEqualTo(b.getFeatures(i));
        assertThat(a.getLabelsMaskArray(0)).isEqualTo(b.getLabelsMaskArray(0));
    }

    @Test
    void decoderPutsVisibleTokenKAtPositionIdsKeepK() {
        ModelConfig m = small();
        MaeMethod me = method(m, 0.75);
        ComputationGraph g = new ComputationGraph(me.graph(new NoOp(), 0, 1, DataType.FLOAT));
        g.init();
        MultiDataSet mds = me.prepare(randomBatch(m, 2, 9));
        Map<String, INDArray> act = g.feedForward(mds.getFeatures(), false);
        INDArray lat = act.get(MaeGraph.LATENT);          // [B,1+K,D]
        INDArray dec = act.get("dec_embed");              // [B,1+N,Dd]
        Map<String, INDArray> p = g.getVertex("dec_embed").paramTable(false);
        INDArray pos = SinCosPosEmbed.array(m.gridSize(), m.gridSize(), m.decoderDim, DataType.FLOAT);
        INDArray keep = mds.getFeatures(1);
        int k = (int) keep.size(1), n = m.tokens();
        for (int b = 0; b < 2; b++) {
            boolean[] visible = new boolean[n];
            for (int j = 0; j < k; j++) {
                int id = keep.getInt(b, j);
                visible[id] = true;
                INDArray expected = lat.get(org.nd4j.linalg.indexing.NDArrayIndex.point(b), org.nd4j.linalg.indexing.NDArrayIndex.point(1 + j),
                        org.nd4j.linalg.indexing.NDArrayIndex.all()).reshape(1, m.dim).mmul(p.get("W")).reshape(m.decoderDim)
                        .add(p.get("b")).add(pos.getRow(id));
                INDArray actual = dec.get(org.nd4j.linalg.indexing.NDArrayIndex.point(b), org.nd4j.linalg.indexing.NDArrayIndex.point(1 + id),
                        org.nd4j.linalg.indexing.NDArrayIndex.all());
                assertThat(actual.sub(expected).amaxNumber().doubleValue()).isLessThan(1e-4);
            }
            for (int t = 0; t < n; t++) {
                if (visible[t]) continue;
                INDArray actual = dec.get(org.nd4j.linalg.indexing.NDArrayIndex.point(b), org.nd4j.linalg.indexing.NDArrayIndex.point(1 + t),
                        org.nd4j.linalg.indexing.NDArrayIndex.all());
                assertThat(actual.sub(p.get("maskToken").add(pos.getRow(t))).amaxNumber().doubleValue()).isLessThan(1e-5);
            }
        }
    }

    @Test
    void maskRatioLeavingNoVisibleTokenIsAConfigError() {
        ModelConfig m = small(); // N = 16
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> method(m, 0.99))
                .hasMessageContaining("mask-ratio");
    }
}
