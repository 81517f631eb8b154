package org.sparkmim.model.eval;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.data.FashionMnist;
import org.sparkmim.model.data.ImageSet;
import org.sparkmim.model.method.Batch;
import org.sparkmim.model.method.FeatureSpec;
import org.sparkmim.model.method.Methods;
import org.sparkmim.model.method.MimMethod;
import org.sparkmim.model.train.Trainer;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Frozen-encoder features: unmasked (every token counts), deterministic, batch-independent, right shapes. */
class FeatureExtractionTest {
    static MimConfig cfg;
    static MimMethod method;
    static ComputationGraph graph;
    static ImageSet images;

    @BeforeAll
    static void setUp() {
        cfg = MimConfig.load(Map.of("model.dim", "32", "model.depth", "3", "model.heads", "2", "run.seed", "5"));
        method = Methods.create(cfg);
        graph = Encoders.randomInit(cfg, method);
        images = FashionMnist.load(FashionMnist.locate(""), "test").subset(0, 6);
    }

    static INDArray features(ImageSet set, FeatureSpec spec, int epoch) {
        Batch b = EvalBatches.of(cfg, set, 0, set.count(), epoch);
        return method.features(graph, b, spec);
    }

    @Test
    void shapesForMeanClsAndLastBlocks() {
        assertThat(features(images, FeatureSpec.MEAN, 0).shape()).containsExactly(6, 32);
        assertThat(features(images, FeatureSpec.CLS, 0).shape()).containsExactly(6, 32);
        assertThat(features(images, FeatureSpec.parse("lastk", 2), 0).shape()).containsExactly(6, 64);
        // lastk with k = 1 is the mean-pooled final-norm output, i.e. "mean"
        assertThat(features(images, FeatureSpec.parse("lastk", 1), 0)).isEqualTo(features(images, FeatureSpec.MEAN, 0));
        assertThat(features(images, FeatureSpec.CLS, 0)).isNotEqualTo(features(images, FeatureSpec.MEAN, 0));
    }

    @Test
    void gridPoolingKeepsWhereTokensAreAndAveragesBackToTheGlobalMean() {
        // default test model: 28 / 4 = 7 tokens per side
        INDArray mean = features(images, FeatureSpec.MEAN, 0);                          // [6, 32]
        INDArray last2 = features(images, FeatureSpec.parse("lastk", 2), 0);            // [6, 64]
        assertThat(features(images, FeatureSpec.parse("mean", 1, 1), 0)).isEqualTo(mean);
        INDArray g7 = features(images, FeatureSpec.parse("mean", 1, 7), 0);             // one cell per token: [6, 49·32]
        assertThat(g7.shape()).containsExactly(6, 49 * 32);
        // the token-count-weighted average of the cells is the global mean, for even (7 = 7·1) and uneven (7 = 4 + 3) cells
        assertThat(g7.reshape(6, 49, 32).mean(1).sub(mean).amaxNumber().doubleValue()).isLessThan(1e-5);
        INDArray g2 = features(images, FeatureSpec.parse("lastk", 2, 2), 0);            // [6, 2 blocks · 4 cells · 32]
        assertThat(g2.shape()).containsExactly(6, 2 * 4 * 32);
        int[] cellTokens = {4 * 4, 4 * 3, 3 * 4, 3 * 3};                                // rows/cols split 4 + 3
        for (int block = 0; block < 2; block++) {
            INDArray acc = org.nd4j.linalg.factory.Nd4j.zeros(org.nd4j.linalg.api.buffer.DataType.FLOAT, 6, 32);
            for (int c = 0; c < 4; c++) {
                int from = (block * 4 + c) * 32;
                acc.addi(g2.get(org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.interval(from, from + 32))
                        .mul(cellTokens[c] / 49.0));
            }
            INDArray global = last2.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                    org.nd4j.linalg.indexing.NDArrayIndex.interval(block * 32, block * 32 + 32));
            assertThat(acc.sub(global).amaxNumber().doubleValue()).as("block %d", block).isLessThan(1e-5);
        }
        // cells differ: a grid feature is not the global mean repeated
        assertThat(g2.getColumn(0).sub(g2.getColumn(32)).amaxNumber().doubleValue()).isGreaterThan(1e-3);
        // cell of each token: row-major token grid, rows and columns split by integer division
        FeatureSpec spec = FeatureSpec.parse("mean", 1, 2);
        assertThat(spec.cellOf(0, 7)).isZero();
        assertThat(spec.cellOf(3, 7)).isZero();
        assertThat(spec.cellOf(4, 7)).isEqualTo(1);
        assertThat(spec.cellOf(4 * 7, 7)).isEqualTo(2);
        assertThat(spec.cellOf(48, 7)).isEqualTo(3);
    }

    @Test
    void deterministicIndependentOfBatchAndOfMaskSeeds() {
        INDArray a = features(images, FeatureSpec.MEAN, 0);
        assertThat(features(images, FeatureSpec.MEAN, 0)).isEqualTo(a);
        // another epoch would draw other masks in training; features must not depend on masks at all
        assertThat(features(images, FeatureSpec.MEAN, 7)).isEqualTo(a);
        INDArray alone = features(images.subset(3, 4), FeatureSpec.MEAN, 0);
        assertThat(alone.getRow(0).sub(a.getRow(3)).amaxNumber().doubleValue()).isLessThan(1e-5);
    }

    @Test
    void everyPatchReachesTheFeature() {
        // With masking, a changed patch would be invisible whenever it was masked (75% of the time). Unmasked
        // extraction must see each of the N patches: changing any single patch must change the feature.
        int s = cfg.model.imageSize, p = cfg.model.patch, g = s / p;
        float[] px = new float[s * s];
        images.copyImage(0, px, 0);
        INDArray base = new ModelEncoder("e", cfg, method, graph, FeatureSpec.MEAN).encode(px, 1, s, s, 1, new String[]{"k"});
        for (int t = 0; t < g * g; t++) {
            float[] changed = px.clone();
            int r0 = (t / g) * p, c0 = (t % g) * p;
            for (int y = r0; y < r0 + p; y++) for (int x = c0; x < c0 + p; x++) changed[y * s + x] = 1 - changed[y * s + x];
            INDArray f = new ModelEncoder("e", cfg, method, graph, FeatureSpec.MEAN).encode(changed, 1, s, s, 1, new String[]{"k"});
            assertThat(f.sub(base).amaxNumber().doubleValue()).as("patch %d", t).isGreaterThan(1e-4);
        }
    }

    @Test
    void randomInitTwinIsExactlyTheTrainersStepZeroGraph() {
        // params() holds only the DL4J head layer; the encoder's vertex parameters show in the features
        ImageSet train = FashionMnist.load(FashionMnist.locate(""), "train").subset(0, 512);
        ComputationGraph step0 = new Trainer(cfg, train, java.nio.file.Path.of("unused")).newGraph();
        INDArray f0 = method.features(step0, EvalBatches.of(cfg, images, 0, 6, 0), FeatureSpec.MEAN);
        for (int call = 0; call < 2; call++) {   // every call, whatever the RNG did in between
            org.nd4j.linalg.factory.Nd4j.rand(3, 3);
            INDArray f = method.features(Encoders.randomInit(cfg, method), EvalBatches.of(cfg, images, 0, 6, 0), FeatureSpec.MEAN);
            assertThat(f).isEqualTo(f0);
        }
        MimConfig other = MimConfig.load(Map.of("model.dim", "32", "model.depth", "3", "model.heads", "2", "run.seed", "6"));
        INDArray g = method.features(Encoders.randomInit(other, Methods.create(other)), EvalBatches.of(cfg, images, 0, 6, 0),
                FeatureSpec.MEAN);
        assertThat(g).isNotEqualTo(f0);
    }
}
