package org.sparkmim.job.dataset;

import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;

/** BufferedImage plumbing shared by the codecs, the converter and the decode helper. */
final class Images {
    /** Per thread: ImageIO.write(…, OutputStream) looks the writer up and may cache through a temp file per call. */
    private static final ThreadLocal<javax.imageio.ImageWriter> PNG =
            ThreadLocal.withInitial(() -> javax.imageio.ImageIO.getImageWritersByFormatName("png").next());

    private Images() { }

    /** Lossless PNG bytes of an image (8-bit grey stays 1 channel). */
    static byte[] png(BufferedImage img) {
        javax.imageio.ImageWriter w = PNG.get();
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(img.getWidth() * img.getHeight() + 256);
        try (javax.imageio.stream.MemoryCacheImageOutputStream ios = new javax.imageio.stream.MemoryCacheImageOutputStream(out)) {
            w.setOutput(ios);
            w.write(img);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("PNG encode failed", e);
        } finally {
            w.reset();
        }
        return out.toByteArray();
    }

    /**
     * Any image (grey, palette, 16-bit, ARGB, ...) as {@code TYPE_3BYTE_BGR} [H, W, 3]. Alpha is dropped by
     * compositing over black, as Java2D does when drawing onto an opaque image.
     */
    static BufferedImage toBgr(BufferedImage img) {
        if (img.getType() == BufferedImage.TYPE_3BYTE_BGR) return img;
        BufferedImage out = new BufferedImage(img.getWidth(), img.getHeight(), BufferedImage.TYPE_3BYTE_BGR);
        Graphics2D g = out.createGraphics();
        try {
            g.drawImage(img, 0, 0, null);
        } finally {
            g.dispose();
        }
        return out;
    }

    /** The backing array of a {@code TYPE_3BYTE_BGR} or {@code TYPE_BYTE_GRAY} image (no copy). */
    static byte[] bytes(BufferedImage img) {
        return ((DataBufferByte) img.getRaster().getDataBuffer()).getData();
    }

    /**
     * Applies an EXIF orientation (1..8) to a BGR image: the stored pixels are turned so the result is upright,
     * as a camera's viewer shows it. 1 (or anything unknown) returns the image itself.
     */
    static BufferedImage orient(BufferedImage src, int orientation) {
        if (orientation < 2 || orientation > 8) return src;
        int w = src.getWidth(), h = src.getHeight();
        boolean swap = orientation >= 5;
        int ow = swap ? h : w, oh = swap ? w : h;
        BufferedImage dst = new BufferedImage(ow, oh, BufferedImage.TYPE_3BYTE_BGR);
        byte[] s = bytes(src), d = bytes(dst);
        for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
                // (sx, sy): the stored pixel that lands at (x, y) in the upright image.
                int sx, sy;
                switch (orientation) {
                    case 2 -> { sx = w - 1 - x; sy = y; }           // mirror horizontal
                    case 3 -> { sx = w - 1 - x; sy = h - 1 - y; }   // rotate 180
                    case 4 -> { sx = x; sy = h - 1 - y; }           // mirror vertical
                    case 5 -> { sx = y; sy = x; }                   // transpose
                    case 6 -> { sx = y; sy = h - 1 - x; }           // rotate 90 clockwise to view
                    case 7 -> { sx = w - 1 - y; sy = h - 1 - x; }   // transverse
                    default -> { sx = w - 1 - y; sy = x; }          // 8: rotate 270 clockwise to view
                }
                int si = (sy * w + sx) * 3, di = (y * ow + x) * 3;
                d[di] = s[si];
                d[di + 1] = s[si + 1];
                d[di + 2] = s[si + 2];
            }
        }
        return dst;
    }
}
