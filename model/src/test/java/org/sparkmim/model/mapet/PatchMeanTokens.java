package org.sparkmim.model.mapet;

import org.sparkmim.model.data.ImageSet;

import java.util.HashMap;
import java.util.Map;

/**
 * A test tokenizer: each patch's token is its mean raw intensity in k equal bins. A real function of the image (so
 * MaPeT's loss can fall on real data) that needs no Spark; the product's tokenizer is the Spark k-means job.
 */
final class PatchMeanTokens implements TokenTable {
    private final Map<String, int[]> ids = new HashMap<>();
    private final int k, patch, image;

    PatchMeanTokens(ImageSet data, int patch, int k) {
        this.k = k;
        this.patch = patch;
        this.image = data.height();
        int g = image / patch, c = data.channels();
        float[] px = new float[data.height() * data.width() * c];
        for (int i = 0; i < data.count(); i++) {
            data.copyImage(i, px, 0);
            int[] t = new int[g * g];
            for (int r = 0; r < g; r++) {
                for (int col = 0; col < g; col++) {
                    double s = 0;
                    for (int y = 0; y < patch; y++) {
                        for (int x = 0; x < patch; x++) s += px[((r * patch + y) * image + col * patch + x) * c];
                    }
                    double mean = s / (patch * patch);                 // raw pixels in [0, 1]
                    t[r * g + col] = Math.min(k - 1, (int) (mean * k));
                }
            }
            ids.put(data.key(i), t);
        }
    }

    @Override public int vocab() { return k; }
    @Override public int patch() { return patch; }
    @Override public int imageSize() { return image; }
    @Override public String datasetFingerprint() { return "test"; }
    @Override public String location() { return "patch-mean test tokens"; }

    @Override
    public void fill(String key, int[] dst, int off) {
        int[] t = ids.get(key);
        if (t == null) throw new IllegalArgumentException("no tokens for image " + key + " in " + location());
        System.arraycopy(t, 0, dst, off, t.length);
    }
}
