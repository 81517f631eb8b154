package org.sparkmim.model.config;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Wrong config values give errors that name the key, the value, its origin and what is allowed. */
class MimConfigTest {

    @Test
    void defaultsResolveToSmallPreset() {
        MimConfig c = MimConfig.load(Map.of());
        assertThat(c.model.dim).isEqualTo(128);
        assertThat(c.model.depth).isEqualTo(6);
        assertThat(c.optim.peakLr()).isEqualTo(1.5e-4);
        assertThat(c.fingerprint()).hasSize(64).isEqualTo(MimConfig.load(Map.of()).fingerprint());
    }

    @Test
    void aConfFileMayHoldKeysUnderMimOrRelativeToIt(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path under = dir.resolve("under.conf"), relative = dir.resolve("relative.conf");
        java.nio.file.Files.writeString(under, "mim { model { depth = 3 }, optim.batch = 32 }\n");
        java.nio.file.Files.writeString(relative, "model { depth = 3 }\noptim.batch = 32\n");
        for (java.nio.file.Path f : new java.nio.file.Path[]{under, relative}) {
            MimConfig c = MimConfig.load(null, f, Map.of("optim.batch", "16"));
            assertThat(c.model.depth).as(f.toString()).isEqualTo(3);
            assertThat(c.optim.batch()).as("--set wins over " + f).isEqualTo(16);
        }
        // a rendered config (what a run directory's config.conf holds) loads back to the same config
        MimConfig a = MimConfig.load(Map.of("model.depth", "4", "optim.base-lr", "3e-4"));
        java.nio.file.Path rendered = dir.resolve("rendered.conf");
        java.nio.file.Files.writeString(rendered, a.render());
        assertThat(MimConfig.load(null, rendered, Map.of()).fingerprint()).isEqualTo(a.fingerprint());
    }

    @Test
    void theInstallDirectoryIsNotPartOfTheConfig() {
        String fp = MimConfig.load(Map.of()).fingerprint();
        String before = System.getProperty("mim.home");
        System.setProperty("mim.home", "/some/checkout"); // what bin/spark-mim passes
        com.typesafe.config.ConfigFactory.invalidateCaches();
        try {
            MimConfig c = MimConfig.load(Map.of());
            assertThat(c.tree().hasPath("home")).isFalse();
            assertThat(c.fingerprint()).isEqualTo(fp);
        } finally {
            if (before == null) System.clearProperty("mim.home"); else System.setProperty("mim.home", before);
            com.typesafe.config.ConfigFactory.invalidateCaches();
        }
    }

    @Test
    void overridesChangeFingerprintsAndArchitectureFingerprintTracksOnlyModelAndMethod() {
        MimConfig a = MimConfig.load(Map.of());
        MimConfig lr = MimConfig.load(Map.of("optim.base-lr", "3e-4"));
        MimConfig arch = MimConfig.load(Map.of("model.depth", "4"));
        assertThat(lr.fingerprint()).isNotEqualTo(a.fingerprint());
        assertThat(lr.architectureFingerprint()).isEqualTo(a.architectureFingerprint());
        assertThat(arch.architectureFingerprint()).isNotEqualTo(a.architectureFingerprint());
    }

    @Test
    void badValuesNameKeyOriginAndAllowedRange() {
        assertThatThrownBy(() -> MimConfig.load(Map.of("method.mask-ratio", "1.5")))
                .hasMessageContaining("mim.method.mask-ratio").hasMessageContaining("1.5")
                .hasMessageContaining("--set").hasMessageContaining("< 1");
        assertThatThrownBy(() -> MimConfig.load(Map.of("optim.batch", "0")))
                .hasMessageContaining("mim.optim.batch").hasMessageContaining(">= 1");
        assertThatThrownBy(() -> MimConfig.load(Map.of("model.size", "huge")))
                .hasMessageContaining("huge").hasMessageContaining("tiny, small, base");
        assertThatThrownBy(() -> MimConfig.load(Map.of("model.heads", "5")))
                .hasMessageContaining("model.dim").hasMessageContaining("divisible by model.heads");
        assertThatThrownBy(() -> MimConfig.load(Map.of("optim.base-lr", "fast")))
                .hasMessageContaining("mim.optim.base-lr").hasMessageContaining("number");
    }

    @Test
    void unknownKeysAreRejectedNotIgnored() {
        assertThatThrownBy(() -> MimConfig.load(Map.of("optim.lerning-rate", "1")))
                .hasMessageContaining("unknown config key mim.optim.lerning-rate");
    }
}
