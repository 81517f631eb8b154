package org.sparkmim.model.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * metrics.jsonl read back: one JSON object per line, each with "step"; training lines carry loss, lr and
 * img_per_s, epoch-end lines may carry hook results (knn_top1, ...). A line that does not parse (a run killed
 * mid-write) is skipped and counted, not fatal: the report of a crashed run is exactly when it is needed.
 */
public record Metrics(List<JsonNode> records, int skipped) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public static Metrics read(Path runDir) {
        Path f = runDir.resolve("metrics.jsonl");
        List<JsonNode> out = new ArrayList<>();
        int bad = 0;
        if (!Files.isRegularFile(f)) return new Metrics(out, 0);
        try {
            for (String line : Files.readAllLines(f)) {
                if (line.isBlank()) continue;
                try {
                    JsonNode n = JSON.readTree(line);
                    if (n != null && n.has("step")) out.add(n);
                    else bad++;
                } catch (IOException e) {
                    bad++;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + f, e);
        }
        return new Metrics(out, bad);
    }

    /** (step, value) pairs of every record that has this numeric field: [2][n]. */
    public double[][] series(String field) {
        List<double[]> pts = new ArrayList<>();
        for (JsonNode n : records) {
            JsonNode v = n.get(field);
            if (v != null && v.isNumber() && Double.isFinite(v.asDouble())) pts.add(new double[]{n.get("step").asDouble(), v.asDouble()});
        }
        double[][] xy = new double[2][pts.size()];
        for (int i = 0; i < pts.size(); i++) {
            xy[0][i] = pts.get(i)[0];
            xy[1][i] = pts.get(i)[1];
        }
        return xy;
    }

    /** The last value of a field, or NaN. */
    public double last(String field) {
        for (int i = records.size() - 1; i >= 0; i--) {
            JsonNode v = records.get(i).get(field);
            if (v != null && v.isNumber()) return v.asDouble();
        }
        return Double.NaN;
    }
}
