package org.sparkmim.job;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The product's path end to end on local Spark: preprocess the bundled Fashion-MNIST sample into a dataset
 * directory, pretrain 2 epochs from it with gradient sharing, then pretrain the same run directory to 3 epochs:
 * the second submission resumes from the newest checkpoint and finishes. A directory without a manifest is refused.
 */
class PreprocessThenPretrainTest {

    @Test
    void preprocessPretrainCheckpointResumeAndFinish(@TempDir Path tmp) throws Exception {
        Path ds = tmp.resolve("fmnist-ds");
        CliTest.Run pre = CliTest.run("preprocess", "--kind", "idx", "--source", Home.dir().resolve("data/fashion-mnist-sample").toString(),
                "--output", ds.toUri().toString());
        assertThat(pre.code()).as(pre.err()).isZero();
        assertThat(pre.summary().get("accepted").asInt()).isEqualTo(12000);

        String[] common = {"--data", ds.toUri().toString(), "--run-dir", tmp.resolve("run").toUri().toString(),
                "--set", "model.dim=32", "--set", "model.depth=1", "--set", "model.heads=2", "--set", "model.decoder-dim=16",
                "--set", "model.decoder-depth=1", "--set", "optim.batch=256", "--set", "optim.base-lr=2e-3",
                "--set", "spark.probe-images=256"};
        CliTest.Run first = CliTest.run(concat(new String[]{"pretrain", "--set", "optim.epochs=2"}, common));
        assertThat(first.code()).as(first.err()).isZero();
        JsonNode a = first.summary();
        assertThat(a.get("epochs").asInt()).isEqualTo(2);
        assertThat(a.get("final_probe_loss").asDouble()).isLessThan(a.get("first_probe_loss").asDouble());
        assertThat(a.get("resumed_from_step").asLong()).isZero();

        CliTest.Run second = CliTest.run(concat(new String[]{"pretrain", "--set", "optim.epochs=3"}, common));
        assertThat(second.code()).as(second.err()).isZero();
        JsonNode b = second.summary();
        assertThat(b.get("resumed_from_step").asLong()).isEqualTo(a.get("steps").asLong());
        assertThat(b.get("epochs").asInt()).isEqualTo(3);
        assertThat(b.get("steps").asLong()).isGreaterThan(a.get("steps").asLong());

        Path notADataset = Files.createDirectories(tmp.resolve("empty"));
        CliTest.Run refused = CliTest.run(concat(new String[]{"pretrain"}, new String[]{"--data", notADataset.toUri().toString()}));
        assertThat(refused.code()).isEqualTo(ExitCodes.DATA);
        assertThat(refused.err()).contains("_manifest.json");
    }

    static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
