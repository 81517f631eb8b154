package org.sparkmim.model.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.data.FashionMnist;
import org.sparkmim.model.data.ImageSet;
import org.sparkmim.model.eval.Encoders;
import org.sparkmim.model.eval.Evaluation;
import org.sparkmim.model.train.Trainer;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A real short run on the bundled Fashion-MNIST sample with the standard epoch-end hooks, then evaluation and the
 * report: every file the issue lists must exist, be a readable picture, and eval.json must hold sane numbers.
 * Set the environment variable MIM_KEEP=DIR to keep the run directory for looking at the pictures.
 */
class RunReportTest {

    static MimConfig cfg(Path runs) {
        String[] kv = {"model.dim", "32", "model.depth", "2", "model.heads", "2", "optim.batch", "64", "optim.epochs", "2",
                "optim.warmup-epochs", "0.5", "optim.base-lr", "1e-3", "data.train-limit", "1024", "run.dir", runs.toString(),
                "run.log-every", "4", "run.seed", "3", "eval.online-bank", "600", "eval.online-queries", "300",
                "eval.probe-epochs", "20", "eval.probe-lrs", "[1e-2]", "eval.recon-images", "4"};
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put(kv[i], kv[i + 1]);
        return MimConfig.load(m);
    }

    @Test
    void shortRunProducesCurvesPicturesEvalAndReport(@TempDir Path tmp) throws Exception {
        String keep = System.getenv("MIM_KEEP");
        Path runs = keep != null ? Files.createDirectories(Path.of(keep)) : tmp;
        MimConfig cfg = cfg(runs);
        ImageSet all = FashionMnist.load(FashionMnist.locate(""), "train");
        ImageSet test = FashionMnist.load(FashionMnist.locate(""), "test").subset(0, 500);
        ImageSet train = all.subset(0, 1024);
        Path run = runs.resolve("run");
        Trainer trainer = new Trainer(cfg, train, run);
        RunHooks.standard(cfg, train, test).forEach(trainer::onEpochEnd);
        trainer.run();

        // epoch-end hooks: one record per epoch with online kNN, a recon grid per epoch, the mask picture once
        List<String> lines = Files.readAllLines(run.resolve("metrics.jsonl"));
        ObjectMapper json = new ObjectMapper();
        List<JsonNode> knn = lines.stream().map(l -> readTree(json, l)).filter(n -> n.has("knn_top1")).toList();
        assertThat(knn).hasSize(2);
        assertThat(knn.get(1).get("epoch").asDouble()).isEqualTo(2.0);
        assertThat(knn.get(1).get("knn_top1").asDouble()).isBetween(0.3, 1.0);   // 10 classes: chance is 0.1
        assertPng(run.resolve("recon/epoch-001.png"), 4 * 112, 4 * 112);
        assertPng(run.resolve("recon/epoch-002.png"), 4 * 112, 4 * 112);
        assertPng(run.resolve("masks/random_0.75_.png"), 400, 150);

        // evaluate the newest checkpoint (single-JVM extraction; the Spark job differs only in where features are made)
        Encoders.Loaded ck = Encoders.open(run, null, Map.of());
        ImageSet evalTrain = all.subset(0, 1500);
        Evaluation.Splits splits = new Evaluation.Splits(evalTrain.labels(), test.labels(), evalTrain.classNames(), "sample");
        Evaluation.run(ck, Evaluation.local(ck, evalTrain, test), splits, run);
        JsonNode ev = json.readTree(run.resolve("eval.json").toFile());
        for (String k : List.of("knn_top1", "knn_top5", "probe_top1")) {
            assertThat(ev.get(k).asDouble()).as(k).isBetween(0.3, 1.0);
            assertThat(ev.at("/floors/pixels/" + k).asDouble()).as("pixels " + k).isBetween(0.5, 1.0);
            assertThat(ev.at("/floors/random_init/" + k).asDouble()).as("random " + k).isBetween(0.2, 1.0);
        }
        assertThat(ev.get("knn_top5").asDouble()).isGreaterThanOrEqualTo(ev.get("knn_top1").asDouble());
        assertThat(ev.get("verdict").asText()).isIn("PASS", "FAILED");
        assertThat(ev.get("verdict_reason").asText()).contains("random init").contains("raw pixels");
        assertThat(ev.at("/floors/pixels/feature_dim").asInt()).isEqualTo(784);
        assertThat(ev.at("/encoder/feature_dim").asInt()).isEqualTo(32);
        assertThat(ev.at("/provenance/sha256").asText()).isEqualTo(Encoders.sha256(ck.checkpoint()));
        assertThat(ev.at("/provenance/step").asLong()).isEqualTo(32);
        int total = 0;
        for (JsonNode row : ev.at("/confusion/matrix")) for (JsonNode c : row) total += c.asInt();
        assertThat(total).isEqualTo(500);
        assertPng(run.resolve("confusion.png"), 600, 500);

        Path html = ReportPage.write(run);
        assertPng(run.resolve("curves.png"), 2 * Charts.W, 2 * Charts.H);
        String page = Files.readString(html);
        assertThat(page).contains("curves.png", "confusion.png", "recon/epoch-002.png", "masks/random_0.75_.png",
                "config.conf", "eval.json", ev.get("verdict").asText());

        // runs compare: this run and a crashed one (a config and half a metrics line) side by side
        Path crashed = Files.createDirectories(runs.resolve("crashed"));
        Files.writeString(crashed.resolve("config.conf"), cfg.render());
        Files.writeString(crashed.resolve("metrics.jsonl"), "{\"step\":4,\"loss\":0.9}\n{\"step\":8,\"lo");
        List<RunSummary> rs = RunsCompare.read(List.of(run, crashed));
        String table = RunsCompare.table(rs);
        assertThat(table.lines()).hasSize(3);
        assertThat(table).contains("run ", "crashed", ev.get("verdict").asText());
        assertThat(rs.get(1).metrics().skipped()).isEqualTo(1);
        assertPng(RunsCompare.plot(rs, runs.resolve("compare.png")), 2 * Charts.W, Charts.H);
    }

    static JsonNode readTree(ObjectMapper m, String line) {
        try {
            return m.readTree(line);
        } catch (Exception e) {
            throw new AssertionError("bad metrics line " + line, e);
        }
    }

    static void assertPng(Path p, int minW, int minH) throws Exception {
        assertThat(p).isRegularFile();
        BufferedImage img = ImageIO.read(p.toFile());
        assertThat(img).as(p.toString()).isNotNull();
        assertThat(img.getWidth()).as(p + " width").isGreaterThanOrEqualTo(minW);
        assertThat(img.getHeight()).as(p + " height").isGreaterThanOrEqualTo(minH);
    }

    /** The runs table names a ResNet by its own shape, not by the ViT preset keys a ResNet ignores. */
    @Test
    void runsTableDescribesBothBackbones() {
        MimConfig rn = MimConfig.load(Map.of("method.name", "a2mim", "model.backbone", "resnet", "model.resnet.depth", "50",
                "model.resnet.width", "16"));
        assertThat(RunSummary.describeModel(com.typesafe.config.ConfigFactory.parseString(rn.render())))
                .isEqualTo("resnet50 w16 p4");
        MimConfig vit = MimConfig.load(Map.of("model.dim", "96"));
        assertThat(RunSummary.describeModel(com.typesafe.config.ConfigFactory.parseString(vit.render())))
                .startsWith("small").contains("d96");
    }
}
