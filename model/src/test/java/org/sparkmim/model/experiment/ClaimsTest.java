package org.sparkmim.model.experiment;

import org.junit.jupiter.api.Test;
import org.sparkmim.model.eval.Scores;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** The comparison's arithmetic: EMAE's K, the run plan, time-to-accuracy and the two claims' verdicts. */
class ClaimsTest {

    @Test
    void emaePartsIsTheDivisorOfNNearestTheRatio() {
        assertThat(Compare.emaeParts(49, 0.75)).isEqualTo(7);   // patch 4 on 28 px: 49 = 7 x 7
        assertThat(Compare.emaeParts(16, 0.75)).isEqualTo(4);   // patch 7
        assertThat(Compare.emaeParts(196, 0.75)).isEqualTo(4);  // patch 2
        assertThat(Compare.emaeParts(196, 0.9)).isEqualTo(14);  // 1 - 1/14 = 0.929 is nearer 0.9 than 1 - 1/7 = 0.857
        assertThat(new Compare.Variant("e", "emae", 0.75).overrides(16, 0.1)).containsEntry("method.emae.parts", "4");
    }

    @Test
    void sbamRVarIsNarrowedOnlyWhereAmrWouldMaskEveryToken() {
        assertThat(Compare.fittingRVar(49, 0.75, 0.1)).isEqualTo(0.1);
        assertThat(Compare.fittingRVar(49, 0.9, 0.1)).isEqualTo(0.07); // 0.9 + 0.07 <= 1 - 1/49
        assertThat(new Compare.Variant("s", "sbam", 0.9).overrides(49, 0.1)).containsEntry("method.sbam.r-var", "0.07");
        // the narrowed value passes the config's own AMR check
        var cfg = org.sparkmim.model.config.MimConfig.load(new Compare.Variant("s", "sbam", 0.9).overrides(49, 0.1));
        assertThat(cfg.method.sbam().rVar()).isEqualTo(0.07);
    }

    @Test
    void planRunsEveryMethodThenTheSweepWithoutDuplicates() {
        List<Compare.Variant> p = Compare.plan(List.of("mae", "emae"), 0.75, List.of("mae", "sbam"), List.of(0.6, 0.75, 0.9));
        assertThat(p).extracting(Compare.Variant::label)
                .containsExactly("mae-75", "emae-75", "mae-60", "mae-90", "sbam-60", "sbam-75", "sbam-90");
        assertThat(new Compare.Variant("b", "block", 0.6).overrides(49, 0.1))
                .containsEntry("method.name", "mae").containsEntry("method.masking", "block").containsEntry("method.mask-ratio", "0.6");
        assertThatThrownBy(() -> new Compare.Variant("x", "simmim", 0.75)).hasMessageContaining("allowed mae, block, emae, sbam, ropim");
        // ROPIM has no mask ratio: in --methods it runs at its own sketch ratio 1/7 (removes 6/7 of the token space)
        List<Compare.Variant> r = Compare.plan(List.of("mae", "ropim"), 0.75, List.of("ropim"), List.of(0.75));
        assertThat(r).extracting(Compare.Variant::label).containsExactly("mae-75", "ropim-86", "ropim-75");
        assertThat(r.get(2).overrides(49, 0.1)).containsEntry("method.name", "ropim")
                .containsEntry("method.ropim.sketch-ratio", "0.25");
        assertThatThrownBy(() -> new Compare.Variant("x", "mae", 1.0)).hasMessageContaining("0 < ratio < 1");
    }

    @Test
    void timeToReachInterpolatesBetweenCheckpointsAndIsNaNWhenNeverReached() {
        List<Compare.CurvePoint> c = List.of(new Compare.CurvePoint(0, 0, 0.5), new Compare.CurvePoint(10, 100, 0.7),
                new Compare.CurvePoint(20, 200, 0.8));
        assertThat(Claims.timeToReach(c, 0.75)).isCloseTo(150, within(1e-9));
        assertThat(Claims.timeToReach(c, 0.4)).isZero();
        assertThat(Claims.timeToReach(c, 0.81)).isNaN();
    }

    @Test
    void verdictsFollowTheNumbers() {
        // EMAE reaches MAE's final 0.80 at 60 s (between 50 s / 0.75 and 70 s / 0.85); MAE needed 300 s: 20%
        var mae = run("mae", 0.75, List.of(pt(0, 0.5), pt(150, 0.7), pt(300, 0.8)), 0.80, 0.82);
        var emae = run("emae", 0.75, List.of(pt(0, 0.5), pt(50, 0.75), pt(70, 0.85)), 0.85, 0.86);
        assertThat(Claims.emae(List.of(mae, emae), 10000, 1000)).startsWith("holds:").contains("20% of MAE's time");
        var slow = run("emae", 0.75, List.of(pt(0, 0.5), pt(280, 0.79), pt(320, 0.81)), 0.81, 0.8);
        assertThat(Claims.emae(List.of(mae, slow), 10000, 1000)).startsWith("does not hold here");
        var never = run("emae", 0.75, List.of(pt(0, 0.5), pt(300, 0.6)), 0.6, 0.6);
        assertThat(Claims.emae(List.of(mae, never), 10000, 1000)).startsWith("does not hold here")
                .contains("never reached it").contains("best 60.00%").contains("kNN -20.00");
        // never reached, but only 0.5 points short on the curve and level at the end: noise, not a result
        var close = run("emae", 0.75, List.of(pt(0, 0.5), pt(300, 0.795)), 0.80, 0.82);
        assertThat(Claims.emae(List.of(mae, close), 5000, 1000)).startsWith("inconclusive");

        // ROPIM: better at the same budget and faster to MAE's curve value holds; worse on both does not
        var ropim = run("ropim", 0.857, List.of(pt(0, 0.5), pt(100, 0.82), pt(300, 0.86)), 0.85, 0.86);
        assertThat(Claims.ropim(List.of(mae, ropim), 10000, 1000)).startsWith("holds:").contains("kNN +5.00")
                .contains("at 94 s, MAE at 300 s");
        var worse = run("ropim", 0.857, List.of(pt(0, 0.5), pt(300, 0.7)), 0.70, 0.72);
        assertThat(Claims.ropim(List.of(mae, worse), 10000, 1000)).startsWith("does not hold here").contains("never reached");
        assertThat(Claims.ropim(List.of(mae, run("ropim", 0.857, List.of(pt(0, 0.5), pt(300, 0.8)), 0.801, 0.821)), 10000, 1000))
                .startsWith("inconclusive");
        assertThat(Claims.ropim(List.of(mae), 10000, 1000)).startsWith("not measured");

        // MAE varies by 10 points over the ratios, SBAM by 2 (kNN) and 1 (probe): holds; reversed: does not hold
        List<Compare.RunResult> sweep = List.of(run("mae", 0.6, List.of(pt(0, 0.5)), 0.70, 0.75), mae,
                run("mae", 0.9, List.of(pt(0, 0.5)), 0.75, 0.80), run("sbam", 0.6, List.of(pt(0, 0.5)), 0.79, 0.80),
                run("sbam", 0.9, List.of(pt(0, 0.5)), 0.81, 0.81));
        assertThat(Claims.sbam(sweep, 10000)).startsWith("holds:").contains("kNN SBAM 2.00 vs MAE 10.00");
        assertThat(Claims.sbam(List.of(mae, emae), 10000)).startsWith("not measured");
        // the same spreads measured on 100 test images are within noise (2 SE of a difference ≈ 12 points)
        assertThat(Claims.sbam(sweep, 100)).startsWith("inconclusive");
    }

    private static Compare.CurvePoint pt(double seconds, double knn) {
        return new Compare.CurvePoint((long) seconds, seconds, knn);
    }

    private static Compare.RunResult run(String family, double ratio, List<Compare.CurvePoint> curve, double knn, double probe) {
        Scores s = new Scores("encoder", 128, knn, 0.99, probe, 1e-3, new int[10][10]);
        return new Compare.RunResult(new Compare.Variant(Compare.label(family, ratio), family, ratio), Path.of("/tmp/x"),
                family, ratio, 100, 0.1, 10, 10, 300, 100, 0.5, false, curve, s);
    }
}
