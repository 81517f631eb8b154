package org.sparkmim.job.dataset;

import java.awt.image.BufferedImage;

/**
 * Decodes a dataset row's {@code image} bytes on an executor (the pretrain and evaluate jobs' data path).
 *
 * <pre>{@code
 * ImageDecode.Pixels p = ImageDecode.rgb(row.getAs("image"));   // p.data(): [H, W, 3] RGB bytes, HWC
 * ImageDecode.Pixels g = ImageDecode.gray(row.getAs("image"));  // [H, W, 1]; Fashion-MNIST rows are grey PNG
 * float v = (p.data()[(y * p.width() + x) * 3 + c] & 0xFF) / 255f;
 * }</pre>
 *
 * JPEGs go through libjpeg-turbo when it is installed (else TwelveMonkeys), PNGs through ImageIO. Thread-safe.
 */
public final class ImageDecode {
    /** Stored rows were checked at preprocess time; this only guards against a foreign or tampered shard. */
    private static final long MAX_PIXELS = 100_000_000L;

    private ImageDecode() { }

    /**
     * Interleaved unsigned bytes, row-major HWC: {@code data[(y * width + x) * channels + c]}.
     *
     * @param channels 3 (R, G, B) or 1 (grey)
     */
    public record Pixels(int width, int height, int channels, byte[] data) { }

    /** [H, W, 3] RGB (grey sources are replicated to three channels). */
    public static Pixels rgb(byte[] encoded) {
        BufferedImage bgr = decodeBgr(encoded);
        byte[] b = Images.bytes(bgr), rgb = new byte[b.length];
        for (int i = 0; i < b.length; i += 3) {
            rgb[i] = b[i + 2];
            rgb[i + 1] = b[i + 1];
            rgb[i + 2] = b[i];
        }
        return new Pixels(bgr.getWidth(), bgr.getHeight(), 3, rgb);
    }

    /**
     * [H, W, 1] grey. A grey PNG (IDX rows) is returned exactly; colour images are converted with the ITU-R BT.601
     * luma weights (0.299 R + 0.587 G + 0.114 B), as PIL's {@code convert("L")} does.
     */
    public static Pixels gray(byte[] encoded) {
        BufferedImage bgr;
        if (ImageFormat.sniff(encoded) == ImageFormat.PNG) {
            BufferedImage img = read(encoded, ImageFormat.PNG); // a new image per call: its bytes are ours
            if (img.getType() == BufferedImage.TYPE_BYTE_GRAY) {
                return new Pixels(img.getWidth(), img.getHeight(), 1, Images.bytes(img));
            }
            bgr = Images.toBgr(img);
        } else {
            bgr = decodeBgr(encoded);
        }
        byte[] b = Images.bytes(bgr), g = new byte[bgr.getWidth() * bgr.getHeight()];
        for (int i = 0, j = 0; j < g.length; i += 3, j++) {
            g[j] = (byte) ((114 * (b[i] & 0xFF) + 587 * (b[i + 1] & 0xFF) + 299 * (b[i + 2] & 0xFF) + 500) / 1000);
        }
        return new Pixels(bgr.getWidth(), bgr.getHeight(), 1, g);
    }

    /**
     * [H, W, channels] for a model's channel count: {@link #gray} for 1, {@link #rgb} for 3 (what the pretrain and
     * evaluate jobs decode with, so both see the same pixels).
     */
    public static Pixels forChannels(byte[] encoded, int channels) {
        if (channels == 1) return gray(encoded);
        if (channels == 3) return rgb(encoded);
        throw new IllegalArgumentException("model.channels = " + channels + ": dataset images decode to 1 (grey) or 3 (RGB)");
    }

    /**
     * [side, side, channels]: evaluation's deterministic geometry (no flip, no random crop): the centred square of
     * the shorter side's length, resampled to side×side with {@link Resize}'s antialiased bilinear, as preprocess
     * resizes; the aspect ratio is kept, as in the usual "resize the shorter side, centre-crop" of ImageNet evaluation
     * (with crop fraction 1). An image already side×side is returned unchanged, so a Fashion-MNIST dataset's pixels
     * are exactly its IDX files'. Evaluate's batches and finetune's driver-side test set need one size per split;
     * stored images of a photo dataset differ in size.
     */
    public static Pixels square(byte[] encoded, int channels, int side) {
        Pixels p = forChannels(encoded, channels);
        if (p.width() == side && p.height() == side) return p;
        int s = Math.min(p.width(), p.height()), x0 = (p.width() - s) / 2, y0 = (p.height() - s) / 2;
        byte[] sq = p.data();
        if (p.width() != p.height()) {
            sq = new byte[s * s * channels];
            for (int y = 0; y < s; y++) {
                System.arraycopy(p.data(), ((y0 + y) * p.width() + x0) * channels, sq, y * s * channels, s * channels);
            }
        }
        byte[] out = new byte[side * side * channels];
        Resize.resample(sq, s, s, channels, out, side, side);
        return new Pixels(side, side, channels, out);
    }

    /** {@code TYPE_3BYTE_BGR}, full size (no DCT scaling), for callers that want Java2D. */
    public static BufferedImage decodeBgr(byte[] encoded) {
        ImageFormat f = ImageFormat.sniff(encoded);
        if (f != ImageFormat.JPEG) return Images.toBgr(read(encoded, f));
        JpegCodec c = Codecs.byName("auto");
        try {
            JpegCodec.Header h = c.header(encoded);
            PixelBudget.check(h.width(), h.height(), MAX_PIXELS);
            boolean cmyk = h.colorSpace() == JpegCodec.ColorSpace.CMYK || h.colorSpace() == JpegCodec.ColorSpace.YCCK;
            return (cmyk ? Codecs.jvm() : c).decodeRgb(encoded, h, 0);
        } catch (BadImageException e) {
            throw new DatasetException("cannot decode a stored image: " + e.getMessage(), e);
        }
    }

    private static BufferedImage read(byte[] encoded, ImageFormat f) {
        try {
            return OtherFormats.read(encoded, f, MAX_PIXELS);
        } catch (BadImageException e) {
            throw new DatasetException("cannot decode a stored image: " + e.getMessage(), e);
        }
    }
}
