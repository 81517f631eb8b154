package org.sparkmim.job.dataset;

import com.twelvemonkeys.imageio.stream.ByteArrayImageInputStream;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.util.Iterator;

/** Non-JPEG images (PNG, GIF, BMP, TIFF, and whatever else has an ImageIO reader) through ImageIO. */
final class OtherFormats {
    private OtherFormats() { }

    /** Reads the header, enforces the pixel budget, then decodes frame 0 (first frame of a GIF). */
    static BufferedImage read(byte[] data, ImageFormat fmt, long maxPixels) throws BadImageException {
        ImageInputStream in = new ByteArrayImageInputStream(data);
        ImageReader r = reader(in, fmt);
        try {
            r.setInput(in, true, true);
            int w = r.getWidth(0), h = r.getHeight(0);
            PixelBudget.check(w, h, maxPixels);
            BufferedImage img = r.read(0);
            if (img == null) throw new BadImageException("corrupt " + fmt + ": no image in the file");
            return img;
        } catch (IOException | RuntimeException e) {
            throw new BadImageException("corrupt " + fmt + ": " + JvmCodec.message(e), e);
        } finally {
            r.dispose();
        }
    }

    private static ImageReader reader(ImageInputStream in, ImageFormat fmt) throws BadImageException {
        Iterator<ImageReader> it = ImageIO.getImageReaders(in);
        while (it.hasNext()) {
            ImageReader r = it.next();
            if (!r.getClass().getName().contains("turbojpeg")) return r;
        }
        throw new BadImageException("unsupported image format " + fmt + " (no ImageIO reader on the classpath)");
    }
}
