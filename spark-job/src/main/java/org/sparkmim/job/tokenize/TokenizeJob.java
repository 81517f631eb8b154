package org.sparkmim.job.tokenize;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.clustering.KMeans;
import org.apache.spark.ml.clustering.KMeansModel;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparkmim.job.dataset.DatasetDir;
import org.sparkmim.job.dataset.DatasetSchema;
import org.sparkmim.job.dataset.ImageDecode;
import org.sparkmim.job.dataset.Manifest;
import org.sparkmim.job.dataset.PreprocessJob;
import org.sparkmim.job.dataset.Progress;
import org.sparkmim.masking.MaskSeeds;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.data.FashionMnist;
import org.sparkmim.model.data.ImageSet;
import org.sparkmim.model.data.RawImage;
import org.sparkmim.model.mae.MaeMethod;
import org.sparkmim.model.mae.Patchify;
import org.sparkmim.model.method.Batch;
import org.sparkmim.model.train.Trainer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;

/**
 * {@code tokenize}: MaPeT's visual tokens from the dataset itself (docs/METHODS.md, MaPeT: the CPU-scale
 * tokenizer is k-means over per-patch-normalized pixels).
 *
 * <ol>
 *   <li>Every image goes through the trainer's own deterministic path for MaPeT (resize to model.image-size,
 *   normalize; no crop, no flip) and is cut into N patches of P values, each normalized by its own mean and std.</li>
 *   <li>A seeded sample of those patch vectors (each kept with the same probability, decided per image key, so the
 *   sample does not depend on partitioning) is fitted with Spark MLlib's distributed KMeans (k-means|| init).</li>
 *   <li>Executors assign every patch of every image to its nearest centroid and write (key, tokens[N]) Parquet
 *   into a hidden directory; the codebook and {@code _manifest.json} (last) follow; the directory is renamed into
 *   place only if exactly one row per source image was written.</li>
 * </ol>
 */
public final class TokenizeJob {
    private static final Logger LOG = LoggerFactory.getLogger(TokenizeJob.class);

    /**
     * @param data           a dataset directory written by preprocess (any Hadoop URI), or an IDX directory
     *                       (Fashion-MNIST layout; "system" = the Debian package)
     * @param samplePatches  patch vectors to fit on (at most every patch)
     */
    public record Request(String data, String output, int k, long samplePatches, int iterations, boolean overwrite,
                          int progressSeconds) { }

    public record Result(String output, TokensManifest manifest) { }

    private TokenizeJob() { }

    public static Result run(SparkSession spark, MimConfig cfg, Request req) {
        if (req.k() < 2) throw new IllegalArgumentException("--k " + req.k() + ": need at least 2 codes");
        if (req.iterations() < 1) throw new IllegalArgumentException("--iterations " + req.iterations() + ": need >= 1");
        if (req.samplePatches() < req.k()) {
            throw new IllegalArgumentException("--sample-patches " + req.samplePatches() + ": need at least --k = " + req.k());
        }
        Configuration hconf = spark.sparkContext().hadoopConfiguration();
        Path out = new Path(req.output());
        try {
            FileSystem fs = out.getFileSystem(hconf);
            if (fs.exists(out) && !req.overwrite()) {
                throw new PreprocessJob.OutputExistsException("--output " + out + " already exists; refusing to write over "
                        + "it. Pass --overwrite to replace it (atomically, once the new tokens are complete), or choose another path");
            }
            Source src = source(spark, req.data(), cfg);
            long images = src.count();
            int n = cfg.model.tokens(), pd = cfg.model.patchDim();
            LOG.info("tokenize: {} images from {}, {} patches of {} values each, k = {}", images, req.data(), n, pd, req.k());
            if (images == 0) throw new IllegalArgumentException("--data " + req.data() + " holds no images");
            long seed = cfg.run.seed();
            double fraction = Math.min(1.0, req.samplePatches() / (double) (images * n));

            // 1. fit
            String rendered = cfg.render();          // MimConfig is not Serializable: executors parse the text
            JavaRDD<Row> sample = src.images().mapPartitions(it -> samplePatches(it, executorConfig(rendered), fraction, seed));
            StructType vec = new StructType().add("features", SQLDataTypes.VectorType());
            Dataset<Row> points = spark.createDataFrame(sample, vec).cache();
            long sampled = points.count();
            long t0 = System.nanoTime();
            KMeansModel km = new KMeans().setK(req.k()).setMaxIter(req.iterations()).setSeed(seed)
                    .setFeaturesCol("features").fit(points);
            double fitSeconds = (System.nanoTime() - t0) / 1e9;
            points.unpersist();
            Vector[] c = km.clusterCenters();
            if (c.length < req.k()) {
                LOG.warn("tokenize: k-means found only {} distinct centers for --k {} (too few distinct patches)", c.length, req.k());
            }
            float[][] centers = new float[c.length][];
            for (int i = 0; i < c.length; i++) {
                centers[i] = new float[pd];
                for (int j = 0; j < pd; j++) centers[i][j] = (float) c[i].apply(j);
            }
            LOG.info(String.format("tokenize: k-means on %d patches, %d iterations: %.1f s, cost %.4g", sampled,
                    req.iterations(), fitSeconds, km.summary().trainingCost()));

            // 2. assign every patch of every image, write
            Path tmp = new Path(out.getParent(), "." + out.getName() + ".tokenize-" + UUID.randomUUID());
            JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
            Broadcast<float[][]> bc = jsc.broadcast(centers);
            JavaRDD<Row> rows = src.images().mapPartitions(it -> assign(it, executorConfig(rendered), bc.value()));
            StructType schema = new StructType().add("key", DataTypes.StringType, false)
                    .add("tokens", DataTypes.createArrayType(DataTypes.IntegerType, false), false);
            long t1 = System.nanoTime();
            try (Progress p = new Progress(spark, "tokenize", "images", images, req.progressSeconds())) {
                spark.createDataFrame(rows, schema).write().parquet(tmp.toString());
            }
            double assignSeconds = (System.nanoTime() - t1) / 1e9;
            bc.destroy();
            try {
                List<TokensManifest.Shard> shards = nameShards(fs, tmp, hconf);
                long written = shards.stream().mapToLong(TokensManifest.Shard::rows).sum();
                long distinct = spark.read().parquet(tmp.toString()).select("key").distinct().count();
                if (written != images || distinct != images) {
                    throw new IllegalStateException("tokenize accounting mismatch: " + images + " images in " + req.data()
                            + " but " + written + " token rows (" + distinct + " distinct keys) were written; nothing was "
                            + "published");
                }
                byte[] codebook = codebookJson(centers);
                write(fs, new Path(tmp, TokensManifest.CODEBOOK), codebook);
                writePictures(fs, tmp, src, cfg, centers);
                TokensManifest m = new TokensManifest(TokensManifest.FORMAT, TokensManifest.VERSION, Instant.now().toString(),
                        centers.length, cfg.model.patch, cfg.model.imageSize, seed, req.data(), src.fingerprint(),
                        sha256(codebook), images, sampled, req.iterations(), round(fitSeconds),
                        round(images * (double) n / assignSeconds), shards);
                write(fs, new Path(tmp, TokensManifest.FILE), m.toJson());     // last: its presence means "complete"
                PreprocessJob.publish(fs, tmp, out);
                return new Result(out.toString(), m);
            } catch (RuntimeException | IOException e) {
                fs.delete(tmp, true);
                throw e;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("tokenize " + req.data() + " → " + req.output() + ": " + e.getMessage(), e);
        }
    }

    public static final String CODEBOOK_PNG = "codebook.png";
    public static final String PREVIEW_PNG = "preview.png";

    /** codebook.png (the centroids) and preview.png (16 images beside their token versions). */
    private static void writePictures(FileSystem fs, Path dir, Source src, MimConfig cfg, float[][] centers) throws IOException {
        List<RawImage> some = src.images().take(16);
        int n = cfg.model.tokens(), pd = cfg.model.patchDim();
        float[] x = patchVectors(some, cfg);
        int[][] ids = new int[some.size()][n];
        for (int i = 0; i < some.size(); i++) for (int t = 0; t < n; t++) ids[i][t] = nearest(x, (i * n + t) * pd, pd, centers);
        write(fs, new Path(dir, CODEBOOK_PNG), CodebookPictures.codebook(centers, cfg.model.patch, cfg.model.channels));
        write(fs, new Path(dir, PREVIEW_PNG), CodebookPictures.preview(some, cfg, centers, ids));
    }

    /**
     * Before a MaPeT run: its tokens directory must be complete and made from this run's dataset, image size and
     * patch size. dataUri is pretrain's --data (null = the IDX files of data.path).
     */
    public static void checkTokensFor(MimConfig cfg, String dataUri, Configuration conf) {
        if (!cfg.method.name().equals("mapet")) return;
        String tokens = cfg.method.mapet().tokens();
        if (tokens.isBlank()) {
            throw new IllegalArgumentException("mim.method.mapet.tokens is not set: method mapet needs the directory that "
                    + "`bin/spark-mim tokenize --data DATASET --output TOKENS_DIR` wrote for this run's dataset");
        }
        TokensManifest m = ParquetTokenTable.manifest(conf, tokens);
        if (m.patch() != cfg.model.patch || m.imageSize() != cfg.model.imageSize) {
            throw new IllegalArgumentException("mim.method.mapet.tokens=" + tokens + " was made at image size " + m.imageSize()
                    + ", patch " + m.patch() + " but this run has model.image-size=" + cfg.model.imageSize + ", model.patch="
                    + cfg.model.patch + ": tokenize again with the run's --preset/--set");
        }
        String data = dataUri != null ? dataUri : cfg.data.path();
        String mine = datasetFingerprint(conf, data);
        if (!mine.equals(m.datasetFingerprint())) {
            throw new IllegalArgumentException("mim.method.mapet.tokens=" + tokens + " was made from another dataset: its "
                    + "manifest has dataset fingerprint " + m.datasetFingerprint() + " (" + m.source() + ") but this run's data "
                    + (data.isBlank() ? "(the bundled sample)" : data) + " has " + mine + ": tokenize this dataset");
        }
    }

    private static MimConfig executorConfig(String rendered) {
        return MimConfig.fromRendered(rendered, "resolved config (shipped to the executor)", null, Map.of());
    }

    /**
     * The images to tokenize, how many there are (known without a pass over the data: the IDX list or the dataset
     * manifest, which DatasetDir.open checked against the shards), and the source's fingerprint.
     */
    record Source(JavaRDD<RawImage> images, long count, String fingerprint) { }

    static Source source(SparkSession spark, String data, MimConfig cfg) throws IOException {
        java.nio.file.Path idx = idxDir(data);
        int channels = cfg.model.channels;
        if (idx != null) {
            List<RawImage> all = new ArrayList<>();
            for (String split : new String[]{"train", "test"}) {
                ImageSet s = FashionMnist.load(idx, split);
                for (int i = 0; i < s.count(); i++) all.add(RawImage.of(s, i));
            }
            int parts = Math.max(2, all.size() / 5000);
            return new Source(JavaSparkContext.fromSparkContext(spark.sparkContext()).parallelize(all, parts), all.size(),
                    datasetFingerprint(spark.sparkContext().hadoopConfiguration(), data));
        }
        DatasetDir dir = DatasetDir.open(spark, data);
        JavaRDD<RawImage> images = dir.rows(spark).select(DatasetSchema.KEY, DatasetSchema.IMAGE).toJavaRDD().map(r -> {
            byte[] bytes = (byte[]) r.get(1);
            var p = ImageDecode.forChannels(bytes, channels);
            return new RawImage(r.getString(0), -1, p.height(), p.width(), p.channels(), p.data());
        });
        return new Source(images, dir.manifest().rows(), fingerprintOf(dir.manifest()));
    }

    /** The local IDX directory that data names ("system", or a directory of *-idx?-ubyte files), else null. */
    static java.nio.file.Path idxDir(String data) {
        if (data.contains("://") && !data.startsWith("file:")) return null;
        java.nio.file.Path p = FashionMnist.locate(data.startsWith("file:") ? java.net.URI.create(data).getPath() : data);
        if (!Files.isDirectory(p) || Files.isRegularFile(p.resolve(Manifest.FILE))) return null;
        try (var s = Files.list(p)) {
            return s.anyMatch(f -> f.getFileName().toString().contains("-idx3-ubyte")) ? p : null;
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * What the tokens were computed from, for pretrain's check: for a dataset directory the SHA-256 over its shards'
     * SHA-256s (preprocess verified each); for an IDX directory the SHA-256 over its IDX files' bytes.
     */
    public static String datasetFingerprint(Configuration conf, String data) {
        try {
            java.nio.file.Path idx = idxDir(data);
            if (idx != null) {
                MessageDigest md = MessageDigest.getInstance("SHA-256");
                List<java.nio.file.Path> files = new ArrayList<>();
                try (var s = Files.list(idx)) {
                    s.filter(f -> f.getFileName().toString().matches(".*-idx[13]-ubyte(\\.gz)?")).sorted().forEach(files::add);
                }
                for (java.nio.file.Path f : files) {
                    md.update(f.getFileName().toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                    md.update(Files.readAllBytes(f));
                }
                return "idx:" + HexFormat.of().formatHex(md.digest());
            }
            return fingerprintOf(DatasetDir.open(conf, data).manifest());
        } catch (IOException | java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("cannot fingerprint " + data + ": " + e.getMessage(), e);
        }
    }

    private static String fingerprintOf(Manifest m) {
        StringBuilder sb = new StringBuilder();
        for (Manifest.Shard s : m.shards()) sb.append(s.sha256()).append('\n');
        return "dataset:" + MimConfig.sha256(sb.toString());
    }

    /**
     * The images through the trainer's MaPeT path (epoch 0; MaPeT's config has no crop and no flip, so every epoch
     * gives the same pixels) → per-patch-normalized patch vectors [count, N, P].
     */
    static float[] patchVectors(List<RawImage> images, MimConfig cfg) {
        Batch b = Trainer.batch(images, 0, cfg);
        float[] x = MaeMethod.patchify(cfg.model, b);
        Patchify.normalizePatches(x, 0, images.size() * cfg.model.tokens(), cfg.model.patchDim());
        return x;
    }

    private static final int CHUNK = 256;

    private static Iterator<Row> samplePatches(Iterator<RawImage> it, MimConfig cfg, double fraction, long seed) {
        int n = cfg.model.tokens(), pd = cfg.model.patchDim();
        List<Row> out = new ArrayList<>();
        List<RawImage> chunk = new ArrayList<>(CHUNK);
        while (it.hasNext()) {
            chunk.add(it.next());
            if (chunk.size() == CHUNK || !it.hasNext()) {
                float[] x = patchVectors(chunk, cfg);
                for (int i = 0; i < chunk.size(); i++) {
                    SplittableRandom rng = MaskSeeds.stream(seed, 0, "tokenize/" + chunk.get(i).key());
                    for (int t = 0; t < n; t++) {
                        if (rng.nextDouble() >= fraction) continue;
                        double[] v = new double[pd];
                        for (int j = 0; j < pd; j++) v[j] = x[(i * n + t) * pd + j];
                        out.add(RowFactory.create(Vectors.dense(v)));
                    }
                }
                chunk.clear();
            }
        }
        return out.iterator();
    }

    private static Iterator<Row> assign(Iterator<RawImage> it, MimConfig cfg, float[][] centers) {
        int n = cfg.model.tokens(), pd = cfg.model.patchDim();
        return new Iterator<>() {
            final List<Row> buf = new ArrayList<>();
            int pos;

            @Override
            public boolean hasNext() {
                if (pos < buf.size()) return true;
                buf.clear();
                pos = 0;
                List<RawImage> chunk = new ArrayList<>(CHUNK);
                while (it.hasNext() && chunk.size() < CHUNK) chunk.add(it.next());
                if (chunk.isEmpty()) return false;
                float[] x = patchVectors(chunk, cfg);
                for (int i = 0; i < chunk.size(); i++) {
                    Integer[] ids = new Integer[n];
                    for (int t = 0; t < n; t++) ids[t] = nearest(x, (i * n + t) * pd, pd, centers);
                    buf.add(RowFactory.create(chunk.get(i).key(), ids));
                }
                return true;
            }

            @Override
            public Row next() {
                if (!hasNext()) throw new java.util.NoSuchElementException();
                return buf.get(pos++);
            }
        };
    }

    /** Index of the centroid nearest (squared L2) to x[off .. off+pd). */
    static int nearest(float[] x, int off, int pd, float[][] centers) {
        int best = 0;
        double bestD = Double.POSITIVE_INFINITY;
        for (int c = 0; c < centers.length; c++) {
            float[] cc = centers[c];
            double d = 0;
            for (int j = 0; j < pd && d < bestD; j++) {
                double e = x[off + j] - cc[j];
                d += e * e;
            }
            if (d < bestD) {
                bestD = d;
                best = c;
            }
        }
        return best;
    }

    /** part-….parquet → shard-00000.parquet, with each file's row count from its footer. */
    private static List<TokensManifest.Shard> nameShards(FileSystem fs, Path tmp, Configuration conf) throws IOException {
        List<String> parts = new ArrayList<>();
        for (FileStatus s : fs.listStatus(tmp)) if (s.getPath().getName().startsWith("part-")) parts.add(s.getPath().getName());
        java.util.Collections.sort(parts);
        List<TokensManifest.Shard> out = new ArrayList<>();
        for (int i = 0; i < parts.size(); i++) {
            String name = String.format("shard-%05d.parquet", i);
            Path dst = new Path(tmp, name);
            if (!fs.rename(new Path(tmp, parts.get(i)), dst)) throw new IOException("cannot rename " + parts.get(i) + " to " + dst);
            long rows;
            try (ParquetFileReader r = ParquetFileReader.open(HadoopInputFile.fromPath(dst, conf))) {
                rows = r.getRecordCount();
            }
            out.add(new TokensManifest.Shard(name, rows));
        }
        fs.delete(new Path(tmp, "_SUCCESS"), false);
        return out;
    }

    static byte[] codebookJson(float[][] centers) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("k", centers.length);
        m.put("dim", centers.length == 0 ? 0 : centers[0].length);
        m.put("space", "per-patch-normalized pixels, MAE patch order (row, column, channel)");
        m.put("centers", centers);
        try {
            return TokensManifest.JSON.writeValueAsBytes(m);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The codebook of a tokens directory, [k][P]. */
    public static float[][] readCodebook(Configuration conf, String uri) {
        Path p = new Path(new Path(uri), TokensManifest.CODEBOOK);
        try (var in = p.getFileSystem(conf).open(p)) {
            return parseCodebook(in.readAllBytes(), p.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the codebook " + p + ": " + e.getMessage(), e);
        }
    }

    /** The centroids [k][P] of {@link TokensManifest#CODEBOOK}'s bytes. */
    static float[][] parseCodebook(byte[] json, String where) {
        try {
            return TokensManifest.JSON.treeToValue(TokensManifest.JSON.readTree(json).get("centers"), float[][].class);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot parse the codebook " + where + ": " + e.getMessage(), e);
        }
    }

    private static void write(FileSystem fs, Path p, byte[] bytes) throws IOException {
        try (FSDataOutputStream o = fs.create(p, false)) {
            o.write(bytes);
        }
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
