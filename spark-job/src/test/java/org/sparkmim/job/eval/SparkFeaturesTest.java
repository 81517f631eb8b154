package org.sparkmim.job.eval;

import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.data.FashionMnist;
import org.sparkmim.model.eval.Encoders;
import org.sparkmim.model.eval.Evaluation;
import org.sparkmim.model.train.Checkpoints;

import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Features made on Spark executors are the single-JVM features, row for row, for every kind. */
class SparkFeaturesTest {

    @Test
    void executorFeaturesMatchLocalFeaturesInOrder(@TempDir Path tmp) {
        MimConfig cfg = MimConfig.load(Map.of("model.dim", "32", "model.depth", "2", "model.heads", "2", "run.seed", "9",
                "eval.extract-batch", "37"));   // a batch size that does not divide the partitions
        var method = org.sparkmim.model.method.Methods.create(cfg);
        Path ckpt = Checkpoints.save(Encoders.randomInit(cfg, method), tmp, new Checkpoints.Provenance(0, 0, 9, cfg.render(),
                cfg.fingerprint(), cfg.architectureFingerprint(), "mae"), 1);
        Encoders.Loaded ck = Encoders.open(ckpt, null, Map.of());
        Path data = FashionMnist.locate("");
        IdxImageSource src = IdxImageSource.open(data, 300, 130);
        var local = Evaluation.local(ck, FashionMnist.load(data, "train").subset(0, 300), FashionMnist.load(data, "test").subset(0, 130));
        try (org.sparkmim.job.LocalSpark ls = org.sparkmim.job.LocalSpark.start("test", "local[2]")) {
            JavaSparkContext sc = ls.javaContext();
            SparkFeatures spark = new SparkFeatures(sc, src, ck.checkpoint(), ck.cfg());
            for (Evaluation.Kind k : Evaluation.Kind.values()) {
                INDArray a = spark.features(k, "test"), b = local.features(k, "test");
                assertThat(a.shape()).as(k.label).containsExactly(b.shape());
                assertThat(a.sub(b).amaxNumber().doubleValue()).as(k.label).isLessThan(1e-5);
            }
            assertThat(spark.features(Evaluation.Kind.PIXELS, "train").rows()).isEqualTo(300);
        }
    }
}
