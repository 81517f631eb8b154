package org.sparkmim.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.data.FashionMnist;
import org.sparkmim.model.eval.Encoders;
import org.sparkmim.model.method.Methods;
import org.sparkmim.model.train.Checkpoints;
import org.sparkmim.model.train.Trainer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * {@code finetune} on the real bundled Fashion-MNIST: a pretrained checkpoint's encoder plus a linear classifier,
 * through Spark with gradient sharing (the product path) and through the JVM engine from the same start; both learn
 * far above chance and agree; finetune.json, the checkpoint provenance and report.html record it; bad input is
 * refused with the key, file or sizes named.
 */
class FinetuneCommandTest {
    @TempDir
    static Path tmp;
    static Path pre;

    @BeforeAll
    static void pretrain() {
        pre = pretrainSmall(tmp);
    }

    /** A 30-step MAE (dim 32, 2 blocks, 7-px patches) in one JVM: the source checkpoint of fine-tuning tests. */
    static Path pretrainSmall(Path runDir) {
        CliTest.Run r = CliTest.run("pretrain", "--engine", "jvm", "--set", "model.dim=32", "--set", "model.depth=2",
                "--set", "model.heads=2", "--set", "model.patch=7", "--set", "optim.batch=64", "--set", "optim.steps=30",
                "--set", "data.train-limit=1920", "--set", "run.dir=" + runDir, "--set", "run.name=src",
                "--set", "eval.online-knn-every=0", "--set", "eval.recon-every=0");
        assertThat(r.code()).as(r.err()).isZero();
        return runDir.resolve("src");
    }

    static CliTest.Run finetune(String... extra) {
        List<String> a = new ArrayList<>(List.of("finetune", "--checkpoint", pre.toString(), "--set", "optim.batch=64",
                "--set", "optim.epochs=2", "--set", "data.train-limit=1920", "--set", "run.dir=" + tmp,
                "--set", "optim.base-lr=1e-2", "--set", "spark.port=41731"));
        a.addAll(List.of(extra));
        return CliTest.run(a.toArray(String[]::new));
    }

    @Test
    void sparkGradientSharingFineTunesAsTheJvmEngineDoes() throws Exception {
        CliTest.Run spark = finetune("--set", "run.name=ft-spark");
        assertThat(spark.code()).as(spark.err()).isZero();
        CliTest.Run jvm = finetune("--engine", "jvm", "--set", "run.name=ft-jvm");
        assertThat(jvm.code()).as(jvm.err()).isZero();
        ObjectMapper json = new ObjectMapper();
        JsonNode s = json.readTree(tmp.resolve("ft-spark/finetune.json").toFile());
        JsonNode j = json.readTree(tmp.resolve("ft-jvm/finetune.json").toFile());
        // 60 steps: chance is 10%; the two engines train the same minibatches from the same start
        String both = "spark " + s.get("test_top1") + ", jvm " + j.get("test_top1");
        assertThat(s.get("test_top1").asDouble()).as(both).isGreaterThan(0.35);
        assertThat(j.get("test_top1").asDouble()).as(both).isGreaterThan(0.35);
        assertThat(s.get("test_top1").asDouble()).as(both).isCloseTo(j.get("test_top1").asDouble(), within(0.04));
        assertThat(spark.summary().get("steps").asInt()).isEqualTo(60);
        assertThat(spark.summary().get("test_top1").asDouble()).isEqualTo(s.get("test_top1").asDouble());
        // the classifier starts at uniform: the probe loss before training is ln 10
        assertThat(spark.summary().get("first_probe_loss").asDouble()).isCloseTo(Math.log(10), within(0.01));
        assertThat(spark.summary().get("final_probe_loss").asDouble()).isLessThan(0.75 * Math.log(10));

        Path src = Encoders.resolve(pre);
        assertThat(s.at("/source/sha256").asText()).isEqualTo(Encoders.sha256(src));
        assertThat(s.at("/source/method").asText()).isEqualTo("mae");
        assertThat(s.get("init").asText()).isEqualTo("pretrained");
        Path ck = Checkpoints.list(tmp.resolve("ft-spark")).get(0);
        assertThat(Checkpoints.provenance(ck)).containsEntry("method", "finetune");
        MimConfig cfg = MimConfig.fromRendered((String) Checkpoints.provenance(ck).get("config"), "t", null, Map.of());
        assertThat(cfg.finetune.source()).isEqualTo(src.toAbsolutePath().toString());
        assertThat(cfg.finetune.classes()).isEqualTo(10);
        assertThat(cfg.finetune.layerDecay()).isEqualTo(0.75);          // conf/finetune.conf's recipe
        assertThat(cfg.optim.beta2()).isEqualTo(0.999);
        assertThat(Files.readString(tmp.resolve("ft-spark/report.html"))).contains("<h2>Fine-tuning</h2>")
                .contains("finetune-confusion.png");
        // evaluate reads a fine-tuned checkpoint like any other (the encoder's vertex names are MAE's)
        Encoders.Loaded loaded = Encoders.open(ck, null, Map.of());
        assertThat(loaded.method().name()).isEqualTo("finetune");
    }

    /** A fine-tuning run stopped by its time budget continues from its checkpoint, as pretraining does. */
    @Test
    void aStoppedFineTuningRunResumesWhereItStopped() throws Exception {
        CliTest.Run first = finetune("--set", "run.name=ft-resume", "--set", "run.time-budget-minutes=0.001",
                "--set", "spark.port=41733");
        assertThat(first.code()).as(first.err()).isZero();
        assertThat(first.summary().get("stopped_by_budget").asBoolean()).isTrue();
        long stoppedAt = first.summary().get("steps").asLong();
        assertThat(stoppedAt).isBetween(1L, 59L);
        CliTest.Run again = finetune("--set", "run.name=ft-resume", "--set", "spark.port=41733");
        assertThat(again.code()).as(again.err()).isZero();
        assertThat(again.summary().get("resumed_from_step").asLong()).isEqualTo(stoppedAt);
        assertThat(again.summary().get("steps").asLong()).isEqualTo(60);
        assertThat(again.summary().get("test_top1").asDouble()).isGreaterThan(0.35);
        // another source or head is another model: resume refuses it rather than continuing the wrong run
        CliTest.Run other = finetune("--set", "run.name=ft-resume", "--set", "finetune.label-smoothing=0.3",
                "--set", "spark.port=41733");
        assertThat(other.code()).isNotZero();
        assertThat(other.err()).contains("resume refused");
    }

    @Test
    void fromScratchIsTheSameArchitectureAtItsRandomInit() throws Exception {
        CliTest.Run r = finetune("--engine", "jvm", "--from-scratch", "--set", "optim.epochs=1");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode f = new ObjectMapper().readTree(tmp.resolve("src-scratch/finetune.json").toFile());
        assertThat(f.get("init").asText()).isEqualTo("from-scratch");
        MimConfig cfg = MimConfig.fromRendered((String) Checkpoints.provenance(Checkpoints.list(tmp.resolve("src-scratch"))
                .get(0)).get("config"), "t", null, Map.of());
        // step 0 of the baseline: the random init of run.seed, not the pretrained encoder
        ComputationGraph scratch0 = Trainer.newGraph(cfg, Methods.create(cfg), 30);
        ComputationGraph pretrained = Checkpoints.load(Encoders.resolve(pre));
        assertThat(scratch0.getVertex("enc0").paramTable(false).get("qkvW")
                .equalsWithEps(pretrained.getVertex("enc0").paramTable(false).get("qkvW"), 1e-6)).isFalse();
    }

    @Test
    void badInputIsRefusedWithTheKeyFileOrSizesNamed() throws Exception {
        CliTest.Run size = finetune("--engine", "jvm", "--set", "model.image-size=56", "--set", "run.name=bad1");
        assertThat(size.code()).isNotZero();
        assertThat(size.err()).contains("model.image-size = 28").contains("56");

        Path noLabels = Files.createDirectories(tmp.resolve("nolabels"));
        Path sample = FashionMnist.locate("");
        for (String f : List.of("train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz")) {
            Files.copy(sample.resolve(f), noLabels.resolve(f));
        }
        CliTest.Run unl = finetune("--engine", "jvm", "--data", noLabels.toString(), "--set", "run.name=bad2");
        assertThat(unl.code()).isNotZero();
        assertThat(unl.err()).contains("train-labels-idx1-ubyte");

        Path dataset = Files.createDirectories(tmp.resolve("parquet-ds"));
        Files.writeString(dataset.resolve("_manifest.json"), "{}");
        CliTest.Run ds = finetune("--engine", "jvm", "--data", dataset.toString(), "--set", "run.name=bad3");
        assertThat(ds.code()).isNotZero();
        assertThat(ds.err()).contains("preprocess dataset directory");

        CliTest.Run missing = CliTest.run("finetune", "--checkpoint", tmp.resolve("nope").toString());
        assertThat(missing.code()).isNotZero();
        assertThat(missing.err()).contains("no such file or directory");

        CliTest.Run once = finetune("--engine", "jvm", "--set", "optim.epochs=1", "--set", "run.name=ft-once");
        assertThat(once.code()).as(once.err()).isZero();
        CliTest.Run twice = CliTest.run("finetune", "--engine", "jvm", "--checkpoint", tmp.resolve("ft-once").toString());
        assertThat(twice.code()).isNotZero();
        assertThat(twice.err()).contains("already a fine-tuned model");
    }

    /**
     * A2MIM's ResNet fine-tunes through Spark with gradient sharing: its trunk plus a global-average-pooled linear
     * classifier learn far above chance, and evaluate reads the fine-tuned checkpoint's ResNet features.
     */
    @Test
    void anA2mimResNetFineTunesThroughSpark() throws Exception {
        CliTest.a2mimResNet(tmp, "rn", "optim.batch=64", "optim.steps=20", "data.train-limit=1280");
        List<String> args = List.of("finetune", "--checkpoint", tmp.resolve("rn").toString(), "--set", "optim.batch=64",
                "--set", "optim.epochs=2", "--set", "data.train-limit=1920", "--set", "run.dir=" + tmp,
                "--set", "optim.base-lr=5e-2", "--set", "spark.port=41735");
        CliTest.Run ft = CliTest.run(args.toArray(String[]::new));
        assertThat(ft.code()).as(ft.err()).isZero();
        List<String> jvmArgs = new ArrayList<>(args);
        jvmArgs.addAll(List.of("--engine", "jvm", "--set", "run.name=rn-finetune-jvm"));
        CliTest.Run jvm = CliTest.run(jvmArgs.toArray(String[]::new));
        assertThat(jvm.code()).as(jvm.err()).isZero();
        ObjectMapper json = new ObjectMapper();
        JsonNode f = json.readTree(tmp.resolve("rn-finetune/finetune.json").toFile());
        JsonNode j = json.readTree(tmp.resolve("rn-finetune-jvm/finetune.json").toFile());
        assertThat(f.at("/source/method").asText()).isEqualTo("a2mim");
        assertThat(f.at("/setup/model").asText()).contains("resnet18");
        assertThat(ft.summary().get("steps").asInt()).isEqualTo(60);
        // chance is 10%; 60 steps of a width-4 ResNet-18 from a 20-step A2MIM trunk reach ~54% (measured), and the
        // two engines train the same minibatches from the same start (batch norms included)
        String both = "spark " + f.get("test_top1") + ", jvm " + j.get("test_top1");
        assertThat(f.get("test_top1").asDouble()).as(both).isGreaterThan(0.4);
        assertThat(f.get("test_top1").asDouble()).as(both).isCloseTo(j.get("test_top1").asDouble(), within(0.05));
        assertThat(ft.summary().get("final_probe_loss").asDouble()).isLessThan(0.75 * Math.log(10));
        Encoders.Loaded loaded = Encoders.open(tmp.resolve("rn-finetune"), null, Map.of());
        assertThat(loaded.method().name()).isEqualTo("finetune");
        assertThat(loaded.cfg().model.isResNet()).isTrue();
    }
}
