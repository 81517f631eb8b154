package org.sparkmim.model.data;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** Indexing (HWC), [0,1] scaling, subset keys, and immutability of ImageSet. */
class ImageSetTest {

    /** 3 images of 2x2x2; byte value = 10·image + 4·y + 2·x + c, with one 255 to check unsigned handling. */
    private static ImageSet tiny(int[] labels) {
        byte[] px = new byte[3 * 2 * 2 * 2];
        for (int i = 0; i < 3; i++)
            for (int y = 0; y < 2; y++)
                for (int x = 0; x < 2; x++)
                    for (int c = 0; c < 2; c++) px[i * 8 + (y * 2 + x) * 2 + c] = (byte) (10 * i + 4 * y + 2 * x + c);
        px[px.length - 1] = (byte) 255;
        return new ImageSet(3, 2, 2, 2, px, labels, new String[]{"a", "b"}, "train", "tiny", 0);
    }

    @Test
    void pixelAndCopyImageAreHwcScaledToUnitRange() {
        ImageSet s = tiny(new int[]{0, 1, 1});
        assertThat(s.pixel(1, 1, 0, 1)).isCloseTo((10 + 4 + 1) / 255f, within(1e-7f));
        assertThat(s.pixel(2, 1, 1, 1)).isEqualTo(1f);
        float[] dst = new float[2 + 8];
        s.copyImage(1, dst, 2);
        assertThat(dst[0]).isZero();
        for (int y = 0; y < 2; y++)
            for (int x = 0; x < 2; x++)
                for (int c = 0; c < 2; c++) assertThat(dst[2 + (y * 2 + x) * 2 + c]).isEqualTo(s.pixel(1, y, x, c));
        assertThat(s.label(2)).isEqualTo(1);
        assertThatThrownBy(() -> s.pixel(0, 0, 2, 0)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> s.copyImage(3, dst, 0)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> s.copyImage(0, dst, 3)).isInstanceOf(IndexOutOfBoundsException.class);
    }

    @Test
    void subsetKeepsOriginalKeysAndData() {
        ImageSet s = tiny(new int[]{0, 1, 0});
        ImageSet sub = s.subset(1, 3);
        assertThat(sub.count()).isEqualTo(2);
        assertThat(sub.key(0)).isEqualTo("train/1");
        assertThat(sub.subset(1, 2).key(0)).isEqualTo("train/2");
        assertThat(sub.pixel(0, 1, 0, 1)).isEqualTo(s.pixel(1, 1, 0, 1));
        assertThat(sub.labels()).containsExactly(1, 0);
        assertThat(s.subset(2, 2).count()).isZero();
        assertThatThrownBy(() -> s.subset(2, 4)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("tiny").hasMessageContaining("[2, 4)");
    }

    @Test
    void arraysAreCopiedInAndOut() {
        byte[] px = new byte[4];
        int[] labels = {1};
        String[] names = {"a", "b"};
        ImageSet s = new ImageSet(1, 2, 2, 1, px, labels, names, "train", "copy", 0);
        px[0] = 7;
        labels[0] = 0;
        names[1] = "changed";
        s.pixels()[1] = 9;
        s.labels()[0] = 0;
        s.classNames()[1] = "changed";
        assertThat(s.pixel(0, 0, 0, 0)).isZero();
        assertThat(s.pixel(0, 0, 1, 0)).isZero();
        assertThat(s.label(0)).isEqualTo(1);
        assertThat(s.classNames()).containsExactly("a", "b");
    }

    @Test
    void unlabelledAndInvalidSetsAreClearErrors() {
        ImageSet u = tiny(null);
        assertThat(u.hasLabels()).isFalse();
        assertThat(u.labels()).isNull();
        assertThatThrownBy(() -> u.label(0)).isInstanceOf(IllegalStateException.class).hasMessageContaining("unlabelled");
        assertThatThrownBy(() -> new ImageSet(2, 2, 2, 1, new byte[7], null, null, "s", "src", 0))
                .hasMessageContaining("src").hasMessageContaining("7 pixel bytes").hasMessageContaining("expected 8");
        assertThatThrownBy(() -> new ImageSet(1, 1, 1, 1, new byte[1], new int[]{2}, new String[]{"a", "b"}, "s", "src", 0))
                .hasMessageContaining("label 2").hasMessageContaining("0..1");
        assertThatThrownBy(() -> new ImageSet(1, 1, 1, 1, new byte[1], new int[]{0, 1}, null, "s", "src", 0))
                .hasMessageContaining("2 labels for 1 images");
    }
}
