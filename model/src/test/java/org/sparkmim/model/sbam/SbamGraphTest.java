package org.sparkmim.model.sbam;

import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.sparkmim.masking.RandomMasking;
import org.sparkmim.masking.SampleMask;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.config.ModelConfig;
import org.sparkmim.model.fixtures.TinyModels;
import org.sparkmim.model.mae.MaeGraph;
import org.sparkmim.model.mae.MaeInvariantsTest;
import org.sparkmim.model.method.Batch;
import org.sparkmim.model.nn.PlanSlice;

import java.util.Arrays;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * SBAM in the graph: the padded per-sample batch gives the same loss as its samples run one by one, warmup masks
 * are MAE's, no gradient reaches X through the scores (double-precision gradient check of the whole graph).
 */
class SbamGraphTest {

    static SbamMethod method(ModelConfig m, double ratio, MimConfig.SbamConfig s) {
        return new SbamMethod(m, new MimConfig.MethodConfig("sbam", ratio, "random", true).withSbam(s));
    }

    static Batch one(Batch b, int i, ModelConfig m) {
        int len = m.imageSize * m.imageSize * m.channels;
        return new Batch(Arrays.copyOfRange(b.pixels(), i * len, (i + 1) * len), 1, m.imageSize, m.imageSize, m.channels,
                new String[]{b.keys()[i]}, b.epoch(), b.runSeed());
    }

    /** Per-sample AMR; a low threshold spreads the share of salient tokens, so keep counts differ across a batch. */
    static SbamMethod raggedMethod(ModelConfig m) {
        return method(m, 0.6, new MimConfig.SbamConfig(0, 0.5, true, "per-sample", 0.3, 0.15));
    }

    static ComputationGraph initialized(SbamMethod me) {
        ComputationGraph g = new ComputationGraph(me.graph(new NoOp(), 0, 3, DataType.FLOAT));
        g.init();
        return g;
    }

    @Test
    void reconstructionReadsThePlannedMaskAndMatchesTheLoss() {
        // the run report's recon pictures call reconstruct(); SBAM's mask is planned in the graph, not in the labels
        ModelConfig m = TinyModels.of(12, 2, 1, 16);                     // N = 36
        SbamMethod me = raggedMethod(m);
        ComputationGraph g = initialized(me);
        Batch batch = MaeInvariantsTest.randomBatch(m, 4, 8);
        var r = me.reconstruct(g, batch);
        Map<String, INDArray> act = g.feedForward(me.prepare(batch).getFeatures(), false);
        INDArray mask = act.get(SbamMethod.PLAN + "_" + PlanSlice.MASK);   // [B, N]
        assertThat(r.mask()).containsExactly(mask.castTo(DataType.FLOAT).dup('c').data().asFloat());
        assertThat(mask.sumNumber().doubleValue()).isPositive();
        // the predictions are the head's: their masked MSE against the norm-pix targets is the graph's loss
        INDArray pred = Nd4j.create(r.pred(), new long[]{4, m.tokens(), m.patchDim()});
        INDArray targets = me.prepare(batch).getFeatures(3);
        double loss = org.sparkmim.model.nn.MaskedPatchMse.loss(targets, pred, mask);
        assertThat(loss).isCloseTo(g.score(me.prepare(batch)), org.assertj.core.data.Offset.offset(1e-4));
    }

    @Test
    void paddedBatchGivesTheSameLossAsItsSamplesOneByOne() {
        ModelConfig m = TinyModels.of(12, 2, 1, 16);                     // N = 36
        SbamMethod me = raggedMethod(m);
        ComputationGraph g = initialized(me);
        int b = 6;
        Batch batch = MaeInvariantsTest.randomBatch(m, b, 8);
        MultiDataSet mds = me.prepare(batch);
        Map<String, INDArray> act = g.feedForward(mds.getFeatures(), false);
        INDArray mask = act.get(SbamMethod.PLAN + "_" + PlanSlice.MASK);   // [B, N]
        INDArray terms = act.get(SbamMethod.LOSS_TERMS);                  // [B, 1]: B·S_b / Σ mask
        double total = mask.sumNumber().doubleValue();
        long distinctKeep = Arrays.stream(mask.sum(1).toDoubleVector()).distinct().count();
        assertThat(distinctKeep).as("ragged batch").isGreaterThan(1);
        assertThat(act.get(MaeGraph.EMBED).size(1) - 1).isEqualTo(m.tokens() - (long) mask.sum(1).minNumber().doubleValue());
        double batchLoss = g.score(mds);
        double weighted = 0;
        for (int i = 0; i < b; i++) {
            MultiDataSet single = me.prepare(one(batch, i, m));
            Map<String, INDArray> a1 = g.feedForward(single.getFeatures(), false);
            INDArray m1 = a1.get(SbamMethod.PLAN + "_" + PlanSlice.MASK);
            assertThat(m1.getRow(0)).as("sample %d plan", i).isEqualTo(mask.getRow(i));
            double alone = g.score(single);                               // S_i / M_i
            double sBatch = terms.getDouble(i, 0) * total / b;            // S_i from the padded batch
            assertThat(sBatch).as("sample %d", i).isCloseTo(alone * m1.sumNumber().doubleValue(), within(2e-4 * (1 + sBatch)));
            weighted += alone * m1.sumNumber().doubleValue() / total;
        }
        assertThat(batchLoss).isCloseTo(weighted, within(1e-5));
    }

    @Test
    void warmupEpochsUseMaesRandomMasks() {
        ModelConfig m = TinyModels.of(8, 2, 1, 8);
        SbamMethod me = method(m, 0.75, new MimConfig.SbamConfig(2, 0.5, true, "per-sample", 0.1, 0.5));
        assertThat(me.mode(1)).isEqualTo(SbamPlanner.MODE_RANDOM);
        assertThat(me.mode(2)).isEqualTo(SbamPlanner.MODE_SALIENCY);
        ComputationGraph g = new ComputationGraph(me.graph(new NoOp(), 0, 3, DataType.FLOAT));
        g.init();
        Batch batch = MaeInvariantsTest.randomBatch(m, 4, 9);                 // epoch 3 in the fixture
        Batch warm = new Batch(batch.pixels(), 4, m.imageSize, m.imageSize, 1, batch.keys(), 1, batch.runSeed());
        INDArray ids = g.feedForward(me.prepare(warm).getFeatures(), false).get(SbamMethod.PLAN + "_" + PlanSlice.IDS_KEEP);
        RandomMasking mae = new RandomMasking(0.75);
        for (int i = 0; i < 4; i++) {
            SampleMask p = mae.sample(m.gridSize(), m.gridSize(), warm.runSeed(), 1, warm.keys()[i]);
            assertThat(Arrays.stream(ids.getRow(i).toDoubleVector()).mapToInt(v -> (int) v).toArray()).containsExactly(p.idsKeep());
        }
        // after warmup the plan follows saliency, so it is no longer MAE's
        INDArray after = g.feedForward(me.prepare(batch).getFeatures(), false).get(SbamMethod.PLAN + "_" + PlanSlice.IDS_KEEP);
        assertThat(after.size(1)).isGreaterThanOrEqualTo(1);
    }

    @Test
    void noGradientThroughTheScoresWholeGraphGradientCheck() {
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
        try {
            ModelConfig m = TinyModels.of(6, 2, 1, 8);                        // N = 9
            SbamMethod me = method(m, 0.5, new MimConfig.SbamConfig(0, 0.5, true, "per-sample", 0.3, 0.3));
            ComputationGraph g = new ComputationGraph(me.graph(new NoOp(), 0, 5, DataType.DOUBLE));
            g.init();
            g.params().addi(Nd4j.randn(DataType.DOUBLE, g.params().shape()).muli(0.1));
            MultiDataSet mds = me.prepare(MaeInvariantsTest.randomBatch(m, 3, 6));
            INDArray[] in = Arrays.stream(mds.getFeatures()).map(a -> a.castTo(DataType.DOUBLE)).toArray(INDArray[]::new);
            // The analytic gradient treats the plan as constant (zero epsilon from the plan vertex); central
            // differences see the true, piecewise-constant plan. They agree only if no gradient goes through scores.
            assertThat(GradientCheckUtil.checkGradients(new GradientCheckUtil.GraphConfig().net(g).inputs(in)
                    .labels(new INDArray[]{mds.getLabels(0).castTo(DataType.DOUBLE)})
                    .epsilon(1e-6).maxRelError(1e-5).minAbsoluteError(1e-9))).isTrue();
            // and the plan input really is ragged here, so padding and the key bias were exercised
            INDArray mask = g.feedForward(in, false).get(SbamMethod.PLAN + "_" + PlanSlice.MASK);
            assertThat(Arrays.stream(mask.sum(1).toDoubleVector()).distinct().count()).isGreaterThan(1);
        } finally {
            Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        }
    }

    @Test
    void featuresEncodeAllTokens() {
        ModelConfig m = TinyModels.of(8, 2, 1, 8);
        SbamMethod me = method(m, 0.75, MimConfig.SbamConfig.DEFAULT);
        ComputationGraph g = new ComputationGraph(me.graph(new NoOp(), 0, 3, DataType.FLOAT));
        g.init();
        Batch batch = MaeInvariantsTest.randomBatch(m, 3, 1);
        assertThat(me.features(g, batch, true).shape()).containsExactly(3, m.dim);
        assertThat(me.features(g, batch, false).shape()).containsExactly(3, m.dim);
    }

    @Test
    void amrRangeThatLeavesNoTokenIsAConfigErrorNamingTheKey() {
        assertThatThrownBy(() -> MimConfig.load(Map.of("method.name", "sbam", "method.sbam.r-var", "0.3")))
                .hasMessageContaining("mim.method.sbam.r-var").hasMessageContaining("0.3");
        assertThatThrownBy(() -> MimConfig.load(Map.of("method.name", "sbam", "method.sbam.amr-mode", "image")))
                .hasMessageContaining("mim.method.sbam.amr-mode").hasMessageContaining("per-sample");
        assertThat(MimConfig.load(Map.of("method.name", "sbam")).method.sbam()).isEqualTo(MimConfig.SbamConfig.DEFAULT);
    }
}
