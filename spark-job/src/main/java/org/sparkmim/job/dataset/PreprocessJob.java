package org.sparkmim.job.dataset;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.CollectionAccumulator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;

/**
 * The preprocess job: list → shuffle (driver, seeded) → convert (Spark tasks, one per shard) → Parquet through
 * Spark's writer and Hadoop's committer → checksums → {@code _rejects.json} → {@code _manifest.json} (last) →
 * atomic publish. Everything is written into a hidden sibling directory first; the output path only ever holds
 * nothing, the old dataset, or the complete new one (on HDFS; on S3 renames are copies, see docs/ARCHITECTURE.md).
 */
public final class PreprocessJob {
    private static final Logger LOG = LoggerFactory.getLogger(PreprocessJob.class);

    /** What to convert; {@code kind} null = auto-detect; labels/classes only for imagenet-val (classes also idx). */
    public record Request(String source, String output, SourceKind kind, String labels, String classes, String split,
                          boolean overwrite, int progressSeconds) { }

    public record Result(String output, Manifest manifest, List<Reject> rejected) { }

    private final SparkSession spark;
    private final PreprocessConfig cfg;

    public PreprocessJob(SparkSession spark, PreprocessConfig cfg) {
        this.spark = spark;
        this.cfg = cfg;
    }

    public Result run(Request req) {
        Configuration conf = spark.sparkContext().hadoopConfiguration();
        Path out = new Path(req.output());
        try {
            FileSystem outFs = out.getFileSystem(conf);
            out = outFs.makeQualified(out);
            if (outFs.exists(out) && !req.overwrite()) {
                throw new OutputExistsException("--output " + out + " already exists; refusing to write over it. Pass "
                        + "--overwrite to replace it (atomically, once the new dataset is complete), or choose another path");
            }
            JpegCodec codec = Codecs.byName(cfg.codec());
            Listing listing = list(conf, req);
            LOG.info("{} source {}: {} images to convert, {} skipped, {} rejected at listing, {} classes; codec {}",
                    listing.kind().cliName(), listing.source(), listing.items().size(), listing.skipped().size(),
                    listing.rejected().size(), listing.classes().size(), codec.name());

            Path tmp = new Path(out.getParent(), "." + out.getName() + ".preprocess-" + UUID.randomUUID());
            List<Reject> taskRejects = convertAndWrite(listing, tmp, req.progressSeconds());
            List<Manifest.Shard> shards = nameShards(outFs, tmp);
            Manifest m = manifest(req, listing, codec, shards, tmp, taskRejects);
            List<Reject> rejected = merge(listing.rejected(), taskRejects);
            writeJson(outFs, new Path(tmp, Manifest.REJECTS),
                    Manifest.JSON.writeValueAsBytes(Map.of("rejected", rejected, "skipped", listing.skipped())));
            writeJson(outFs, new Path(tmp, Manifest.FILE), m.toJson());   // last: its presence means "complete"
            publish(outFs, tmp, out);
            return new Result(out.toString(), m, rejected);
        } catch (IOException e) {
            throw new UncheckedIOException("preprocess " + req.source() + " → " + out + ": " + e.getMessage(), e);
        }
    }

    private Listing list(Configuration conf, Request req) {
        SourceKind kind = req.kind();
        if (kind == null) {
            kind = IdxSource.looksLikeIdx(conf, req.source()) ? SourceKind.IDX
                    : FileLister.looksLikeTree(conf, req.source()) ? SourceKind.TREE : SourceKind.FLAT;
            LOG.info("--kind auto: {} looks like {}", req.source(), kind.cliName());
        }
        if (kind == SourceKind.IDX) {
            return IdxSource.list(conf, req.source(), req.classes() == null ? null : ValLabels.classes(conf, req.classes()));
        }
        if (kind == SourceKind.IMAGENET_VAL && (req.labels() == null || req.classes() == null)) {
            throw new IllegalArgumentException("--kind imagenet-val needs --labels (LOC_val_solution.csv) and --classes "
                    + "(the train dataset directory, or a synset list such as LOC_synset_mapping.txt)");
        }
        String split = req.split() != null ? req.split() : kind == SourceKind.IMAGENET_VAL ? "val" : "train";
        return kind == SourceKind.IMAGENET_VAL
                ? FileLister.list(conf, req.source(), kind, cfg, split, ValLabels.read(conf, req.labels()),
                        ValLabels.classes(conf, req.classes()))
                : FileLister.list(conf, req.source(), kind, cfg, split, Map.of(), List.of());
    }

    /** Shuffles the listing with the seed, converts in one task per shard, writes Parquet into {@code tmp}. */
    private List<Reject> convertAndWrite(Listing listing, Path tmp, int progressSeconds) {
        List<SourceItem> items = new ArrayList<>(listing.items());
        Collections.shuffle(items, new Random(cfg.seed()));
        int n = items.size(), parts = Math.max(1, (int) Math.ceil(n / (double) cfg.shardRows()));
        long[] perPart = new long[parts];
        for (int i = 0; i < parts; i++) perPart[i] = (long) (i + 1) * n / parts - (long) i * n / parts;  // Spark's slicing

        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Broadcast<HadoopConf> conf = jsc.broadcast(new HadoopConf(spark.sparkContext().hadoopConfiguration()));
        CollectionAccumulator<Reject> rejects = spark.sparkContext().collectionAccumulator("preprocess.rejects");
        JavaRDD<Row> rows = jsc.parallelize(items, parts).mapPartitions(new ConvertTask(cfg, conf, rejects));
        try (Progress p = new Progress(spark, "preprocess", perPart, progressSeconds)) {
            spark.createDataFrame(rows, DatasetSchema.SCHEMA).write()
                    .option("compression", "uncompressed")   // JPEG/PNG bytes do not compress further
                    .parquet(tmp.toString());
        }
        conf.destroy();
        return new ArrayList<>(rejects.value());
    }

    /** part-00007-….parquet → shard-00007.parquet (Spark's names carry a per-run UUID; ours are stable). */
    private List<Manifest.Shard> nameShards(FileSystem fs, Path tmp) throws IOException {
        List<String> parts = new ArrayList<>();
        for (FileStatus s : fs.listStatus(tmp)) if (s.getPath().getName().startsWith("part-")) parts.add(s.getPath().getName());
        Collections.sort(parts);
        List<String> uris = new ArrayList<>();
        for (int i = 0; i < parts.size(); i++) {
            Path dst = new Path(tmp, String.format("shard-%05d.parquet", i));
            if (!fs.rename(new Path(tmp, parts.get(i)), dst)) throw new IOException("cannot rename " + parts.get(i) + " to " + dst);
            uris.add(dst.toString());
        }
        return ShardChecksums.compute(spark, uris, true);
    }

    private Manifest manifest(Request req, Listing listing, JpegCodec codec, List<Manifest.Shard> shards, Path tmp,
                              List<Reject> taskRejects) {
        long accepted = shards.stream().mapToLong(Manifest.Shard::rows).sum();
        long rejectedInTasks = merge(List.of(), taskRejects).size();
        if (accepted + rejectedInTasks != listing.items().size()) {
            throw new DatasetException("accounting mismatch under " + tmp + ": " + listing.items().size()
                    + " files were sent for conversion but the shards hold " + accepted + " rows and " + rejectedInTasks
                    + " files were rejected; the output was not published");
        }
        Map<String, Long> splits = new TreeMap<>(), converted = new TreeMap<>();
        Long[] perClass = new Long[listing.classes().size()];
        Arrays.fill(perClass, 0L);
        if (!shards.isEmpty()) {
            List<String> uris = new ArrayList<>();
            for (Manifest.Shard s : shards) uris.add(new Path(tmp, s.file()).toString());
            for (Row r : spark.read().schema(DatasetSchema.SCHEMA).parquet(uris.toArray(new String[0]))
                    .groupBy(DatasetSchema.SPLIT, DatasetSchema.LABEL, DatasetSchema.CONVERTED_FROM).count().collectAsList()) {
                long c = r.getLong(3);
                splits.merge(r.getString(0), c, Long::sum);
                if (r.getInt(1) >= 0) perClass[r.getInt(1)] += c;
                if (!r.isNullAt(2)) converted.merge(r.getString(2), c, Long::sum);
            }
        }
        long conv = converted.values().stream().mapToLong(Long::longValue).sum();
        long rejected = listing.rejected().size() + rejectedInTasks;
        Manifest.Counts counts = new Manifest.Counts(listing.listed(), accepted, conv, rejected, listing.skipped().size());
        return new Manifest(Manifest.FORMAT, Manifest.VERSION, Instant.now().truncatedTo(ChronoUnit.SECONDS).toString(),
                req.source(), listing.kind().cliName(), codec.name(), cfg.fingerprint(), new LinkedHashMap<>(cfg.asMap()),
                listing.classes(), counts, accepted, splits, List.of(perClass), converted, shards);
    }

    /** Listing-time and task rejects, one per key (a re-executed task reports its rejects again), sorted by key. */
    static List<Reject> merge(List<Reject> a, List<Reject> b) {
        Map<String, Reject> m = new TreeMap<>();
        for (Reject r : a) m.putIfAbsent(r.key(), r);
        for (Reject r : b) m.putIfAbsent(r.key(), r);
        return List.copyOf(m.values());
    }

    private static void writeJson(FileSystem fs, Path p, byte[] json) throws IOException {
        try (FSDataOutputStream o = fs.create(p, false)) {
            o.write(json);
        }
    }

    /** tmp → out; an existing out is moved aside first and deleted only after the new one is in place. */
    public static void publish(FileSystem fs, Path tmp, Path out) throws IOException {
        Path old = null;
        if (fs.exists(out)) {
            old = new Path(out.getParent(), "." + out.getName() + ".replaced-" + UUID.randomUUID());
            if (!fs.rename(out, old)) throw new IOException("cannot move the old " + out + " aside to " + old);
        }
        if (!fs.rename(tmp, out)) throw new IOException("cannot rename " + tmp + " to " + out);
        if (old != null && !fs.delete(old, true)) LOG.warn("could not delete the replaced dataset at {}", old);
        LOG.info("published {}", out);
    }

    /** --output exists and --overwrite was not given: a command-line problem (exit code 2), not a data problem. */
    public static final class OutputExistsException extends IllegalArgumentException {
        public OutputExistsException(String message) {
            super(message);
        }
    }
}
