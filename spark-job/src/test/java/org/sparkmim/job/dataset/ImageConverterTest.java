package org.sparkmim.job.dataset;

import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.sparkmim.job.dataset.TestImages.gradientImage;
import static org.sparkmim.job.dataset.TestImages.jpeg;

/** The per-file conversion on real encoded images, through each codec (turbo runs where libturbojpeg is installed). */
class ImageConverterTest {
    static ImageConverter converter(String codec, Map<String, Object> overrides) {
        PreprocessConfig cfg = PreprocessConfig.from(ConfigFactory.parseMap(overrides)
                .withFallback(ConfigFactory.defaultReference().getConfig("mim.preprocess")));
        return new ImageConverter(cfg, Codecs.byName(codec));
    }

    @ParameterizedTest
    @ValueSource(strings = {"jvm", "turbo"})
    void resizesShorterSideTo256WithTheRightPixels(String codec) throws Exception {
        for (boolean progressive : new boolean[]{false, true}) {
            ImageConverter.Result r = converter(codec, Map.of()).convert(jpeg(gradientImage(640, 480), 92, progressive));
            assertThat(new int[]{r.width(), r.height()}).containsExactly(341, 256);
            assertThat(r.convertedFrom()).isNull();
            ImageDecode.Pixels p = ImageDecode.rgb(r.image());
            assertThat(new int[]{p.width(), p.height()}).containsExactly(341, 256);
            PixelChecks.assertGradient(p, 8, codec + (progressive ? " progressive" : " baseline"));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"jvm", "turbo"})
    void convertsCmykGrayPngAndAppliesExifRotation(String codec) throws Exception {
        ImageConverter c = converter(codec, Map.of());
        ImageConverter.Result cmyk = c.convert(TestImages.cmykJpeg(120, 80));
        assertThat(cmyk.convertedFrom()).isIn("jpeg/cmyk", "jpeg/ycck");
        ImageDecode.Pixels p = ImageDecode.rgb(cmyk.image());
        PixelChecks.assertReddish(PixelChecks.at(p, 20, 40), "CMYK red ink");
        PixelChecks.assertBluish(PixelChecks.at(p, 100, 40), "CMYK blue ink");

        ImageConverter.Result gray = c.convert(TestImages.grayJpeg(160, 120));
        assertThat(gray.convertedFrom()).isEqualTo("jpeg/gray");
        ImageDecode.Pixels g = ImageDecode.rgb(gray.image());
        int[] mid = PixelChecks.at(g, 80, 60);
        assertThat(mid[0]).isCloseTo(125, org.assertj.core.data.Offset.offset(6));
        assertThat(Math.abs(mid[0] - mid[1]) + Math.abs(mid[1] - mid[2])).as("grey stays grey").isLessThanOrEqualTo(4);

        ImageConverter.Result png = c.convert(TestImages.png(gradientImage(320, 240)));
        assertThat(png.convertedFrom()).isEqualTo("png");
        PixelChecks.assertGradient(ImageDecode.rgb(png.image()), 6, "PNG source");

        // Orientation 6: the stored left (red) half is the top of the upright picture.
        ImageConverter.Result rot = c.convert(TestImages.withExifOrientation(jpeg(TestImages.halves(200, 100), 95, false), 6));
        assertThat(new int[]{rot.width(), rot.height()}).containsExactly(100, 200);
        ImageDecode.Pixels rp = ImageDecode.rgb(rot.image());
        PixelChecks.assertReddish(PixelChecks.at(rp, 50, 40), "top after rotation");
        PixelChecks.assertBluish(PixelChecks.at(rp, 50, 160), "bottom after rotation");
    }

    @ParameterizedTest
    @ValueSource(strings = {"jvm", "turbo"})
    void rejectsBadFilesWithAReason(String codec) {
        ImageConverter c = converter(codec, Map.of());
        assertThatThrownBy(() -> c.convert(new byte[0])).hasMessageContaining("empty file");
        assertThatThrownBy(() -> c.convert("<html>".getBytes())).hasMessageContaining("not an image");
        assertThatThrownBy(() -> c.convert(TestImages.truncated(jpeg(gradientImage(300, 200), 90, false))))
                .isInstanceOf(BadImageException.class).hasMessageContaining("truncated");
        assertThatThrownBy(() -> c.convert(TestImages.declaring(60000, 60000)))
                .hasMessageContaining("60000x60000").hasMessageContaining("mim.preprocess.max-pixels");
    }

    @ParameterizedTest
    @ValueSource(strings = {"jvm", "turbo"})
    void keepsOriginalBytesOnlyWhenAskedAndSafe(String codec) throws Exception {
        byte[] small = jpeg(gradientImage(200, 150), 90, false);
        assertThat(converter(codec, Map.of("keep-original-if-small", true)).convert(small).image()).isEqualTo(small);
        assertThat(converter(codec, Map.of()).convert(small).image()).isNotEqualTo(small);
        byte[] big = jpeg(gradientImage(640, 480), 90, false);
        assertThat(converter(codec, Map.of("keep-original-if-small", true)).convert(big).keptOriginal()).isFalse();
    }
}
