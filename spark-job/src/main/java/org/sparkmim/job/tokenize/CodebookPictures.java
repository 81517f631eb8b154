package org.sparkmim.job.tokenize;

import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.data.RawImage;
import org.sparkmim.model.mae.MaeMethod;
import org.sparkmim.model.method.Batch;
import org.sparkmim.model.train.Trainer;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * What the tokens can express, as pictures: every centroid drawn as a patch (stretched to its own min..max, since
 * centroids live in per-patch-normalized space), and a few images shown beside themselves with each patch replaced
 * by its centroid, put back at that patch's own mean and standard deviation.
 */
final class CodebookPictures {
    private static final int SCALE = 4;

    private CodebookPictures() { }

    /** The k centroids as a grid of p×p patches, each scaled ×SCALE, 1-px gaps, in id order. PNG bytes. */
    static byte[] codebook(float[][] centers, int p, int channels) {
        return codebook(centers, p, channels, java.util.stream.IntStream.range(0, centers.length).toArray(), null);
    }

    /**
     * The centroids in the given order (e.g. most used first); with usage, a code no patch carries gets a red frame
     * instead of the black gap.
     */
    static byte[] codebook(float[][] centers, int p, int channels, int[] order, long[] usage) {
        int k = order.length, cols = (int) Math.ceil(Math.sqrt(k)), rows = (k + cols - 1) / cols;
        int cell = p * SCALE + 2;
        BufferedImage img = new BufferedImage(cols * cell, rows * cell, BufferedImage.TYPE_INT_RGB);
        for (int slot = 0; slot < k; slot++) {
            int i = order[slot];
            int ox = (slot % cols) * cell + 1, oy = (slot / cols) * cell + 1;
            if (usage != null && usage[i] == 0) {
                for (int y = -1; y <= p * SCALE; y++) {
                    for (int x = -1; x <= p * SCALE; x++) img.setRGB(ox + x, oy + y, 0xD02020);
                }
            }
            float lo = Float.POSITIVE_INFINITY, hi = Float.NEGATIVE_INFINITY;
            for (float v : centers[i]) {
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
            float range = Math.max(hi - lo, 1e-6f);
            for (int y = 0; y < p * SCALE; y++) {
                for (int x = 0; x < p * SCALE; x++) {
                    int base = ((y / SCALE) * p + x / SCALE) * channels;
                    img.setRGB(ox + x, oy + y, rgb(centers[i], base, channels, lo, range));
                }
            }
        }
        return png(img);
    }

    /**
     * Rows of (image, image from its tokens) pairs for the given images: [original | tokens] side by side, the
     * token view being centroid × patch std + patch mean, in the trainer's normalized pixels mapped back to [0, 1].
     */
    static byte[] preview(List<RawImage> images, MimConfig cfg, float[][] centers, int[][] ids) {
        int s = cfg.model.imageSize, p = cfg.model.patch, c = cfg.model.channels, g = s / p, n = g * g, pd = p * p * c;
        Batch b = Trainer.batch(images, 0, cfg);
        float[] x = MaeMethod.patchify(cfg.model, b);                      // [B, N, P] normalized pixels
        int cols = 4, rows = (images.size() + cols - 1) / cols, w = (2 * s + 2) * SCALE, h = (s + 1) * SCALE;
        BufferedImage img = new BufferedImage(cols * w, rows * h, BufferedImage.TYPE_INT_RGB);
        double[] mean = cfg.data.mean(), std = cfg.data.std();
        for (int i = 0; i < images.size(); i++) {
            int ox = (i % cols) * w, oy = (i / cols) * h;
            for (int t = 0; t < n; t++) {
                int off = (i * n + t) * pd;
                double m = 0, v = 0;
                for (int j = 0; j < pd; j++) m += x[off + j];
                m /= pd;
                for (int j = 0; j < pd; j++) v += (x[off + j] - m) * (x[off + j] - m);
                double sd = Math.sqrt(v / (pd - 1) + 1e-6);                 // Patchify.normalizePatches' scale
                float[] cen = centers[ids[i][t]];
                int r = t / g, col = t % g;
                for (int yy = 0; yy < p; yy++) {
                    for (int xx = 0; xx < p; xx++) {
                        int q = (yy * p + xx) * c;
                        int orig = pixel(x, off + q, c, mean, std, 0, 1);
                        int tok = pixel(cen, q, c, mean, std, m, sd);
                        fill(img, ox + (col * p + xx) * SCALE, oy + (r * p + yy) * SCALE, orig);
                        fill(img, ox + (s + 1 + col * p + xx) * SCALE, oy + (r * p + yy) * SCALE, tok);
                    }
                }
            }
        }
        return png(img);
    }

    private static int pixel(float[] x, int at, int c, double[] mean, double[] std, double m, double sd) {
        int[] ch = new int[3];
        for (int k = 0; k < 3; k++) {
            int kk = Math.min(k, c - 1);
            double v = (x[at + kk] * sd + m) * std[kk] + mean[kk];
            ch[k] = (int) Math.round(Math.max(0, Math.min(1, v)) * 255);
        }
        return (ch[0] << 16) | (ch[1] << 8) | ch[2];
    }

    private static int rgb(float[] v, int base, int c, float lo, float range) {
        int[] ch = new int[3];
        for (int k = 0; k < 3; k++) ch[k] = Math.round((v[base + Math.min(k, c - 1)] - lo) / range * 255);
        return (ch[0] << 16) | (ch[1] << 8) | ch[2];
    }

    private static void fill(BufferedImage img, int x, int y, int rgb) {
        for (int dy = 0; dy < SCALE; dy++) for (int dx = 0; dx < SCALE; dx++) img.setRGB(x + dx, y + dy, rgb);
    }

    private static byte[] png(BufferedImage img) {
        try (ByteArrayOutputStream o = new ByteArrayOutputStream()) {
            ImageIO.write(img, "png", o);
            return o.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
