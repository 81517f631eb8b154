package org.sparkmim.model.finetune;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.data.FashionMnist;
import org.sparkmim.model.data.ImageSet;
import org.sparkmim.model.eval.EvalBatches;
import org.sparkmim.model.mae.MaeGraph;
import org.sparkmim.model.method.Batch;
import org.sparkmim.model.method.FeatureSpec;
import org.sparkmim.model.method.Methods;
import org.sparkmim.model.method.MimMethod;
import org.sparkmim.model.nn.ParamVertexConf;
import org.sparkmim.model.train.Checkpoints;
import org.sparkmim.model.train.Trainer;
import org.sparkmim.model.train.WarmupCosineSchedule;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * Fine-tuning on the real bundled Fashion-MNIST: the pretrained encoder is carried over exactly, the recipe's layer
 * decay and label smoothing are what the graph and the labels hold, and the classifier learns.
 */
class FinetuneMethodTest {
    static final ImageSet TRAIN = FashionMnist.load(FashionMnist.locate(""), "train");
    static final ImageSet TEST = FashionMnist.load(FashionMnist.locate(""), "test");

    static Map<String, String> kv(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put(kv[i], kv[i + 1]);
        return m;
    }

    /** A short MAE pretraining run: its newest checkpoint. */
    static Path pretrained(Path tmp) {
        MimConfig cfg = MimConfig.load(kv("model.dim", "64", "model.depth", "2", "model.heads", "4",
                "optim.batch", "64", "optim.epochs", "1", "optim.base-lr", "1e-3", "data.train-limit", "640",
                "run.dir", tmp.toString(), "run.seed", "3", "eval.recon-every", "0", "eval.online-knn-every", "0"));
        Trainer.Result r = new Trainer(cfg, TRAIN.subset(0, 640), tmp.resolve("pre")).run();
        return r.checkpoint();
    }

    /** The fine-tuning config of a checkpoint, as the finetune job derives it (its stored config + the recipe). */
    static MimConfig finetuneCfg(Path ckpt, String... more) {
        String stored = (String) Checkpoints.provenance(ckpt).get("config");
        Map<String, String> o = kv("method.name", "finetune", "finetune.source", ckpt.toString(), "finetune.classes", "10",
                "optim.base-lr", "1e-2", "optim.beta2", "0.999", "optim.warmup-epochs", "0.25", "run.seed", "3");
        o.putAll(kv(more));
        return MimConfig.fromRendered(stored, "test", null, o);
    }

    @Test
    void theFineTuningGraphStartsFromExactlyThePretrainedEncoder(@TempDir Path tmp) {
        Path ckpt = pretrained(tmp);
        ComputationGraph pre = Checkpoints.load(ckpt);
        MimConfig preCfg = MimConfig.fromRendered((String) Checkpoints.provenance(ckpt).get("config"), "test", null, Map.of());
        MimMethod mae = Methods.create(preCfg);
        MimConfig cfg = finetuneCfg(ckpt);
        FinetuneMethod ft = (FinetuneMethod) Methods.create(cfg);
        ComputationGraph g = Trainer.newGraph(cfg, ft, 10);
        Batch b = EvalBatches.of(cfg, TEST, 0, 32, 0);
        for (FeatureSpec spec : List.of(FeatureSpec.MEAN, FeatureSpec.CLS)) {
            INDArray want = mae.features(pre, b, spec), got = ft.features(g, b, spec);
            assertThat(got.sub(want).amaxNumber().doubleValue()).as(spec.toString()).isLessThan(1e-5);
        }
        // the head is fresh and tiny (MAE's std 2e-5): the first prediction is near uniform, the first loss ~ln 10
        INDArray p = ft.probabilities(g, b);
        assertThat(p.amaxNumber().doubleValue()).isCloseTo(0.1, within(1e-3));
        // from scratch: the same architecture at the random init of run.seed, not the pretrained weights
        MimConfig scratch = finetuneCfg(ckpt, "finetune.from-scratch", "true");
        ComputationGraph s = Trainer.newGraph(scratch, Methods.create(scratch), 10);
        assertThat(ft.features(s, b, FeatureSpec.MEAN).sub(mae.features(pre, b, FeatureSpec.MEAN)).amaxNumber().doubleValue())
                .isGreaterThan(1e-2);
    }

    @Test
    void layerDecayScalesEachLayersLearningRateAsMaesParamGroups(@TempDir Path tmp) {
        Path ckpt = pretrained(tmp);
        MimConfig cfg = finetuneCfg(ckpt, "finetune.layer-decay", "0.5");
        FinetuneMethod ft = (FinetuneMethod) Methods.create(cfg);
        ComputationGraph g = Trainer.newGraph(cfg, ft, 10);
        WarmupCosineSchedule base = Trainer.schedule(cfg, 10);
        int depth = cfg.model.depth;                       // 2: embed 0.5^3, enc0 0.5^2, enc1 0.5, enc_norm and head 1
        Map<String, Double> want = Map.of("embed", 0.125, "enc0", 0.25, "enc1", 0.5, MaeGraph.LATENT, 1.0);
        assertThat(depth).isEqualTo(2);
        var vertices = g.getConfiguration().getVertices();
        for (var e : want.entrySet()) {
            var conf = (ParamVertexConf) vertices.get(e.getKey());
            Adam a = (Adam) conf.updater;
            for (int step : new int[]{0, 3, 9}) {
                assertThat(a.getLearningRateSchedule().valueAt(step, 0)).as(e.getKey() + " step " + step)
                        .isCloseTo(e.getValue() * base.lr(step), within(1e-12));
            }
        }
        var head = (org.deeplearning4j.nn.conf.layers.BaseLayer)
                ((org.deeplearning4j.nn.conf.graph.LayerVertex) vertices.get(MaeGraph.HEAD)).getLayerConf().getLayer();
        assertThat(((Adam) head.getIUpdater()).getLearningRateSchedule().valueAt(5, 0)).isCloseTo(base.lr(5), within(1e-12));
    }

    @Test
    void labelsAreSmoothedAndBadLabelsAreNamed(@TempDir Path tmp) {
        MimConfig cfg = finetuneCfg(pretrained(tmp), "finetune.label-smoothing", "0.2");
        FinetuneMethod ft = (FinetuneMethod) Methods.create(cfg);
        Batch b = EvalBatches.of(cfg, TEST, 0, 8, 0);
        MultiDataSet mds = ft.prepare(b);
        INDArray y = mds.getLabels(0);                                        // [8, 10]
        assertThat(y.shape()).containsExactly(8, 10);
        for (int i = 0; i < 8; i++) {
            assertThat(y.getRow(i).sumNumber().doubleValue()).isCloseTo(1.0, within(1e-6));
            assertThat(y.getDouble(i, TEST.label(i))).isCloseTo(0.8 + 0.02, within(1e-6));
            assertThat(y.getRow(i).minNumber().doubleValue()).isCloseTo(0.02, within(1e-6));
        }
        int[] bad = b.labels().clone();
        bad[3] = 10;
        Batch wrong = new Batch(b.pixels(), b.size(), b.height(), b.width(), b.channels(), b.keys(), 0, 3, bad);
        assertThatThrownBy(() -> ft.prepare(wrong)).hasMessageContaining(b.keys()[3]).hasMessageContaining("label 10")
                .hasMessageContaining("[0, 9]");
        Batch unlabelled = new Batch(b.pixels(), b.size(), b.height(), b.width(), b.channels(), b.keys(), 0, 3);
        assertThatThrownBy(() -> ft.prepare(unlabelled)).hasMessageContaining("labelled");
    }

    /**
     * A2MIM's ResNet: the fine-tuning classifier's trunk starts as exactly the pretrained one (convolutions and batch
     * norms with their running statistics), so its features equal the pretrained checkpoint's, whose mask token adds
     * nothing when nothing is masked; the stages' LR follows the layer decay, stem lowest, head highest.
     */
    @Test
    void aResNetFineTuningGraphStartsFromExactlyThePretrainedTrunk(@TempDir Path tmp) {
        MimConfig preCfg = MimConfig.load(kv("model.backbone", "resnet", "method.name", "a2mim", "model.resnet.width", "8",
                "optim.batch", "32", "optim.steps", "8", "data.train-limit", "256", "run.dir", tmp.toString(),
                "run.seed", "3", "eval.recon-every", "0", "eval.online-knn-every", "0"));
        Path ckpt = new Trainer(preCfg, TRAIN.subset(0, 256), tmp.resolve("a2")).run().checkpoint();
        ComputationGraph pre = Checkpoints.load(ckpt);
        MimConfig cfg = finetuneCfg(ckpt);
        FinetuneMethod ft = (FinetuneMethod) Methods.create(cfg);
        ComputationGraph g = Trainer.newGraph(cfg, ft, 10);
        // trained running statistics, not the init's 0 / 1, are what must come across
        INDArray runMean = pre.getVertex("s3b1_b_bn").paramTable(false).get("mean");
        assertThat(runMean.amaxNumber().doubleValue()).isGreaterThan(0);
        assertThat(g.getVertex("s3b1_b_bn").paramTable(false).get("mean")).isEqualTo(runMean);
        Batch b = EvalBatches.of(cfg, TEST, 0, 32, 0);
        INDArray want = Methods.create(preCfg).features(pre, b, FeatureSpec.MEAN), got = ft.features(g, b, FeatureSpec.MEAN);
        assertThat(want.shape()).containsExactly(32, 64);    // width 8 → last stage 8·8 channels
        assertThat(got.sub(want).amaxNumber().doubleValue()).isLessThan(1e-5);
        // the classifier on a fresh head: uniform to within MAE's 2e-5 init
        INDArray p = ft.probabilities(g, b);
        assertThat(p.sub(0.1).amaxNumber().doubleValue()).isLessThan(1e-3);
        // layer-wise decay over the stem and 4 stages: 0.75^5 for the stem, 0.75 for the last stage, 1 for the head
        assertThat(ft.lrScale(0)).isCloseTo(Math.pow(0.75, 5), within(1e-12));
        assertThat(ft.lrScale(4)).isCloseTo(0.75, within(1e-12));
        assertThat(lr(g, "stem_conv") / lr(g, MaeGraph.HEAD)).isCloseTo(Math.pow(0.75, 5), within(1e-9));
        assertThat(lr(g, "s3b0_a_conv") / lr(g, MaeGraph.HEAD)).isCloseTo(0.75, within(1e-9));
    }

    /** The LR a layer's Adam runs at step 3 (its warmup-cosine schedule, scaled by the layer decay). */
    private static double lr(ComputationGraph g, String layer) {
        var conf = ((org.deeplearning4j.nn.conf.graph.LayerVertex) g.getConfiguration().getVertices().get(layer)).getLayerConf()
                .getLayer();
        Adam a = (Adam) ((org.deeplearning4j.nn.conf.layers.BaseLayer) conf).getIUpdater();
        return a.getLearningRateSchedule().valueAt(3, 0);
    }

    @Test
    void configRefusesAFinetuneWithoutSourceOrClasses(@TempDir Path tmp) {
        assertThatThrownBy(() -> MimConfig.load(kv("method.name", "finetune", "finetune.classes", "10")))
                .hasMessageContaining("mim.finetune.source").hasMessageContaining("from-scratch");
        assertThatThrownBy(() -> MimConfig.load(kv("method.name", "finetune", "finetune.from-scratch", "true")))
                .hasMessageContaining("mim.finetune.classes").hasMessageContaining(">= 2");
        assertThatThrownBy(() -> MimConfig.load(kv("finetune.layer-decay", "1.5")))
                .hasMessageContaining("mim.finetune.layer-decay").hasMessageContaining("(0, 1]");
        assertThatThrownBy(() -> MimConfig.load(kv("method.name", "finetune", "finetune.from-scratch", "true",
                "finetune.classes", "10", "model.backbone", "resnet", "model.resnet.width", "8", "finetune.pool", "cls")))
                .hasMessageContaining("mim.finetune.pool = cls").hasMessageContaining("allowed mean with model.backbone = resnet");
    }

    /**
     * The real thing, small: 80 steps on 2560 images from a 10-step MAE encoder lift test top-1 from chance (10%) to
     * about 53% (measured), and finetune.json says so.
     */
    @Test
    void fineTuningLearnsFashionMnistAndWritesItsReport(@TempDir Path tmp) throws Exception {
        Path ckpt = pretrained(tmp);
        MimConfig cfg = finetuneCfg(ckpt, "optim.epochs", "2", "optim.batch", "64", "data.train-limit", "2560",
                "run.log-every", "10");
        Path run = tmp.resolve("ft");
        Trainer t = new Trainer(cfg, TRAIN.subset(0, 2560), run);
        t.onEpochEnd(new FinetuneEval(TEST.subset(0, 1000), Map.of("checkpoint", ckpt.toString())));
        Trainer.Result r = t.run();
        assertThat(r.firstLoss()).isCloseTo(Math.log(10), within(0.05));
        assertThat(r.finalLoss()).isLessThan(0.7 * r.firstLoss());
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> recs = Files.readAllLines(run.resolve("metrics.jsonl")).stream().map(l -> {
            try {
                return json.readTree(l);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }).filter(n -> n.has("test_top1")).toList();
        assertThat(recs).hasSize(2);                                         // one per epoch
        JsonNode ft = json.readTree(run.resolve(FinetuneEval.FILE).toFile());
        assertThat(ft.get("test_top1").asDouble()).isGreaterThan(0.45).isEqualTo(recs.get(1).get("test_top1").asDouble());
        assertThat(ft.get("test_top5").asDouble()).isGreaterThanOrEqualTo(ft.get("test_top1").asDouble());
        assertThat(ft.get("init").asText()).isEqualTo("pretrained");
        int total = 0;
        for (JsonNode row : ft.get("confusion").get("matrix")) for (JsonNode c : row) total += c.asInt();
        assertThat(total).isEqualTo(1000);
        assertThat(run.resolve(FinetuneEval.CONFUSION_PNG)).isRegularFile();
        assertThat(Checkpoints.provenance(Checkpoints.list(run).get(0))).containsEntry("method", "finetune");
    }
}
