package org.sparkmim.model.data;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.zip.GZIPInputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The bundled sample is real Fashion-MNIST; locating and loading fail with errors naming path, key and fix. */
class FashionMnistTest {
    /** The full set takes ~1 s to decompress; load each split once for the whole class. */
    private static final Map<String, ImageSet> FULL = new HashMap<>();

    private static ImageSet full(String split) {
        Assumptions.assumeTrue(Files.isDirectory(FashionMnist.systemPath()),
                "full Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)");
        return FULL.computeIfAbsent(split, s -> FashionMnist.load(FashionMnist.systemPath(), s));
    }

    private static ImageSet sample(String split) {
        return FashionMnist.load(FashionMnist.locate(""), split);
    }

    @Test
    void bundledSampleHasExpectedCountsShapesAndAllClasses() {
        ImageSet train = sample("train");
        ImageSet test = sample("test");
        assertThat(train.count()).isEqualTo(10_000);
        assertThat(test.count()).isEqualTo(2_000);
        for (ImageSet s : new ImageSet[]{train, test}) {
            assertThat(new int[]{s.height(), s.width(), s.channels()}).containsExactly(28, 28, 1);
            assertThat(Arrays.stream(s.labels()).distinct().sorted().toArray()).containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
            assertThat(s.classNames()).containsExactly("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                    "Shirt", "Sneaker", "Bag", "Ankle boot");
        }
        // real clothing pictures, not noise or zeros: dark background (Fashion-MNIST's mean is 0.286)
        double mean = 0;
        for (byte b : train.pixels()) mean += (b & 0xFF);
        mean /= train.count() * 784 * 255.0;
        assertThat(mean).isBetween(0.2, 0.4);
        assertThat(train.key(5)).isEqualTo("train/5");
        assertThat(test.key(5)).isEqualTo("test/5");
        assertThat(train.subset(100, 200).key(0)).isEqualTo("train/100");
    }

    @Test
    void bundledSampleIsByteIdenticalToTheFirstImagesOfTheFullSet() {
        ImageSet fullTrain = full("train").subset(0, 10_000);
        ImageSet fullTest = full("test").subset(0, 2_000);
        ImageSet train = sample("train");
        ImageSet test = sample("test");
        assertThat(train.pixels()).isEqualTo(fullTrain.pixels());
        assertThat(train.labels()).isEqualTo(fullTrain.labels());
        assertThat(test.pixels()).isEqualTo(fullTest.pixels());
        assertThat(test.labels()).isEqualTo(fullTest.labels());
    }

    @Test
    void fullSetHas60000TrainAnd10000TestImages() {
        assertThat(full("train").count()).isEqualTo(60_000);
        assertThat(full("test").count()).isEqualTo(10_000);
        assertThat(full("test").height()).isEqualTo(28);
        assertThat(FashionMnist.locate("system")).isEqualTo(FashionMnist.systemPath());
    }

    @Test
    void uncompressedFilesLoadToo(@TempDir Path tmp) throws IOException {
        Path dir = FashionMnist.locate("");
        for (String f : new String[]{"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}) {
            try (InputStream in = new GZIPInputStream(Files.newInputStream(dir.resolve(f + ".gz")))) {
                Files.copy(in, tmp.resolve(f));
            }
        }
        ImageSet raw = FashionMnist.load(tmp, "test");
        ImageSet gz = FashionMnist.load(dir, "test");
        assertThat(raw.source()).endsWith("t10k-images-idx3-ubyte");
        assertThat(raw.pixels()).isEqualTo(gz.pixels());
        assertThat(raw.labels()).isEqualTo(gz.labels());
    }

    @Test
    void missingDirectoryOrFileNamesPathConfigKeyAndFix(@TempDir Path tmp) throws IOException {
        Path nope = tmp.resolve("nope");
        assertThatThrownBy(() -> FashionMnist.load(nope, "test"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("directory not found: " + nope).hasMessageContaining("data.path")
                .hasMessageContaining("apt-get install dataset-fashion-mnist")
                .hasMessageContaining("train-images-idx3-ubyte.gz");

        Path empty = Files.createDirectory(tmp.resolve("empty"));
        assertThatThrownBy(() -> FashionMnist.load(empty, "train"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(empty.resolve("train-images-idx3-ubyte.gz").toString())
                .hasMessageContaining("data.path").hasMessageContaining("apt-get install dataset-fashion-mnist");

        // images present, labels missing: the error names the labels file, not the directory
        Files.copy(FashionMnist.locate("").resolve("t10k-images-idx3-ubyte.gz"), empty.resolve("t10k-images-idx3-ubyte.gz"));
        assertThatThrownBy(() -> FashionMnist.load(empty, "test"))
                .hasMessageContaining(empty.resolve("t10k-labels-idx1-ubyte.gz").toString());

        assertThatThrownBy(() -> FashionMnist.load(empty, "validation"))
                .hasMessageContaining("\"train\" or \"test\"").hasMessageContaining("validation");
    }

    @Test
    void locatePrefersConfiguredThenMimHomeThenAncestors(@TempDir Path tmp) {
        assertThat(FashionMnist.locate(tmp.toString())).isEqualTo(tmp);
        Path walked = FashionMnist.locate("");
        assertThat(walked).endsWith(Path.of("data", "fashion-mnist-sample"));
        assertThat(walked).isDirectory();
        String before = System.getProperty("mim.home");
        try {
            System.setProperty("mim.home", tmp.toString());
            Path p = FashionMnist.locate(null);
            assertThat(p).isEqualTo(tmp.resolve("data/fashion-mnist-sample"));
            assertThatThrownBy(() -> FashionMnist.load(p, "train")).hasMessageContaining(p.toString());
        } finally {
            if (before == null) System.clearProperty("mim.home"); else System.setProperty("mim.home", before);
        }
    }
}
