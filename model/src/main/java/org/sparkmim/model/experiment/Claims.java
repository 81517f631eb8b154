package org.sparkmim.model.experiment;

import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The two claims of the seeds, judged from a comparison's numbers, whatever the answer:
 * <ul>
 *   <li>EMAE reaches MAE's accuracy in much less pretraining time (13% for ViT-L in the paper): the training time
 *   at which EMAE's kNN curve first reaches MAE's final curve kNN, over the time MAE took to get there.</li>
 *   <li>SBAM is more robust to the mask ratio than MAE: the spread (max − min) of final kNN and probe accuracy
 *   over the swept ratios, SBAM's against MAE's.</li>
 *   <li>ROPIM reaches better accuracy than masking at lower pretraining time: ROPIM's final kNN and probe against
 *   MAE's at the same budget, and the time ROPIM's kNN curve takes to reach MAE's final curve kNN.</li>
 * </ul>
 * Short budgets give small differences, so each verdict is weighed against the sampling noise of an accuracy
 * measured on n test images: a difference of two accuracies has standard error sqrt(2·p(1−p)/n), and a difference
 * under twice that is called inconclusive rather than read as a result.
 */
public record Claims(String emae, String sbam, String ropim) {
    /** "Much less" time: at most half of MAE's (the paper reports 13%). */
    static final double MUCH_LESS = 0.5;

    public static Claims judge(Compare.Result r) {
        return new Claims(emae(r.runs(), r.testImages(), r.curveQueries()), sbam(r.runs(), r.testImages()),
                ropim(r.runs(), r.testImages(), r.curveQueries()));
    }

    /** Two standard errors of the difference of two accuracies near p, each measured on n images. */
    static double noise(double p, int n) {
        return 2 * Math.sqrt(2 * p * (1 - p) / Math.max(1, n));
    }

    static String emae(List<Compare.RunResult> runs, int testImages, int curveQueries) {
        Optional<Compare.RunResult> mae = first(runs, "mae"), emae = first(runs, "emae");
        if (mae.isEmpty() || emae.isEmpty()) return "not measured (needs an mae and an emae run)";
        List<Compare.CurvePoint> mc = mae.get().curve(), ec = emae.get().curve();
        double target = mc.get(mc.size() - 1).knnTop1();
        double tMae = timeToReach(mc, target), tEmae = timeToReach(ec, target);
        double curveNoise = noise(target, curveQueries);
        String base = String.format(Locale.ROOT, "target = MAE's final curve kNN %.2f%%, reached by MAE at %.0f s; curve "
                + "noise ±%.1f points", 100 * target, tMae, 100 * curveNoise);
        // the final scores at equal training time, on the larger test set
        double dKnn = emae.get().scores().knnTop1() - mae.get().scores().knnTop1();
        double dProbe = emae.get().scores().probeTop1() - mae.get().scores().probeTop1();
        double finalNoise = noise(mae.get().scores().knnTop1(), testImages);
        String finals = String.format(Locale.ROOT, "final scores at the same budget, EMAE − MAE: kNN %+.2f, probe %+.2f points "
                + "(noise ±%.1f)", 100 * dKnn, 100 * dProbe, 100 * finalNoise);
        if (Double.isNaN(tEmae)) {
            double best = ec.stream().mapToDouble(Compare.CurvePoint::knnTop1).max().orElse(Double.NaN);
            String verdict = dKnn < -finalNoise && dProbe < finalNoise ? "does not hold here"
                    : target - best <= curveNoise ? "inconclusive (within noise)" : "does not hold here";
            return String.format(Locale.ROOT, "%s: EMAE never reached it within the budget (best %.2f%%); %s; %s", verdict,
                    100 * best, finals, base);
        }
        double ratio = tEmae / tMae;
        String verdict = ratio <= MUCH_LESS ? "holds" : ratio < 1 ? "holds only partly (less time, but not much less)"
                : "does not hold here";
        return String.format(Locale.ROOT, "%s: EMAE reached it at %.0f s = %.0f%% of MAE's time (paper: 13%%); %s; %s",
                verdict, tEmae, 100 * ratio, finals, base);
    }

    static String ropim(List<Compare.RunResult> runs, int testImages, int curveQueries) {
        Optional<Compare.RunResult> mae = first(runs, "mae"), ropim = first(runs, "ropim");
        if (mae.isEmpty() || ropim.isEmpty()) return "not measured (needs an mae and a ropim run)";
        List<Compare.CurvePoint> mc = mae.get().curve(), rc = ropim.get().curve();
        double target = mc.get(mc.size() - 1).knnTop1();
        double tMae = timeToReach(mc, target), tRopim = timeToReach(rc, target);
        double dKnn = ropim.get().scores().knnTop1() - mae.get().scores().knnTop1();
        double dProbe = ropim.get().scores().probeTop1() - mae.get().scores().probeTop1();
        double eps = noise(mae.get().scores().knnTop1(), testImages);
        boolean better = dKnn > eps && dProbe > eps, worse = dKnn < -eps && dProbe < -eps;
        boolean faster = !Double.isNaN(tRopim) && tRopim < tMae;
        String verdict = better && faster ? "holds" : worse ? "does not hold here"
                : better || dKnn > eps || dProbe > eps ? "holds only partly" : "inconclusive (within noise)";
        String time = Double.isNaN(tRopim)
                ? String.format(Locale.ROOT, "ROPIM's curve never reached MAE's final curve kNN %.2f%% (best %.2f%%)", 100 * target,
                        100 * rc.stream().mapToDouble(Compare.CurvePoint::knnTop1).max().orElse(Double.NaN))
                : String.format(Locale.ROOT, "ROPIM's curve reached MAE's final curve kNN %.2f%% at %.0f s, MAE at %.0f s",
                        100 * target, tRopim, tMae);
        return String.format(Locale.ROOT, "%s: final scores at the same budget, ROPIM − MAE: kNN %+.2f, probe %+.2f points "
                + "(noise ±%.1f at %d test images); %s (curve noise ±%.1f points)", verdict, 100 * dKnn, 100 * dProbe,
                100 * eps, testImages, time, 100 * noise(target, curveQueries));
    }

    static String sbam(List<Compare.RunResult> runs, int testImages) {
        List<Compare.RunResult> mae = sweep(runs, "mae"), sbam = sweep(runs, "sbam");
        if (mae.size() < 2 || sbam.size() < 2) return "not measured (needs mae and sbam at two or more mask ratios)";
        double mk = spread(mae, true), sk = spread(sbam, true), mp = spread(mae, false), sp = spread(sbam, false);
        double p = runs.stream().mapToDouble(r -> r.scores().knnTop1()).average().orElse(0.5);
        double eps = noise(p, testImages);
        boolean clear = Math.abs(sk - mk) > eps || Math.abs(sp - mp) > eps;
        int wins = (sk < mk ? 1 : 0) + (sp < mp ? 1 : 0);
        String verdict = !clear ? "inconclusive (within noise)" : wins == 2 ? "holds" : wins == 1 ? "mixed" : "does not hold here";
        return String.format(Locale.ROOT, "%s: accuracy spread over mask ratios %s, kNN SBAM %.2f vs MAE %.2f points, "
                        + "probe SBAM %.2f vs MAE %.2f points (smaller = more robust; a difference of spreads under "
                        + "%.1f points is noise at %d test images)", verdict,
                mae.stream().map(x -> String.format(Locale.ROOT, "%.2f", x.variant().ratio())).toList(),
                100 * sk, 100 * mk, 100 * sp, 100 * mp, 100 * eps, testImages);
    }

    /**
     * Training seconds at which the curve first reaches {@code target}, interpolated linearly between the two
     * checkpoints around the crossing; NaN when it never does.
     */
    public static double timeToReach(List<Compare.CurvePoint> curve, double target) {
        for (int i = 0; i < curve.size(); i++) {
            Compare.CurvePoint p = curve.get(i);
            if (p.knnTop1() < target) continue;
            if (i == 0) return p.seconds();
            Compare.CurvePoint a = curve.get(i - 1);
            double f = (target - a.knnTop1()) / (p.knnTop1() - a.knnTop1());
            return a.seconds() + f * (p.seconds() - a.seconds());
        }
        return Double.NaN;
    }

    /** max − min of final kNN (or probe) top-1 over the runs. */
    static double spread(List<Compare.RunResult> runs, boolean knn) {
        double lo = 1, hi = 0;
        for (Compare.RunResult r : runs) {
            double v = knn ? r.scores().knnTop1() : r.scores().probeTop1();
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        return hi - lo;
    }

    private static Optional<Compare.RunResult> first(List<Compare.RunResult> runs, String family) {
        return runs.stream().filter(r -> r.variant().family().equals(family)).findFirst();
    }

    private static List<Compare.RunResult> sweep(List<Compare.RunResult> runs, String family) {
        return runs.stream().filter(r -> r.variant().family().equals(family)).toList();
    }
}
