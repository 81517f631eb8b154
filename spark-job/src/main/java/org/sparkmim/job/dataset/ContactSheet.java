package org.sparkmim.job.dataset;

import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.util.List;

/** A PNG grid of sample images, each with its label under it, so a person can see what a dataset holds. */
public final class ContactSheet {
    /** One tile: the encoded image and the caption under it. */
    public record Tile(byte[] image, String caption) { }

    private ContactSheet() { }

    /**
     * @param cell tile side in pixels; each image is scaled (aspect kept, antialiased) to fit and centred
     */
    public static BufferedImage render(List<Tile> tiles, int columns, int cell) {
        int rows = Math.max(1, (tiles.size() + columns - 1) / columns);
        int captionH = 16, pad = 4;
        int w = columns * (cell + pad) + pad, h = rows * (cell + captionH + pad) + pad;
        BufferedImage sheet = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
        Graphics2D g = sheet.createGraphics();
        try {
            g.setColor(new Color(32, 32, 32));
            g.fillRect(0, 0, w, h);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
            FontMetrics fm = g.getFontMetrics();
            for (int i = 0; i < tiles.size(); i++) {
                int x0 = pad + (i % columns) * (cell + pad), y0 = pad + (i / columns) * (cell + captionH + pad);
                BufferedImage img = ImageDecode.decodeBgr(tiles.get(i).image());
                double s = Math.min((double) cell / img.getWidth(), (double) cell / img.getHeight());
                int tw = Math.max(1, (int) Math.round(img.getWidth() * s)), th = Math.max(1, (int) Math.round(img.getHeight() * s));
                BufferedImage small = Resize.bgr(img, tw, th);
                g.drawImage(small, x0 + (cell - tw) / 2, y0 + (cell - th) / 2, null);
                String cap = tiles.get(i).caption();
                while (cap.length() > 1 && fm.stringWidth(cap) > cell) cap = cap.substring(0, cap.length() - 2) + "…";
                g.setColor(Color.WHITE);
                g.drawString(cap, x0 + (cell - fm.stringWidth(cap)) / 2, y0 + cell + captionH - 4);
            }
        } finally {
            g.dispose();
        }
        return sheet;
    }
}
