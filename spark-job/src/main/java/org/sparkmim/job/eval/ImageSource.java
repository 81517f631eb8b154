package org.sparkmim.job.eval;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

import java.io.Serializable;

/**
 * Where evaluate's labelled images come from. Each split ("train", "test") is an RDD of decoded images with
 * indices 0..n-1, so features can be made on executors and put back in order on the driver.
 *
 * <p>Implementations: {@link IdxImageSource} (Fashion-MNIST IDX files) and {@link DatasetImageSource} (a Parquet
 * dataset directory written by {@code preprocess}: it reads the split's rows, decodes the image bytes on the
 * executors at model.image-size, and numbers the rows in natural key order).
 */
public interface ImageSource extends Serializable {

    JavaRDD<LabelledImage> images(JavaSparkContext sc, String split);

    /** Number of images in a split (checked against what extraction returns: none may be lost). */
    int count(String split);

    /** Labels of a split in index order. */
    int[] labels(String split);

    /** index → class name. */
    String[] classNames();

    /** For logs and eval.json, e.g. "fashion-mnist IDX /usr/share/datasets/fashion-mnist". */
    String describe();

    /** --holdout H must leave train images: H in 1..n-1 for n train images (after --train-limit). */
    static void checkHoldout(int holdout, int n) {
        if (holdout >= n) {
            throw new IllegalArgumentException("--holdout " + holdout + " leaves no train images of " + n + " (after --train-limit): "
                    + "allowed 1.." + (n - 1));
        }
    }
}
