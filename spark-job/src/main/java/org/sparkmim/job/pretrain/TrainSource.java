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
