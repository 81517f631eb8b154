package org.sparkmim.job.pretrain;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.sparkmim.job.dataset.DatasetDir;
import org.sparkmim.job.dataset.DatasetSchema;
import org.sparkmim.job.dataset.ImageDecode;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.data.FashionMnist;
import org.sparkmim.model.data.ImageSet;
import org.sparkmim.model.data.RawImage;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Where pretraining images come from. The record type T is what Spark shuffles each epoch (encoded bytes for a
 * dataset directory, 8-bit pixels for IDX); {@link #decode()} runs on executors after the shuffle.
 */
public interface TrainSource<T> extends Serializable {
    JavaRDD<T> records(JavaSparkContext sc, int partitions);

    Function<T, String> key();

    Function<T, RawImage> decode();

    /** A fixed held-out set for the driver's probe loss (never trained on). */
    List<RawImage> probe(int n);

    /** The first n training images, in the source's order: what precise batch norm measures on the driver. */
    List<RawImage> calibration(int n);

    String describe();

    /**
     * A dataset directory written by {@code preprocess} (any Hadoop URI). Refuses a directory without a valid
     * manifest. Trains on split {@code train} (or every row when the dataset has no splits); the probe comes from
     * split {@code test}/{@code val} when present, else from the rows whose key hashes into a held-out 1/256th, which
     * are then left out of training.
     */
    static TrainSource<EncodedImage> dataset(SparkSession spark, String uri, MimConfig cfg) {
        DatasetDir dir = DatasetDir.open(spark, uri);
        Set<String> splits = dir.manifest().splits() == null ? Set.of() : dir.manifest().splits().keySet();
        // held out by split when the dataset has a test/val split, else by key hash
        boolean bySplit = splits.contains("test") || splits.contains("val");
        String ho = splits.contains("test") ? "test" : "val";
        int channels = cfg.model.channels;
        JavaRDD<Row> all = dir.rows(spark).select(DatasetSchema.KEY, DatasetSchema.LABEL, DatasetSchema.IMAGE,
                bySplit ? DatasetSchema.SPLIT : DatasetSchema.KEY).toJavaRDD();
        JavaRDD<Row> trainRows = all.filter(r -> !isProbe(r, bySplit, ho) && !isEvalSplit(r, bySplit));
        JavaRDD<Row> probeRows = all.filter(r -> isProbe(r, bySplit, ho));
        long manifestCount = dir.manifest().rows();
        return new TrainSource<>() {
            @Override
            public JavaRDD<EncodedImage> records(JavaSparkContext ignored, int partitions) {
                return trainRows.map(TrainSource::encoded);
            }

            @Override
            public Function<EncodedImage, String> key() {
                return EncodedImage::key;
            }

            @Override
            public Function<EncodedImage, RawImage> decode() {
                return e -> {
                    var p = ImageDecode.forChannels(e.bytes(), channels);
                    return new RawImage(e.key(), e.label(), p.height(), p.width(), p.channels(), p.data());
                };
            }

            @Override
            public List<RawImage> probe(int n) {
                List<RawImage> out = decodeRows(probeRows.take(n), decode(), "probe");
                if (out.isEmpty()) throw new IllegalArgumentException("dataset " + uri + " has no held-out images for the probe");
                return out;
            }

            @Override
            public List<RawImage> calibration(int n) {
                return decodeRows(trainRows.take(n), decode(), "training");
            }

            @Override
            public String describe() {
                return "dataset " + uri + " (" + manifestCount + " images in the manifest"
                        + (bySplit ? ", probe from split " + ho : ", probe from a held-out 1/256 by key hash") + ")";
            }
        };
    }

    /** Rows taken to the driver → decoded images; what = "probe" or "training", for the error. */
    private static List<RawImage> decodeRows(List<Row> rows, Function<EncodedImage, RawImage> dec, String what) {
        List<RawImage> out = new ArrayList<>();
        for (Row r : rows) {
            try {
                out.add(dec.call(encoded(r)));
            } catch (Exception ex) {
                throw new IllegalStateException("cannot decode " + what + " image " + r.getString(0), ex);
            }
        }
        return out;
    }

    /** A selected dataset row (key, label, image, split-or-key) → what the epoch shuffle moves. */
    private static EncodedImage encoded(Row r) {
        return new EncodedImage(r.getString(0), r.isNullAt(1) ? -1 : r.getInt(1), (byte[]) r.get(2));
    }

    private static boolean isProbe(Row r, boolean bySplit, String heldOutSplit) {
        return bySplit ? heldOutSplit.equals(r.getString(3)) : heldOut(r.getString(0));
    }

    /** test and val rows never train, whichever of them is the probe. */
    private static boolean isEvalSplit(Row r, boolean bySplit) {
        return bySplit && ("test".equals(r.getString(3)) || "val".equals(r.getString(3)));
    }

    /** 1/256th of keys, fixed by the key alone, held out for the probe when a dataset has no test split. */
    static boolean heldOut(String key) {
        return (org.sparkmim.masking.MaskSeeds.seed(0, 0, "probe/" + key) & 0xFF) == 0;
    }

    /** Fashion-MNIST / MNIST IDX files: train split for training, the test split as the probe. */
    static TrainSource<RawImage> idx(MimConfig cfg) {
        java.nio.file.Path dir = FashionMnist.locate(cfg.data.path());
        ImageSet train = FashionMnist.load(dir, "train");
        if (cfg.data.trainLimit() > 0 && cfg.data.trainLimit() < train.count()) train = train.subset(0, cfg.data.trainLimit());
        ImageSet test = FashionMnist.load(dir, "test");
        final ImageSet tr = train;
        return new TrainSource<>() {
            @Override
            public JavaRDD<RawImage> records(JavaSparkContext sc, int partitions) {
                List<RawImage> all = new ArrayList<>(tr.count());
                for (int i = 0; i < tr.count(); i++) all.add(RawImage.of(tr, i));
                // The images travel once per executor as a broadcast, and the partitions hold only index ranges.
                // parallelize(all) put each partition's images (24 MB for Fashion-MNIST's half) inside every task
                // of every stage that reads them, cached or not: the plan and the shuffle of each chunk, which Spark
                // warned about ("task of very large size") at every chunk. (Measured in whole runs, the saving is
                // within this host's noise.)
                var images = sc.broadcast(all);
                int n = all.size(), parts = Math.max(1, partitions);
                List<int[]> ranges = new ArrayList<>(parts);
                for (int p = 0; p < parts; p++) ranges.add(new int[]{(int) ((long) n * p / parts), (int) ((long) n * (p + 1) / parts)});
                return sc.parallelize(ranges, parts).flatMap(r -> images.value().subList(r[0], r[1]).iterator());
            }

            @Override
            public Function<RawImage, String> key() {
                return RawImage::key;
            }

            @Override
            public Function<RawImage, RawImage> decode() {
                return r -> r;
            }

            @Override
            public List<RawImage> probe(int n) {
                List<RawImage> p = new ArrayList<>();
                for (int i = 0; i < Math.min(n, test.count()); i++) p.add(RawImage.of(test, i));
                return p;
            }

            @Override
            public List<RawImage> calibration(int n) {
                List<RawImage> c = new ArrayList<>();
                for (int i = 0; i < Math.min(n, tr.count()); i++) c.add(RawImage.of(tr, i));
                return c;
            }

            @Override
            public String describe() {
                return tr.count() + " images from " + tr.source();
            }
        };
    }
}
