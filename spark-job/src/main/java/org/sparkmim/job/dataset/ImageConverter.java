package org.sparkmim.job.dataset;

import java.awt.image.BufferedImage;
import java.util.Locale;

/**
 * One file's bytes → one dataset row's image, in an executor: sniff the real format, read the header, enforce
 * the pixel budget, decode to RGB (CMYK/YCCK, grey, palette, PNG... all converted), apply EXIF orientation,
 * resize the shorter side to {@code mim.preprocess.resize.shorter-side} and re-encode as JPEG. Anything that
 * cannot be turned into a correct image throws {@link BadImageException} with the reason.
 */
public final class ImageConverter {
    /** The stored image; {@code convertedFrom} is null for a colour JPEG, else e.g. "jpeg/cmyk", "png". */
    public record Result(byte[] image, int width, int height, String convertedFrom, boolean keptOriginal) { }

    /** Times of the three stages of the last {@link #convert} call, in nanoseconds of {@code clock} (benchmark). */
    public long decodeNanos, resizeNanos, encodeNanos;

    private final PreprocessConfig cfg;
    private final JpegCodec codec;
    private final java.util.function.LongSupplier clock;

    public ImageConverter(PreprocessConfig cfg, JpegCodec codec) {
        this(cfg, codec, System::nanoTime);
    }

    /** @param clock e.g. the thread's CPU time, so a benchmark on a busy machine measures work, not waiting */
    public ImageConverter(PreprocessConfig cfg, JpegCodec codec, java.util.function.LongSupplier clock) {
        this.cfg = cfg;
        this.codec = codec;
        this.clock = clock;
    }

    public Result convert(byte[] file) throws BadImageException {
        if (file.length == 0) throw new BadImageException("empty file (0 bytes)");
        long t0 = clock.getAsLong();
        ImageFormat fmt = ImageFormat.sniff(file);
        BufferedImage img;
        String from;
        int srcW, srcH;   // full-resolution upright size: the target size comes from it, not from a DCT-scaled decode
        boolean keepable = false;
        switch (fmt) {
            case JPEG -> {
                JpegCodec.Header h = header(file);
                PixelBudget.check(h.width(), h.height(), cfg.maxPixels());
                if (!JpegMarkers.complete(file)) {
                    throw new BadImageException("truncated JPEG: no end-of-image marker after the scan data ("
                            + file.length + " bytes)");
                }
                int orientation = Exif.orientation(file);
                img = Images.orient(decode(file, h), orientation);
                srcW = orientation >= 5 ? h.height() : h.width();
                srcH = orientation >= 5 ? h.width() : h.height();
                from = switch (h.colorSpace()) {
                    case YCBCR, RGB -> null;
                    default -> "jpeg/" + h.colorSpace().name().toLowerCase(Locale.ROOT);
                };
                keepable = from == null && orientation == 1 && img.getWidth() == h.width() && img.getHeight() == h.height();
            }
            case UNKNOWN -> throw new BadImageException("not an image: unrecognised magic bytes " + ImageFormat.head(file));
            default -> {
                img = Images.toBgr(OtherFormats.read(file, fmt, cfg.maxPixels()));
                from = fmt.name().toLowerCase(Locale.ROOT);
                srcW = img.getWidth();
                srcH = img.getHeight();
            }
        }
        long t1 = clock.getAsLong();
        decodeNanos = t1 - t0;
        int[] size = Resize.targetSize(srcW, srcH, cfg.shorterSide());
        if (keepable && cfg.keepOriginalIfSmall() && size[0] == img.getWidth() && size[1] == img.getHeight()) {
            resizeNanos = 0;
            encodeNanos = 0;
            return new Result(file, img.getWidth(), img.getHeight(), null, true);
        }
        img = Resize.bgr(img, size[0], size[1]);
        long t2 = clock.getAsLong();
        byte[] out = codec.encode(img, cfg.jpegQuality());
        long t3 = clock.getAsLong();
        resizeNanos = t2 - t1;
        encodeNanos = t3 - t2;
        return new Result(out, img.getWidth(), img.getHeight(), from, false);
    }

    private JpegCodec.Header header(byte[] file) throws BadImageException {
        try {
            return codec.header(file);
        } catch (BadImageException e) {
            if (codec == Codecs.jvm()) throw e;
            return Codecs.jvm().header(file);   // TwelveMonkeys has the final word on odd headers
        }
    }

    /** CMYK/YCCK always through TwelveMonkeys (libjpeg-turbo cannot convert them to RGB). */
    private BufferedImage decode(byte[] file, JpegCodec.Header h) throws BadImageException {
        boolean cmyk = h.colorSpace() == JpegCodec.ColorSpace.CMYK || h.colorSpace() == JpegCodec.ColorSpace.YCCK;
        JpegCodec c = cmyk ? Codecs.jvm() : codec;
        try {
            return c.decodeRgb(file, h, cfg.shorterSide());
        } catch (BadImageException e) {
            if (c == Codecs.jvm() || e.getMessage().startsWith("truncated")) throw e;
            return Codecs.jvm().decodeRgb(file, h, cfg.shorterSide());
        }
    }
}
