package org.sparkmim.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.sparkmim.job.dataset.TestImages;
import org.sparkmim.job.eval.DatasetImageSource;
import org.sparkmim.job.eval.IdxImageSource;
import org.sparkmim.job.eval.SparkFeatures;
import org.sparkmim.model.data.FashionMnist;
import org.sparkmim.model.data.ImageSet;
import org.sparkmim.model.eval.Encoders;
import org.sparkmim.model.eval.Evaluation;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * evaluate and finetune on a dataset directory written by the real preprocess job from the bundled Fashion-MNIST
 * sample (splits train and test, grey PNG rows): evaluate sees exactly the IDX files' pixels in the IDX order, so
 * its features and scores are evaluate's through IDX; finetune trains from the dataset through Spark and reports
 * test top-1 on the dataset's test split; a dataset without labels or without a test split is refused, naming it.
 */
class DatasetDirEvalFinetuneTest {
    @TempDir
    static Path tmp;
    static Path pre;
    static String ds;
    static final Path SAMPLE = FashionMnist.locate("");

    @BeforeAll
    static void preprocessAndPretrain() {
        ds = tmp.resolve("fmnist-ds").toUri().toString();
        CliTest.Run p = CliTest.run("preprocess", "--kind", "idx", "--source", SAMPLE.toString(), "--output", ds,
                "--master", "local[2]");
        assertThat(p.code()).as(p.err()).isZero();
        pre = FinetuneCommandTest.pretrainSmall(tmp);
    }

    /**
     * IDX rows are stored as lossless grey PNG at 28 px (= model.image-size, so no resize), and numbered in natural
     * key order (train/9 before train/10): the limited splits are the IDX prefixes, pixel for pixel. Features then
     * differ only by float rounding (a partition's batches are other images than IDX's), and the scores are the same.
     */
    @Test
    void evaluateOnTheDatasetIsEvaluateOnTheSameImagesThroughIdx() throws Exception {
        Encoders.Loaded ck = Encoders.open(pre, null, Map.of());
        try (LocalSpark ls = LocalSpark.start("test", "local[2]")) {
            JavaSparkContext sc = ls.javaContext();
            DatasetImageSource dsSrc = DatasetImageSource.open(ls.session(), ds, 28, 1, 600, 200, 0);
            IdxImageSource idxSrc = IdxImageSource.open(SAMPLE, 600, 200);
            for (String split : new String[]{"train", "test"}) {
                ImageSet fromIdx = FashionMnist.load(SAMPLE, split).subset(0, split.equals("train") ? 600 : 200);
                ImageSet fromDs = dsSrc.collect(sc, split);
                assertThat(fromDs.pixels()).as(split).isEqualTo(fromIdx.pixels());
                assertThat(fromDs.labels()).as(split).isEqualTo(fromIdx.labels()).isEqualTo(dsSrc.labels(split));
            }
            assertThat(dsSrc.classNames()).containsExactly(idxSrc.classNames());
            SparkFeatures a = new SparkFeatures(sc, dsSrc, ck.checkpoint(), ck.cfg()), b = new SparkFeatures(sc, idxSrc,
                    ck.checkpoint(), ck.cfg());
            for (String split : new String[]{"train", "test"}) {
                INDArray fa = a.features(Evaluation.Kind.ENCODER, split), fb = b.features(Evaluation.Kind.ENCODER, split);
                assertThat(fa.shape()).containsExactly(fb.shape());
                assertThat(fa.sub(fb).amaxNumber().doubleValue()).as(split).isLessThan(1e-5);
            }
        }

        String[] common = {"evaluate", "--checkpoint", pre.toString(), "--master", "local[2]", "--train-limit", "1000",
                "--test-limit", "300", "--set", "eval.probe-epochs=5"};
        CliTest.Run viaDs = CliTest.run(PreprocessThenPretrainTest.concat(common, new String[]{"--data", ds, "--out",
                tmp.resolve("eval-ds").toString()}));
        assertThat(viaDs.code()).as(viaDs.err()).isZero();
        CliTest.Run viaIdx = CliTest.run(PreprocessThenPretrainTest.concat(common, new String[]{"--data", SAMPLE.toString(),
                "--out", tmp.resolve("eval-idx").toString()}));
        assertThat(viaIdx.code()).as(viaIdx.err()).isZero();
        ObjectMapper json = new ObjectMapper();
        JsonNode d = json.readTree(tmp.resolve("eval-ds/eval.json").toFile()), i = json.readTree(tmp.resolve("eval-idx/eval.json").toFile());
        assertThat(d.at("/setup/data").asText()).contains("dataset " + ds, "split test (300)");
        assertThat(d.at("/setup/train_images").asInt()).isEqualTo(1000);
        assertThat(d.at("/setup/test_images").asInt()).isEqualTo(300);
        for (String score : new String[]{"/encoder/knn_top1", "/encoder/knn_top5", "/encoder/probe_top1",
                "/floors/pixels/knn_top1", "/floors/pixels/probe_top1", "/floors/random_init/knn_top1"}) {
            assertThat(d.at(score).isNumber()).as(score).isTrue();
            assertThat(d.at(score).asDouble()).as(score).isCloseTo(i.at(score).asDouble(), within(1e-9));
        }
        assertThat(d.get("verdict").asText()).isEqualTo(i.get("verdict").asText());
    }

    @Test
    void finetuneTrainsFromTheDatasetThroughSparkAndScoresItsTestSplit() throws Exception {
        CliTest.Run r = CliTest.run("finetune", "--checkpoint", pre.toString(), "--data", ds, "--set", "optim.batch=64",
                "--set", "optim.steps=60", "--set", "optim.base-lr=1e-2", "--set", "run.dir=" + tmp,
                "--set", "run.name=ft-ds", "--set", "spark.port=41737", "--set", "spark.probe-images=256");
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode s = r.summary();
        assertThat(s.get("steps").asInt()).isEqualTo(60);
        assertThat(s.get("data").asText()).contains(ds);
        // the classifier starts at uniform over the manifest's 10 classes (ln 10) and learns from the rows' labels
        assertThat(s.get("first_probe_loss").asDouble()).isCloseTo(Math.log(10), within(0.01));
        assertThat(s.get("final_probe_loss").asDouble()).as(s.toString()).isLessThan(0.85 * Math.log(10));
        JsonNode f = new ObjectMapper().readTree(tmp.resolve("ft-ds/finetune.json").toFile());
        assertThat(f.get("test_images").asInt()).isEqualTo(2000);          // the dataset's whole test split
        assertThat(f.get("test_top1").asDouble()).as(s.toString()).isGreaterThan(0.3);       // chance is 10%
        assertThat(s.get("test_top1").asDouble()).isEqualTo(f.get("test_top1").asDouble());
        assertThat(f.at("/source/data").asText()).isEqualTo("dataset " + ds);
        assertThat(f.at("/confusion/classes/0").asText()).isEqualTo(FashionMnist.CLASSES[0]);
    }

    /**
     * The ImageNet layout: a train tree and its val set preprocessed into two directories, joined by --test-data.
     * Real Fashion-MNIST images of two classes (trouser, bag) as class folders; the held-out images come from the
     * other directory with the same label indices, so kNN separates them, and finetune scores all of them. A val
     * directory with other classes is refused, naming both.
     */
    @Test
    void aTrainTreeAndItsValSetInTwoDirectoriesEvaluateAndFinetune() throws Exception {
        ImageSet train = FashionMnist.load(SAMPLE, "train"), test = FashionMnist.load(SAMPLE, "test");
        // 500 per class: the Spark job's probe holds out the keys hashing into 1/256th of a dataset without a test split
        String trainDs = tree(train, "trees/train", 500, new int[]{1, 8}, "train");
        String valDs = tree(test, "trees/val", 20, new int[]{1, 8}, "val");
        String otherDs = tree(test, "trees/other", 5, new int[]{1, 5}, "val");

        CliTest.Run ev = CliTest.run("evaluate", "--checkpoint", pre.toString(), "--master", "local[2]", "--data", trainDs,
                "--test-data", valDs, "--set", "eval.probe-epochs=5", "--out", tmp.resolve("eval-trees").toString());
        assertThat(ev.code()).as(ev.err()).isZero();
        JsonNode e = new ObjectMapper().readTree(tmp.resolve("eval-trees/eval.json").toFile());
        assertThat(e.at("/setup/train_images").asInt()).isEqualTo(1000);
        assertThat(e.at("/setup/test_images").asInt()).isEqualTo(40);
        assertThat(e.at("/setup/data").asText()).contains("test: dataset " + valDs + " split val (40)");
        // trousers against bags: only a consistent label mapping across the two directories scores this high
        assertThat(e.at("/encoder/knn_top1").asDouble()).as(e.toString()).isGreaterThan(0.9);

        CliTest.Run ft = CliTest.run("finetune", "--checkpoint", pre.toString(), "--data", trainDs, "--test-data", valDs,
                "--set", "optim.batch=16", "--set", "optim.steps=10", "--set", "optim.base-lr=1e-2", "--set", "run.dir=" + tmp,
                "--set", "run.name=ft-trees", "--set", "spark.port=41739");
        assertThat(ft.code()).as(ft.err()).isZero();
        JsonNode f = new ObjectMapper().readTree(tmp.resolve("ft-trees/finetune.json").toFile());
        assertThat(f.get("test_images").asInt()).isEqualTo(40);
        assertThat(f.at("/setup/classes").asInt()).isEqualTo(2);
        assertThat(f.at("/source/data").asText()).contains("test: dataset " + valDs);

        CliTest.Run other = CliTest.run("evaluate", "--checkpoint", pre.toString(), "--master", "local[2]", "--data", trainDs,
                "--test-data", otherDs);
        assertThat(other.code()).isEqualTo(ExitCodes.DATA);
        assertThat(other.err()).contains("--test-data " + otherDs, "--data " + trainDs, "same classes in the same order");
        CliTest.Run idx = CliTest.run("evaluate", "--checkpoint", pre.toString(), "--test-data", valDs);
        assertThat(idx.code()).isNotZero();
        assertThat(idx.err()).contains("--test-data " + valDs, "goes with a preprocess dataset directory");
    }

    /** The first n images of each class of set as PNG class folders (named after the classes), preprocessed as a tree. */
    private static String tree(ImageSet set, String name, int n, int[] classes, String split) throws Exception {
        Path src = tmp.resolve(name + "-src");
        for (int c : classes) {
            Path dir = Files.createDirectories(src.resolve(set.classNames()[c].replaceAll("[^A-Za-z]", "")));
            for (int i = 0, k = 0; i < set.count() && k < n; i++) {
                if (set.label(i) != c) continue;
                java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(28, 28, java.awt.image.BufferedImage.TYPE_BYTE_GRAY);
                img.getRaster().setDataElements(0, 0, 28, 28, set.imageBytes(i));
                Files.write(dir.resolve(k++ + ".png"), TestImages.png(img));
            }
        }
        String out = tmp.resolve(name).toUri().toString();
        CliTest.Run p = CliTest.run("preprocess", "--source", src.toString(), "--output", out, "--kind", "tree", "--split", split,
                "--master", "local[2]");
        assertThat(p.code()).as(p.err()).isZero();
        return out;
    }

    @Test
    void aDatasetWithoutLabelsOrWithoutATestSplitIsRefusedNamingIt() throws Exception {
        Path flat = Files.createDirectories(tmp.resolve("flat-src")), tree = tmp.resolve("tree-src");
        for (String c : new String[]{"coat", "shirt"}) {
            Files.createDirectories(tree.resolve(c));
            for (int k = 0; k < 3; k++) {
                byte[] png = TestImages.png(TestImages.gradientImage(32 + k, 32));
                Files.write(flat.resolve(c + k + ".png"), png);
                Files.write(tree.resolve(c).resolve(k + ".png"), png);
            }
        }
        String unlabelled = tmp.resolve("flat-ds").toUri().toString(), trainOnly = tmp.resolve("tree-ds").toUri().toString();
        for (String[] job : new String[][]{{flat.toString(), unlabelled, "flat"}, {tree.toString(), trainOnly, "tree"}}) {
            CliTest.Run p = CliTest.run("preprocess", "--source", job[0], "--output", job[1], "--kind", job[2], "--master", "local[2]");
            assertThat(p.code()).as(p.err()).isZero();
        }
        CliTest.Run noLabels = CliTest.run("evaluate", "--checkpoint", pre.toString(), "--master", "local[2]", "--data", unlabelled);
        assertThat(noLabels.code()).isEqualTo(ExitCodes.DATA);
        assertThat(noLabels.err()).contains("dataset " + unlabelled + " has no class labels", "split test or val", "IDX");
        CliTest.Run noTest = CliTest.run("evaluate", "--checkpoint", pre.toString(), "--master", "local[2]", "--data", trainOnly);
        assertThat(noTest.code()).isEqualTo(ExitCodes.DATA);
        assertThat(noTest.err()).contains("dataset " + trainOnly + " has no split test or val (splits [train])");

        CliTest.Run ftNoTest = CliTest.run("finetune", "--checkpoint", pre.toString(), "--data", trainOnly, "--set", "run.dir=" + tmp);
        assertThat(ftNoTest.code()).isEqualTo(ExitCodes.DATA);
        assertThat(ftNoTest.err()).contains("dataset " + trainOnly + " has no split test or val");
        CliTest.Run ftNoLabels = CliTest.run("finetune", "--checkpoint", pre.toString(), "--data", unlabelled, "--set", "run.dir=" + tmp);
        assertThat(ftNoLabels.code()).isEqualTo(ExitCodes.DATA);
        assertThat(ftNoLabels.err()).contains("dataset " + unlabelled + " has no class labels");
        CliTest.Run jvm = CliTest.run("finetune", "--engine", "jvm", "--checkpoint", pre.toString(), "--data", ds, "--set", "run.dir=" + tmp);
        assertThat(jvm.code()).isEqualTo(ExitCodes.CONFIG);
        assertThat(jvm.err()).contains("--data " + ds, "through Spark only", "drop --engine jvm");
    }
}
