package org.sparkmim.model.report;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Several runs side by side: a text table and one picture (loss and online kNN accuracy against step). */
public final class RunsCompare {
    private RunsCompare() { }

    public static List<RunSummary> read(List<Path> dirs) {
        List<RunSummary> out = new ArrayList<>();
        for (Path d : dirs) out.add(RunSummary.read(d));
        return out;
    }

    /** A fixed-width table, one row per run. */
    public static String table(List<RunSummary> runs) {
        String fmt = "%-28s %-6s %-16s %5s %7s %6s %8s %7s %8s %8s %8s %-6s%n";
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, fmt, "run", "method", "model", "mask", "steps",
                "epochs", "loss", "img/s", "onl.kNN", "kNN", "probe", "verdict"));
        for (RunSummary r : runs) {
            sb.append(String.format(Locale.ROOT, fmt, clip(r.name(), 28), r.method(), clip(r.model(), 16),
                    f(r.maskRatio(), "%.2f"), r.steps(), f(r.epochs(), "%.2f"), f(r.finalLoss(), "%.4f"),
                    f(r.imgPerSec(), "%.1f"), Charts.pct(r.onlineKnnTop1()), Charts.pct(r.knnTop1()),
                    Charts.pct(r.probeTop1()), r.verdict()));
        }
        return sb.toString();
    }

    /** compare.png: training loss of every run, and online kNN top-1 when any run has it. */
    public static Path plot(List<RunSummary> runs, Path png) {
        List<String> names = runs.stream().map(RunSummary::name).toList();
        List<XYChart> charts = new ArrayList<>();
        charts.add(Charts.lines("training loss", "step", "loss", names, runs.stream().map(r -> r.metrics().series("loss")).toList()));
        List<double[][]> knn = runs.stream().map(r -> r.metrics().series("knn_top1")).toList();
        if (knn.stream().anyMatch(xy -> xy[0].length > 0)) {
            charts.add(Charts.lines("online kNN top-1", "step", "accuracy", names, knn));
        }
        Charts.save(png, out -> BitmapEncoder.saveBitmap(charts, 1, charts.size(), out, BitmapEncoder.BitmapFormat.PNG));
        return png;
    }

    private static String f(double v, String fmt) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, fmt, v) : "-";
    }

    private static String clip(String s, int n) {
        return s.length() <= n ? s : s.substring(0, n - 1) + "…";
    }
}
