package org.sparkmim.model.mapet;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.sparkmim.masking.PermutedPrediction;
import org.sparkmim.masking.SampleMask;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.config.ModelConfig;
import org.sparkmim.model.data.FashionMnist;
import org.sparkmim.model.data.ImageSet;
import org.sparkmim.model.fixtures.GraphChecks;
import org.sparkmim.model.fixtures.TinyModels;
import org.sparkmim.model.mae.MaeGraph;
import org.sparkmim.model.method.Batch;
import org.sparkmim.model.method.FeatureSpec;
import org.sparkmim.model.method.Methods;
import org.sparkmim.model.train.Trainer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.nd4j.linalg.ops.transforms.Transforms;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** MaPeT on the real vertices: gradients, what each stream can see end to end, evaluation, and training on real data. */
class MapetMethodTest {

    /** A table of random ids for random images with keys img/0.. (the gradient check and the visibility tests). */
    static TokenTable randomTokens(ModelConfig m, int images, int k, long seed) {
        Random r = new Random(seed);
        Map<String, int[]> t = new java.util.HashMap<>();
        for (int i = 0; i < images; i++) {
            int[] ids = new int[m.tokens()];
            for (int j = 0; j < ids.length; j++) ids[j] = r.nextInt(k);
            t.put("img/" + i, ids);
        }
        return new TokenTable() {
            @Override public int vocab() { return k; }
            @Override public int patch() { return m.patch; }
            @Override public int imageSize() { return m.imageSize; }
            @Override public String datasetFingerprint() { return "random"; }
            @Override public String location() { return "random test tokens"; }
            @Override public void fill(String key, int[] dst, int off) { System.arraycopy(t.get(key), 0, dst, off, m.tokens()); }
        };
    }

    static Batch randomBatch(ModelConfig m, int b, long seed) {
        Random r = new Random(seed);
        float[] px = new float[b * m.imageSize * m.imageSize * m.channels];
        for (int i = 0; i < px.length; i++) px[i] = (float) r.nextGaussian();
        String[] keys = new String[b];
        for (int i = 0; i < b; i++) keys[i] = "img/" + i;
        return new Batch(px, b, m.imageSize, m.imageSize, m.channels, keys, 2, 11L);
    }

    static MapetMethod method(ModelConfig m, TokenTable t, double layerScale) {
        MimConfig.MethodConfig mc = new MimConfig.MethodConfig("mapet", 0.75, "random", false)
                .withMapet(new MimConfig.MapetConfig(0.25, "", layerScale));
        return new MapetMethod(m, mc, () -> t);
    }

    @Test
    void graphPassesTheDoublePrecisionGradientCheck() {
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
        try {
            ModelConfig m = TinyModels.of(6, 2, 1, 8);                    // N = 9: 2 context patches, 7 predicted
            m.depth = 2;
            for (double ls : new double[]{0.1}) {          // LayerScale on: its γ and every other path
                MapetMethod me = method(m, randomTokens(m, 3, 5, 1), ls);
                assertThat(me.predicted()).isEqualTo(7);
                ComputationGraph g = new ComputationGraph(me.graph(new NoOp(), 0, 5, DataType.DOUBLE));
                g.init();
                assertThat(GraphChecks.passes(g, me.prepare(randomBatch(m, 3, 6)))).as("layer scale %s", ls).isTrue();
            }
        } finally {
            Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        }
    }

    /** [B·Np, k] head output (softmax) of the graph for a prepared batch. */
    private static INDArray logits(ComputationGraph g, MultiDataSet mds) {
        return g.output(false, mds.getFeatures())[0].dup();
    }

    /**
     * End to end through two blocks: the pixels of the patch predicted last reach no query (nobody may see it), and
     * the pixels of the patch predicted first reach the queries of later patches (the stream is not cut off).
     */
    @Test
    void aPredictedPatchIsSeenOnlyByTheQueriesAfterIt() {
        ModelConfig m = TinyModels.of(8, 2, 1, 16);                       // N = 16: 4 context, 12 predicted
        m.depth = 2;
        MapetMethod me = method(m, randomTokens(m, 2, 7, 2), 1.0);
        ComputationGraph g = new ComputationGraph(me.graph(new NoOp(), 0, 3, DataType.FLOAT));
        g.init();
        Batch batch = randomBatch(m, 2, 4);
        SampleMask plan = me.plan(batch, 0);
        int[] shuffle = plan.idsShuffle();
        int last = shuffle[shuffle.length - 1], first = shuffle[plan.keep()];
        INDArray base = logits(g, me.prepare(batch));
        INDArray lastChanged = logits(g, me.prepare(withPatch(m, batch, last)));
        assertThat(lastChanged.equalsWithEps(base, 1e-6)).as("changing the last predicted patch changed a query").isTrue();
        INDArray firstChanged = logits(g, me.prepare(withPatch(m, batch, first)));
        assertThat(firstChanged.equalsWithEps(base, 1e-4)).as("the first predicted patch reached no query").isFalse();
        // and a context patch reaches every query
        INDArray ctxChanged = logits(g, me.prepare(withPatch(m, batch, shuffle[0])));
        int np = me.predicted(), k = 7;
        INDArray diff = Transforms.abs(ctxChanged.sub(base)).reshape(2, np, k).get(
                org.nd4j.linalg.indexing.NDArrayIndex.point(0)).sum(1);  // per query row of image 0
        for (int j = 0; j < np; j++) assertThat(diff.getDouble(j)).as("query %d", j).isGreaterThan(1e-7);
    }

    /** The batch with image 0's patch p replaced by other values. */
    private static Batch withPatch(ModelConfig m, Batch b, int p) {
        float[] px = b.pixels().clone();
        int g = m.gridSize(), r = p / g, c = p % g;
        for (int y = 0; y < m.patch; y++) {
            for (int x = 0; x < m.patch; x++) px[(r * m.patch + y) * m.imageSize + c * m.patch + x] += 3f;
        }
        return new Batch(px, b.size(), b.height(), b.width(), b.channels(), b.keys(), b.epoch(), b.runSeed());
    }

    /** Evaluation is the content stream as a plain ViT: the mask-position token and the seeds cannot change it. */
    @Test
    void featuresAreAPlainVitOverTheContentTokens() {
        ModelConfig m = TinyModels.of(8, 2, 1, 8);
        m.depth = 2;
        MapetMethod me = method(m, randomTokens(m, 3, 5, 3), 0.1);
        ComputationGraph g = new ComputationGraph(me.graph(new NoOp(), 0, 3, DataType.FLOAT));
        g.init();
        Batch b = randomBatch(m, 3, 8);
        INDArray f = me.features(g, b, FeatureSpec.MEAN);
        assertThat(f.shape()).containsExactly(3, m.dim);
        Batch other = new Batch(b.pixels(), b.size(), b.height(), b.width(), b.channels(), b.keys(), b.epoch() + 5, 99L);
        assertThat(me.features(g, other, FeatureSpec.MEAN)).isEqualTo(f);
        g.getVertex(MaeGraph.EMBED).paramTable(false).get("mtok").addi(10);
        assertThat(me.features(g, b, FeatureSpec.MEAN).equalsWithEps(f, 1e-6)).isTrue();
        assertThat(me.features(g, b, FeatureSpec.CLS).shape()).containsExactly(3, m.dim);
    }

    @Test
    void preparedBatchHasTheTwoStreamLayoutAndTheTargetsOfThePredictedPatches() {
        ModelConfig m = TinyModels.of(8, 2, 1, 8);
        TokenTable t = randomTokens(m, 2, 5, 4);
        MapetMethod me = method(m, t, 0.1);
        Batch b = randomBatch(m, 2, 1);
        MultiDataSet mds = me.prepare(b);
        int n = 16, np = 12;
        assertThat(mds.getFeatures(1).shape()).containsExactly(2, np);
        assertThat(mds.getFeatures(2).shape()).containsExactly(2, PermutedPrediction.rows(n, np), PermutedPrediction.keys(n, np));
        assertThat(mds.getLabels(0).shape()).containsExactly(2, np, 5);
        int[] ids = new int[n];
        t.fill("img/1", ids, 0);
        int[] pd = PermutedPrediction.predictedPatches(me.plan(b, 1));
        for (int j = 0; j < np; j++) {
            assertThat(mds.getFeatures(1).getInt(1, j)).isEqualTo(pd[j]);
            assertThat(mds.getLabels(0).getDouble(1, j, ids[pd[j]])).isEqualTo(1.0);
            assertThat(mds.getLabels(0).get(org.nd4j.linalg.indexing.NDArrayIndex.point(1),
                    org.nd4j.linalg.indexing.NDArrayIndex.point(j)).sumNumber().doubleValue()).isEqualTo(1.0);
        }
    }

    @Test
    void lossFallsOnRealDataThroughTheTrainer(@TempDir Path tmp) throws Exception {
        ImageSet train = FashionMnist.load(FashionMnist.locate(""), "train").subset(0, 480);
        TokenTables.put("test://patch-mean", new PatchMeanTokens(train, 7, 16));
        String[] kv = {"method.name", "mapet", "method.mapet.tokens", "test://patch-mean", "model.patch", "7",
                "model.dim", "32", "model.depth", "2", "model.heads", "2", "optim.batch", "32", "optim.epochs", "3",
                "optim.warmup-epochs", "0.3", "optim.base-lr", "4e-3", "data.train-limit", "480",
                "run.dir", tmp.toString(), "run.log-every", "5", "run.seed", "3"};
        Map<String, String> over = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) over.put(kv[i], kv[i + 1]);
        MimConfig cfg = MimConfig.load(over);
        assertThat(cfg.data.flipProb()).isZero();
        assertThat(cfg.data.cropScaleMin()).isEqualTo(1.0);
        assertThat(Methods.create(cfg)).isInstanceOf(MapetMethod.class);
        Trainer.Result r = new Trainer(cfg, train, tmp.resolve("run")).run();
        assertThat(r.steps()).isEqualTo(3L * 480 / 32);
        List<String> lines = Files.readAllLines(tmp.resolve("run").resolve("metrics.jsonl"));
        ObjectMapper json = new ObjectMapper();
        double first = json.readTree(lines.get(0)).get("loss").asDouble();
        double last = json.readTree(lines.get(lines.size() - 1)).get("loss").asDouble();
        // mean cross-entropy per token: about ln 16 = 2.77 for the initial near-uniform guess
        assertThat(first).isCloseTo(Math.log(16), within(0.5));
        assertThat(last).as("first %.4f last %.4f", first, last).isLessThan(0.8 * first);
    }

    @Test
    void badSettingsAreRefusedNamingTheirKeys() {
        ModelConfig m = TinyModels.of(8, 2, 1, 8);
        TokenTable other = randomTokens(TinyModels.of(8, 4, 1, 8), 1, 5, 1);
        MapetMethod me = method(m, other, 0.1);
        assertThatThrownBy(() -> me.graph(new NoOp(), 0, 1, DataType.FLOAT))
                .hasMessageContaining("mim.method.mapet.tokens").hasMessageContaining("patch 4").hasMessageContaining("model.patch=2");
        assertThatThrownBy(() -> MimConfig.load(Map.of("method.name", "mapet", "data.flip-prob", "0.5")))
                .hasMessageContaining("flip-prob").hasMessageContaining("mapet");
        assertThatThrownBy(() -> MimConfig.load(Map.of("method.name", "mapet", "data.crop-scale-min", "0.2")))
                .hasMessageContaining("crop-scale-min");
        assertThatThrownBy(() -> MimConfig.load(Map.of("method.name", "mapet", "model.backbone", "resnet")))
                .hasMessageContaining("mim.model.backbone");
        assertThatThrownBy(() -> MimConfig.load(Map.of("method.name", "mapet", "method.mapet.context-ratio", "1")))
                .hasMessageContaining("context-ratio");
        MimConfig noTokens = MimConfig.load(Map.of("method.name", "mapet"));
        assertThatThrownBy(() -> Methods.create(noTokens).graph(new NoOp(), 0, 1, DataType.FLOAT))
                .hasMessageContaining("mim.method.mapet.tokens").hasMessageContaining("tokenize");
    }
}
