package org.sparkmim.model.mae;

/**
 * MAE patchify order (METHODS.md §0): token n = r·G + c; x[n, (i·p + j)·C + ch] = img[ch, r·p + i, c·p + j].
 * Images here are HWC, so img[ch, y, x] = pixels[(y·W + x)·C + ch].
 */
public final class Patchify {
    private Patchify() { }

    /** One HWC image at offset → patches [N, P] written at dst[dstOff ...]. */
    public static void patchify(float[] img, int off, int h, int w, int c, int p, float[] dst, int dstOff) {
        int gh = h / p, gw = w / p, pd = p * p * c;
        for (int r = 0; r < gh; r++) {
            for (int col = 0; col < gw; col++) {
                int base = dstOff + (r * gw + col) * pd;
                for (int i = 0; i < p; i++) {
                    int src = off + ((r * p + i) * w + col * p) * c;
                    System.arraycopy(img, src, dst, base + i * p * c, p * c); // (i·p + j)·C + ch, j and ch contiguous
                }
            }
        }
    }

    /** Inverse of {@link #patchify}: patches [N, P] → HWC image. */
    public static void unpatchify(float[] patches, int off, int h, int w, int c, int p, float[] dst, int dstOff) {
        int gh = h / p, gw = w / p, pd = p * p * c;
        for (int r = 0; r < gh; r++) {
            for (int col = 0; col < gw; col++) {
                int base = off + (r * gw + col) * pd;
                for (int i = 0; i < p; i++) {
                    System.arraycopy(patches, base + i * p * c, dst, dstOff + ((r * p + i) * w + col * p) * c, p * c);
                }
            }
        }
    }

    /**
     * Per-patch normalization in place (MAE norm_pix_loss): t = (t − mean) / sqrt(var_unbiased + 1e-6), over
     * the P values of each patch; patches [count, P] from off.
     */
    public static void normalizePatches(float[] x, int off, int count, int pd) {
        for (int n = 0; n < count; n++) {
            int b = off + n * pd;
            double s = 0;
            for (int k = 0; k < pd; k++) s += x[b + k];
            double mean = s / pd, ss = 0;
            for (int k = 0; k < pd; k++) {
                double d = x[b + k] - mean;
                ss += d * d;
            }
            double inv = 1.0 / Math.sqrt(ss / (pd - 1) + 1e-6);
            for (int k = 0; k < pd; k++) x[b + k] = (float) ((x[b + k] - mean) * inv);
        }
    }
}
