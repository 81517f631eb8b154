package org.sparkmim.job.pretrain;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.sparkmim.model.config.MimConfig;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** spark.threshold = rms: τ follows each message's own scale, so a stable share of its elements is sent. */
class RmsThresholdTest {

    @Test
    void thresholdIsRatioTimesTheRmsOfTheMessageAndSendsAStableShare() {
        RmsThreshold t = new RmsThreshold(1.0, 1e-12);
        Nd4j.getRandom().setSeed(7);
        INDArray x = Nd4j.randn(DataType.FLOAT, 1, 100_000);
        double tau = t.calculateThreshold(0, 0, null, null, null, x);
        assertThat(tau).isCloseTo(Math.sqrt(x.mul(x).meanNumber().doubleValue()), within(1e-5));
        // Gaussian message: P(|x| >= rms) = 31.7%, far above the share where DL4J switches to the bitmap form
        double share = x.dup().amax(1).getDouble(0) >= tau ? Nd4j.getExecutioner().exec(
                new org.nd4j.linalg.api.ops.impl.reduce.longer.MatchCondition(x, org.nd4j.linalg.indexing.conditions.Conditions.absGreaterThanOrEqual(tau)))
                .getDouble(0) / x.length() : 0;
        assertThat(share).isCloseTo(0.317, within(0.01));
        // the same message 100x smaller gets a 100x smaller threshold: the share sent does not depend on the LR
        assertThat(t.calculateThreshold(5, 0, tau, true, 0.3, x.mul(0.01))).isCloseTo(tau * 0.01, within(1e-7));
        // an all-zero message falls back to the floor instead of a zero threshold
        assertThat(t.calculateThreshold(6, 0, tau, true, 0.3, Nd4j.zeros(DataType.FLOAT, 1, 10))).isEqualTo(1e-12);
    }

    @Test
    void configSelectsItWithTheRatioAndTheScheduleFloor() {
        SparkSettings s = SparkSettings.of(MimConfig.load(Map.of("spark.threshold", "rms", "spark.threshold-ratio", "0.5")));
        var sched = new org.sparkmim.model.train.WarmupCosineSchedule(1e-3, 0, 10, 100);
        assertThat(s.thresholdAlgorithm(sched)).isInstanceOf(RmsThreshold.class);
        assertThat(((RmsThreshold) s.thresholdAlgorithm(sched)).of(Nd4j.zeros(DataType.FLOAT, 1, 4))).isCloseTo(0.5e-7, within(1e-12));
    }
}
