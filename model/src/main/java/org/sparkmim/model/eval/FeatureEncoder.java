package org.sparkmim.model.eval;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.sparkmim.model.data.ImageSet;

/**
 * Images → fixed feature vectors for kNN and the linear probe. One instance serves one thread (DL4J graphs are
 * not thread-safe); on Spark, each executor builds its own from the broadcast checkpoint.
 */
public interface FeatureEncoder {

    /**
     * @param images01 [B, H, W, C] pixels in [0, 1], HWC per image (as {@link ImageSet#copyImage} writes them)
     * @param keys     [B] stable image keys
     * @return [B, F]
     */
    INDArray encode(float[] images01, int count, int h, int w, int c, String[] keys);

    /** Short name for logs and reports ("encoder", "random_init", "pixels"). */
    String name();

    /** Features of every image in the set, in order, in batches of batchSize → [count, F]. */
    static INDArray extract(FeatureEncoder enc, ImageSet set, int batchSize) {
        int n = set.count(), len = set.imageSize();
        INDArray out = null;
        for (int from = 0; from < n; from += batchSize) {
            int bs = Math.min(batchSize, n - from);
            float[] px = new float[bs * len];
            String[] keys = new String[bs];
            for (int i = 0; i < bs; i++) {
                set.copyImage(from + i, px, i * len);
                keys[i] = set.key(from + i);
            }
            INDArray f = enc.encode(px, bs, set.height(), set.width(), set.channels(), keys);   // [bs, F]
            if (out == null) out = org.nd4j.linalg.factory.Nd4j.create(f.dataType(), n, f.columns());
            out.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(from, from + bs),
                    org.nd4j.linalg.indexing.NDArrayIndex.all()).assign(f);
        }
        if (out == null) throw new IllegalArgumentException(set + " is empty: nothing to encode");
        return out;
    }
}
