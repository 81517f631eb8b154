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

    /**
     * Interleaved [h, w, c] bytes → [th, tw, c]: vertical pass into [th, w, c] first (whole rows at a time, which
     * the JIT vectorizes), then the horizontal pass over the fewer remaining rows.
     */
    public static void resample(byte[] src, int w, int h, int c, byte[] dst, int tw, int th) {
        Kernel kx = new Kernel(w, tw), ky = new Kernel(h, th);
        int rowLen = w * c;
        byte[] mid = th == h ? src : tw == w ? dst : new byte[th * rowLen];
        if (th != h) {
            int[] acc = new int[rowLen];
            for (int y = 0; y < th; y++) {
                java.util.Arrays.fill(acc, ONE >> 1);
                int lo = ky.lo[y], n = ky.n[y], wo = y * ky.stride;
                for (int k = 0; k < n; k++) {
                    int wk = ky.w[wo + k], row = (lo + k) * rowLen;
                    for (int i = 0; i < rowLen; i++) acc[i] += (src[row + i] & 0xFF) * wk;
                }
                int orow = y * rowLen;
                for (int i = 0; i < rowLen; i++) mid[orow + i] = clamp(acc[i]);
            }
        }
        if (tw == w) {
            if (mid != dst) System.arraycopy(mid, 0, dst, 0, th * rowLen);
            return;
        }
        for (int y = 0; y < th; y++) {
            if (c == 3) horizontal3(mid, y * rowLen, dst, y * tw * 3, tw, kx);
            else horizontal(mid, y * rowLen, dst, y * tw * c, tw, c, kx);
        }
    }

    /** One row, 3 interleaved channels: the hot path (RGB), three accumulators per output pixel. */
    private static void horizontal3(byte[] src, int row, byte[] dst, int orow, int tw, Kernel kx) {
        int[] wts = kx.w, lo = kx.lo, n = kx.n;
        int stride = kx.stride;
        for (int x = 0, o = orow; x < tw; x++, o += 3) {
            int a0 = ONE >> 1, a1 = a0, a2 = a0;
            int s = row + lo[x] * 3, wo = x * stride, end = wo + n[x];
            for (int k = wo; k < end; k++, s += 3) {
                int wk = wts[k];
                a0 += (src[s] & 0xFF) * wk;
                a1 += (src[s + 1] & 0xFF) * wk;
                a2 += (src[s + 2] & 0xFF) * wk;
            }
            dst[o] = clamp(a0);
            dst[o + 1] = clamp(a1);
            dst[o + 2] = clamp(a2);
        }
    }

    private static void horizontal(byte[] src, int row, byte[] dst, int orow, int tw, int c, Kernel kx) {
        for (int x = 0; x < tw; x++) {
            int lo = kx.lo[x], n = kx.n[x], wo = x * kx.stride;
            for (int ch = 0; ch < c; ch++) {
                int acc = ONE >> 1;
                for (int k = 0; k < n; k++) acc += (src[row + (lo + k) * c + ch] & 0xFF) * kx.w[wo + k];
                dst[orow + x * c + ch] = clamp(acc);
            }
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
                // Drop zero-weight taps at both ends (the triangle reaches 0 at the window edge).
                int first = 0, last = cnt - 1;
                while (first < last && w[i * stride + first] == 0) first++;
                while (last > first && w[i * stride + last] == 0) last--;
                if (first > 0) System.arraycopy(w, i * stride + first, w, i * stride, last - first + 1);
                lo[i] = a + first;
                n[i] = last - first + 1;
            }
        }
    }
}
