package org.sparkmim.model.report;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.data.ImageSet;
import org.sparkmim.model.eval.EvalBatches;
import org.sparkmim.model.mae.Patchify;
import org.sparkmim.model.method.Batch;
import org.sparkmim.model.method.PixelReconstruction;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The reconstruction grid: one row per image; columns original | masked input | reconstruction | reconstruction
 * with the visible patches pasted back. Masks are the method's own for (run seed, epoch, image key), so a grid
 * shows what training saw at that epoch (without augmentation).
 *
 * <p>With norm-pix targets the model predicts each patch normalized by that patch's own mean and variance, which
 * are unknown for a masked patch. Using the true statistics of a masked patch would leak its content into the
 * picture and flatter the model, so masked patches are un-normalized with statistics of the image's VISIBLE
 * patches (mean of their means, mean of their variances); the caption says so.
 */
public final class ReconGrid {
    static final Color MASKED = new Color(72, 96, 150);
    private static final String[] HEADERS = {"original", "masked input", "reconstruction", "visible pasted"};
    private static final String[] PROJECTED = {"original", "projected input", "reconstruction", "I−P residual"};
    private static final String[] FILLED = {"original", "encoder input", "reconstruction", "visible pasted"};

    private ReconGrid() { }

    /** Draws images [0, count) of the set; returns the PNG path. */
    public static Path write(Path png, MimConfig cfg, PixelReconstruction method, ComputationGraph graph, ImageSet set,
                             int count, int epoch, long step) {
        int n = Math.min(count, set.count());
        Batch batch = EvalBatches.of(cfg, set, 0, n, epoch);
        PixelReconstruction.Result r = method.reconstruct(graph, batch);
        int s = cfg.model.imageSize, c = cfg.model.channels, p = cfg.model.patch, len = s * s * c;
        int scale = Math.max(1, 112 / s), cell = s * scale, width = 2 * Canvas.MARGIN + 4 * cell + 3 * Canvas.GAP;
        int masked = 0;
        for (int t = 0; t < r.tokens(); t++) masked += r.mask()[t] > 0 ? 1 : 0;
        String caption = caption(r, epoch, step, masked);
        int capH = Canvas.captionHeight(caption, width - 2 * Canvas.MARGIN);
        int headH = 22, height = Canvas.MARGIN + headH + n * (cell + Canvas.GAP) + capH + Canvas.MARGIN;
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = Canvas.begin(img);
        g.setFont(Canvas.HEAD);
        g.setColor(Canvas.TEXT);
        String[] headers = r.transformsInput() ? PROJECTED : r.fillsInput() ? FILLED : HEADERS;
        for (int col = 0; col < 4; col++) g.drawString(headers[col], Canvas.MARGIN + col * (cell + Canvas.GAP) + 4, Canvas.MARGIN + 14);
        for (int i = 0; i < n; i++) {
            float[][] views = views(r, i, s, c, p, cfg.data.mean(), cfg.data.std());
            int y = Canvas.MARGIN + headH + i * (cell + Canvas.GAP);
            for (int col = 0; col < 4; col++) {
                int[] rgb = Canvas.rgb(views[col], 0, s, s, c);
                if (col == 1 && r.input() == null) paintMasked(rgb, r, i, s, p);
                Canvas.drawCell(g, rgb, s, s, scale, Canvas.MARGIN + col * (cell + Canvas.GAP), y);
            }
        }
        Canvas.caption(g, caption, Canvas.MARGIN, Canvas.MARGIN + headH + n * (cell + Canvas.GAP), width - 2 * Canvas.MARGIN);
        g.dispose();
        Canvas.save(img, png);
        return png;
    }

    static String caption(PixelReconstruction.Result r, int epoch, long step, int maskedFirst) {
        if (r.transformsInput()) {
            return String.format(Locale.ROOT, "Epoch %d, step %d. Nothing is masked: the encoder sees all %d tokens after "
                    + "a random projection along the token axis (column 2: that projection applied to the pixels). "
                    + "Column 4: the part of the residual image − reconstruction that the projection removed, which is "
                    + "what the L1 loss measures; mid-gray = 0.", epoch, step, r.tokens());
        }
        if (r.fillsInput()) {
            return String.format(Locale.ROOT, "Epoch %d, step %d. %d of %d patches masked: the encoder sees their pixels "
                    + "set to the image's per-channel mean (column 2) and a mask token added to their features. Targets "
                    + "are pixels (norm-pix off): predictions are shown as they are.", epoch, step, maskedFirst, r.tokens());
        }
        String head = String.format(Locale.ROOT, "Epoch %d, step %d. %d of %d patches masked (blue-gray in column 2). ",
                epoch, step, maskedFirst, r.tokens());
        return head + (r.normPix()
                ? "Targets are norm-pix: the model predicts each patch normalized by its own mean and variance. Masked "
                + "patches are shown un-normalized with the mean and variance of the image's VISIBLE patches (average "
                + "over visible patches); no masked patch's own statistics are used, so the picture leaks nothing the "
                + "model did not see. Visible patches in column 3 use their own statistics."
                : "Targets are pixels (norm-pix off): predictions are shown as they are.");
    }

    /**
     * Image i → [original, masked input (masked patches still original; painted later), reconstruction, pasted],
     * each HWC in [0,1].
     */
    static float[][] views(PixelReconstruction.Result r, int i, int s, int c, int p, double[] mean, double[] std) {
        int n = r.tokens(), pd = r.patchDim(), off = i * n * pd;
        if (r.transformsInput()) {
            float[][] out = new float[4][];
            float[][] src = {r.patches(), r.input(), r.pred(), r.residual()};
            for (int v = 0; v < 4; v++) {
                float[] hwc = new float[s * s * c];
                Patchify.unpatchify(src[v], off, s, s, c, p, hwc, 0);
                // the residual is centred on 0: shown around mid-gray at the data's scale
                for (int k = 0; k < hwc.length; k++) hwc[k] = (float) (hwc[k] * std[k % c] + (v == 3 ? 0.5 : mean[k % c]));
                out[v] = hwc;
            }
            return out;
        }
        float[] orig = new float[n * pd], recon = new float[n * pd], pasted = new float[n * pd];
        System.arraycopy(r.patches(), off, orig, 0, n * pd);
        double[] vis = visibleStats(r, i);
        for (int t = 0; t < n; t++) {
            boolean isMasked = r.mask()[i * n + t] > 0;
            double[] own = patchStats(r.patches(), off + t * pd, pd);
            double[] st = isMasked ? vis : own;
            for (int k = 0; k < pd; k++) {
                double v = r.pred()[off + t * pd + k];
                if (r.normPix()) v = v * Math.sqrt(st[1] + 1e-6) + st[0];
                recon[t * pd + k] = (float) v;
                pasted[t * pd + k] = isMasked ? (float) v : orig[t * pd + k];
            }
        }
        float[][] out = new float[4][];
        float[] input = orig;
        if (r.fillsInput()) {
            input = new float[n * pd];
            System.arraycopy(r.input(), off, input, 0, n * pd);
        }
        float[][] src = {orig, input, recon, pasted};
        for (int v = 0; v < 4; v++) {
            float[] hwc = new float[s * s * c];
            Patchify.unpatchify(src[v], 0, s, s, c, p, hwc, 0);
            for (int k = 0; k < hwc.length; k++) hwc[k] = (float) (hwc[k] * std[k % c] + mean[k % c]);
            out[v] = hwc;
        }
        return out;
    }

    /** [mean of means, mean of unbiased variances] over image i's visible patches (the norm-pix statistics). */
    static double[] visibleStats(PixelReconstruction.Result r, int i) {
        int n = r.tokens(), pd = r.patchDim();
        double m = 0, v = 0;
        int k = 0;
        for (int t = 0; t < n; t++) {
            if (r.mask()[i * n + t] > 0) continue;
            double[] st = patchStats(r.patches(), (i * n + t) * pd, pd);
            m += st[0];
            v += st[1];
            k++;
        }
        return k == 0 ? new double[]{0, 1} : new double[]{m / k, v / k};
    }

    /** [mean, unbiased variance] of one patch: the statistics norm-pix targets are normalized with. */
    static double[] patchStats(float[] x, int off, int pd) {
        double s = 0, ss = 0;
        for (int k = 0; k < pd; k++) s += x[off + k];
        double mean = s / pd;
        for (int k = 0; k < pd; k++) ss += (x[off + k] - mean) * (x[off + k] - mean);
        return new double[]{mean, ss / (pd - 1)};
    }

    /** Paints image i's masked patches in the masked-input colour. */
    static void paintMasked(int[] rgb, PixelReconstruction.Result r, int i, int s, int p) {
        int g = s / p;
        for (int t = 0; t < r.tokens(); t++) {
            if (r.mask()[i * r.tokens() + t] <= 0) continue;
            int row = t / g, col = t % g;
            for (int y = row * p; y < (row + 1) * p; y++) {
                for (int x = col * p; x < (col + 1) * p; x++) rgb[y * s + x] = MASKED.getRGB() & 0xFFFFFF;
            }
        }
    }
}
