package org.sparkmim.model.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.sparkmim.model.eval.Scores;
import org.sparkmim.model.experiment.Claims;
import org.sparkmim.model.experiment.Compare;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** What experiment compare writes: compare.json, compare.md (table + claims), compare.png, rows for RESULTS.md. */
public final class CompareReport {
    private CompareReport() { }

    public static Map<String, Object> json(Compare.Result r, Claims c, String command) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("command", command);
        m.put("data", r.data());
        m.put("budget_minutes", r.options().budgetMinutes());
        m.put("peak_gflops", r.peakGflops());
        List<Map<String, Object>> runs = new ArrayList<>();
        for (Compare.RunResult x : r.runs()) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("run", x.variant().label());
            e.put("run_dir", x.runDir().toString());
            e.put("method", x.method());
            e.put("masking", x.variant().family().equals("block") ? "block" : x.variant().family().equals("sbam") ? "saliency" : "random");
            e.put("mask_ratio", x.maskRatio());
            e.put("bench_img_per_s", x.benchImgPerSec());
            e.put("mfu", x.mfu());
            e.put("planned_steps", x.plannedSteps());
            e.put("steps", x.steps());
            e.put("train_seconds", x.trainSeconds());
            e.put("img_per_s", x.imgPerSec());
            e.put("final_loss", x.finalLoss());
            e.put("stopped_by_budget", x.stoppedByBudget());
            e.put("knn_top1", x.scores().knnTop1());
            e.put("knn_top5", x.scores().knnTop5());
            e.put("probe_top1", x.scores().probeTop1());
            e.put("probe_lr", x.scores().probeLr());
            e.put("curve", curve(x.curve()));
            runs.add(e);
        }
        m.put("runs", runs);
        m.put("floors", Map.of("pixels", floor(r.pixels()), "random_init", floor(r.randomInit())));
        m.put("claims", Map.of("emae_time_to_accuracy", c.emae(), "sbam_mask_ratio_robustness", c.sbam(),
                "ropim_accuracy_at_lower_time", c.ropim()));
        return m;
    }

    /** The table and the claims, in Markdown (compare.md, and what goes into docs/RESULTS.md). */
    public static String markdown(Compare.Result r, Claims c, String command, String date) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "### experiment compare, %s: %.1f min per run, %s%n%n", date,
                r.options().budgetMinutes(), r.data()));
        sb.append("`").append(command).append("`\n\n");
        sb.append("| run | method | mask ratio | bench img/s | MFU | steps | train s | loss | kNN top-1 | probe top-1 "
                + "| curve kNN (end) | time to MAE's curve kNN |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        double target = Double.NaN;
        for (Compare.RunResult x : r.runs()) {
            if (x.variant().family().equals("mae")) {
                target = x.curve().get(x.curve().size() - 1).knnTop1();
                break;
            }
        }
        for (Compare.RunResult x : r.runs()) {
            double end = x.curve().get(x.curve().size() - 1).knnTop1();
            double t = Double.isNaN(target) ? Double.NaN : Claims.timeToReach(x.curve(), target);
            sb.append(String.format(Locale.ROOT, "| %s | %s%s | %.3f | %.1f | %.1f%% | %d%s | %.0f | %.4f | %.2f | %.2f | %.2f | %s |%n",
                    x.variant().label(), x.method(), x.variant().family().equals("block") ? " (block)" : "", x.maskRatio(),
                    x.benchImgPerSec(), 100 * x.mfu(), x.steps(), x.steps() < x.plannedSteps() ? " of " + x.plannedSteps() : "",
                    x.trainSeconds(), x.finalLoss(), 100 * x.scores().knnTop1(), 100 * x.scores().probeTop1(), 100 * end,
                    Double.isNaN(t) ? "not reached" : String.format(Locale.ROOT, "%.0f s", t)));
        }
        sb.append(String.format(Locale.ROOT, "| floor: raw pixels | | | | | | | | %.2f | %.2f | | |%n",
                100 * r.pixels().knnTop1(), 100 * r.pixels().probeTop1()));
        sb.append(String.format(Locale.ROOT, "| floor: random-init encoder | | | | | | | | %.2f | %.2f | | |%n%n",
                100 * r.randomInit().knnTop1(), 100 * r.randomInit().probeTop1()));
        sb.append("- EMAE, time to MAE's accuracy: ").append(c.emae()).append('\n');
        sb.append("- SBAM vs MAE, robustness to the mask ratio: ").append(c.sbam()).append('\n');
        sb.append("- ROPIM vs MAE, better accuracy at lower pretraining time: ").append(c.ropim()).append('\n');
        return sb.toString();
    }

    /** compare.png: kNN against training time per run; final kNN and probe against mask ratio per swept method. */
    public static Path plot(Compare.Result r, Path png) {
        List<String> names = new ArrayList<>();
        List<double[][]> curves = new ArrayList<>();
        for (Compare.RunResult x : r.runs()) {
            names.add(x.variant().label());
            double[][] xy = new double[2][x.curve().size()];
            for (int i = 0; i < xy[0].length; i++) {
                xy[0][i] = x.curve().get(i).seconds();
                xy[1][i] = x.curve().get(i).knnTop1();
            }
            curves.add(xy);
        }
        List<XYChart> charts = new ArrayList<>();
        charts.add(Charts.lines("kNN top-1 during training (checkpoints)", "training seconds", "accuracy", names, curves));
        List<String> fams = r.runs().stream().map(x -> x.variant().family()).distinct().toList();
        for (boolean knn : new boolean[]{true, false}) {
            List<double[][]> pts = new ArrayList<>();
            for (String f : fams) {
                List<Compare.RunResult> rs = r.runs().stream().filter(x -> x.variant().family().equals(f))
                        .sorted(java.util.Comparator.comparingDouble(x -> x.variant().ratio())).toList();
                double[][] xy = new double[2][rs.size()];
                for (int i = 0; i < rs.size(); i++) {
                    xy[0][i] = rs.get(i).maskRatio();
                    xy[1][i] = knn ? rs.get(i).scores().knnTop1() : rs.get(i).scores().probeTop1();
                }
                pts.add(xy);
            }
            charts.add(Charts.lines(knn ? "final kNN top-1" : "final linear-probe top-1", "mask ratio", "accuracy", fams, pts));
        }
        Charts.save(png, out -> BitmapEncoder.saveBitmap(charts, 1, charts.size(), out, BitmapEncoder.BitmapFormat.PNG));
        return png;
    }

    /** Writes compare.json, compare.md and compare.png into dir; returns the Markdown. */
    public static String write(Path dir, Compare.Result r, Claims c, String command, String date) {
        String md = markdown(r, c, command, date);
        try {
            Files.createDirectories(dir);
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(dir.resolve("compare.json").toFile(),
                    json(r, c, command));
            Files.writeString(dir.resolve("compare.md"), md + "\n![compare](compare.png)\n");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the comparison under " + dir, e);
        }
        plot(r, dir.resolve("compare.png"));
        return md;
    }

    /** Appends the comparison to the project's table of measured results (docs/RESULTS.md). */
    public static void appendTo(Path resultsMd, String md) {
        try {
            String sep = Files.isRegularFile(resultsMd) && !Files.readString(resultsMd).endsWith("\n") ? "\n\n" : "\n";
            Files.writeString(resultsMd, sep + md, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot append to " + resultsMd, e);
        }
    }

    private static List<Map<String, Object>> curve(List<Compare.CurvePoint> c) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Compare.CurvePoint p : c) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("step", p.step());
            m.put("seconds", Math.round(p.seconds() * 100) / 100.0);
            m.put("knn_top1", p.knnTop1());
            out.add(m);
        }
        return out;
    }

    private static Map<String, Object> floor(Scores s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("knn_top1", s.knnTop1());
        m.put("knn_top5", s.knnTop5());
        m.put("probe_top1", s.probeTop1());
        return m;
    }
}
