package org.sparkmim.job.pretrain;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.sparkmim.model.config.MimConfig;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Wrong pretrain configurations fail before any Spark work, with a message that names the key, the value, where it
 * came from and what is allowed.
 */
class WrongConfigTest {

    @ParameterizedTest(name = "{0} = {1}")
    @CsvSource(delimiter = '|', value = {
            "spark.sync            | gossip | one of [shared, averaging]",
            "spark.workers         | 0      | [1, 100000]",
            "spark.workers-per-node| 2      | [1, 1]",
            "spark.threshold       | 0      | a number in",
            "spark.threshold       | fast   | auto, rms, or a number",
            "spark.approach        | disk   | one of [direct, export]",
            "spark.shared-lr       | half   | one of [split, full]",
            "spark.local-catch-up  | maybe  | true or false",
            "spark.encoder         | fast   | one of [java, nd4j]",
            "spark.residual-clip   | -1     | [0, 1000000]",
            "spark.chunks-per-epoch| -1     | [1, 10000]",
            "spark.resume          | maybe  | one of [auto, never]",
            "spark.port            | 80     | [1024, 65535]",
            "spark.probe-images    | lots   | a number",
            "debug.nan-at-chunk    | -5     | [-1,",
            "optim.batch           | 0      | >= 1",
            "method.mask-ratio     | 1.5    | 0 <= mask-ratio < 1",
            "method.ropim.sketch-ratio | 0  | in (0, 1]",
            "method.ropim.projector| dense  | [exact, released]",
            "method.a2mim.mask-ratio | 1 | 0 <= a2mim.mask-ratio < 1",
            "method.a2mim.spatial-loss | l2 | [l1, focal-l1]",
            "method.a2mim.mask-layer | 9 | in [0, model.depth - 1 = 5]",
            "method.a2mim.unmask-weight | 2 | in [0, 1]",
            "model.size            | huge   | one of [tiny, small, base]",
            "model.backbone        | cnn    | one of [vit, resnet]",
    })
    void badValueIsNamedWithOriginAndAllowedValues(String key, String value, String allowed) {
        assertThatThrownBy(() -> SparkSettings.of(MimConfig.load(Map.of(key, value))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("mim." + key).hasMessageContaining(value)
                .hasMessageContaining("--set mim." + key).hasMessageContaining(allowed);
    }

    @Test
    void batchMustSplitEvenlyOverWorkers() {
        assertThatThrownBy(() -> SparkSettings.of(MimConfig.load(Map.of("optim.batch", "100", "spark.workers", "3"))))
                .hasMessageContaining("mim.optim.batch = 100").hasMessageContaining("mim.spark.workers = 3")
                .hasMessageContaining("multiple");
    }

    @Test
    void errorFromAConfFileNamesFileAndLine(@TempDir Path tmp) throws Exception {
        Path f = tmp.resolve("job.conf");
        Files.writeString(f, "mim {\n  spark {\n    sync = gossip\n  }\n}\n");
        assertThatThrownBy(() -> SparkSettings.of(MimConfig.load(null, f, Map.of())))
                .hasMessageContaining("mim.spark.sync = gossip").hasMessageContaining("job.conf: 3");
    }

    @Test
    void unknownKeyIsRejectedNotIgnored() {
        assertThatThrownBy(() -> MimConfig.load(Map.of("spark.worker", "2")))
                .hasMessageContaining("unknown config key mim.spark.worker");
    }
}
