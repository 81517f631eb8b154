package org.sparkmim.job.dataset;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Real image files made with real encoders (the JDK's JPEG and PNG writers), each with pixel content the tests
 * can predict after conversion: smooth gradients (so resizing and JPEG error stay within a few levels) and solid
 * halves (so rotations and colour conversions are unambiguous).
 */
public final class TestImages {
    private TestImages() { }

    /** Expected RGB of the gradient at relative position (u, v) in [0,1]²: R follows x, G follows y, B fixed. */
    public static int[] gradient(double u, double v) {
        return new int[]{(int) Math.round(40 + 180 * u), (int) Math.round(30 + 190 * v), 120};
    }

    public static BufferedImage gradientImage(int w, int h) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int[] c = gradient((x + 0.5) / w, (y + 0.5) / h);
                img.setRGB(x, y, c[0] << 16 | c[1] << 8 | c[2]);
            }
        }
        return img;
    }

    /** Left half red (220,30,30), right half blue (30,30,220). */
    public static BufferedImage halves(int w, int h) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.setRGB(x, y, x < w / 2 ? 0xDC1E1E : 0x1E1EDC);
        return img;
    }

    public static byte[] jpeg(BufferedImage img, int quality, boolean progressive) {
        return writeJpeg(new IIOImage(img, null, null), quality, progressive);
    }

    /** A grey gradient JPEG (one component): value = 30 + 190·u. */
    public static byte[] grayJpeg(int w, int h) {
        BufferedImage g = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
        WritableRaster r = g.getRaster();
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) r.setSample(x, y, 0, (int) Math.round(30 + 190 * (x + 0.5) / w));
        return jpeg(g, 95, false);
    }

    /**
     * A 4-component Adobe JPEG as Photoshop writes CMYK (inverted: stored = 255 − ink), which is how ILSVRC's 22
     * CMYK files are stored. Left half red ink (C0 M100 Y100 K0), right half blue ink (C100 M100 Y0 K0). The JDK
     * writer stores a 4-band Raster's bands as they are but writes no Adobe marker (readers then guess CMYK or
     * YCCK differently), so the APP14 "Adobe" segment with transform 0 (= CMYK) is added as Photoshop writes it.
     */
    public static byte[] cmykJpeg(int w, int h) {
        WritableRaster r = Raster.createInterleavedRaster(java.awt.image.DataBuffer.TYPE_BYTE, w, h, 4, null);
        int[] red = {255, 0, 0, 255}, blue = {0, 0, 255, 255};
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) r.setPixel(x, y, x < w / 2 ? red : blue);
        byte[] raw = writeJpeg(new IIOImage(r, null, null), 95, false);
        byte[] app14 = {(byte) 0xFF, (byte) 0xEE, 0, 14, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, 0};
        return insertAfterSoi(raw, app14);
    }

    static byte[] insertAfterSoi(byte[] jpeg, byte[] segment) {
        byte[] out = new byte[jpeg.length + segment.length];
        out[0] = jpeg[0];
        out[1] = jpeg[1];
        System.arraycopy(segment, 0, out, 2, segment.length);
        System.arraycopy(jpeg, 2, out, 2 + segment.length, jpeg.length - 2);
        return out;
    }

    public static byte[] png(BufferedImage img) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ImageIO.write(img, "png", out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** Inserts an APP1 Exif segment with the given orientation tag right after SOI. */
    public static byte[] withExifOrientation(byte[] jpeg, int orientation) {
        byte[] tiff = {
                'M', 'M', 0, 42, 0, 0, 0, 8,             // big-endian TIFF header, IFD0 at offset 8
                0, 1,                                    // one entry
                0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, (byte) orientation, 0, 0,   // Orientation, SHORT, count 1
                0, 0, 0, 0};                             // no next IFD
        byte[] exif = new byte[6 + tiff.length];
        System.arraycopy(new byte[]{'E', 'x', 'i', 'f', 0, 0}, 0, exif, 0, 6);
        System.arraycopy(tiff, 0, exif, 6, tiff.length);
        int len = exif.length + 2;
        byte[] seg = new byte[4 + exif.length];
        seg[0] = (byte) 0xFF;
        seg[1] = (byte) 0xE1;
        seg[2] = (byte) (len >> 8);
        seg[3] = (byte) len;
        System.arraycopy(exif, 0, seg, 4, exif.length);
        return insertAfterSoi(jpeg, seg);
    }

    /** A valid small JPEG whose SOF0 header is patched to declare width × height. */
    public static byte[] declaring(int width, int height) {
        byte[] b = jpeg(gradientImage(16, 16), 90, false);
        for (int i = 2; i + 9 < b.length; i++) {
            if ((b[i] & 0xFF) == 0xFF && (b[i + 1] & 0xFF) == 0xC0) {
                b[i + 5] = (byte) (height >> 8);
                b[i + 6] = (byte) height;
                b[i + 7] = (byte) (width >> 8);
                b[i + 8] = (byte) width;
                return b;
            }
        }
        throw new IllegalStateException("no SOF0");
    }

    public static byte[] truncated(byte[] jpeg) {
        return Arrays.copyOf(jpeg, jpeg.length * 6 / 10);
    }

    /**
     * An ILSVRC-like train tree: two classes with every kind of file the issue names, and the expected outcome of
     * each key. Values: "accept WxH" (stored size), "convert KIND WxH", "reject WORD", "skip".
     */
    public static Map<String, String> writeTree(Path root) throws IOException {
        Map<String, String> expect = new LinkedHashMap<>();
        put(root, expect, "LOC_synset_mapping.txt", "n01440764 tench\nn01443537 goldfish\n".getBytes(), "skip");
        put(root, expect, "n01440764/big.JPEG", jpeg(gradientImage(640, 480), 92, false), "accept 341x256");
        put(root, expect, "n01440764/small.JPEG", jpeg(gradientImage(200, 150), 92, false), "accept 200x150");
        put(root, expect, "n01440764/tall.jpg", jpeg(gradientImage(300, 500), 92, false), "accept 256x427");
        put(root, expect, "n01440764/progressive.JPEG", jpeg(gradientImage(400, 300), 92, true), "accept 341x256");
        put(root, expect, "n01440764/cmyk.JPEG", cmykJpeg(120, 80), "convert jpeg/cmyk 120x80");
        put(root, expect, "n01440764/gray.JPEG", grayJpeg(160, 120), "convert jpeg/gray 160x120");
        put(root, expect, "n01440764/rotated.JPEG", withExifOrientation(jpeg(halves(200, 100), 95, false), 6), "accept 100x200");
        put(root, expect, "n01443537/png-named.JPEG", png(gradientImage(320, 240)), "convert png 320x240");
        put(root, expect, "n01443537/truncated.JPEG", truncated(jpeg(gradientImage(300, 200), 90, false)), "reject truncated");
        put(root, expect, "n01443537/empty.JPEG", new byte[0], "reject empty");
        put(root, expect, "n01443537/text.JPEG", "<html><body>404 Not Found</body></html>".getBytes(), "reject not an image");
        put(root, expect, "n01443537/huge.JPEG", declaring(60000, 60000), "reject max-pixels");
        put(root, expect, "n01443537/notes.txt", "not an image".getBytes(), "skip");
        put(root, expect, "n01443537/ok.jpeg", jpeg(gradientImage(256, 256), 90, false), "accept 256x256");
        return expect;
    }

    private static void put(Path root, Map<String, String> expect, String key, byte[] data, String outcome) throws IOException {
        Path p = root.resolve(key);
        Files.createDirectories(p.getParent());
        Files.write(p, data);
        expect.put(key, outcome);
    }

    private static byte[] writeJpeg(IIOImage img, int quality, boolean progressive) {
        Iterator<ImageWriter> it = ImageIO.getImageWritersByFormatName("jpeg");
        ImageWriter w = null;
        while (it.hasNext()) {
            ImageWriter c = it.next();
            if (c.getClass().getName().startsWith("com.sun.imageio")) w = c;
        }
        if (w == null) throw new IllegalStateException("no JDK JPEG writer");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (MemoryCacheImageOutputStream ios = new MemoryCacheImageOutputStream(out)) {
            ImageWriteParam p = w.getDefaultWriteParam();
            if (progressive) {
                p.setProgressiveMode(ImageWriteParam.MODE_DEFAULT);
            } else {
                p.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
                p.setCompressionQuality(quality / 100f);
            }
            w.setOutput(ios);
            w.write(null, img, p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            w.dispose();
        }
        return out.toByteArray();
    }
}
