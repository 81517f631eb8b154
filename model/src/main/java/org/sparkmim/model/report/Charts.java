package org.sparkmim.model.report;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The run's charts, drawn with XChart: training curves, the confusion matrix, and the cross-run comparison. */
public final class Charts {
    static final int W = 520, H = 340;

    private Charts() { }

    /**
     * curves.png: loss, LR, img/s and online kNN accuracy against step (a panel per metric present). Returns null
     * when metrics.jsonl has no training records yet.
     */
    public static Path curves(Path runDir) {
        Metrics m = Metrics.read(runDir);
        List<XYChart> charts = new ArrayList<>();
        addPanel(charts, "training loss (the method's objective)", "loss", List.of(new Named("loss", m.series("loss")),
                new Named("probe loss (Spark: fixed held-out batch)", m.series("probe_loss"))), false);
        addPanel(charts, "learning rate", "LR", List.of(new Named("lr", m.series("lr"))), false);
        addPanel(charts, "throughput", "images / s", List.of(new Named("img/s", m.series("img_per_s"))), false);
        addPanel(charts, "held-out accuracy (online kNN; fine-tune test split)", "accuracy",
                List.of(new Named("kNN top-1", m.series("knn_top1")), new Named("kNN top-5", m.series("knn_top5")),
                        new Named("fine-tune top-1", m.series("test_top1")), new Named("fine-tune top-5", m.series("test_top5"))), true);
        if (charts.isEmpty()) return null;
        Path png = runDir.resolve("curves.png");
        // XChart's grid needs exactly rows x cols charts: 2x2 for four panels, one row otherwise
        int rows = charts.size() == 4 ? 2 : 1, cols = charts.size() / rows;
        save(png, out -> BitmapEncoder.saveBitmap(charts, rows, cols, out, BitmapEncoder.BitmapFormat.PNG));
        return png;
    }

    record Named(String name, double[][] xy) { }

    static void addPanel(List<XYChart> charts, String title, String yTitle, List<Named> series, boolean markers) {
        XYChart c = null;
        for (Named s : series) {
            if (s.xy()[0].length == 0) continue;
            if (c == null) c = xy(title, "step", yTitle);
            // LRs are 1e-4-ish: a fixed-point pattern would print them all as 0.0001
            if (yTitle.equals("LR")) c.getStyler().setYAxisDecimalPattern("0.0#E0");
            XYSeries xs = c.addSeries(s.name(), s.xy()[0], s.xy()[1]);
            xs.setMarker(markers || s.xy()[0].length < 3 ? SeriesMarkers.CIRCLE : SeriesMarkers.NONE);
        }
        if (c != null) charts.add(c);
    }

    static XYChart xy(String title, String xTitle, String yTitle) {
        XYChart c = new XYChartBuilder().width(W).height(H).title(title).xAxisTitle(xTitle).yAxisTitle(yTitle).build();
        c.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
        c.getStyler().setChartBackgroundColor(Color.WHITE);
        c.getStyler().setMarkerSize(5);
        c.getStyler().setYAxisDecimalPattern("#.####");
        return c;
    }

    /** Confusion matrix heat map: rows = true class (first class on top), columns = predicted; counts in cells. */
    public static Path confusion(Path png, int[][] cm, String[] classes, String title) {
        int k = cm.length;
        List<String> xs = new ArrayList<>(), ys = new ArrayList<>();
        for (int j = 0; j < k; j++) xs.add(classes.length == k ? classes[j] : String.valueOf(j));
        for (int i = k - 1; i >= 0; i--) ys.add(classes.length == k ? classes[i] : String.valueOf(i));
        List<Number[]> cells = new ArrayList<>();
        int max = 1;
        for (int i = 0; i < k; i++) {
            for (int j = 0; j < k; j++) {
                cells.add(new Number[]{j, k - 1 - i, cm[i][j]});
                max = Math.max(max, cm[i][j]);
            }
        }
        HeatMapChart c = new HeatMapChartBuilder().width(760).height(640).title(title)
                .xAxisTitle("predicted").yAxisTitle("true class").build();
        c.getStyler().setShowValue(true);
        c.getStyler().setValueFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
        c.getStyler().setMin(0);
        c.getStyler().setMax(max);
        c.getStyler().setRangeColors(new Color[]{new Color(250, 250, 252), new Color(120, 150, 210), new Color(20, 40, 120)});
        c.getStyler().setChartBackgroundColor(Color.WHITE);
        c.getStyler().setXAxisLabelRotation(35);
        c.getStyler().setLegendVisible(false);
        c.addSeries("confusion", xs, ys, cells);
        save(png, out -> BitmapEncoder.saveBitmap(c, out, BitmapEncoder.BitmapFormat.PNG));
        return png;
    }

    /** One line chart: a series per run (runs without points are left out). */
    public static XYChart lines(String title, String xTitle, String yTitle, List<String> names, List<double[][]> xy) {
        XYChart c = xy(title, xTitle, yTitle);
        c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        for (int i = 0; i < names.size(); i++) {
            if (xy.get(i)[0].length == 0) continue;
            XYSeries s = c.addSeries(uniqueName(c, names.get(i)), xy.get(i)[0], xy.get(i)[1]);
            s.setMarker(xy.get(i)[0].length < 20 ? SeriesMarkers.CIRCLE : SeriesMarkers.NONE);
        }
        return c;
    }

    private static String uniqueName(XYChart c, String name) {
        String n = name;
        for (int i = 2; c.getSeriesMap().containsKey(n); i++) n = name + " (" + i + ")";
        return n;
    }

    interface PngWriter {
        void write(java.io.OutputStream out) throws IOException;
    }

    static void save(Path png, PngWriter w) {
        try {
            Files.createDirectories(png.toAbsolutePath().getParent());
            Path tmp = png.resolveSibling(png.getFileName() + ".tmp");
            try (var out = Files.newOutputStream(tmp)) {
                w.write(out);
            }
            Files.move(tmp, png, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + png, e);
        }
    }

    public static String pct(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.2f%%", 100 * v) : "-";
    }
}
