package org.sparkmim.job.dataset;

import java.awt.image.BufferedImage;

/**
 * A JPEG decoder/encoder. Implementations: {@link TurboCodec} (libjpeg-turbo) and {@link JvmCodec} (TwelveMonkeys
 * ImageIO); {@link Codecs} picks one by measurement-backed default (docs/PERFORMANCE.md, "Preprocess").
 * Images are {@code TYPE_3BYTE_BGR}: interleaved bytes [H, W, 3] in B,G,R order, the layout both libjpeg-turbo
 * and Java2D use without conversion.
 */
public interface JpegCodec {
    /** JPEG colour spaces as libjpeg reports them. */
    enum ColorSpace { YCBCR, RGB, GRAY, CMYK, YCCK, UNKNOWN }

    /** What the SOF/APP markers say, read without decoding a pixel. */
    record Header(int width, int height, ColorSpace colorSpace) { }

    String name();

    Header header(byte[] jpeg) throws BadImageException;

    /**
     * Decode to RGB ({@code TYPE_3BYTE_BGR}). With {@code minShorterSide > 0} a decoder may use libjpeg's DCT-domain
     * scaling (n/8) to return a smaller image whose shorter side is still at least that many pixels: this is a
     * proper low-pass downscale and makes large sources several times cheaper.
     *
     * @throws BadImageException when the data are truncated or corrupt (the message is the reject reason)
     */
    BufferedImage decodeRgb(byte[] jpeg, Header h, int minShorterSide) throws BadImageException;

    /** @param bgr {@code TYPE_3BYTE_BGR} image; returns baseline JPEG bytes, 4:2:0 chroma subsampling */
    byte[] encode(BufferedImage bgr, int quality);
}
