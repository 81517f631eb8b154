package org.sparkmim.model.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.sparkmim.model.eval.EvalReport;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What one run directory says about itself: its config (config.conf), training progress (metrics.jsonl) and,
 * if it was evaluated, eval.json. Missing pieces are NaN / "-" rather than errors, so a crashed or running run
 * still shows up in a comparison.
 */
public record RunSummary(Path dir, String name, String method, String model, double maskRatio, long steps,
                         double epochs, double finalLoss, double imgPerSec, double onlineKnnTop1, double knnTop1,
                         double probeTop1, String verdict, String feature, Metrics metrics, JsonNode eval) {

    public static RunSummary read(Path dir) {
        if (!Files.isDirectory(dir)) throw new IllegalArgumentException("run directory " + dir + " does not exist");
        Path conf = dir.resolve("config.conf");
        String method = "-", model = "-";
        double ratio = Double.NaN;
        if (Files.isRegularFile(conf)) {
            Config c = ConfigFactory.parseFile(conf.toFile());
            method = c.hasPath("method.name") ? c.getString("method.name") : "-";
            ratio = c.hasPath("method.mask-ratio") ? c.getDouble("method.mask-ratio") : Double.NaN;
            model = describeModel(c);
        }
        Metrics m = Metrics.read(dir);
        JsonNode eval = readEval(dir);
        long steps = (long) m.last("step");
        return new RunSummary(dir, dir.getFileName().toString(), method, model, ratio, m.records().isEmpty() ? 0 : steps,
                m.last("epoch"), m.last("loss"), m.last("img_per_s"), m.last("knn_top1"),
                eval == null ? Double.NaN : eval.path("knn_top1").asDouble(Double.NaN),
                eval == null ? Double.NaN : eval.path("probe_top1").asDouble(Double.NaN),
                eval == null ? "-" : eval.path("verdict").asText("-"),
                eval == null ? "-" : eval.path("setup").path("feature").asText("-"), m, eval);
    }

    static String describeModel(Config c) {
        if (c.hasPath("model.backbone") && c.getString("model.backbone").equals("resnet")) {
            // "resnet18 w16 p4": the ViT preset keys (size, dim, depth) do not describe a ResNet
            return "resnet" + c.getInt("model.resnet.depth") + " w" + c.getInt("model.resnet.width")
                    + (c.hasPath("model.patch") ? " p" + c.getInt("model.patch") : "");
        }
        if (!c.hasPath("model.size")) return "-";
        StringBuilder sb = new StringBuilder(c.getString("model.size"));
        for (String k : new String[]{"dim", "depth", "patch"}) {
            if (c.hasPath("model." + k)) sb.append(' ').append(k.charAt(0)).append(c.getInt("model." + k));
        }
        return sb.toString();
    }

    static JsonNode readEval(Path dir) {
        Path f = dir.resolve(EvalReport.FILE);
        if (!Files.isRegularFile(f)) return null;
        try {
            return new ObjectMapper().readTree(f.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException(f + " is not valid JSON (" + e.getMessage() + "); re-run evaluate", e);
        }
    }
}
