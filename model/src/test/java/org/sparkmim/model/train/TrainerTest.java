package org.sparkmim.model.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.data.FashionMnist;
import org.sparkmim.model.data.ImageSet;
import org.sparkmim.model.method.Methods;
import org.sparkmim.model.method.MimMethod;
import org.sparkmim.model.nn.MaskedPatchMse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** MAE trains on the real bundled Fashion-MNIST: loss falls, metrics and atomic checkpoints with provenance appear. */
class TrainerTest {

    static MimConfig cfg(Path runs) {
        String[] kv = {"model.dim", "64", "model.depth", "2", "model.heads", "4",
                "optim.batch", "64", "optim.epochs", "3", "optim.warmup-epochs", "0.5", "optim.base-lr", "1e-3",
                "data.train-limit", "1536", "run.dir", runs.toString(), "run.log-every", "6", "run.seed", "7"};
        Map<String, String> m = new java.util.LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put(kv[i], kv[i + 1]);
        return MimConfig.load(m);
    }

    @Test
    void maeLossFallsOnRealDataAndCheckpointsCarryProvenance(@TempDir Path tmp) throws Exception {
        MimConfig cfg = cfg(tmp);
        ImageSet train = FashionMnist.load(FashionMnist.locate(""), "train").subset(0, cfg.data.trainLimit());
        Path run = tmp.resolve("run");
        Trainer trainer = new Trainer(cfg, train, run);
        Trainer.Result r = trainer.run();

        assertThat(r.steps()).isEqualTo(3L * 1536 / 64);
        List<String> lines = Files.readAllLines(run.resolve("metrics.jsonl"));
        assertThat(lines).hasSize(12);
        ObjectMapper json = new ObjectMapper();
        double first = json.readTree(lines.get(0)).get("loss").asDouble();
        double last = json.readTree(lines.get(lines.size() - 1)).get("loss").asDouble();
        // norm-pix targets have unit variance per patch: predicting 0 scores ~1; learning must beat that clearly
        assertThat(last).isLessThan(0.8 * first).isLessThan(0.9);

        List<Path> ckpts = Checkpoints.list(run);
        assertThat(ckpts).hasSize(cfg.run.keepCheckpoints());
        assertThat(Checkpoints.step(ckpts.get(0))).isEqualTo(r.steps());
        try (var files = Files.list(run.resolve("checkpoints"))) {
            assertThat(files.filter(f -> f.toString().endsWith(".tmp"))).isEmpty();
        }
        Map<String, Object> prov = Checkpoints.provenance(ckpts.get(0));
        assertThat(prov).containsEntry("fingerprint", cfg.fingerprint()).containsEntry("method", "mae");
        assertThat(((Number) prov.get("step")).longValue()).isEqualTo(r.steps());
        assertThat((String) prov.get("config")).contains("mask-ratio");

        // the checkpoint restores to a graph that scores a batch exactly as the reported loss formula says
        ComputationGraph g = Checkpoints.load(ckpts.get(0));
        MimMethod m = Methods.create(cfg);
        int[] order = new int[train.count()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        MultiDataSet mds = m.prepare(Trainer.batch(train, order, 0, 64, 0, cfg));
        INDArray pred = g.output(mds.getFeatures())[0];
        assertThat(g.score(mds) - g.calcRegularizationScore(true)).isCloseTo(MaskedPatchMse.loss(mds.getLabels(0), pred, mds.getLabelsMaskArray(0)), within(1e-4));
        ComputationGraph fresh = trainer.newGraph();
        assertThat(g.params().sub(fresh.params()).norm2Number().doubleValue()).isGreaterThan(1.0);
    }

    @Test
    void scheduleWarmsUpThenDecaysToMin() {
        WarmupCosineSchedule s = new WarmupCosineSchedule(1e-3, 1e-5, 10, 110);
        assertThat(s.lr(0)).isCloseTo(1e-4, within(1e-12));
        assertThat(s.lr(9)).isCloseTo(1e-3, within(1e-12));
        assertThat(s.lr(60)).isCloseTo(1e-5 + (1e-3 - 1e-5) * 0.5, within(1e-9));
        assertThat(s.lr(110)).isEqualTo(1e-5);
        for (int i = 10; i < 109; i++) assertThat(s.lr(i + 1)).isLessThanOrEqualTo(s.lr(i));
    }
}
