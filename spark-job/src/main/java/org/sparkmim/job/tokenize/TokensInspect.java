package org.sparkmim.job.tokenize;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.data.RawImage;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.explode;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.min;
import static org.apache.spark.sql.functions.size;
import static org.apache.spark.sql.functions.countDistinct;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;
import static org.apache.spark.sql.functions.lit;

/**
 * {@code dataset inspect} on a tokens directory: the counterpart of a dataset's contact sheet. It checks the rows
 * (one per image, N ids each, every id in [0, k)) with one Spark pass, counts how often each code is used (dead codes
 * and the perplexity say how much of the codebook the targets really use), checks the codebook against the
 * manifest's SHA-256, and draws the codebook (most used code first, dead codes framed red) and a preview of source
 * images beside their <em>stored</em> tokens, re-assigning those images with the codebook to show they reproduce.
 */
public final class TokensInspect {
    /**
     * @param usage            how many patches (over all images) carry each id, [k]
     * @param perplexity       exp of the entropy of the id distribution: the number of equally used codes it equals
     * @param top10Share       share of all patches carried by the 10 most used codes
     * @param previewImages    source images drawn (0 when the source cannot be read from here)
     * @param previewReproduced of those, images whose stored ids all equal the ids the codebook assigns them now
     */
    public record Report(TokensManifest manifest, long rows, long distinctKeys, long badLength, long[] usage, int used,
                         double perplexity, double top10Share, boolean codebookMatches, int previewImages,
                         int previewReproduced, String previewNote, byte[] codebookPng, byte[] previewPng) { }

    private TokensInspect() { }

    /** True when uri holds a {@code _manifest.json} of {@link TokensManifest#FORMAT} (a tokens directory). */
    public static boolean isTokensDir(Configuration conf, String uri) {
        Path mf = new Path(new Path(uri), TokensManifest.FILE);
        try (FSDataInputStream in = mf.getFileSystem(conf).open(mf)) {
            var format = TokensManifest.JSON.readTree(in.readAllBytes()).get("format");
            return format != null && TokensManifest.FORMAT.equals(format.asText());
        } catch (FileNotFoundException e) {
            return false;
        } catch (IOException e) {
            return false;                                  // not JSON: the dataset reader gives the precise error
        }
    }

    /**
     * @param cfg     the config the preview is drawn with (normalization), at the manifest's image size and patch
     * @param samples source images in the preview
     */
    public static Report inspect(SparkSession spark, String uri, MimConfig cfg, int samples) {
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        TokensManifest m = ParquetTokenTable.manifest(conf, uri);
        int n = (m.imageSize() / m.patch()) * (m.imageSize() / m.patch()), k = m.k();
        if (cfg.model.imageSize != m.imageSize() || cfg.model.patch != m.patch()) {
            throw new IllegalArgumentException("inspect " + uri + ": config has model.image-size=" + cfg.model.imageSize
                    + ", model.patch=" + cfg.model.patch + " but the tokens were made at " + m.imageSize() + ", " + m.patch());
        }

        byte[] codebookBytes;
        Path cb = new Path(new Path(uri), TokensManifest.CODEBOOK);
        try (FSDataInputStream in = cb.getFileSystem(conf).open(cb)) {
            codebookBytes = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the codebook " + cb + ": " + e.getMessage(), e);
        }
        boolean codebookMatches = TokenizeJob.sha256(codebookBytes).equals(m.codebookSha256());
        float[][] centers = TokenizeJob.parseCodebook(codebookBytes, cb.toString());   // the bytes just hashed
        if (centers.length != k) {
            throw new IllegalArgumentException(cb + " holds " + centers.length + " centroids but " + TokensManifest.FILE
                    + " says k = " + k);
        }

        // one pass: row and key counts, wrong-length rows, id range; then the usage histogram
        List<String> shards = new ArrayList<>();
        try {
            for (TokensManifest.Shard s : m.shards()) {
                Path p = new Path(new Path(uri), s.file());
                if (!p.getFileSystem(conf).exists(p)) {
                    throw new IllegalArgumentException("shard " + p + " listed in " + TokensManifest.FILE + " is missing");
                }
                shards.add(p.toString());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + uri + ": " + e.getMessage(), e);
        }
        Dataset<Row> rows = spark.read().parquet(shards.toArray(String[]::new)).cache();
        try {
            Row agg = rows.agg(count(lit(1)), countDistinct(col("key")),
                    sum(when(size(col("tokens")).notEqual(n), 1).otherwise(0))).first();
            long nRows = agg.getLong(0), distinct = agg.getLong(1), badLength = agg.isNullAt(2) ? 0 : agg.getLong(2);
            Dataset<Row> ids = rows.select(explode(col("tokens")).as("id"));
            Row range = ids.agg(min(col("id")), max(col("id"))).first();
            if (!range.isNullAt(0) && (range.getInt(0) < 0 || range.getInt(1) >= k)) {
                throw new IllegalArgumentException(uri + ": token ids span [" + range.getInt(0) + ", " + range.getInt(1)
                        + "] but the codebook has k = " + k + " codes (ids must be in [0, " + k + "))");
            }
            long[] usage = new long[k];
            for (Row r : ids.groupBy("id").count().collectAsList()) usage[r.getInt(0)] = r.getLong(1);
            long total = Arrays.stream(usage).sum();
            double h = 0;
            int used = 0;
            for (long u : usage) {
                if (u == 0) continue;
                used++;
                double q = u / (double) total;
                h -= q * Math.log(q);
            }
            Integer[] order = IntStream.range(0, k).boxed().sorted(Comparator.comparingLong((Integer i) -> -usage[i])).toArray(Integer[]::new);
            long top = 0;
            for (int i = 0; i < Math.min(10, k); i++) top += usage[order[i]];
            byte[] codebookPng = CodebookPictures.codebook(centers, m.patch(), centers[0].length / (m.patch() * m.patch()),
                    Arrays.stream(order).mapToInt(Integer::intValue).toArray(), usage);

            // preview: source images beside their stored tokens (needs the source; skipped with a note if it moved)
            MimConfig geo = cfg;
            int previewImages = 0, reproduced = 0;
            byte[] previewPng = null;
            String note = "";
            List<RawImage> some;
            try {
                some = TokenizeJob.source(spark, m.source(), geo).images().take(Math.max(1, samples));
            } catch (RuntimeException | IOException e) {
                some = List.of();
                note = "no preview: the source " + m.source() + " cannot be read from here (" + e.getMessage() + ")";
            }
            if (!some.isEmpty()) {
                Map<String, int[]> stored = new HashMap<>();
                List<String> keys = some.stream().map(RawImage::key).toList();
                for (Row r : rows.where(col("key").isin(keys.toArray())).collectAsList()) {
                    stored.put(r.getString(0), r.getList(1).stream().mapToInt(o -> (Integer) o).toArray());
                }
                float[] x = TokenizeJob.patchVectors(some, geo);
                int pd = geo.model.patchDim();
                int[][] shown = new int[some.size()][];
                for (int i = 0; i < some.size(); i++) {
                    int[] s = stored.get(some.get(i).key());
                    if (s == null) {
                        throw new IllegalArgumentException(uri + ": image " + some.get(i).key() + " of the source "
                                + m.source() + " has no token row");
                    }
                    boolean same = s.length == n;
                    for (int t = 0; same && t < n; t++) same = s[t] == TokenizeJob.nearest(x, (i * n + t) * pd, pd, centers);
                    if (same) reproduced++;
                    shown[i] = s;
                }
                previewImages = some.size();
                previewPng = CodebookPictures.preview(some, geo, centers, shown);
            }
            return new Report(m, nRows, distinct, badLength, usage, used, Math.exp(h), total == 0 ? 0 : top / (double) total,
                    codebookMatches, previewImages, reproduced, note, codebookPng, previewPng);
        } finally {
            rows.unpersist();
        }
    }
}
