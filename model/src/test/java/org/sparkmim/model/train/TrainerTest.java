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
    void optimStepsEndsTheRunAndItsScheduleInsideAnEpoch(@TempDir Path tmp) throws Exception {
        Map<String, String> m = new java.util.LinkedHashMap<>(Map.of("model.dim", "32", "model.depth", "1", "model.heads", "2",
                "optim.batch", "32", "optim.epochs", "50", "optim.steps", "13", "data.train-limit", "256",
                "run.dir", tmp.toString(), "run.log-every", "5", "optim.min-lr", "1e-6"));
        m.put("optim.warmup-epochs", "0.25");
        m.put("eval.online-knn-every", "0");
        MimConfig cfg = MimConfig.load(m);
        ImageSet train = FashionMnist.load(FashionMnist.locate(""), "train").subset(0, 256);
        // 8 steps per epoch: 13 steps = one full epoch + 5 steps of the second; epochs = 50 no longer decides
        assertThat(cfg.optim.totalSteps(8)).isEqualTo(13);
        assertThat(cfg.optim.epochsToRun(8)).isEqualTo(2);
        Trainer.Result r = new Trainer(cfg, train, tmp.resolve("run")).run();
        assertThat(r.steps()).isEqualTo(13);
        assertThat(Checkpoints.step(Checkpoints.list(tmp.resolve("run")).get(0))).isEqualTo(13);
        // the cosine ends exactly at the last step: the last logged LR is the schedule's value at step 12, near min-lr
        WarmupCosineSchedule s = Trainer.schedule(cfg, 8);
        assertThat(s.totalSteps).isEqualTo(13);
        List<String> lines = Files.readAllLines(tmp.resolve("run").resolve("metrics.jsonl"));
        var last = new ObjectMapper().readTree(lines.stream().filter(l -> l.contains("\"lr\"")).reduce((a, b) -> b).orElseThrow());
        assertThat(last.get("step").asLong()).isEqualTo(13);
        assertThat(last.get("lr").asDouble()).isCloseTo(s.lr(12), within(1e-12)).isLessThan(0.2 * cfg.optim.peakLr()); // with epochs = 50 deciding it would still be ~peak
    }

    @Test
    void aRunStoppedByItsTimeBudgetRecordsItsLastStep(@TempDir Path tmp) throws Exception {
        // experiment compare reads a checkpoint's training time from these records; the budget's final checkpoint
        // used to come after the last record, so its time was clamped to an earlier step's
        Map<String, String> m = new java.util.LinkedHashMap<>(Map.of("model.dim", "32", "model.depth", "1", "model.heads", "2",
                "optim.batch", "32", "optim.epochs", "500", "data.train-limit", "256", "run.dir", tmp.toString(),
                "run.log-every", "1000", "run.time-budget-minutes", "0.03", "eval.online-knn-every", "0"));
        MimConfig cfg = MimConfig.load(m);
        ImageSet train = FashionMnist.load(FashionMnist.locate(""), "train").subset(0, 256);
        Trainer.Result r = new Trainer(cfg, train, tmp.resolve("run")).run();
        assertThat(r.stoppedByBudget()).isTrue();
        assertThat(r.steps()).isLessThan(500L * 8);
        assertThat(Checkpoints.step(Checkpoints.list(tmp.resolve("run")).get(0))).isEqualTo(r.steps());
        List<String> lines = Files.readAllLines(tmp.resolve("run").resolve("metrics.jsonl"));
        var last = new ObjectMapper().readTree(lines.stream().filter(l -> l.contains("\"elapsed_s\"")).reduce((a, b) -> b).orElseThrow());
        assertThat(last.get("step").asLong()).isEqualTo(r.steps());
        assertThat(last.get("elapsed_s").asDouble()).isGreaterThanOrEqualTo(0.03 * 60);
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
