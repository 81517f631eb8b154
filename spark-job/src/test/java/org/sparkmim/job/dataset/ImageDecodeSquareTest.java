package org.sparkmim.job.dataset;

import org.junit.jupiter.api.Test;

import java.awt.image.BufferedImage;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Evaluation's geometry for dataset images ({@link ImageDecode#square}): the centred square of the shorter side,
 * resampled, so a wide image loses its sides and nothing is stretched; an image already at the size is untouched.
 */
class ImageDecodeSquareTest {
    /** w×h grey: columns [band, w − band) white, the rest black. */
    static byte[] whiteMiddle(int w, int h, int band) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < h; y++) for (int x = band; x < w - band; x++) img.getRaster().setSample(x, y, 0, 255);
        return TestImages.png(img);
    }

    @Test
    void aWideImageKeepsItsCentredSquareWithoutStretching() {
        // 40×20 with a white 20-column middle: the centred 20×20 square is all white, at any output size
        for (int side : new int[]{20, 10, 28}) {
            ImageDecode.Pixels p = ImageDecode.square(whiteMiddle(40, 20, 10), 1, side);
            assertThat(p.width()).isEqualTo(side);
            assertThat(p.height()).isEqualTo(side);
            for (byte b : p.data()) assertThat(b & 0xff).as("side " + side).isEqualTo(255);
        }
        // a tall one the same way (transpose: 20×40 with white rows is the same test on the other axis)
        BufferedImage tall = new BufferedImage(20, 40, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 10; y < 30; y++) for (int x = 0; x < 20; x++) tall.getRaster().setSample(x, y, 0, 255);
        for (byte b : ImageDecode.square(TestImages.png(tall), 1, 14).data()) assertThat(b & 0xff).isEqualTo(255);
    }

    @Test
    void anImageAtTheSizeIsUntouchedAndRgbHasThreeChannels() {
        byte[] png = TestImages.png(TestImages.gradientImage(28, 28));
        ImageDecode.Pixels grey = ImageDecode.square(png, 1, 28);
        assertThat(grey.data()).isEqualTo(ImageDecode.gray(png).data());
        ImageDecode.Pixels rgb = ImageDecode.square(png, 3, 14);
        assertThat(rgb.channels()).isEqualTo(3);
        assertThat(rgb.data()).hasSize(14 * 14 * 3);
    }
}
