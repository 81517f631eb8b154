package org.sparkmim.job.dataset;

import com.twelvemonkeys.imageio.plugins.jpeg.JPEGImageReaderSpi;
import com.twelvemonkeys.imageio.stream.ByteArrayImageInputStream;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * TwelveMonkeys' JPEG reader (it reads CMYK, YCCK and Adobe APP14 JPEGs that the JDK's reader refuses with
 * "Unsupported Image Type", converting them to RGB) and the JDK's JPEG writer. Pure Java plus the JDK's bundled
 * libjpeg 6b: works everywhere, slower than libjpeg-turbo. Readers and writers are per thread (not thread-safe,
 * and costly to create).
 */
public final class JvmCodec implements JpegCodec {
    private static final ThreadLocal<ImageReader> READER = ThreadLocal.withInitial(JvmCodec::twelveMonkeysReader);
    private static final ThreadLocal<ImageWriter> WRITER = ThreadLocal.withInitial(JvmCodec::jdkJpegWriter);

    @Override
    public String name() {
        return "jvm";
    }

    @Override
    public Header header(byte[] jpeg) throws BadImageException {
        ImageReader r = open(jpeg, null);
        try {
            ColorSpace cs = ColorSpace.UNKNOWN;
            ImageTypeSpecifier raw = r.getRawImageType(0);
            if (raw != null) cs = colorSpace(raw.getColorModel().getColorSpace().getType(), raw.getNumBands());
            return new Header(r.getWidth(0), r.getHeight(0), cs);
        } catch (IOException | RuntimeException e) {
            throw new BadImageException("corrupt JPEG header: " + message(e), e);
        } finally {
            r.reset();
        }
    }

    @Override
    public BufferedImage decodeRgb(byte[] jpeg, Header h, int minShorterSide) throws BadImageException {
        List<String> warnings = new ArrayList<>();
        ImageReader r = open(jpeg, warnings);
        try {
            BufferedImage img = r.read(0);
            for (String w : warnings) {
                // libjpeg fills the missing part with grey and only warns: a silently half-grey image is data loss.
                if (w.contains("Premature end")) throw new BadImageException("truncated JPEG: " + w);
            }
            return Images.toBgr(img);
        } catch (IOException | RuntimeException e) {
            throw new BadImageException("corrupt JPEG: " + message(e), e);
        } finally {
            r.reset();
        }
    }

    @Override
    public byte[] encode(BufferedImage bgr, int quality) {
        ImageWriter w = WRITER.get();
        ByteArrayOutputStream out = new ByteArrayOutputStream(bgr.getWidth() * bgr.getHeight() / 4);
        try (MemoryCacheImageOutputStream ios = new MemoryCacheImageOutputStream(out)) {
            ImageWriteParam p = w.getDefaultWriteParam();
            p.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
            p.setCompressionQuality(quality / 100f);
            w.setOutput(ios);
            w.write(null, new IIOImage(bgr, null, null), p);
        } catch (IOException e) {
            throw new UncheckedIOException("JPEG encode failed", e);
        } finally {
            w.reset();
        }
        return out.toByteArray();
    }

    private static ImageReader open(byte[] jpeg, List<String> warnings) {
        ImageReader r = READER.get();
        r.setInput(new ByteArrayImageInputStream(jpeg), true, true);
        if (warnings != null) r.addIIOReadWarningListener((src, w) -> warnings.add(w));
        return r;
    }

    static ColorSpace colorSpace(int awtType, int bands) {
        return switch (awtType) {
            case java.awt.color.ColorSpace.TYPE_GRAY -> ColorSpace.GRAY;
            case java.awt.color.ColorSpace.TYPE_CMYK -> ColorSpace.CMYK;
            case java.awt.color.ColorSpace.TYPE_RGB -> bands == 4 ? ColorSpace.YCCK : ColorSpace.YCBCR;
            case java.awt.color.ColorSpace.TYPE_YCbCr -> ColorSpace.YCBCR;
            default -> ColorSpace.UNKNOWN;
        };
    }

    /**
     * TwelveMonkeys' reader wraps the JDK's, which its SPI finds when ImageIO registers it; under spark-submit the
     * job jar may arrive after ImageIO's first scan, hence the rescan with the task's class loader.
     */
    private static ImageReader twelveMonkeysReader() {
        for (int attempt = 0; attempt < 2; attempt++) {
            Iterator<ImageReader> it = ImageIO.getImageReadersByFormatName("jpeg");
            while (it.hasNext()) {
                ImageReader r = it.next();
                if (r.getOriginatingProvider() instanceof JPEGImageReaderSpi) return r;
            }
            ImageIO.scanForPlugins();
        }
        throw new IllegalStateException("TwelveMonkeys' JPEG reader (imageio-jpeg) is not registered with ImageIO");
    }

    /** The JDK's own writer: TurboJPEG's ImageIO plugin (same classpath) must not be picked up by accident. */
    private static ImageWriter jdkJpegWriter() {
        Iterator<ImageWriter> it = ImageIO.getImageWritersByFormatName("jpeg");
        while (it.hasNext()) {
            ImageWriter w = it.next();
            if (w.getClass().getName().startsWith("com.sun.imageio")) return w;
        }
        throw new IllegalStateException("the JDK's JPEG ImageWriter (com.sun.imageio.plugins.jpeg) is not available");
    }

    static String message(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }
}
