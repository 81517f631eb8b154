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
