package org.sparkmim.model.report;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A picture grid drawn with java.awt: cells of small images scaled up with nearest-neighbour (so patch edges stay
 * visible), column headers, and a wrapped caption under the grid. Written as PNG through a temporary file.
 */
final class Canvas {
    static final Color BG = Color.WHITE;
    static final Color TEXT = new Color(30, 30, 30);
    static final Font HEAD = new Font(Font.SANS_SERIF, Font.BOLD, 13);
    static final Font BODY = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
    static final int GAP = 6, MARGIN = 10;

    private Canvas() { }

    /** rgb [h, w] packed 0xRRGGBB → a cell of (w·scale)×(h·scale) at (x, y). */
    static void drawCell(Graphics2D g, int[] rgb, int h, int w, int scale, int x, int y) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        img.setRGB(0, 0, w, h, rgb, 0, w);
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_NEAREST_NEIGHBOR);
        g.drawImage(img, x, y, w * scale, h * scale, null);
    }

    /** A gray value in [0,1] (clamped) → 0xRRGGBB. */
    static int gray(double v) {
        int c = (int) Math.round(255 * Math.max(0, Math.min(1, v)));
        return (c << 16) | (c << 8) | c;
    }

    /** HWC pixels in [0,1] (1 or 3 channels) → packed RGB [h·w]. */
    static int[] rgb(float[] px, int off, int h, int w, int c) {
        int[] out = new int[h * w];
        for (int i = 0; i < h * w; i++) {
            if (c == 1) {
                out[i] = gray(px[off + i]);
            } else {
                int r = gray(px[off + i * c]) & 0xFF, gg = gray(px[off + i * c + 1]) & 0xFF, b = gray(px[off + i * c + 2]) & 0xFF;
                out[i] = (r << 16) | (gg << 8) | b;
            }
        }
        return out;
    }

    static Graphics2D begin(BufferedImage img) {
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(BG);
        g.fillRect(0, 0, img.getWidth(), img.getHeight());
        return g;
    }

    /** Greedy word wrap to a pixel width. */
    static List<String> wrap(String text, FontMetrics fm, int width) {
        List<String> lines = new ArrayList<>();
        for (String para : text.split("\n")) {
            StringBuilder line = new StringBuilder();
            for (String word : para.split(" ")) {
                String next = line.isEmpty() ? word : line + " " + word;
                if (fm.stringWidth(next) > width && !line.isEmpty()) {
                    lines.add(line.toString());
                    line = new StringBuilder(word);
                } else {
                    line = new StringBuilder(next);
                }
            }
            lines.add(line.toString());
        }
        return lines;
    }

    /** Height the wrapped caption needs. */
    static int captionHeight(String caption, int width) {
        BufferedImage probe = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = probe.createGraphics();
        FontMetrics fm = g.getFontMetrics(BODY);
        int n = wrap(caption, fm, width).size();
        g.dispose();
        return n * fm.getHeight() + GAP;
    }

    static void caption(Graphics2D g, String caption, int x, int y, int width) {
        g.setFont(BODY);
        g.setColor(TEXT);
        FontMetrics fm = g.getFontMetrics();
        int yy = y + fm.getAscent();
        for (String line : wrap(caption, fm, width)) {
            g.drawString(line, x, yy);
            yy += fm.getHeight();
        }
    }

    static void save(BufferedImage img, Path png) {
        Charts.save(png, out -> {
            if (!ImageIO.write(img, "png", out)) throw new IOException("no PNG writer");
        });
    }
}
