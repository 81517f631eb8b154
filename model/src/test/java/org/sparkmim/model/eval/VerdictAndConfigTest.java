package org.sparkmim.model.eval;

import org.junit.jupiter.api.Test;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.method.FeatureSpec;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The verdict's rule, and the typed, validated mim.eval.* keys. */
class VerdictAndConfigTest {
    static Scores s(double knn, double probe) {
        return new Scores("x", 8, knn, Math.min(1, knn + 0.1), probe, 1e-3, new int[1][1]);
    }

    @Test
    void encoderMustBeatItsRandomInitFloorOnBothScores() {
        Scores random = s(0.69, 0.725), pixels = s(0.857, 0.844);
        Verdict pass = Verdict.judge(s(0.80, 0.83), random, pixels);
        assertThat(pass.passed()).isTrue();
        assertThat(pass.beatsPixels()).isFalse();
        assertThat(pass.label()).isEqualTo("PASS");
        assertThat(pass.message()).contains("+11.00").contains("vs raw pixels");

        Verdict knnWorse = Verdict.judge(s(0.68, 0.90), random, pixels);
        assertThat(knnWorse.passed()).isFalse();
        assertThat(knnWorse.label()).isEqualTo("FAILED");
        assertThat(knnWorse.message()).contains("FAILED").contains("on kNN (");

        Verdict tie = Verdict.judge(s(0.69, 0.725), random, pixels);   // a tie is not beating the floor
        assertThat(tie.passed()).isFalse();
        assertThat(tie.message()).contains("kNN or the linear probe");

        assertThat(Verdict.judge(s(0.87, 0.86), random, pixels).beatsPixels()).isTrue();
    }

    @Test
    void evalKeysAreTypedAndValidatedWithKeyAndAllowedValues() {
        MimConfig c = MimConfig.load(Map.of("eval.feature", "lastk", "eval.last-k", "3"));
        assertThat(c.eval.featureSpec()).isEqualTo(new FeatureSpec(FeatureSpec.Pooling.LASTK, 3));
        assertThat(c.eval.featureSpec().label()).isEqualTo("last3");
        assertThat(MimConfig.load(Map.of()).eval.knnK()).isEqualTo(20);
        assertThat(MimConfig.load(Map.of()).eval.knnTemperature()).isEqualTo(0.07);

        assertThatThrownBy(() -> MimConfig.load(Map.of("eval.feature", "max")))
                .hasMessageContaining("mim.eval.feature").hasMessageContaining("max").hasMessageContaining("[mean, cls, lastk]");
        // MAE-small has 6 blocks
        assertThatThrownBy(() -> MimConfig.load(Map.of("eval.feature", "lastk", "eval.last-k", "7")))
                .hasMessageContaining("mim.eval.last-k").hasMessageContaining("model.depth=6");
        assertThatThrownBy(() -> MimConfig.load(Map.of("eval.knn-k", "0"))).hasMessageContaining("mim.eval.knn-k");
        assertThatThrownBy(() -> MimConfig.load(Map.of("eval.probe-lrs", "[1e-3, -1]"))).hasMessageContaining("mim.eval.probe-lrs");
        assertThatThrownBy(() -> MimConfig.load(Map.of("eval.probe-lrs", "[]"))).hasMessageContaining("non-empty");
        assertThat(MimConfig.load(Map.of("eval.probe-lrs", "[0.01]")).eval.probeLrs()).containsExactly(0.01);
        assertThatThrownBy(() -> MimConfig.load(Map.of("eval.knn-neighbours", "5"))).hasMessageContaining("unknown config key");
        // pool-grid: 1 .. tokens per side (28 / 4 = 7 by default), never with the position-less CLS token
        assertThat(MimConfig.load(Map.of("eval.feature", "lastk", "eval.last-k", "3", "eval.pool-grid", "2")).eval.featureSpec().label())
                .isEqualTo("last3-grid2");
        assertThatThrownBy(() -> MimConfig.load(Map.of("eval.pool-grid", "8"))).hasMessageContaining("mim.eval.pool-grid")
                .hasMessageContaining("in [1, 7]");
        assertThatThrownBy(() -> MimConfig.load(Map.of("eval.pool-grid", "0"))).hasMessageContaining("mim.eval.pool-grid");
        assertThatThrownBy(() -> MimConfig.load(Map.of("eval.feature", "cls", "eval.pool-grid", "2")))
                .hasMessageContaining("mim.eval.pool-grid").hasMessageContaining("CLS token has no position");
    }
}
