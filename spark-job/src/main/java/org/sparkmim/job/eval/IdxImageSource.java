package org.sparkmim.job.eval;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.sparkmim.model.data.FashionMnist;
import org.sparkmim.model.data.ImageSet;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.IntFunction;

/**
 * Fashion-MNIST-style IDX files (train-* and t10k-*) read on the driver; the pixels are broadcast once and each
 * partition cuts its own index range out of them, so no image is serialized into a task closure.
 */
public final class IdxImageSource extends SplitSource<ImageSet> {
    private IdxImageSource(ImageSet train, ImageSet test, String description) {
        super(train, test, train.classNames(), description);
    }

    /** Both splits of a Fashion-MNIST directory; limits of 0 mean all images. */
    public static IdxImageSource open(Path dir, int trainLimit, int testLimit) {
        return open(dir, trainLimit, testLimit, 0);
    }

    /**
     * With holdout H > 0 the test split is never read: the last H images of the (limited) train split are scored
     * against the others. This is how to choose evaluation settings (feature, pooling) without looking at test.
     */
    public static IdxImageSource open(Path dir, int trainLimit, int testLimit, int holdout) {
        ImageSet train = limit(FashionMnist.load(dir, "train"), trainLimit);
        if (holdout <= 0) return new IdxImageSource(train, limit(FashionMnist.load(dir, "test"), testLimit), "IDX " + dir);
        int n = train.count();
        ImageSource.checkHoldout(holdout, n);
        return new IdxImageSource(train.subset(0, n - holdout), train.subset(n - holdout, n), "IDX " + dir
                + " train split only: scored on its last " + holdout + " images (holdout), the test split not read");
    }

    private static ImageSet limit(ImageSet s, int n) {
        return n > 0 && n < s.count() ? s.subset(0, n) : s;
    }

    @Override
    public JavaRDD<LabelledImage> images(JavaSparkContext sc, String name) {
        ImageSet s = split(name);
        Broadcast<byte[]> px = sc.broadcast(s.pixels());
        Broadcast<int[]> labels = sc.broadcast(s.labels());
        int n = s.count(), h = s.height(), w = s.width(), c = s.channels();
        // small partitions (<= 2500 images) so progress is visible and a lost task costs little to redo
        int parts = Math.max(1, Math.min(n, Math.max(sc.defaultParallelism() * 2, (n + 2499) / 2500)));
        List<int[]> ranges = new ArrayList<>();
        for (int p = 0; p < parts; p++) ranges.add(new int[]{(int) ((long) n * p / parts), (int) ((long) n * (p + 1) / parts)});
        return sc.parallelize(ranges, parts).flatMap(r -> slice(r[0], r[1], i -> {
            int len = h * w * c;
            byte[] img = new byte[len];
            System.arraycopy(px.value(), i * len, img, 0, len);
            return new LabelledImage(i, labels.value()[i], h, w, c, img);
        }));
    }

    private static Iterator<LabelledImage> slice(int from, int to, IntFunction<LabelledImage> make) {
        return new Iterator<>() {
            int i = from;

            @Override
            public boolean hasNext() {
                return i < to;
            }

            @Override
            public LabelledImage next() {
                return make.apply(i++);
            }
        };
    }

    @Override
    public int count(String name) {
        return split(name).count();
    }

    @Override
    public int[] labels(String name) {
        return split(name).labels();
    }
}
