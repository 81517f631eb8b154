package org.sparkmim.model.resnet;

import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.sparkmim.model.a2mim.A2mimMethod;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.config.ModelConfig;
import org.sparkmim.model.fixtures.GraphChecks;
import org.sparkmim.model.mae.MaeInvariantsTest;
import org.sparkmim.model.method.Batch;
import org.sparkmim.model.method.FeatureSpec;
import org.sparkmim.model.method.Methods;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** The ResNet backbone and A2MIM on it: shapes, the mask token on a feature map, gradients, features, config. */
class ResNetA2mimTest {

    /** A ResNet config for tests: image side, patch (= output cell), depth, width, strides. */
    static ModelConfig resnet(int image, int patch, int depth, int width, List<Integer> strides) {
        ModelConfig m = new ModelConfig();
        m.imageSize = image;
        m.patch = patch;
        m.backbone = ModelConfig.RESNET;
        m.resnet = new ModelConfig.ResNetShape(depth, width, "small", strides);
        return m.validate();
    }

    static A2mimMethod method(ModelConfig m, MimConfig.A2mimConfig a) {
        return new A2mimMethod(m, new MimConfig.MethodConfig("a2mim", 0.75, "random", false).withA2mim(a));
    }

    static MimConfig.A2mimConfig released(double ratio, int blockPx) {
        MimConfig.A2mimConfig r = MimConfig.A2mimConfig.RESNET_DEFAULT;
        return new MimConfig.A2mimConfig(ratio, blockPx, r.freqWeight(), r.alpha(), r.unmaskWeight(), r.spatialLoss(),
                r.maskLayer(), r.gammaInit());
    }

    static ComputationGraph graph(A2mimMethod me, DataType dt) {
        ComputationGraph g = new ComputationGraph(me.graph(new NoOp(), 0, 3, dt));
        g.init();
        return g;
    }

    /**
     * 28 px, small stem, strides [1, 2, 2, 1]: stage grids 28, 14, 7, 7 and the last stage is the 7×7 token grid
     * of patch 4; ResNet-18 ends in 8w channels, ResNet-50 in 32w; the mask token sits before stage 3 on 7×7.
     */
    @Test
    void stageGridsAndWidthsFollowTheStrides() {
        for (int depth : new int[]{18, 50}) {
            ModelConfig m = resnet(28, 4, depth, 4, List.of(1, 2, 2, 1));
            A2mimMethod me = method(m, released(0.6, 4));
            ComputationGraph g = graph(me, DataType.FLOAT);
            Map<String, INDArray> act = g.feedForward(me.prepare(MaeInvariantsTest.randomBatch(m, 4, 1)).getFeatures(), false);
            assertThat(act.get("stem_relu").shape()).containsExactly(4, 4, 28, 28);
            assertThat(act.get("s1b0_relu").shape()).containsExactly(4, m.resnet.stageChannels(1), 14, 14);
            assertThat(act.get(A2mimMethod.MASK_TOKEN).shape()).containsExactly(4, m.resnet.stageChannels(2), 7, 7);
            assertThat(act.get(ResNet.out(m)).shape()).containsExactly(4, depth == 18 ? 32 : 128, 7, 7);
            assertThat(ResNet.channels(m)).isEqualTo(depth == 18 ? 32 : 128);
            assertThat(m.resnet.gridBefore(3, 28)).isEqualTo(7);
        }
    }

    /** bench's FLOP count is the convolutions as built: Σ 2·k²·C_in·C_out·H_out·W_out over every conv layer. */
    @Test
    void forwardFlopsCountEveryConvolutionOfTheBuiltGraph() {
        for (int depth : new int[]{18, 50}) {
            ModelConfig m = resnet(28, 4, depth, 4, List.of(1, 2, 2, 1));
            A2mimMethod me = method(m, released(0.6, 4));
            ComputationGraph g = graph(me, DataType.FLOAT);
            Map<String, INDArray> act = g.feedForward(me.prepare(MaeInvariantsTest.randomBatch(m, 1, 1)).getFeatures(), false);
            double f = 0;
            int convs = 0;
            for (GraphVertex v : g.getVertices()) {
                if (!v.hasLayer() || !(v.getLayer().conf().getLayer() instanceof ConvolutionLayer c)) continue;
                long[] o = act.get(v.getVertexName()).shape();
                f += 2.0 * c.getKernelSize()[0] * c.getKernelSize()[1] * c.getNIn() * c.getNOut() * o[2] * o[3];
                convs++;
            }
            assertThat(convs).isEqualTo(depth == 18 ? 1 + 16 + 3 : 1 + 48 + 4);
            assertThat(ResNet.forwardFlops(m)).isCloseTo(f, within(1e-6 * f));
            assertThat(me.trainFlopsPerImage()).isCloseTo(3 * (f + 2.0 * 49 * ResNet.channels(m) * 16), within(1e-6 * f));
        }
    }

    /** Every block's last batch norm starts at γ = 0, so each block starts as its shortcut (zero_init_last). */
    @Test
    void everyBlockStartsAsItsShortcut() {
        ModelConfig m = resnet(8, 2, 18, 2, List.of(1, 2, 1, 1));
        ComputationGraph g = graph(method(m, released(0.5, 2)), DataType.FLOAT);
        int zero = 0;
        for (GraphVertex v : g.getVertices()) {
            if (!v.getVertexName().endsWith("_b_bn")) continue;
            assertThat(v.paramTable(false).get("gamma").sumNumber().doubleValue()).isZero();
            zero++;
        }
        assertThat(zero).isEqualTo(8);
        assertThat(g.getVertex("s0b0_a_bn").paramTable(false).get("gamma").minNumber().doubleValue()).isEqualTo(1.0);
    }

    /**
     * The mask token on a feature map: with t = 0 and no γ, or γ = 1, masked features pass through unchanged (the
     * METHODS.md invariant); with the released γ = 1e-6 a masked cell becomes ≈ t and an unmasked cell is untouched.
     */
    @Test
    void maskTokenOnAFeatureMapReplacesOnlyMaskedCells() {
        ModelConfig m = resnet(8, 2, 18, 2, List.of(1, 2, 1, 1));                // grid 8, 8, 4 | 4, 4
        for (double gamma : new double[]{0, 1, 1e-6}) {
            MimConfig.A2mimConfig r = released(0.5, 2);
            A2mimMethod me = method(m, new MimConfig.A2mimConfig(0.5, 2, r.freqWeight(), 1, r.unmaskWeight(), r.spatialLoss(),
                    3, gamma));
            ComputationGraph g = graph(me, DataType.FLOAT);
            MultiDataSet mds = me.prepare(MaeInvariantsTest.randomBatch(m, 2, 5));
            INDArray t = g.getVertex(A2mimMethod.MASK_TOKEN).paramTable(false).get("t");
            Map<String, INDArray> act = g.feedForward(mds.getFeatures(), false);
            INDArray in = act.get("s2b1_relu"), out = act.get(A2mimMethod.MASK_TOKEN);   // [2, 8, 4, 4]
            INDArray mask = mds.getFeatures(1);                                        // [2, 16]
            for (int b = 0; b < 2; b++) {
                for (int cell = 0; cell < 16; cell++) {
                    boolean masked = mask.getDouble(b, cell) == 1;
                    for (int ch = 0; ch < 8; ch++) {
                        double x = in.getDouble(b, ch, cell / 4, cell % 4), y = out.getDouble(b, ch, cell / 4, cell % 4);
                        double want = !masked ? x : gamma == 0 ? x + t.getDouble(ch) : gamma * x + t.getDouble(ch);
                        assertThat(y).as("gamma %s b %d cell %d ch %d", gamma, b, cell, ch).isCloseTo(want, within(1e-5));
                    }
                }
            }
            t.assign(0);
            act = g.feedForward(mds.getFeatures(), false);
            if (gamma != 1e-6) assertThat(act.get(A2mimMethod.MASK_TOKEN)).isEqualTo(act.get("s2b1_relu"));
        }
    }

    /**
     * Double-precision gradient check of the whole A2MIM-ResNet graph, basic and bottleneck blocks, mask token with
     * γ before stage 3 and without γ before stage 2, both spatial losses; α = 0 and w_u = 1 as for the ViT check
     * (where the released loss's detached parts are constants). Batch norm runs in training mode on batch statistics.
     */
    @Test
    void graphPassesTheDoublePrecisionGradientCheck() {
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
        try {
            // entries checked per parameter array: every array of every layer is covered; all entries would take minutes
            Object[][] cases = {{18, new MimConfig.A2mimConfig(0.5, 2, 0.5, 0, 1, "focal-l1", 3, 0.3), 3},
                    {50, new MimConfig.A2mimConfig(0.4, 2, 0.5, 0, 1, "l1", 2, 0), 1}};
            for (Object[] c : cases) {
                ModelConfig m = resnet(6, 2, (int) c[0], 2, List.of(1, 2, 1, 1));     // grids 6, 6, 3, 3 | 3: N = 9
                MimConfig.A2mimConfig a = (MimConfig.A2mimConfig) c[1];
                A2mimMethod me = method(m, a);
                ComputationGraph g = graph(me, DataType.DOUBLE);
                assertThat(GraphChecks.passes(g, me.prepare(MaeInvariantsTest.randomBatch(m, 4, 6)), (int) c[2]))
                        .as("resnet%s %s", c[0], a).isTrue();
            }
        } finally {
            Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        }
    }

    /**
     * Precise batch norm: after recalibrating on one batch (in chunks of 64, here one chunk), inference mode on that
     * batch computes what training mode computes (running statistics = the batch's), so the scores agree; before,
     * with the initial statistics (mean 0, variance 1), they do not. A graph without batch norm is left alone.
     */
    @Test
    void preciseBatchNormMakesInferenceMatchTrainingOnTheCalibrationBatch() {
        ModelConfig m = resnet(8, 2, 18, 4, List.of(1, 2, 1, 1));
        A2mimMethod me = method(m, released(0.5, 2));
        ComputationGraph g = graph(me, DataType.FLOAT);
        g.params().addi(Nd4j.randn(DataType.FLOAT, g.params().shape()).muli(0.1));
        MultiDataSet mds = me.prepare(MaeInvariantsTest.randomBatch(m, 48, 4));
        double train = g.score(mds, true), before = g.score(mds, false);
        assertThat(Math.abs(before - train) / train).isGreaterThan(1e-3);
        assertThat(org.sparkmim.model.train.PreciseBatchNorm.recalibrate(g, mds)).isEqualTo(1 + 8 * 2 + 3);   // stem, 2 per block, 3 shortcuts
        assertThat(g.score(mds, false)).isCloseTo(train, within(1e-4 * train));
        assertThat(g.score(mds, true)).isCloseTo(train, within(1e-6 * train));     // training mode never reads them

        ModelConfig tiny = org.sparkmim.model.fixtures.TinyModels.of(8, 2, 1, 8);
        A2mimMethod onVit = method(tiny, MimConfig.A2mimConfig.DEFAULT);
        ComputationGraph vit = graph(onVit, DataType.FLOAT);
        assertThat(org.sparkmim.model.train.PreciseBatchNorm.hasBatchNorm(vit)).isFalse();
        INDArray p = vit.params().dup();
        assertThat(org.sparkmim.model.train.PreciseBatchNorm.recalibrate(vit, onVit.prepare(MaeInvariantsTest.randomBatch(tiny, 4, 1))))
                .isZero();
        assertThat(vit.params()).isEqualTo(p);
    }

    /**
     * DL4J's conv and batch-norm layers run on oneDNN (its MKLDNN helpers), and give what its Java path gives. The
     * helpers are what makes the ResNet trainable on CPU (6.7x); DL4J M2.1 drops them silently (helpers disabled by
     * default, and a class lookup that fails, see org.nd4j.nativeblas.Nd4jCpu), so this test is the guard. A double
     * graph never uses the helpers (they are float-only): it is the reference for the float, oneDNN one.
     */
    @Test
    void dl4jUsesOneDnnForTheResNet() {
        assertThat(System.getProperty("org.eclipse.deeplearning4j.helpers.disable"))
                .as("conf/jvm.properties must pass -Dorg.eclipse.deeplearning4j.helpers.disable=false").isEqualTo("false");
        ModelConfig m = resnet(8, 2, 18, 4, List.of(1, 2, 1, 1));
        A2mimMethod me = method(m, released(0.5, 2));
        ComputationGraph g = graph(me, DataType.FLOAT);
        int convs = 0, bns = 0;
        for (org.deeplearning4j.nn.api.Layer l : g.getLayers()) {
            if (l instanceof org.deeplearning4j.nn.layers.convolution.ConvolutionLayer c) {
                assertThat(c.getHelper()).as(c.getConfig().getLayerName())
                        .isInstanceOf(org.deeplearning4j.nn.layers.mkldnn.MKLDNNConvHelper.class);
                convs++;
            } else if (l instanceof org.deeplearning4j.nn.layers.normalization.BatchNormalization b) {
                assertThat(b.getHelper()).as(b.getConfig().getLayerName())
                        .isInstanceOf(org.deeplearning4j.nn.layers.mkldnn.MKLDNNBatchNormHelper.class);
                bns++;
            }
        }
        assertThat(convs).isGreaterThan(16);
        assertThat(bns).isGreaterThan(16);

        g.params().addi(Nd4j.randn(DataType.FLOAT, g.params().shape()).muli(0.1));
        ComputationGraph ref = graph(me, DataType.DOUBLE);
        ref.params().assign(g.params().castTo(DataType.DOUBLE));
        MultiDataSet mds = me.prepare(MaeInvariantsTest.randomBatch(m, 16, 4));
        g.setInputs(mds.getFeatures());
        g.setLabels(mds.getLabels());
        g.computeGradientAndScore();
        ref.setInputs(java.util.Arrays.stream(mds.getFeatures()).map(a -> a.castTo(DataType.DOUBLE)).toArray(INDArray[]::new));
        ref.setLabels(java.util.Arrays.stream(mds.getLabels()).map(a -> a.castTo(DataType.DOUBLE)).toArray(INDArray[]::new));
        ref.computeGradientAndScore();
        assertThat(g.score()).isCloseTo(ref.score(), within(1e-4 * ref.score()));
        INDArray gf = g.gradient().gradient().castTo(DataType.DOUBLE), gd = ref.gradient().gradient();
        double rel = gf.sub(gd).norm2Number().doubleValue() / gd.norm2Number().doubleValue();
        assertThat(rel).as("relative L2 of the oneDNN float gradient vs DL4J's double Java path").isLessThan(1e-3);
    }

    /** Features are the average-pooled last stage of the whole unmasked image: [B, C] or [B, g²·C] per grid cell. */
    @Test
    void featuresPoolTheLastStageOfTheWholeImage() {
        ModelConfig m = resnet(8, 2, 18, 2, List.of(1, 2, 1, 1));
        A2mimMethod me = method(m, released(0.5, 2));
        ComputationGraph g = graph(me, DataType.FLOAT);
        g.params().addi(Nd4j.randn(DataType.FLOAT, g.params().shape()).muli(0.1));
        Batch b = MaeInvariantsTest.randomBatch(m, 3, 2);
        INDArray f = me.features(g, b, FeatureSpec.MEAN);
        assertThat(f.shape()).containsExactly(3, 16);
        // the same as the mean over the 4×4 grid of the last stage, run on the unfilled image
        Batch other = new Batch(b.pixels(), b.size(), b.height(), b.width(), b.channels(), b.keys(), b.epoch() + 7, b.runSeed() + 1);
        assertThat(me.features(g, other, FeatureSpec.MEAN)).isEqualTo(f);
        INDArray grid = me.features(g, b, FeatureSpec.parse("mean", 1, 2));
        assertThat(grid.shape()).containsExactly(3, 4 * 16);
        // the global mean is the mean of the four equal cells
        INDArray cells = grid.reshape(3, 4, 16).mean(1);
        assertThat(cells.sub(f).amaxNumber().doubleValue()).isLessThan(1e-5);
        assertThatThrownBy(() -> me.features(g, b, FeatureSpec.CLS)).hasMessageContaining("model.backbone = resnet");
    }

    /** Config: the released ResNet defaults, methods that need a ViT refuse it, grids that do not fit are named. */
    @Test
    void configResolvesTheResNetRecipeAndRefusesWhatDoesNotFit() {
        MimConfig c = MimConfig.load(Map.of("model.backbone", "resnet", "method.name", "a2mim"));
        assertThat(c.method.a2mim()).isEqualTo(new MimConfig.A2mimConfig(0.6, 0, 0.5, 1, 1e-3, "focal-l1", 3, 1e-6));
        assertThat(c.data.cropScaleMin()).isEqualTo(0.8);
        assertThat(c.model.resnet).isEqualTo(ModelConfig.ResNetShape.DEFAULT);
        assertThat(Methods.create(c).name()).isEqualTo("a2mim");
        MimConfig vit = MimConfig.load(Map.of("method.name", "a2mim"));
        assertThat(vit.method.a2mim()).isEqualTo(MimConfig.A2mimConfig.DEFAULT);
        assertThat(vit.architectureFingerprint()).isNotEqualTo(c.architectureFingerprint());

        for (String other : new String[]{"mae", "emae", "sbam", "ropim"}) {
            assertThatThrownBy(() -> MimConfig.load(Map.of("model.backbone", "resnet", "method.name", other)))
                    .hasMessageContaining("mim.method.name").hasMessageContaining("mim.model.backbone");
        }
        assertThatThrownBy(() -> MimConfig.load(Map.of("model.backbone", "resnet", "method.name", "a2mim",
                "model.resnet.strides", "[1, 2, 2, 2]"))).hasMessageContaining("model.resnet.strides").hasMessageContaining("7");
        assertThatThrownBy(() -> MimConfig.load(Map.of("model.backbone", "resnet", "method.name", "a2mim",
                "method.a2mim.mask-layer", "2"))).hasMessageContaining("mim.method.a2mim.mask-layer").hasMessageContaining("14");
        assertThatThrownBy(() -> MimConfig.load(Map.of("model.backbone", "resnet", "method.name", "a2mim",
                "eval.feature", "cls"))).hasMessageContaining("mim.eval.feature").hasMessageContaining("resnet");
        assertThatThrownBy(() -> MimConfig.load(Map.of("model.backbone", "resnet", "model.resnet.depth", "101")))
                .hasMessageContaining("model.resnet.depth");
        assertThatThrownBy(() -> MimConfig.load(Map.of("model.backbone", "cnn"))).hasMessageContaining("mim.model.backbone");
    }
}
