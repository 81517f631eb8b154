package org.sparkmim.model.eval;

import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.data.ImageSet;
import org.sparkmim.model.method.Batch;
import org.sparkmim.model.train.Augment;

import java.util.SplittableRandom;

/**
 * Evaluation-time batches: exactly the pretraining normalization (data.mean/std) and, when the data size differs
 * from model.image-size, the same bilinear resize; but no crop and no flip.
 */
public final class EvalBatches {
    private EvalBatches() { }

    /** images01 [B, H, W, C] in [0,1] → a normalized Batch [B, S, S, C] (S = model.image-size). */
    public static Batch of(MimConfig cfg, float[] images01, int count, int h, int w, int c, String[] keys, int epoch) {
        return of(cfg, images01, count, h, w, c, keys, null, epoch);
    }

    /** The same with the images' labels ([B], or null). */
    public static Batch of(MimConfig cfg, float[] images01, int count, int h, int w, int c, String[] keys, int[] labels,
                           int epoch) {
        int out = cfg.model.imageSize, len = h * w * c, outLen = out * out * c;
        float[] px = new float[count * outLen];
        SplittableRandom unused = new SplittableRandom(0);   // no crop and flip probability 0: nothing is drawn
        for (int i = 0; i < count; i++) {
            Augment.apply(images01, i * len, h, w, c, out, false, 1.0, 0.0, cfg.data.mean(), cfg.data.std(), unused,
                    px, i * outLen);
        }
        return new Batch(px, count, out, out, c, keys, epoch, cfg.run.seed(), labels);
    }

    /** Images [from, from+count) of the set → a normalized Batch. */
    public static Batch of(MimConfig cfg, ImageSet set, int from, int count, int epoch) {
        int len = set.imageSize();
        float[] px = new float[count * len];
        String[] keys = new String[count];
        int[] labels = set.hasLabels() ? new int[count] : null;
        for (int i = 0; i < count; i++) {
            set.copyImage(from + i, px, i * len);
            keys[i] = set.key(from + i);
            if (labels != null) labels[i] = set.label(from + i);
        }
        return of(cfg, px, count, set.height(), set.width(), set.channels(), keys, labels, epoch);
    }
}
