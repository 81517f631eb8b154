package org.sparkmim.model.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.zip.GZIPOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** IDX parsing on synthetic files: gzip or raw, any nio Path, and every malformed case names the file. */
class IdxReaderTest {

    /** An IDX file: magic, dims, then the payload (header claims may deliberately disagree with the payload). */
    static void idx(Path p, int magic, int[] dims, byte[] payload, boolean gzip) throws IOException {
        ByteBuffer h = ByteBuffer.allocate(4 + 4 * dims.length);
        h.putInt(magic);
        for (int d : dims) h.putInt(d);
        try (OutputStream o = gzip ? new GZIPOutputStream(Files.newOutputStream(p)) : Files.newOutputStream(p)) {
            o.write(h.array());
            o.write(payload);
        }
    }

    static byte[] noise(int n, long seed) {
        byte[] b = new byte[n];
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < n; i++) b[i] = (byte) r.nextInt(256);
        return b;
    }

    @Test
    void gzipAndRawGiveTheSameImagesAndLabels(@TempDir Path tmp) throws IOException {
        byte[] px = noise(5 * 28 * 28, 1);
        byte[] lab = {0, 9, 3, 3, 7};
        Path gzI = tmp.resolve("train-images-idx3-ubyte.gz"), gzL = tmp.resolve("train-labels-idx1-ubyte.gz");
        Path rawI = tmp.resolve("renamed.gz"), rawL = tmp.resolve("l");   // detection is by content, not by name
        idx(gzI, 0x803, new int[]{5, 28, 28}, px, true);
        idx(gzL, 0x801, new int[]{5}, lab, true);
        idx(rawI, 0x803, new int[]{5, 28, 28}, px, false);
        idx(rawL, 0x801, new int[]{5}, lab, false);
        ImageSet a = IdxReader.read(gzI, gzL, FashionMnist.CLASSES);
        ImageSet b = IdxReader.read(rawI, rawL, FashionMnist.CLASSES);
        for (ImageSet s : new ImageSet[]{a, b}) {
            assertThat(new int[]{s.count(), s.height(), s.width(), s.channels()}).containsExactly(5, 28, 28, 1);
            assertThat(s.pixels()).isEqualTo(px);
            assertThat(s.labels()).containsExactly(0, 9, 3, 3, 7);
            assertThat(s.classNames()).hasSize(10);
        }
        assertThat(a.key(4)).isEqualTo("train/4");
        assertThat(a.source()).isEqualTo(gzI.toString());
        assertThat(IdxReader.read(rawI, null, FashionMnist.CLASSES).hasLabels()).isFalse();
    }

    @Test
    void readsFromANonDefaultFileSystem(@TempDir Path tmp) throws IOException {
        byte[] px = noise(2 * 4 * 3, 2);
        try (FileSystem zip = FileSystems.newFileSystem(URI.create("jar:" + tmp.resolve("d.zip").toUri()), Map.of("create", "true"))) {
            Path img = zip.getPath("/t10k-images-idx3-ubyte.gz");
            Path lab = zip.getPath("/t10k-labels-idx1-ubyte");
            idx(img, 0x803, new int[]{2, 4, 3}, px, true);
            idx(lab, 0x801, new int[]{2}, new byte[]{1, 8}, false);
            ImageSet s = IdxReader.read(img, lab, FashionMnist.CLASSES);
            assertThat(s.pixels()).isEqualTo(px);
            assertThat(s.labels()).containsExactly(1, 8);
            assertThat(s.key(1)).isEqualTo("t10k/1");
        }
    }

    @Test
    void shortPayloadReportsExpectedAndFoundBytes(@TempDir Path tmp) throws IOException {
        Path f = tmp.resolve("short-images-idx3-ubyte.gz");
        idx(f, 0x803, new int[]{10_000, 28, 28}, new byte[1234], true);
        assertThatThrownBy(() -> IdxReader.read(f, null, FashionMnist.CLASSES))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(f.toString())
                .hasMessageContaining("truncated: expected 7840000 pixel bytes, found 1234");
    }

    @Test
    void cutOffGzipFileIsReportedAsTruncated(@TempDir Path tmp) throws IOException {
        // A half-finished download: the gzip stream itself stops mid-way (no trailer).
        Path full = tmp.resolve("full.gz");
        idx(full, 0x803, new int[]{100, 28, 28}, noise(100 * 784, 3), true);
        byte[] bytes = Files.readAllBytes(full);
        Path cut = tmp.resolve("train-images-idx3-ubyte.gz");
        Files.write(cut, Arrays.copyOf(bytes, bytes.length / 2));
        assertThatThrownBy(() -> IdxReader.read(cut, null, FashionMnist.CLASSES))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(cut.toString())
                .hasMessageMatching(".*truncated: expected 78400 pixel bytes, found \\d+.*");

        Path empty = Files.createFile(tmp.resolve("empty-labels"));
        assertThatThrownBy(() -> IdxReader.read(full, empty, FashionMnist.CLASSES))
                .hasMessageContaining(empty.toString()).hasMessageContaining("truncated IDX header");
    }

    @Test
    void trailingBytesAreRejected(@TempDir Path tmp) throws IOException {
        Path f = tmp.resolve("long-images-idx3-ubyte");
        idx(f, 0x803, new int[]{2, 28, 28}, new byte[2 * 784 + 5], false);
        assertThatThrownBy(() -> IdxReader.read(f, null, FashionMnist.CLASSES))
                .hasMessageContaining(f.toString()).hasMessageContaining("expected exactly 1568 pixel bytes")
                .hasMessageContaining("found 5 extra bytes");
    }

    @Test
    void wrongMagicNamesFileExpectedAndFound(@TempDir Path tmp) throws IOException {
        Path labelsAsImages = tmp.resolve("swapped-images-idx3-ubyte.gz");
        idx(labelsAsImages, 0x801, new int[]{1}, new byte[1], true);
        assertThatThrownBy(() -> IdxReader.read(labelsAsImages, null, FashionMnist.CLASSES))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(labelsAsImages.toString())
                .hasMessageContaining("expected magic 0x00000803, found 0x00000801 (an IDX label file)");

        Path img = tmp.resolve("ok-images");
        Path notIdx = tmp.resolve("README.txt");
        idx(img, 0x803, new int[]{1, 2, 2}, new byte[4], false);
        Files.writeString(notIdx, "hello, world");
        assertThatThrownBy(() -> IdxReader.read(img, notIdx, FashionMnist.CLASSES))
                .hasMessageContaining(notIdx.toString()).hasMessageContaining("expected magic 0x00000801, found 0x");
    }

    @Test
    void labelImageCountMismatchNamesBothFiles(@TempDir Path tmp) throws IOException {
        Path imgs = tmp.resolve("ok-images-idx3-ubyte.gz");
        Path labs = tmp.resolve("ok-labels-idx1-ubyte.gz");
        idx(imgs, 0x803, new int[]{3, 28, 28}, new byte[3 * 784], true);
        idx(labs, 0x801, new int[]{4}, new byte[4], true);
        assertThatThrownBy(() -> IdxReader.read(imgs, labs, FashionMnist.CLASSES))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(labs.toString()).hasMessageContaining(imgs.toString())
                .hasMessageContaining("4 labels").hasMessageContaining("3 images");
    }

    @Test
    void badLabelsDimensionsCorruptGzipAndMissingFiles(@TempDir Path tmp) throws IOException {
        Path imgs = tmp.resolve("i");
        Path labs = tmp.resolve("l");
        idx(imgs, 0x803, new int[]{2, 2, 2}, new byte[8], false);
        idx(labs, 0x801, new int[]{2}, new byte[]{3, 10}, false);
        assertThatThrownBy(() -> IdxReader.read(imgs, labs, FashionMnist.CLASSES))
                .hasMessageContaining(labs.toString()).hasMessageContaining("label 10 of image 1").hasMessageContaining("0..9");

        Path dims = tmp.resolve("dims");
        idx(dims, 0x803, new int[]{-1, 28, 28}, new byte[0], false);
        assertThatThrownBy(() -> IdxReader.read(dims, null, FashionMnist.CLASSES))
                .hasMessageContaining(dims.toString()).hasMessageContaining("implausible IDX image dimensions -1x28x28");

        // A lying header must fail as truncated, not by allocating 2 GB first.
        Path huge = tmp.resolve("huge.gz");
        idx(huge, 0x803, new int[]{2_700_000, 28, 28}, new byte[100], true);
        assertThatThrownBy(() -> IdxReader.read(huge, null, FashionMnist.CLASSES))
                .hasMessageContaining("expected 2116800000 pixel bytes, found 100");

        Path corrupt = tmp.resolve("corrupt.gz");
        Files.write(corrupt, new byte[]{0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 'n', 'o', 't', ' ', 'd', 'e', 'f', 'l'});
        assertThatThrownBy(() -> IdxReader.read(corrupt, null, FashionMnist.CLASSES))
                .isInstanceOf(UncheckedIOException.class).hasMessageContaining(corrupt.toString());

        Path none = tmp.resolve("no-such-images.gz");
        assertThatThrownBy(() -> IdxReader.read(none, null, FashionMnist.CLASSES))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not found").hasMessageContaining(none.toString());
    }
}
