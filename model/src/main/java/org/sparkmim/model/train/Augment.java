package org.sparkmim.model.train;

import java.util.SplittableRandom;

/**
 * MAE's pretraining augmentation: RandomResizedCrop(scale (s_min, 1), ratio (3/4, 4/3)) + horizontal flip,
 * then per-channel normalization. Images are HWC floats in [0,1]. Bilinear resampling (MAE uses bicubic; at
 * these sizes the difference is immaterial and bilinear has no overshoot).
 */
public final class Augment {
    private Augment() { }

    /**
     * src [h, w, c] → dst [out, out, c] at dstOff. Crops only when crop is true (MAE on 28-px Fashion-MNIST
     * uses flip only: a crop of a 28-px image destroys most of it).
     */
    public static void apply(float[] src, int srcOff, int h, int w, int c, int out, boolean crop, double scaleMin,
                             double flipProb, double[] mean, double[] std, SplittableRandom rng, float[] dst, int dstOff) {
        double cy = 0, cx = 0, ch = h, cw = w;
        if (crop) {
            double area = (double) h * w;
            boolean found = false;
            for (int attempt = 0; attempt < 10 && !found; attempt++) {
                double target = area * (scaleMin + (1 - scaleMin) * rng.nextDouble());
                double logR = Math.log(3.0 / 4) + (Math.log(4.0 / 3) - Math.log(3.0 / 4)) * rng.nextDouble();
                double ar = Math.exp(logR);
                double cwT = Math.sqrt(target * ar), chT = Math.sqrt(target / ar);
                if (cwT <= w && chT <= h) {
                    cw = cwT;
                    ch = chT;
                    cy = rng.nextDouble() * (h - ch);
                    cx = rng.nextDouble() * (w - cw);
                    found = true;
                }
            }
            if (!found) { // torchvision's fallback: whole image
                cy = 0;
                cx = 0;
                ch = h;
                cw = w;
            }
        }
        boolean flip = rng.nextDouble() < flipProb;
        double sy = ch / out, sx = cw / out;
        for (int y = 0; y < out; y++) {
            double fy = Math.min(Math.max(cy + (y + 0.5) * sy - 0.5, 0), h - 1);
            int y0 = (int) fy, y1 = Math.min(y0 + 1, h - 1);
            double wy = fy - y0;
            for (int x = 0; x < out; x++) {
                int xo = flip ? out - 1 - x : x;
                double fx = Math.min(Math.max(cx + (x + 0.5) * sx - 0.5, 0), w - 1);
                int x0 = (int) fx, x1 = Math.min(x0 + 1, w - 1);
                double wx = fx - x0;
                for (int k = 0; k < c; k++) {
                    double v = (1 - wy) * ((1 - wx) * src[srcOff + (y0 * w + x0) * c + k] + wx * src[srcOff + (y0 * w + x1) * c + k])
                            + wy * ((1 - wx) * src[srcOff + (y1 * w + x0) * c + k] + wx * src[srcOff + (y1 * w + x1) * c + k]);
                    dst[dstOff + (y * out + xo) * c + k] = (float) ((v - mean[k]) / std[k]);
                }
            }
        }
    }
}
