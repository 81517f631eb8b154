package org.sparkmim.model.a2mim;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.config.ModelConfig;
import org.sparkmim.model.data.FashionMnist;
import org.sparkmim.model.data.ImageSet;
import org.sparkmim.model.eval.EvalBatches;
import org.sparkmim.model.fixtures.TinyModels;
import org.sparkmim.model.mae.MaeGraph;
import org.sparkmim.model.mae.MaeInvariantsTest;
import org.sparkmim.model.method.Batch;
import org.sparkmim.model.method.FeatureSpec;
import org.sparkmim.model.method.Methods;
import org.sparkmim.model.method.PixelReconstruction;
import org.sparkmim.model.nn.A2mimLoss;
import org.sparkmim.model.nn.Dft2;
import org.sparkmim.model.report.ReconGrid;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** A2MIM on the ViT: the invariants of docs/METHODS.md (A2MIM) on the real vertices and real images. */
class A2mimMethodTest {

    static A2mimMethod method(ModelConfig m, MimConfig.A2mimConfig a) {
        return new A2mimMethod(m, new MimConfig.MethodConfig("a2mim", 0.75, "random", false).withA2mim(a));
    }

    static MimConfig.A2mimConfig conf(double ratio, int blockPx, double lambda, double alpha, double wu, String spatial,
                                      int maskLayer, double gamma) {
        return new MimConfig.A2mimConfig(ratio, blockPx, lambda, alpha, wu, spatial, maskLayer, gamma);
    }

    private static ImageSet fashion(int n) {
        return FashionMnist.load(FashionMnist.locate(""), "test").subset(0, n);
    }

    /** 28 px at patch 4 with the defaults: 49 one-token blocks, exactly 30 masked, filled with the channel mean. */
    @Test
    void maskedPixelsAreTheChannelMeanAndUnmaskedPixelsAreBitIdenticalOnRealImages() {
        MimConfig cfg = MimConfig.load(Map.of("method.name", "a2mim", "model.dim", "32", "model.depth", "1", "model.heads", "2"));
        A2mimMethod me = (A2mimMethod) Methods.create(cfg);
        assertThat(cfg.method.a2mim().blockSize(cfg.model)).isEqualTo(4);
        Batch b = EvalBatches.of(cfg, fashion(6), 0, 6, 1);
        MultiDataSet mds = me.prepare(b);
        int n = cfg.model.tokens(), pd = cfg.model.patchDim();
        float[] in = mds.getFeatures(0).dup('c').data().asFloat(), tg = mds.getFeatures(3).dup('c').data().asFloat();
        float[] mask = mds.getFeatures(2).dup('c').data().asFloat();
        for (int i = 0; i < 6; i++) {
            double mean = 0;
            for (int k = 0; k < n * pd; k++) mean += tg[i * n * pd + k];
            mean /= n * pd;
            int masked = 0;
            for (int t = 0; t < n; t++) {
                boolean m = mask[i * n + t] == 1f;
                masked += m ? 1 : 0;
                for (int k = 0; k < pd; k++) {
                    int q = (i * n + t) * pd + k;
                    if (m) assertThat((double) in[q]).isCloseTo(mean, within(1e-5));
                    else assertThat(Float.floatToRawIntBits(in[q])).isEqualTo(Float.floatToRawIntBits(tg[q]));
                }
            }
            assertThat(masked).isEqualTo(30);
        }
    }

    /** Three channels: each masked pixel gets its own channel's mean; block 2 tokens upsamples the block mask. */
    @Test
    void threeChannelFillUsesPerChannelMeansAndBlocksOfTokens() {
        ModelConfig m = TinyModels.of(8, 2, 3, 8);                                // 4x4 tokens, 2x2 blocks of 2x2
        A2mimMethod me = method(m, conf(0.5, 4, 0.1, 1, 0, "l1", 0, 0));
        Batch b = MaeInvariantsTest.randomBatch(m, 2, 4);
        MultiDataSet mds = me.prepare(b);
        float[] in = mds.getFeatures(0).dup('c').data().asFloat(), mask = mds.getFeatures(2).dup('c').data().asFloat();
        int n = 16, pd = 12;
        for (int i = 0; i < 2; i++) {
            double[] mean = new double[3];
            for (int px = 0; px < 64; px++) for (int c = 0; c < 3; c++) mean[c] += b.pixels()[(i * 64 + px) * 3 + c] / 64.0;
            int masked = 0;
            for (int t = 0; t < n; t++) {
                int r = t / 4, c = t % 4;
                assertThat(mask[i * n + t]).isEqualTo(mask[i * n + (r / 2 * 2) * 4 + c / 2 * 2]);   // same as its block's corner
                if (mask[i * n + t] == 0) continue;
                masked++;
                for (int k = 0; k < pd; k++) assertThat((double) in[(i * n + t) * pd + k]).isCloseTo(mean[k % 3], within(1e-5));
            }
            assertThat(masked).isEqualTo(2 * 4);                                  // ceil(4 · 0.5) = 2 blocks
        }
    }

    /** ViT: L_spa looks only at masked pixels; with w_u = 0 editing an unmasked prediction changes L_freq only. */
    @Test
    void spatialLossIgnoresUnmaskedPredictionsAndIsZeroAtTheImage() {
        ModelConfig m = TinyModels.of(8, 2, 1, 8);
        A2mimMethod me = method(m, conf(0.5, 2, 0.1, 1, 0, "l1", 0, 0));
        MultiDataSet mds = me.prepare(MaeInvariantsTest.randomBatch(m, 3, 8));
        INDArray t = mds.getFeatures(3).castTo(DataType.DOUBLE), mask = mds.getFeatures(2);
        A2mimLoss loss = new A2mimLoss(4, 2, 1, "l1", 0.1, 1, 0);
        assertThat(loss.losses(t, t, mask)).containsExactly(0.0, 0.0);
        INDArray pred = Nd4j.randn(DataType.DOUBLE, 3, 16, 4);
        double[] base = loss.losses(pred, t, mask);
        assertThat(base[0]).isPositive();
        INDArray edited = pred.dup();
        float[] mk = mask.dup('c').data().asFloat();
        for (int i = 0; i < 3; i++) {
            for (int tok = 0; tok < 16; tok++) {
                if (mk[i * 16 + tok] == 0) edited.get(org.nd4j.linalg.indexing.NDArrayIndex.point(i),
                        org.nd4j.linalg.indexing.NDArrayIndex.point(tok)).addi(3.0);
            }
        }
        double[] after = loss.losses(edited, t, mask);
        assertThat(after[0]).isEqualTo(base[0]);
        assertThat(after[1]).isNotCloseTo(base[1], within(1e-6));
        // and the focal-l1 form is below l1 for the same residuals (its weight 2σ(0.2|d|) − 1 is < 1)
        assertThat(new A2mimLoss(4, 2, 1, "focal-l1", 0.1, 1, 0).losses(pred, t, mask)[0]).isLessThan(base[0]);
    }

    /** Parseval with w ≡ 1: L_freq·C·H·W = Σ D² for the batch-mean difference image D; the DFT matches a direct sum. */
    @Test
    void parsevalHoldsWithUnitWeightAndTheSpectrumMatchesTheDefinition() {
        int h = 6, w = 5, c = 3;
        Random r = new Random(2);
        double[] d = new double[h * w * c];
        for (int i = 0; i < d.length; i++) d[i] = r.nextGaussian();
        Dft2 dft = new Dft2(h, w);
        double[][] ones = new double[c][h * w];
        for (double[] row : ones) Arrays.fill(row, 1);
        double sq = 0;
        for (double v : d) sq += v * v;
        assertThat(A2mimLoss.freqLoss(dft, d, h, w, c, ones, null) * c * h * w).isCloseTo(sq, within(1e-9));
        double[] re = new double[h * w], im = new double[h * w];
        dft.forward(d, 1, c, re, im);
        for (int u = 0; u < h; u++) {
            for (int v = 0; v < w; v++) {
                double er = 0, ei = 0;
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        double a = -2 * Math.PI * ((double) u * y / h + (double) v * x / w);
                        er += d[(y * w + x) * c + 1] * Math.cos(a);
                        ei += d[(y * w + x) * c + 1] * Math.sin(a);
                    }
                }
                assertThat(re[u * w + v]).isCloseTo(er / Math.sqrt(h * w), within(1e-9));
                assertThat(im[u * w + v]).isCloseTo(ei / Math.sqrt(h * w), within(1e-9));
            }
        }
    }

    /**
     * The spectrum weight w lies in [0, 1], reaches 1, and carries no gradient: the backward equals the finite
     * difference of the loss with w frozen at its current value, not of the loss with w recomputed.
     */
    @Test
    void spectrumWeightIsInTheUnitIntervalAndIsDetached() {
        int h = 4, w = 4, c = 1;
        Random r = new Random(5);
        double[] d = new double[h * w];
        for (int i = 0; i < d.length; i++) d[i] = r.nextGaussian();
        Dft2 dft = new Dft2(h, w);
        double[][] wt = A2mimLoss.spectrumWeight(dft, d, h, w, c, 1.0);
        double max = 0;
        for (double v : wt[0]) {
            assertThat(v).isBetween(0.0, 1.0);
            max = Math.max(max, v);
        }
        assertThat(max).isEqualTo(1.0);
        double[] grad = new double[d.length];
        A2mimLoss.freqLoss(dft, d, h, w, c, wt, grad);
        double eps = 1e-6, maxDiffLive = 0;
        for (int i = 0; i < d.length; i++) {
            double[] p = d.clone(), q = d.clone();
            p[i] += eps;
            q[i] -= eps;
            double frozen = (A2mimLoss.freqLoss(dft, p, h, w, c, wt, null) - A2mimLoss.freqLoss(dft, q, h, w, c, wt, null)) / (2 * eps);
            assertThat(grad[i]).isCloseTo(frozen, within(1e-7));
            double live = (A2mimLoss.freqLoss(dft, p, h, w, c, A2mimLoss.spectrumWeight(dft, p, h, w, c, 1), null)
                    - A2mimLoss.freqLoss(dft, q, h, w, c, A2mimLoss.spectrumWeight(dft, q, h, w, c, 1), null)) / (2 * eps);
            maxDiffLive = Math.max(maxDiffLive, Math.abs(live - grad[i]));
        }
        assertThat(maxDiffLive).as("the recomputed weight would add a gradient").isGreaterThan(1e-4);
        double[] zero = new double[d.length];
        for (double v : A2mimLoss.spectrumWeight(dft, zero, h, w, c, 1.0)[0]) assertThat(v).isEqualTo(0.0);
    }

    /**
     * w_u = 0: unmasked pixels enter the frequency loss as 0.5·sg(x̂) + 0.5·x, so editing an unmasked prediction
     * changes the loss value but its gradient there is exactly 0; with w_u > 0 it is not.
     */
    @Test
    void unmaskedPredictionsGetNoGradientWithoutUnmaskWeight() {
        ModelConfig m = TinyModels.of(8, 2, 1, 8);
        A2mimMethod me = method(m, conf(0.5, 2, 0.1, 1, 0, "l1", 0, 0));
        MultiDataSet mds = me.prepare(MaeInvariantsTest.randomBatch(m, 3, 8));
        INDArray t = mds.getFeatures(3).castTo(DataType.DOUBLE), mask = mds.getFeatures(2);
        INDArray pred = Nd4j.randn(DataType.DOUBLE, 3, 16, 4);
        float[] mk = mask.dup('c').data().asFloat();
        INDArray g0 = new A2mimLoss(4, 2, 1, "l1", 0.5, 1, 0).gradient(pred, t, mask);
        INDArray g1 = new A2mimLoss(4, 2, 1, "l1", 0.5, 1, 0.3).gradient(pred, t, mask);
        for (int i = 0; i < 3; i++) {
            for (int tok = 0; tok < 16; tok++) {
                INDArray row0 = g0.get(org.nd4j.linalg.indexing.NDArrayIndex.point(i), org.nd4j.linalg.indexing.NDArrayIndex.point(tok));
                INDArray row1 = g1.get(org.nd4j.linalg.indexing.NDArrayIndex.point(i), org.nd4j.linalg.indexing.NDArrayIndex.point(tok));
                if (mk[i * 16 + tok] == 0) {
                    assertThat(row0.amaxNumber().doubleValue()).isEqualTo(0.0);
                    assertThat(row1.amaxNumber().doubleValue()).isPositive();
                } else {
                    assertThat(row0.amaxNumber().doubleValue()).isPositive();
                }
            }
        }
    }

    /** With t = 0 the mask token passes the features through unchanged, with γ off and with γ = 1. */
    @Test
    void zeroMaskTokenPassesMaskedFeaturesThroughUnchanged() {
        ModelConfig m = TinyModels.of(8, 2, 1, 8);
        for (double gamma : new double[]{0, 1}) {
            A2mimMethod me = method(m, conf(0.5, 2, 0.1, 1, 0, "l1", 0, gamma));
            ComputationGraph g = new ComputationGraph(me.graph(new NoOp(), 0, 3, DataType.FLOAT));
            g.init();
            g.getVertex(A2mimMethod.MASK_TOKEN).paramTable(false).get("t").assign(0);
            MultiDataSet mds = me.prepare(MaeInvariantsTest.randomBatch(m, 2, 3));
            Map<String, INDArray> act = g.feedForward(mds.getFeatures(), false);
            assertThat(act.get(A2mimMethod.MASK_TOKEN)).as("gamma %s", gamma).isEqualTo(act.get(MaeGraph.EMBED));
            g.getVertex(A2mimMethod.MASK_TOKEN).paramTable(false).get("t").assign(0.5);
            act = g.feedForward(mds.getFeatures(), false);
            assertThat(act.get(A2mimMethod.MASK_TOKEN)).isNotEqualTo(act.get(MaeGraph.EMBED));
        }
    }

    /**
     * Double-precision gradient check of the whole graph: mask token with and without γ, before block 0 and 1,
     * both spatial losses, the frequency loss. The released loss detaches two things, so finite differences of its
     * value are not its backward; the check runs where both are constants of the prediction: α = 0 makes the focal
     * weight 1 (log 2 / log 2), and w_u = 1 leaves no detached prediction mixed into unmasked pixels. The detached
     * parts are checked on their own (spectrumWeightIsInTheUnitIntervalAndIsDetached,
     * unmaskedPredictionsGetNoGradientWithoutUnmaskWeight).
     */
    @Test
    void graphPassesTheDoublePrecisionGradientCheck() {
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
        try {
            ModelConfig m = TinyModels.of(6, 2, 1, 8);                               // N = 9 tokens, P = 4
            m.depth = 2;
            MimConfig.A2mimConfig[] cases = {conf(0.5, 2, 0.5, 0, 1, "l1", 0, 0),
                    conf(0.4, 2, 0.5, 0, 1, "focal-l1", 1, 0.2)};
            for (MimConfig.A2mimConfig a : cases) {
                A2mimMethod me = method(m, a);
                ComputationGraph g = new ComputationGraph(me.graph(new NoOp(), 0, 5, DataType.DOUBLE));
                g.init();
                assertThat(org.sparkmim.model.fixtures.GraphChecks.passes(g, me.prepare(MaeInvariantsTest.randomBatch(m, 3, 6)))).as(a.toString()).isTrue();
            }
        } finally {
            Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        }
    }

    @Test
    void graphScoreIsTheSpatialPlusWeightedFrequencyLossOfItsOwnPredictions() {
        ModelConfig m = TinyModels.of(8, 2, 1, 8);
        A2mimMethod me = method(m, conf(0.5, 2, 0.3, 1, 0, "l1", 0, 0));
        ComputationGraph g = new ComputationGraph(me.graph(new NoOp(), 0, 3, DataType.FLOAT));
        g.init();
        Batch batch = MaeInvariantsTest.randomBatch(m, 4, 9);
        MultiDataSet mds = me.prepare(batch);
        PixelReconstruction.Result r = me.reconstruct(g, batch);
        double[] l = new A2mimLoss(4, 2, 1, "l1", 0.3, 1, 0).losses(Nd4j.create(r.pred(), new long[]{4, 16, 4}),
                mds.getFeatures(3), mds.getFeatures(2));
        assertThat(g.score(mds)).isCloseTo(l[0] + 0.3 * l[1], within(1e-5));
        assertThat(r.fillsInput()).isTrue();
    }

    @Test
    void featuresSeeTheWholeImageAndIgnoreEpochAndMask() {
        ModelConfig m = TinyModels.of(8, 2, 1, 8);
        A2mimMethod me = method(m, conf(0.5, 2, 0.1, 1, 0, "l1", 0, 0));
        ComputationGraph g = new ComputationGraph(me.graph(new NoOp(), 0, 3, DataType.FLOAT));
        g.init();
        Batch b = MaeInvariantsTest.randomBatch(m, 5, 2);
        INDArray f = me.features(g, b, FeatureSpec.MEAN);
        assertThat(f.shape()).containsExactly(5, m.dim);
        Batch other = new Batch(b.pixels(), b.size(), b.height(), b.width(), b.channels(), b.keys(), b.epoch() + 7, b.runSeed() + 1);
        assertThat(me.features(g, other, FeatureSpec.MEAN)).isEqualTo(f);
        assertThat(me.prepare(b).getFeatures(2)).isEqualTo(me.prepare(b).getFeatures(2));
        assertThat(me.prepare(other).getFeatures(2)).isNotEqualTo(me.prepare(b).getFeatures(2));
    }

    @Test
    void reconGridOfRealImagesShowsTheMeanFilledInput(@TempDir Path tmp) throws Exception {
        MimConfig cfg = MimConfig.load(Map.of("method.name", "a2mim", "model.dim", "32", "model.depth", "1", "model.heads", "2"));
        A2mimMethod me = (A2mimMethod) Methods.create(cfg);
        ComputationGraph g = new ComputationGraph(me.graph(new NoOp(), 0, 3, DataType.FLOAT));
        g.init();
        Path png = ReconGrid.write(tmp.resolve("recon.png"), cfg, me, g, fashion(3), 3, 1, 10);
        java.awt.image.BufferedImage img = javax.imageio.ImageIO.read(png.toFile());
        assertThat(img.getWidth()).isGreaterThanOrEqualTo(4 * 112);
        assertThat(img.getHeight()).isGreaterThanOrEqualTo(3 * 112);
    }

    @Test
    void badSettingsNameTheirKeys() {
        assertThatThrownBy(() -> MimConfig.load(Map.of("method.name", "a2mim", "method.a2mim.block-size", "8")))
                .hasMessageContaining("mim.method.a2mim.block-size").hasMessageContaining("divides model.image-size (28)");
        assertThatThrownBy(() -> MimConfig.load(Map.of("method.name", "a2mim", "method.a2mim.block-size", "6")))
                .hasMessageContaining("mim.method.a2mim.block-size").hasMessageContaining("multiple of model.patch (4)");
        assertThatThrownBy(() -> MimConfig.load(Map.of("method.a2mim.spatial-loss", "l2")))
                .hasMessageContaining("mim.method.a2mim.spatial-loss").hasMessageContaining("focal-l1");
        assertThatThrownBy(() -> MimConfig.load(Map.of("method.a2mim.mask-layer", "6")))
                .hasMessageContaining("mim.method.a2mim.mask-layer");
        assertThatThrownBy(() -> MimConfig.load(Map.of("method.a2mim.mask-ratio", "1.0")))
                .hasMessageContaining("mim.method.a2mim.mask-ratio");
    }
}
