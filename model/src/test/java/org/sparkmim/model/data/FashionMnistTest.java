package org.sparkmim.model.data;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The bundled sample is real Fashion-MNIST; bad IDX input fails with an error naming the file. */
class FashionMnistTest {

    @Test
    void bundledSampleHasExpectedCountsShapesAndAllClasses() {
        Path dir = FashionMnist.locate("");
        ImageSet train = FashionMnist.load(dir, "train");
        ImageSet test = FashionMnist.load(dir, "test");
        assertThat(train.count()).isEqualTo(10_000);
        assertThat(test.count()).isEqualTo(2_000);
        assertThat(new int[]{train.height(), train.width(), train.channels()}).containsExactly(28, 28, 1);
        assertThat(Arrays.stream(train.labels()).distinct().sorted().toArray()).containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
        assertThat(Arrays.stream(test.labels()).allMatch(l -> l >= 0 && l < 10)).isTrue();
        // real clothing pictures, not noise: dark background (mean well below mid-grey), some bright pixels
        double mean = 0;
        for (byte b : train.pixels()) mean += (b & 0xFF);
        mean /= train.pixels().length * 255.0;
        assertThat(mean).isBetween(0.2, 0.4);
        assertThat(train.key(5)).isEqualTo("train/5");
        assertThat(train.subset(100, 200).key(0)).isEqualTo("train/100");
    }

    @Test
    void bundledSampleIsByteIdenticalToTheFirstImagesOfTheFullSet() {
        Assumptions.assumeTrue(Files.isDirectory(FashionMnist.SYSTEM), "full Fashion-MNIST not installed");
        ImageSet fullTrain = FashionMnist.load(FashionMnist.SYSTEM, "train");
        ImageSet fullTest = FashionMnist.load(FashionMnist.SYSTEM, "test");
        assertThat(fullTrain.count()).isEqualTo(60_000);
        assertThat(fullTest.count()).isEqualTo(10_000);
        ImageSet train = FashionMnist.load(FashionMnist.locate(""), "train");
        ImageSet test = FashionMnist.load(FashionMnist.locate(""), "test");
        assertThat(train.pixels()).isEqualTo(fullTrain.subset(0, 10_000).pixels());
        assertThat(train.labels()).isEqualTo(fullTrain.subset(0, 10_000).labels());
        assertThat(test.pixels()).isEqualTo(fullTest.subset(0, 2_000).pixels());
    }

    static void idx(Path p, int magic, int[] dims, int payload, boolean gzip) throws IOException {
        ByteBuffer h = ByteBuffer.allocate(4 + 4 * dims.length);
        h.putInt(magic);
        for (int d : dims) h.putInt(d);
        try (OutputStream o = gzip ? new GZIPOutputStream(Files.newOutputStream(p)) : Files.newOutputStream(p)) {
            o.write(h.array());
            o.write(new byte[payload]);
        }
    }

    @Test
    void truncatedWrongMagicMismatchedAndMissingInputsAreClearErrors(@TempDir Path tmp) throws IOException {
        Path trunc = tmp.resolve("trunc-images-idx3-ubyte.gz");
        idx(trunc, 0x803, new int[]{10, 28, 28}, 1234, true);
        assertThatThrownBy(() -> IdxReader.read(trunc, null, FashionMnist.CLASSES, "x"))
                .hasMessageContaining(trunc.toString()).hasMessageContaining("truncated")
                .hasMessageContaining("expected 7840").hasMessageContaining("found 1234");

        Path magic = tmp.resolve("magic-images-idx3-ubyte");
        idx(magic, 0x801, new int[]{1, 28, 28}, 784, false);
        assertThatThrownBy(() -> IdxReader.read(magic, null, FashionMnist.CLASSES, "x"))
                .hasMessageContaining(magic.toString()).hasMessageContaining("0x00000803");

        Path imgs = tmp.resolve("ok-images-idx3-ubyte.gz");
        Path labs = tmp.resolve("ok-labels-idx1-ubyte.gz");
        idx(imgs, 0x803, new int[]{3, 28, 28}, 3 * 784, true);
        idx(labs, 0x801, new int[]{4}, 4, true);
        assertThatThrownBy(() -> IdxReader.read(imgs, labs, FashionMnist.CLASSES, "x"))
                .hasMessageContaining("4 labels").hasMessageContaining("3 images");

        Path empty = Files.createDirectory(tmp.resolve("empty"));
        assertThatThrownBy(() -> FashionMnist.load(empty, "train"))
                .hasMessageContaining("train-images-idx3-ubyte").hasMessageContaining("data.path")
                .hasMessageContaining("apt-get install dataset-fashion-mnist");
        assertThatThrownBy(() -> FashionMnist.load(tmp.resolve("nope"), "test"))
                .hasMessageContaining("nope").hasMessageContaining("data.path");
    }
}
