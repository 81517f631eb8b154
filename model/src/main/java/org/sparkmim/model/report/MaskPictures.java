package org.sparkmim.model.report;

import org.sparkmim.masking.MaskSeeds;
import org.sparkmim.masking.MaskingOperator;
import org.sparkmim.masking.SampleMask;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.data.ImageSet;

import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One picture per masking operator: a row of images with the patches that operator removes painted over, drawn
 * from the same seeds pretraining uses (run seed, epoch 0, image key), so the picture is the epoch-0 mask.
 */
public final class MaskPictures {
    private MaskPictures() { }

    /** Writes masks/&lt;operator&gt;.png under runDir for each operator; returns the paths. */
    public static List<Path> write(Path runDir, MimConfig cfg, List<MaskingOperator> operators, ImageSet set, int count) {
        List<Path> out = new ArrayList<>();
        for (MaskingOperator op : operators) {
            Path png = runDir.resolve("masks").resolve(op.name().replaceAll("[^A-Za-z0-9._-]+", "_") + ".png");
            out.add(write(png, cfg, op, set, Math.min(count, set.count())));
        }
        return out;
    }

    static Path write(Path png, MimConfig cfg, MaskingOperator op, ImageSet set, int n) {
        int h = set.height(), w = set.width(), c = set.channels(), gs = cfg.model.gridSize();
        // masks are drawn over the model's token grid; data at another size is shown at model size by patch area
        int p = cfg.model.patch * h / cfg.model.imageSize;
        int scale = Math.max(1, 84 / h), cell = h * scale;
        int width = Math.max(2 * Canvas.MARGIN + n * (cell + Canvas.GAP), 420);
        SampleMask first = op.sample(gs, gs, MaskSeeds.stream(cfg.run.seed(), 0, set.key(0)));
        String caption = String.format(Locale.ROOT, "Masking operator %s over a %dx%d token grid (patch %d px): %d of %d "
                        + "tokens masked (blue-gray), drawn with the run's seeds for epoch 0 (seed %d, per-image key).",
                op.name(), gs, gs, cfg.model.patch, first.maskedCount(), first.n(), cfg.run.seed());
        int capH = Canvas.captionHeight(caption, width - 2 * Canvas.MARGIN);
        int height = 2 * Canvas.MARGIN + 2 * (cell + Canvas.GAP) + capH;
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = Canvas.begin(img);
        float[] px = new float[h * w * c];
        for (int i = 0; i < n; i++) {
            set.copyImage(i, px, 0);
            SampleMask m = op.sample(gs, gs, MaskSeeds.stream(cfg.run.seed(), 0, set.key(i)));
            int x = Canvas.MARGIN + i * (cell + Canvas.GAP);
            int[] rgb = Canvas.rgb(px, 0, h, w, c);
            Canvas.drawCell(g, rgb, h, w, scale, x, Canvas.MARGIN);
            for (int t = 0; t < m.n(); t++) {
                boolean masked = m.isMasked(t);
                int r0 = (t / gs) * p, c0 = (t % gs) * p;
                for (int y = r0; y < Math.min(h, r0 + p); y++) {
                    for (int xx = c0; xx < Math.min(w, c0 + p); xx++) {
                        if (masked) rgb[y * w + xx] = ReconGrid.MASKED.getRGB() & 0xFFFFFF;
                    }
                }
            }
            Canvas.drawCell(g, rgb, h, w, scale, x, Canvas.MARGIN + cell + Canvas.GAP);
        }
        Canvas.caption(g, caption, Canvas.MARGIN, Canvas.MARGIN + 2 * (cell + Canvas.GAP), width - 2 * Canvas.MARGIN);
        g.dispose();
        Canvas.save(img, png);
        return png;
    }
}
