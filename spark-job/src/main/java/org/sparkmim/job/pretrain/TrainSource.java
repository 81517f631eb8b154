package org.sparkmim.job.pretrain;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.data.FashionMnist;
import org.sparkmim.model.data.ImageSet;
import org.sparkmim.model.data.RawImage;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

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

    String describe();

    /**
     * A dataset directory written by {@code preprocess} (any Hadoop URI). Refuses a directory without a valid
     * manifest. Trains on split {@code train} (or every row when the dataset has no splits); the probe comes from
     * split {@code test}/{@code val} when present, else from the rows whose key hashes into a held-out 1/256th, which
     * are then left out of training.
     */
    static TrainSource<EncodedImage> dataset(JavaSparkContext sc, String uri, MimConfig cfg) {
        org.apache.spark.sql.SparkSession spark = org.apache.spark.sql.SparkSession.builder().sparkContext(sc.sc())
                .getOrCreate();
        org.sparkmim.job.dataset.DatasetDir dir = org.sparkmim.job.dataset.DatasetDir.open(spark, uri);
        var rows = dir.rows(spark);
        boolean hasSplit = java.util.Arrays.asList(rows.columns()).contains("split");
        java.util.Set<String> splits = hasSplit && dir.manifest().splits() != null ? dir.manifest().splits().keySet()
                : java.util.Set.of();
        String heldOut = splits.contains("test") ? "test" : splits.contains("val") ? "val" : null;
        int channels = cfg.model.channels;
        var all = rows.select("key", "label", "image", hasSplit ? "split" : "key").toJavaRDD();
        final String ho = heldOut;
        JavaRDD<org.apache.spark.sql.Row> trainRows = all.filter(r -> ho != null ? "train".equals(r.getString(3))
                || (!"test".equals(r.getString(3)) && !"val".equals(r.getString(3))) : !TrainSource.heldOut(r.getString(0)));
        JavaRDD<org.apache.spark.sql.Row> probeRows = all.filter(r -> ho != null ? ho.equals(r.getString(3))
                : TrainSource.heldOut(r.getString(0)));
        long manifestCount = dir.manifest().rows();
        return new TrainSource<>() {
            @Override
            public JavaRDD<EncodedImage> records(JavaSparkContext ignored, int partitions) {
                return trainRows.map(r -> new EncodedImage(r.getString(0), r.isNullAt(1) ? -1 : r.getInt(1),
                        (byte[]) r.get(2)));
            }

            @Override
            public Function<EncodedImage, String> key() {
                return EncodedImage::key;
            }

            @Override
            public Function<EncodedImage, RawImage> decode() {
                return e -> {
                    var p = channels == 1 ? org.sparkmim.job.dataset.ImageDecode.gray(e.bytes())
                            : org.sparkmim.job.dataset.ImageDecode.rgb(e.bytes());
                    return new RawImage(e.key(), e.label(), p.height(), p.width(), p.channels(), p.data());
                };
            }

            @Override
            public List<RawImage> probe(int n) {
                List<RawImage> out = new ArrayList<>();
                var dec = decode();
                for (org.apache.spark.sql.Row r : probeRows.take(n)) {
                    try {
                        out.add(dec.call(new EncodedImage(r.getString(0), r.isNullAt(1) ? -1 : r.getInt(1),
                                (byte[]) r.get(2))));
                    } catch (Exception ex) {
                        throw new IllegalStateException("cannot decode probe image " + r.getString(0), ex);
                    }
                }
                if (out.isEmpty()) throw new IllegalArgumentException("dataset " + uri + " has no held-out images for the probe");
                return out;
            }

            @Override
            public String describe() {
                return "dataset " + uri + " (" + manifestCount + " images in the manifest"
                        + (ho != null ? ", probe from split " + ho : ", probe from a held-out 1/256 by key hash") + ")";
            }
        };
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
                return sc.parallelize(all, partitions);
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
            public String describe() {
                return tr.count() + " images from " + tr.source();
            }
        };
    }
}
