package org.sparkmim.model.report;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * report.html in a run directory: the summary numbers, the curves, the evaluation with its floors and verdict,
 * the confusion matrix, the reconstruction grids, the mask pictures and the resolved config. Everything is
 * linked by relative path, so the directory can be copied or served as is. Regenerating redraws curves.png and
 * confusion.png from metrics.jsonl and eval.json, so the page never shows a stale chart.
 */
public final class ReportPage {
    public static final String FILE = "report.html";

    private ReportPage() { }

    public static Path write(Path runDir) {
        Charts.curves(runDir);
        RunSummary s = RunSummary.read(runDir);
        if (s.eval() != null) confusionFromEval(runDir, s.eval());
        StringBuilder h = new StringBuilder();
        h.append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>").append(esc(s.name()))
                .append(" - spark-mim run report</title><style>body{font-family:sans-serif;max-width:1100px;margin:1em auto;}"
                        + "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
                        + "th{background:#f3f3f3}td.l{text-align:left}img{max-width:100%;border:1px solid #ddd}"
                        + "pre{background:#f7f7f7;padding:8px;overflow:auto;max-height:30em}"
                        + ".PASS{color:#070}.FAILED{color:#b00;font-weight:bold}</style></head><body>\n");
        h.append("<h1>Run ").append(esc(s.name())).append("</h1>\n<p>").append(esc(runDir.toAbsolutePath().toString())).append("</p>\n");
        h.append("<table><tr><th>method</th><th>model</th><th>mask ratio</th><th>steps</th><th>epochs</th><th>final loss</th>"
                + "<th>img/s</th><th>online kNN top-1</th></tr>\n<tr><td class=l>").append(esc(s.method())).append("</td><td class=l>")
                .append(esc(s.model())).append("</td><td>").append(num(s.maskRatio(), "%.2f")).append("</td><td>").append(s.steps())
                .append("</td><td>").append(num(s.epochs(), "%.2f")).append("</td><td>").append(num(s.finalLoss(), "%.4f"))
                .append("</td><td>").append(num(s.imgPerSec(), "%.1f")).append("</td><td>").append(Charts.pct(s.onlineKnnTop1()))
                .append("</td></tr></table>\n");
        if (s.metrics().skipped() > 0) {
            h.append("<p>").append(s.metrics().skipped()).append(" unreadable line(s) in metrics.jsonl were skipped.</p>\n");
        }
        section(h, "Curves", runDir, List.of(runDir.resolve("curves.png")), "no metrics.jsonl records yet");
        finetuneSection(h, runDir);
        evalSection(h, s.eval());
        section(h, "Confusion matrix (linear probe, test split)", runDir, List.of(runDir.resolve("confusion.png")),
                "not evaluated yet: bin/spark-mim evaluate --checkpoint " + runDir);
        List<Path> recon = pngs(runDir.resolve("recon"));
        section(h, "Reconstruction grid (latest)", runDir, recon.isEmpty() ? List.of() : List.of(recon.get(recon.size() - 1)),
                "none (eval.recon-every = 0, or no epoch finished)");
        if (recon.size() > 1) {
            h.append("<p>All epochs: ");
            for (Path p : recon) h.append(link(runDir, p)).append(' ');
            h.append("</p>\n");
        }
        section(h, "Masks", runDir, pngs(runDir.resolve("masks")), "none");
        h.append("<h2>Resolved config</h2>\n");
        Path conf = runDir.resolve("config.conf");
        if (Files.isRegularFile(conf)) {
            h.append("<p>").append(link(runDir, conf)).append("</p><pre>").append(esc(read(conf))).append("</pre>\n");
        } else {
            h.append("<p>config.conf is missing.</p>\n");
        }
        h.append("</body></html>\n");
        Path out = runDir.resolve(FILE);
        try {
            Path tmp = runDir.resolve(FILE + ".tmp");
            Files.writeString(tmp, h.toString());
            Files.move(tmp, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + out, e);
        }
        return out;
    }

    /** confusion.png from eval.json's matrix (the evaluate job writes it too; this keeps the two in step). */
    public static void confusionFromEval(Path runDir, JsonNode eval) {
        JsonNode m = eval.path("confusion").path("matrix");
        if (!m.isArray() || m.isEmpty()) return;
        int k = m.size();
        int[][] cm = new int[k][k];
        for (int i = 0; i < k; i++) for (int j = 0; j < k; j++) cm[i][j] = m.get(i).get(j).asInt();
        String[] classes = new String[k];
        JsonNode names = eval.path("confusion").path("classes");
        for (int i = 0; i < k; i++) classes[i] = names.has(i) ? names.get(i).asText() : String.valueOf(i);
        Charts.confusion(runDir.resolve("confusion.png"), cm, classes, String.format(Locale.ROOT,
                "linear probe (%s features), test split: top-1 %s",
                eval.path("setup").path("feature").asText("?"), Charts.pct(eval.path("probe_top1").asDouble(Double.NaN))));
    }

    /** A fine-tuning run's finetune.json: test top-1/top-5, how it was initialized, the recipe and its confusion matrix. */
    static void finetuneSection(StringBuilder h, Path runDir) {
        Path f = runDir.resolve("finetune.json");
        if (!Files.isRegularFile(f)) return;
        JsonNode j;
        try {
            j = new com.fasterxml.jackson.databind.ObjectMapper().readTree(f.toFile());
        } catch (IOException e) {
            h.append("<h2>Fine-tuning</h2>\n<p>finetune.json is unreadable: ").append(esc(e.toString())).append("</p>\n");
            return;
        }
        JsonNode st = j.path("setup"), src = j.path("source");
        h.append("<h2>Fine-tuning</h2>\n<table><tr><th>init</th><th>test top-1</th><th>test top-5</th><th>test images</th>"
                + "<th>steps</th><th>epochs</th><th>layer decay</th><th>label smoothing</th><th>pool</th></tr>\n<tr><td class=l>")
                .append(esc(j.path("init").asText("-"))).append("</td><td>").append(Charts.pct(j.path("test_top1").asDouble(Double.NaN)))
                .append("</td><td>").append(Charts.pct(j.path("test_top5").asDouble(Double.NaN))).append("</td><td>")
                .append(j.path("test_images").asText("-")).append("</td><td>").append(j.path("steps").asText("-"))
                .append("</td><td>").append(num(j.path("epochs").asDouble(Double.NaN), "%.2f")).append("</td><td>")
                .append(st.path("layer_decay").asText("-")).append("</td><td>").append(st.path("label_smoothing").asText("-"))
                .append("</td><td>").append(esc(st.path("pool").asText("-"))).append("</td></tr></table>\n");
        h.append("<p>").append(esc(st.path("optimizer").asText(""))).append("; augmentation ")
                .append(esc(st.path("augmentation").asText("-"))).append(". Source checkpoint ")
                .append(esc(src.path("checkpoint").asText("-"))).append(" (").append(esc(src.path("method").asText("-")))
                .append(", step ").append(src.path("step").asText("-")).append(", sha256 ")
                .append(esc(abbrev(src.path("sha256").asText("-")))).append("). <a href=\"finetune.json\">finetune.json</a></p>\n");
        section(h, "Confusion matrix (fine-tuned model, test split)", runDir, List.of(runDir.resolve("finetune-confusion.png")),
                "not drawn");
    }

    static void evalSection(StringBuilder h, JsonNode e) {
        h.append("<h2>Evaluation</h2>\n");
        if (e == null) {
            h.append("<p>No eval.json: run <code>bin/spark-mim evaluate --checkpoint RUN_DIR</code>.</p>\n");
            return;
        }
        String v = e.path("verdict").asText("-");
        h.append("<p class=\"").append(esc(v)).append("\">").append(esc(e.path("verdict_reason").asText(v))).append("</p>\n");
        JsonNode setup = e.path("setup");
        h.append("<p>feature <b>").append(esc(setup.path("feature").asText("-"))).append("</b>, kNN k=")
                .append(setup.path("knn_k").asText("-")).append(" T=").append(setup.path("knn_temperature").asText("-"))
                .append(", probe ").append(setup.path("probe_epochs").asText("-")).append(" epochs; data ")
                .append(esc(setup.path("data").asText("-"))).append(" (").append(setup.path("train_images").asText("-"))
                .append(" train / ").append(setup.path("test_images").asText("-")).append(" test). <a href=\"eval.json\">eval.json</a></p>\n");
        h.append("<table><tr><th>features</th><th>dim</th><th>kNN top-1</th><th>kNN top-5</th><th>probe top-1</th><th>probe LR</th></tr>\n");
        row(h, "pretrained encoder", e.path("encoder"));
        row(h, "random-init encoder (floor)", e.path("floors").path("random_init"));
        row(h, "raw pixels (floor)", e.path("floors").path("pixels"));
        h.append("</table>\n");
        JsonNode prov = e.path("provenance");
        h.append("<p>checkpoint ").append(esc(prov.path("checkpoint").asText("-"))).append(" (step ")
                .append(prov.path("step").asText("-")).append(", epoch ").append(prov.path("epoch").asText("-"))
                .append(", sha256 ").append(esc(abbrev(prov.path("sha256").asText("-")))).append(")</p>\n");
    }

    private static void row(StringBuilder h, String name, JsonNode s) {
        h.append("<tr><td class=l>").append(esc(name)).append("</td><td>").append(s.path("feature_dim").asText("-"))
                .append("</td><td>").append(Charts.pct(s.path("knn_top1").asDouble(Double.NaN))).append("</td><td>")
                .append(Charts.pct(s.path("knn_top5").asDouble(Double.NaN))).append("</td><td>")
                .append(Charts.pct(s.path("probe_top1").asDouble(Double.NaN))).append("</td><td>")
                .append(s.path("probe_lr").asText("-")).append("</td></tr>\n");
    }

    private static void section(StringBuilder h, String title, Path runDir, List<Path> images, String none) {
        h.append("<h2>").append(esc(title)).append("</h2>\n");
        List<Path> present = images.stream().filter(Files::isRegularFile).toList();
        if (present.isEmpty()) h.append("<p>").append(esc(none)).append("</p>\n");
        for (Path p : present) {
            String rel = rel(runDir, p);
            h.append("<p><a href=\"").append(esc(rel)).append("\"><img src=\"").append(esc(rel)).append("\" alt=\"")
                    .append(esc(rel)).append("\"></a><br>").append(esc(rel)).append("</p>\n");
        }
    }

    static List<Path> pngs(Path dir) {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return new ArrayList<>(s.filter(p -> p.toString().endsWith(".png")).sorted().toList());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
    }

    private static String link(Path runDir, Path p) {
        String rel = rel(runDir, p);
        return "<a href=\"" + esc(rel) + "\">" + esc(rel) + "</a>";
    }

    private static String rel(Path runDir, Path p) {
        return runDir.toAbsolutePath().relativize(p.toAbsolutePath()).toString().replace('\\', '/');
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + p, e);
        }
    }

    private static String num(double v, String fmt) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, fmt, v) : "-";
    }

    private static String abbrev(String sha) {
        return sha.length() > 16 ? sha.substring(0, 16) + "…" : sha;
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
