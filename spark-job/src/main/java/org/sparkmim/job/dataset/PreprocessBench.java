package org.sparkmim.job.dataset;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageInputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Preprocess throughput on ImageNet-like JPEGs made on the fly: the full per-file path of {@link ImageConverter}
 * (sniff, header, budget, EXIF check, decode, resize to the shorter side, JPEG encode) timed per stage, one thread
 * per core, for each codec.
 */
public final class PreprocessBench {
    /**
     * Per-image means in CPU milliseconds of the converting thread, and throughputs. img/s per core is
     * 1000 / (CPU ms per image): on a machine shared with other work, wall time would measure the others too.
     * {@code wallImgPerSec} is the same single thread's wall-clock rate, and {@code imgPerSecAllCores} the wall
     * rate with one thread per core.
     */
    public record Result(String codec, double decodeMs, double resizeMs, double encodeMs, double imgPerSecPerCore,
                         double wallImgPerSec, double imgPerSecAllCores, int threads, long images) {
        public double totalMs() {
            return decodeMs + resizeMs + encodeMs;
        }
    }

    private PreprocessBench() { }

    /**
     * Photo-like test images: low-frequency colour fields, soft shapes and sensor-like noise, so that the JPEGs
     * have ImageNet-like entropy (≈ 60–120 KB at 500×375, q90) rather than the trivially compressible flat
     * gradients or incompressible white noise.
     */
    public static List<byte[]> makeJpegs(int n, int w, int h, int quality, long seed) {
        List<byte[]> out = new ArrayList<>();
        Random rnd = new Random(seed);
        for (int i = 0; i < n; i++) {
            BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
            byte[] px = Images.bytes(img);
            double[][] f = new double[3][6];
            for (double[] c : f) for (int k = 0; k < c.length; k++) c[k] = rnd.nextDouble();
            int shapes = 6 + rnd.nextInt(6);
            int[][] sh = new int[shapes][6];
            for (int[] s : sh) {
                s[0] = rnd.nextInt(w);
                s[1] = rnd.nextInt(h);
                s[2] = 10 + rnd.nextInt(w / 3);
                s[3] = rnd.nextInt(256);
                s[4] = rnd.nextInt(256);
                s[5] = rnd.nextInt(256);
            }
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    for (int c = 0; c < 3; c++) {
                        double v = 128 + 60 * Math.sin(x * f[c][0] * 0.05 + f[c][1] * 6) * Math.cos(y * f[c][2] * 0.05 + f[c][3] * 6)
                                + 30 * Math.sin((x + y) * f[c][4] * 0.2 + f[c][5]);
                        for (int[] s : sh) {
                            int dx = x - s[0], dy = y - s[1];
                            if (dx * dx + dy * dy < s[2] * s[2]) v = 0.5 * v + 0.5 * s[3 + c];
                        }
                        v += rnd.nextGaussian() * 9;
                        px[(y * w + x) * 3 + 2 - c] = (byte) Math.max(0, Math.min(255, (int) v));
                    }
                }
            }
            out.add(jdkEncode(img, quality));
        }
        return out;
    }

    /**
     * @param seconds minimum timed duration per codec (after one warm-up pass over the images)
     */
    public static Result run(JpegCodec codec, PreprocessConfig cfg, List<byte[]> jpegs, double seconds, int threads) {
        ImageConverter warm = new ImageConverter(cfg, codec);
        for (byte[] j : jpegs) convert(warm, j);
        // One thread: the per-core figure and the stage split.
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        ImageConverter c = new ImageConverter(cfg, codec, mx::getCurrentThreadCpuTime);
        long dec = 0, res = 0, enc = 0, n = 0, t0 = System.nanoTime(), cpu0 = mx.getCurrentThreadCpuTime();
        while (System.nanoTime() - t0 < seconds * 1e9 || n < jpegs.size()) {
            convert(c, jpegs.get((int) (n % jpegs.size())));
            dec += c.decodeNanos;
            res += c.resizeNanos;
            enc += c.encodeNanos;
            n++;
        }
        double wall = n / ((System.nanoTime() - t0) / 1e9);
        double perCore = n / ((mx.getCurrentThreadCpuTime() - cpu0) / 1e9);
        return new Result(codec.name(), dec / 1e6 / n, res / 1e6 / n, enc / 1e6 / n, perCore, wall,
                allCores(codec, cfg, jpegs, seconds, threads), threads, n);
    }

    /** All cores busy (one converter per thread), as Spark runs one task per core. */
    private static double allCores(JpegCodec codec, PreprocessConfig cfg, List<byte[]> jpegs, double seconds, int threads) {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        AtomicLong count = new AtomicLong();
        long t0 = System.nanoTime(), end = t0 + (long) (seconds * 1e9);
        List<Future<?>> fs = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int offset = t;
            fs.add(pool.submit(() -> {
                ImageConverter c = new ImageConverter(cfg, codec);
                for (int i = offset; System.nanoTime() < end; i += threads) {
                    convert(c, jpegs.get(i % jpegs.size()));
                    count.incrementAndGet();
                }
            }));
        }
        try {
            for (Future<?> f : fs) f.get();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        } finally {
            pool.shutdownNow();
        }
        return count.get() / ((System.nanoTime() - t0) / 1e9);
    }

    private static void convert(ImageConverter c, byte[] jpeg) {
        try {
            c.convert(jpeg);
        } catch (BadImageException e) {
            throw new IllegalStateException("benchmark image rejected: " + e.getMessage(), e);
        }
    }

    static byte[] jdkEncode(BufferedImage img, int quality) {
        ImageWriter w = jdk(ImageIO.getImageWritersByFormatName("jpeg"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (MemoryCacheImageOutputStream ios = new MemoryCacheImageOutputStream(out)) {
            ImageWriteParam p = w.getDefaultWriteParam();
            p.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
            p.setCompressionQuality(quality / 100f);
            w.setOutput(ios);
            w.write(null, new IIOImage(img, null, null), p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            w.dispose();
        }
        return out.toByteArray();
    }

    private static <T> T jdk(Iterator<T> it) {
        while (it.hasNext()) {
            T x = it.next();
            if (x.getClass().getName().startsWith("com.sun.imageio")) return x;
        }
        throw new IllegalStateException("no JDK JPEG reader/writer");
    }

    /**
     * The plain JDK ImageIO reader, for comparison only: it refuses CMYK/YCCK JPEGs ("Unsupported Image Type"),
     * which is why production uses TwelveMonkeys on top of it.
     */
    public static final class JdkCodec implements JpegCodec {
        private final JvmCodec enc = new JvmCodec();

        @Override
        public String name() {
            return "jdk";
        }

        @Override
        public Header header(byte[] jpeg) throws BadImageException {
            ImageReader r = jdk(ImageIO.getImageReadersByFormatName("jpeg"));
            try {
                r.setInput(new MemoryCacheImageInputStream(new ByteArrayInputStream(jpeg)));
                return new Header(r.getWidth(0), r.getHeight(0), ColorSpace.YCBCR);
            } catch (IOException e) {
                throw new BadImageException(e.getMessage(), e);
            } finally {
                r.dispose();
            }
        }

        @Override
        public BufferedImage decodeRgb(byte[] jpeg, Header h, int minShorterSide) throws BadImageException {
            ImageReader r = jdk(ImageIO.getImageReadersByFormatName("jpeg"));
            try {
                r.setInput(new MemoryCacheImageInputStream(new ByteArrayInputStream(jpeg)));
                return Images.toBgr(r.read(0));
            } catch (IOException e) {
                throw new BadImageException(e.getMessage(), e);
            } finally {
                r.dispose();
            }
        }

        @Override
        public byte[] encode(BufferedImage bgr, int quality) {
            return enc.encode(bgr, quality);
        }
    }

    /** libjpeg-turbo without DCT-domain scaling (full-size decode), to show what the scaling buys. */
    public static final class TurboFullDecode implements JpegCodec {
        private final JpegCodec turbo = Codecs.byName("turbo");

        @Override
        public String name() {
            return "turbo-full-decode";
        }

        @Override
        public Header header(byte[] jpeg) throws BadImageException {
            return turbo.header(jpeg);
        }

        @Override
        public BufferedImage decodeRgb(byte[] jpeg, Header h, int minShorterSide) throws BadImageException {
            return turbo.decodeRgb(jpeg, h, 0);
        }

        @Override
        public byte[] encode(BufferedImage bgr, int quality) {
            return turbo.encode(bgr, quality);
        }
    }
}
