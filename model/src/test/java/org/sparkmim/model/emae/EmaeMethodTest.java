package org.sparkmim.model.emae;

import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.NoOp;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.config.ModelConfig;
import org.sparkmim.model.fixtures.TinyModels;
import org.sparkmim.model.mae.MaeInvariantsTest;
import org.sparkmim.model.method.Batch;
import org.sparkmim.model.method.Methods;
import org.sparkmim.model.nn.MaskedPatchMse;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** METHODS.md §5 invariants of the prepared batch, the graph's objective against its definition, gradient check. */
class EmaeMethodTest {

    /** 8 px / patch 2: N = 16 tokens, P = 4. */
    static ModelConfig grid4() {
        return TinyModels.of(8, 2, 1, 8);
    }

    static EmaeMethod method(ModelConfig m, int k, double lambda, String distance, boolean sg) {
        MimConfig.MethodConfig mc = new MimConfig.MethodConfig("emae", 0.75, "random", true)
                .withEmae(new MimConfig.EmaeConfig(k, lambda, distance, sg));
        return new EmaeMethod(m, mc);
    }

    @Test
    void partsAreDisjointCoverEveryTokenOnceAndOverlapsHaveTheRightSize() {
        ModelConfig m = grid4();
        int n = m.tokens(), k = 4, b = 3;
        MultiDataSet mds = method(m, k, 1, "mse", true).prepare(MaeInvariantsTest.randomBatch(m, b, 1));
        INDArray keep = mds.getFeatures(1), mask = mds.getLabelsMaskArray(0), patches = mds.getFeatures(0);
        assertThat(keep.shape()).containsExactly(b * k, n / k);
        for (int img = 0; img < b; img++) {
            int[] seen = new int[n];
            for (int part = 0; part < k; part++) {
                int row = img * k + part;
                // |V_k| = N/K; per-part mask ratio 0.75 for K = 4
                assertThat(mask.getRow(row).sumNumber().doubleValue() / n).isEqualTo(0.75);
                for (int j = 0; j < n / k; j++) seen[keep.getInt(row, j)]++;
                // every part of an image sees the same image
                assertThat(patches.getRow(row)).isEqualTo(patches.getRow(img * k));
                for (int other = 0; other < k; other++) {
                    if (other == part) continue;
                    int both = 0;
                    for (int t = 0; t < n; t++) both += mask.getDouble(row, t) * mask.getDouble(img * k + other, t) > 0 ? 1 : 0;
                    assertThat(both).as("|O_ij|").isEqualTo(n - 2 * n / k);
                }
            }
            // union of the V_k is every token, each exactly once; so each token is masked in exactly K−1 parts
            for (int t = 0; t < n; t++) {
                assertThat(seen[t]).isEqualTo(1);
                double maskedIn = 0;
                for (int part = 0; part < k; part++) maskedIn += mask.getDouble(img * k + part, t);
                assertThat(maskedIn).isEqualTo(k - 1);
            }
        }
    }

    /** The graph's score equals L_rec + λ·L_sc computed from its [B·K, N, P] predictions by definition. */
    @Test
    void graphObjectiveIsPartAveragedMaeLossPlusSelfConsistency() {
        ModelConfig m = grid4();
        int n = m.tokens(), k = 4, b = 2;
        double lambda = 0.6;
        EmaeMethod me = method(m, k, lambda, "mse", true);
        ComputationGraph g = new ComputationGraph(me.graph(new NoOp(), 0, 5, DataType.FLOAT));
        g.init();
        MultiDataSet mds = me.prepare(MaeInvariantsTest.randomBatch(m, b, 2));
        INDArray pred = g.output(mds.getFeatures())[0];                      // [B·K, N, P]
        INDArray labels = mds.getLabels(0), mask = mds.getLabelsMaskArray(0);
        double rec = 0;
        for (int part = 0; part < k; part++) {
            INDArray rows = Nd4j.createFromArray(part, k + part);            // image 0 and 1, this part
            rec += MaskedPatchMse.loss(labels.get(rows), pred.get(rows), mask.get(rows)) / k;
        }
        double[][][] y = new double[b * k][][];
        for (int r = 0; r < b * k; r++) y[r] = pred.get(NDArrayIndex.point(r), NDArrayIndex.all(), NDArrayIndex.all()).toDoubleMatrix();
        double sc = EmaeLossTest.selfConsistency(y, y, mask.toDoubleMatrix(), k, "mse");
        assertThat(sc).isPositive();
        assertThat(g.score(mds)).isCloseTo(rec + lambda * sc, within(1e-5));
    }

    @Test
    void emaeGraphPassesGradientCheckInDoublePrecision() {
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
        try {
            ModelConfig m = grid4();
            // stop-gradient off: the analytic gradient is then the true gradient that central differences see
            EmaeMethod me = method(m, 4, 0.8, "cosine", false);
            ComputationGraph g = new ComputationGraph(me.graph(new NoOp(), 0, 11, DataType.DOUBLE));
            g.init();
            g.params().addi(Nd4j.randn(DataType.DOUBLE, g.params().shape()).muli(0.1));
            MultiDataSet mds = me.prepare(MaeInvariantsTest.randomBatch(m, 1, 4));
            INDArray[] in = java.util.Arrays.stream(mds.getFeatures()).map(a -> a.castTo(DataType.DOUBLE)).toArray(INDArray[]::new);
            assertThat(GradientCheckUtil.checkGradients(new GradientCheckUtil.GraphConfig().net(g).inputs(in)
                    .labels(new INDArray[]{mds.getLabels(0).castTo(DataType.DOUBLE)})
                    .labelMask(new INDArray[]{mds.getLabelsMaskArray(0).castTo(DataType.DOUBLE)})
                    .epsilon(1e-6).maxRelError(1e-5).minAbsoluteError(1e-9))).isTrue();
        } finally {
            Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        }
    }

    @Test
    void partsThatDoNotDivideTheTokenCountAreAConfigErrorNamingTheKey() {
        // 28 px / patch 4: N = 49
        assertThatThrownBy(() -> MimConfig.load(Map.of("method.name", "emae")))
                .hasMessageContaining("mim.method.emae.parts").hasMessageContaining("4")
                .hasMessageContaining("N = 49").hasMessageContaining("[7, 49]");
        MimConfig ok = MimConfig.load(Map.of("method.name", "emae", "method.emae.parts", "7"));
        assertThat(((EmaeMethod) Methods.create(ok)).parts()).isEqualTo(7);
        assertThat(MimConfig.load(Map.of("method.name", "emae", "model.patch", "7")).method.emae().parts()).isEqualTo(4);
        assertThatThrownBy(() -> MimConfig.load(Map.of("method.name", "emae", "model.patch", "7",
                "method.emae.distance", "l1"))).hasMessageContaining("mim.method.emae.distance").hasMessageContaining("cosine");
    }

    @Test
    void sameImageKeyGivesTheSamePartsInAnyBatch() {
        ModelConfig m = grid4();
        EmaeMethod me = method(m, 4, 1, "mse", true);
        Batch two = MaeInvariantsTest.randomBatch(m, 2, 7);
        MultiDataSet a = me.prepare(two);
        Batch firstOnly = new Batch(java.util.Arrays.copyOf(two.pixels(), m.imageSize * m.imageSize), 1, m.imageSize,
                m.imageSize, 1, new String[]{two.keys()[0]}, two.epoch(), two.runSeed());
        MultiDataSet b = me.prepare(firstOnly);
        assertThat(b.getFeatures(1)).isEqualTo(a.getFeatures(1).get(NDArrayIndex.interval(0, 4), NDArrayIndex.all()));
    }
}
