package org.sparkmim.job.dataset;

import de.digitalcollections.turbojpeg.lib.enums.TJCS;
import de.digitalcollections.turbojpeg.lib.enums.TJERR;
import de.digitalcollections.turbojpeg.lib.enums.TJPF;
import de.digitalcollections.turbojpeg.lib.enums.TJSAMP;
import de.digitalcollections.turbojpeg.lib.libturbojpeg;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Pointer;
import jnr.ffi.byref.IntByReference;
import jnr.ffi.byref.NativeLongByReference;
import jnr.ffi.byref.PointerByReference;

import java.awt.image.BufferedImage;
import java.nio.ByteBuffer;

/**
 * libjpeg-turbo (SIMD) through the TurboJPEG C API, bound by the imageio-turbojpeg artifact's JNR-FFI mapping
 * ({@link libturbojpeg}) to the system library: Debian/Ubuntu package {@code libturbojpeg0}, which every executor
 * needs (deploy/ images install it). Without it {@link #available()} is false and {@link Codecs} falls back to
 * {@link JvmCodec}.
 *
 * <p>Decoding uses libjpeg's DCT-domain scaling (1/2, 1/4, 1/8): a 2000×1500 photo needed at shorter side 256 is
 * decoded at 1/4 size directly, which skips most of the IDCT work and low-pass filters properly.
 */
public final class TurboCodec implements JpegCodec {
    /** libjpeg-turbo's decompression scaling factors n/8 for n = 1..8 (it supports all of them). */
    private static final int DENOM = 8;

    private static final class Lib {
        static final libturbojpeg TJ;
        static final Throwable FAILURE;

        static {
            libturbojpeg lib = null;
            Throwable failure = null;
            try {
                // The soname first: the unversioned libturbojpeg.so only comes with the -dev package.
                lib = LibraryLoader.create(libturbojpeg.class).library("turbojpeg").library("libturbojpeg.so.0").load();
                lib.tjGetErrorStr();
            } catch (Throwable t) {
                failure = t;
                lib = null;
            }
            TJ = lib;
            FAILURE = failure;
        }
    }

    /** True when libturbojpeg could be loaded in this JVM. */
    public static boolean available() {
        return Lib.TJ != null;
    }

    /** Why libturbojpeg could not be loaded (null when it was). */
    public static String unavailableReason() {
        return Lib.FAILURE == null ? null : JvmCodec.message(Lib.FAILURE);
    }

    @Override
    public String name() {
        return "turbo";
    }

    @Override
    public Header header(byte[] jpeg) throws BadImageException {
        libturbojpeg tj = Lib.TJ;
        Pointer h = tj.tjInitDecompress();
        try {
            IntByReference w = new IntByReference(), ht = new IntByReference(), ss = new IntByReference(), cs = new IntByReference();
            if (tj.tjDecompressHeader3(h, ByteBuffer.wrap(jpeg), jpeg.length, w, ht, ss, cs) != 0) {
                throw new BadImageException("corrupt JPEG header: " + tj.tjGetErrorStr());
            }
            return new Header(w.getValue(), ht.getValue(), colorSpace(cs.getValue()));
        } finally {
            tj.tjDestroy(h);
        }
    }

    @Override
    public BufferedImage decodeRgb(byte[] jpeg, Header hd, int minShorterSide) throws BadImageException {
        libturbojpeg tj = Lib.TJ;
        int num = scaleNumerator(hd.width(), hd.height(), minShorterSide);
        int w = scaled(hd.width(), num), h = scaled(hd.height(), num);
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
        Pointer handle = tj.tjInitDecompress();
        try {
            int rv = tj.tjDecompress2(handle, ByteBuffer.wrap(jpeg), jpeg.length, ByteBuffer.wrap(Images.bytes(img)),
                    w, w * 3, h, TJPF.TJPF_BGR, 0);
            if (rv != 0) {
                String msg = tj.tjGetErrorStr();
                boolean warning = TJERR.fromInt(tj.tjGetErrorCode(handle)) == TJERR.TJERR_WARNING;
                // libjpeg fills a truncated scan with grey and calls it a warning: that is a lost image, reject it.
                if (msg.contains("Premature end")) throw new BadImageException("truncated JPEG: " + msg);
                if (!warning) throw new BadImageException("corrupt JPEG: " + msg);
                // Other warnings (e.g. extraneous bytes before a marker) leave a fully decoded image.
            }
            return img;
        } finally {
            tj.tjDestroy(handle);
        }
    }

    @Override
    public byte[] encode(BufferedImage bgr, int quality) {
        libturbojpeg tj = Lib.TJ;
        int w = bgr.getWidth(), h = bgr.getHeight();
        Pointer handle = tj.tjInitCompress();
        int cap = (int) tj.tjBufSize(w, h, TJSAMP.TJSAMP_420);
        Pointer buf = tj.tjAlloc(cap);
        try {
            NativeLongByReference size = new NativeLongByReference(cap);
            // TJFLAG_NOREALLOC (1024): the buffer is tjBufSize(), the documented worst case.
            int rv = tj.tjCompress2(handle, ByteBuffer.wrap(Images.bytes(bgr)), w, w * 3, h, TJPF.TJPF_BGR,
                    new PointerByReference(buf), size, TJSAMP.TJSAMP_420, quality, 1024);
            if (rv != 0) throw new IllegalStateException("libjpeg-turbo encode of " + w + "x" + h + " failed: " + tj.tjGetErrorStr());
            byte[] out = new byte[size.getValue().intValue()];
            buf.get(0, out, 0, out.length);
            return out;
        } finally {
            tj.tjFree(buf);
            tj.tjDestroy(handle);
        }
    }

    /**
     * The smallest n of 1/8, 2/8, 4/8 whose scaled shorter side is still >= minShorter; 8 (full size) otherwise.
     * Only these three: libjpeg-turbo has fast reduced IDCTs for them, while 3/8, 5/8, 6/8, 7/8 go through slower
     * generic code (measured: a 6/8 decode of 500×375 cost 1.76 ms against 1.12 ms at full size).
     */
    static int scaleNumerator(int w, int h, int minShorter) {
        if (minShorter <= 0) return DENOM;
        int shorter = Math.min(w, h);
        for (int n = 1; n < DENOM; n *= 2) if (scaled(shorter, n) >= minShorter) return n;
        return DENOM;
    }

    /** TJSCALED: ceil(dim · n / 8), as libjpeg-turbo computes the output size. */
    static int scaled(int dim, int n) {
        return (dim * n + DENOM - 1) / DENOM;
    }

    private static ColorSpace colorSpace(int tjcs) {
        TJCS cs = TJCS.fromInt(tjcs);
        if (cs == null) return ColorSpace.UNKNOWN;
        return switch (cs) {
            case TJCS_RGB -> ColorSpace.RGB;
            case TJCS_YCbCr -> ColorSpace.YCBCR;
            case TJCS_GRAY -> ColorSpace.GRAY;
            case TJCS_CMYK -> ColorSpace.CMYK;
            case TJCS_YCCK -> ColorSpace.YCCK;
        };
    }
}
