package org.sparkmim.job.dataset;

import static org.assertj.core.api.Assertions.assertThat;

/** Pixel comparisons with tolerance between decoded dataset images and what the test images should become. */
public final class PixelChecks {
    private PixelChecks() { }

    /** Every 8th interior pixel is within {@code tol} levels of {@link TestImages#gradient}. */
    public static void assertGradient(ImageDecode.Pixels p, int tol, String what) {
        int worst = 0;
        for (int y = 2; y < p.height() - 2; y += 8) {
            for (int x = 2; x < p.width() - 2; x += 8) {
                int[] want = TestImages.gradient((x + 0.5) / p.width(), (y + 0.5) / p.height());
                for (int c = 0; c < 3; c++) {
                    worst = Math.max(worst, Math.abs((p.data()[(y * p.width() + x) * 3 + c] & 0xFF) - want[c]));
                }
            }
        }
        assertThat(worst).as(what + ": worst channel error vs the source gradient").isLessThanOrEqualTo(tol);
    }

    /** The RGB at (x, y). */
    public static int[] at(ImageDecode.Pixels p, int x, int y) {
        int i = (y * p.width() + x) * p.channels();
        return new int[]{p.data()[i] & 0xFF, p.data()[i + 1] & 0xFF, p.data()[i + 2] & 0xFF};
    }

    public static void assertReddish(int[] rgb, String what) {
        assertThat(rgb[0]).as(what + " R of " + java.util.Arrays.toString(rgb)).isGreaterThan(170);
        assertThat(rgb[1]).as(what + " G of " + java.util.Arrays.toString(rgb)).isLessThan(90);
        assertThat(rgb[2]).as(what + " B of " + java.util.Arrays.toString(rgb)).isLessThan(90);
    }

    public static void assertBluish(int[] rgb, String what) {
        assertThat(rgb[2]).as(what + " B of " + java.util.Arrays.toString(rgb)).isGreaterThan(120);
        assertThat(rgb[0]).as(what + " R of " + java.util.Arrays.toString(rgb)).isLessThan(110);
    }
}
