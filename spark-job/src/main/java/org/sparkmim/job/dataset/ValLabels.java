package org.sparkmim.job.dataset;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.BufferedReader;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Label inputs of the ILSVRC val layout: the LOC_val_solution.csv-style labels file and the class list that maps
 * synsets to indices (the train dataset's, so val labels mean the same classes).
 */
public final class ValLabels {
    private ValLabels() { }

    /**
     * {@code ImageId,PredictionString} rows, e.g. {@code ILSVRC2012_val_00008726,n02119789 255 142 454 329 ...}:
     * ImageId → the first token of PredictionString (the synset of the first box).
     */
    public static Map<String, String> read(Configuration conf, String uri) {
        Map<String, String> m = new HashMap<>();
        int line = 0;
        try (BufferedReader r = open(conf, uri, "--labels")) {
            for (String s; (s = r.readLine()) != null; ) {
                line++;
                s = s.strip();
                if (s.isEmpty() || (line == 1 && s.startsWith("ImageId"))) continue;
                int comma = s.indexOf(',');
                String[] pred = comma < 0 ? new String[0] : s.substring(comma + 1).strip().split("\\s+");
                if (comma <= 0 || pred.length == 0 || pred[0].isEmpty()) {
                    throw new DatasetException("--labels " + uri + " line " + line + ": expected ImageId,PredictionString "
                            + "(e.g. ILSVRC2012_val_00000001,n01751748 ...), found: " + s);
                }
                String prev = m.put(s.substring(0, comma).strip(), pred[0]);
                if (prev != null && !prev.equals(pred[0])) {
                    throw new DatasetException("--labels " + uri + " line " + line + ": ImageId " + s.substring(0, comma)
                            + " appears twice with different synsets (" + prev + ", " + pred[0] + ")");
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read --labels " + uri, e);
        }
        return m;
    }

    /**
     * The class list: from a dataset directory (its manifest's classes) or a text file whose lines start with the
     * synset (LOC_synset_mapping.txt: {@code n01440764 tench, Tinca tinca}); order = label index.
     */
    public static List<String> classes(Configuration conf, String uri) {
        try {
            Path p = new Path(uri);
            if (p.getFileSystem(conf).isDirectory(p)) return DatasetDir.open(conf, uri).manifest().classes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read --classes " + uri, e);
        }
        List<String> out = new ArrayList<>();
        try (BufferedReader r = open(conf, uri, "--classes")) {
            for (String s; (s = r.readLine()) != null; ) {
                s = s.strip();
                if (!s.isEmpty()) out.add(s.split("\\s+", 2)[0]);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read --classes " + uri, e);
        }
        if (out.isEmpty()) throw new DatasetException("--classes " + uri + " lists no classes");
        return out;
    }

    private static BufferedReader open(Configuration conf, String uri, String option) throws IOException {
        Path p = new Path(uri);
        try {
            FileSystem fs = p.getFileSystem(conf);
            return new BufferedReader(new InputStreamReader(fs.open(p), StandardCharsets.UTF_8));
        } catch (FileNotFoundException e) {
            throw new DatasetException(option + " " + uri + ": no such file", e);
        }
    }
}
