package org.sparkmim.job.dataset;

import java.awt.image.BufferedImage;

/**
 * Separable antialiased bilinear (triangle) resampling of interleaved 8-bit images, as PIL's
 * {@code Image.resize(BILINEAR)} and torchvision's {@code antialias=True} do it: when shrinking, the triangle's
 * support widens with the scale, so every source pixel contributes (no aliasing, unlike plain bilinear or
 * nearest, which skip pixels). Weights are 14-bit fixed point, so a pass is integer multiply-adds.
 */
public final class Resize {
    private static final int BITS = 14;
    private static final int ONE = 1 << BITS;

    private Resize() { }

    /** Output size so the shorter side is at most {@code side} (0 = unchanged), aspect ratio kept, rounding. */
    public static int[] targetSize(int w, int h, int side) {
        int shorter = Math.min(w, h);
        if (side <= 0 || shorter <= side) return new int[]{w, h};
        double s = (double) side / shorter;
        int tw = w <= h ? side : Math.max(1, (int) Math.round(w * s));
        int th = h < w ? side : Math.max(1, (int) Math.round(h * s));
        return new int[]{tw, th};
    }

    /** {@code TYPE_3BYTE_BGR} [h, w, 3] → [th, tw, 3]. */
    public static BufferedImage bgr(BufferedImage src, int tw, int th) {
        if (src.getWidth() == tw && src.getHeight() == th) return src;
        BufferedImage dst = new BufferedImage(tw, th, BufferedImage.TYPE_3BYTE_BGR);
        resample(Images.bytes(src), src.getWidth(), src.getHeight(), 3, Images.bytes(dst), tw, th);
        return dst;
    }

    /** Interleaved [h, w, c] bytes → [th, tw, c]: horizontal pass into [h, tw, c], then vertical. */
    public static void resample(byte[] src, int w, int h, int c, byte[] dst, int tw, int th) {
        Kernel kx = new Kernel(w, tw), ky = new Kernel(h, th);
        byte[] mid = tw == w ? src : new byte[h * tw * c];
        if (tw != w) {
            for (int y = 0; y < h; y++) {
                int row = y * w * c, orow = y * tw * c;
                for (int x = 0; x < tw; x++) {
                    int lo = kx.lo[x], n = kx.n[x], wo = x * kx.stride;
                    for (int ch = 0; ch < c; ch++) {
                        int acc = ONE >> 1;
                        for (int k = 0; k < n; k++) acc += (src[row + (lo + k) * c + ch] & 0xFF) * kx.w[wo + k];
                        mid[orow + x * c + ch] = clamp(acc);
                    }
                }
            }
        }
        if (th == h) {
            System.arraycopy(mid, 0, dst, 0, h * tw * c);
            return;
        }
        int rowLen = tw * c;
        int[] acc = new int[rowLen];
        for (int y = 0; y < th; y++) {
            java.util.Arrays.fill(acc, ONE >> 1);
            int lo = ky.lo[y], n = ky.n[y], wo = y * ky.stride;
            for (int k = 0; k < n; k++) {
                int wk = ky.w[wo + k], row = (lo + k) * rowLen;
                for (int i = 0; i < rowLen; i++) acc[i] += (mid[row + i] & 0xFF) * wk;
            }
            int orow = y * rowLen;
            for (int i = 0; i < rowLen; i++) dst[orow + i] = clamp(acc[i]);
        }
    }

    private static byte clamp(int acc) {
        int v = acc >> BITS;
        return (byte) (v < 0 ? 0 : Math.min(v, 255));
    }

    /** For each output index: the first input index, the tap count and the normalized fixed-point weights. */
    private static final class Kernel {
        final int[] lo, n, w;
        final int stride;

        Kernel(int in, int out) {
            double scale = (double) in / out;
            double support = Math.max(scale, 1.0);   // triangle radius in input pixels
            stride = (int) Math.ceil(support) * 2 + 1;
            lo = new int[out];
            n = new int[out];
            w = new int[out * stride];
            double[] tmp = new double[stride];
            for (int i = 0; i < out; i++) {
                double center = (i + 0.5) * scale;
                int a = Math.max(0, (int) Math.floor(center - support));
                int b = Math.min(in, (int) Math.ceil(center + support));
                int cnt = Math.min(b - a, stride);
                double sum = 0;
                for (int k = 0; k < cnt; k++) {
                    double t = Math.abs((a + k + 0.5 - center) / support);
                    tmp[k] = t < 1 ? 1 - t : 0;
                    sum += tmp[k];
                }
                // Fixed-point weights that sum to exactly ONE, so a flat image stays exactly flat.
                int total = 0, maxK = 0;
                for (int k = 0; k < cnt; k++) {
                    int q = (int) Math.round(tmp[k] / sum * ONE);
                    w[i * stride + k] = q;
                    total += q;
                    if (tmp[k] > tmp[maxK]) maxK = k;
                }
                w[i * stride + maxK] += ONE - total;
                lo[i] = a;
                n[i] = cnt;
            }
        }
    }
}
