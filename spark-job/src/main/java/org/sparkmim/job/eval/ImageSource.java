package org.sparkmim.job.eval;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

import java.io.Serializable;

/**
 * Where evaluate's labelled images come from. Each split ("train", "test") is an RDD of decoded images with
 * indices 0..n-1, so features can be made on executors and put back in order on the driver.
 *
 * <p>Implementations: {@link IdxImageSource} (Fashion-MNIST IDX files). A Parquet dataset directory written by
 * {@code preprocess} (columns key, label, class_name, width, height, image bytes, split) plugs in as another
 * implementation that reads the split's rows, decodes the image bytes on the executors, and numbers the rows.
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
}
