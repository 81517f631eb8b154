package org.sparkmim.model.data;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;

/**
 * Reads MNIST-style IDX files: unsigned-byte images (magic 0x00000803, dims count×rows×cols) and labels (magic
 * 0x00000801, dim count). Gzip is detected from the content (1f 8b), not the file name, so renamed or
 * decompressed copies both work. Only {@link Files} is used, so any java.nio {@link Path} works (default
 * file system, zipfs, in-memory file systems), with no Hadoop dependency.
 *
 * <p>Every failure names the file and says what was expected versus found, because the usual cause is a wrong
 * data.path or a half-finished download, and the user needs to know which file to fix.
 */
public final class IdxReader {
    static final int IMAGES_MAGIC = 0x00000803;
    static final int LABELS_MAGIC = 0x00000801;
    /** Initial buffer cap: a corrupt header claiming 2 GB must not allocate 2 GB before truncation is noticed. */
    private static final int CHUNK = 1 << 24;

    private IdxReader() { }

    /**
     * Reads images and optional labels. The split used in image keys comes from the file name ("train-images-…" →
     * "train", "t10k-images-…" → "t10k"); use {@link #read(Path, Path, String[], String)} to choose it.
     */
    public static ImageSet read(Path images, Path labelsOrNull, String[] classNames) {
        return read(images, labelsOrNull, classNames, splitFromName(images));
    }

    /** As {@link #read(Path, Path, String[])} with an explicit split name for {@link ImageSet#key}. */
    public static ImageSet read(Path images, Path labelsOrNull, String[] classNames, String split) {
        int count, h, w;
        byte[] px;
        try (DataInputStream in = open(images)) {
            int magic = header(in, images, "magic number");
            checkMagic(magic, IMAGES_MAGIC, images, "image");
            count = header(in, images, "image count");
            h = header(in, images, "row count");
            w = header(in, images, "column count");
            if (count < 0 || h <= 0 || w <= 0 || (long) count * h * w > Integer.MAX_VALUE - 16) {
                throw new IllegalArgumentException(images + ": implausible IDX image dimensions " + count + "x" + h + "x"
                        + w + " (expected count >= 0, rows and columns > 0, at most 2^31 pixel bytes)");
            }
            px = readExactly(in, count * h * w, images, "pixel bytes");
        } catch (IOException e) {
            throw ioError(images, e);
        }
        int[] labels = labelsOrNull == null ? null : readLabels(labelsOrNull, images, count);
        String[] names = classNames == null ? new String[0] : classNames.clone();
        if (labels != null && names.length > 0) {
            // Same check as ImageSet's constructor, but here the message can name the label file.
            for (int i = 0; i < labels.length; i++) {
                if (labels[i] >= names.length) {
                    throw new IllegalArgumentException(labelsOrNull + ": label " + labels[i] + " of image " + i
                            + " is outside 0.." + (names.length - 1) + " (" + names.length + " classes)");
                }
            }
        }
        return new ImageSet(count, h, w, 1, px, labels, names, split, images.toString(), 0, true);
    }

    private static int[] readLabels(Path file, Path images, int imageCount) {
        try (DataInputStream in = open(file)) {
            checkMagic(header(in, file, "magic number"), LABELS_MAGIC, file, "label");
            int n = header(in, file, "label count");
            if (n != imageCount) {
                throw new IllegalArgumentException(file + ": " + n + " labels but " + images + " has " + imageCount
                        + " images (expected the counts to match: are the two files from the same split?)");
            }
            byte[] raw = readExactly(in, n, file, "label bytes");
            int[] labels = new int[n];
            for (int i = 0; i < n; i++) labels[i] = raw[i] & 0xFF;
            return labels;
        } catch (IOException e) {
            throw ioError(file, e);
        }
    }

    private static void checkMagic(int found, int expected, Path file, String kind) {
        if (found == expected) return;
        String hint = found == IMAGES_MAGIC ? " (an IDX image file)" : found == LABELS_MAGIC ? " (an IDX label file)" : "";
        throw new IllegalArgumentException(String.format("%s: not an IDX %s file: expected magic 0x%08x, found 0x%08x%s",
                file, kind, expected, found, hint));
    }

    private static int header(DataInputStream in, Path file, String field) throws IOException {
        try {
            return in.readInt();
        } catch (EOFException e) {
            throw new IllegalArgumentException(file + ": truncated IDX header: file ends before the " + field, e);
        }
    }

    /**
     * Exactly n payload bytes, then end of data. The buffer grows as bytes arrive, so a lying header fails with
     * "truncated" instead of an OutOfMemoryError; trailing bytes are rejected because they mean the header's
     * dimensions do not describe the file (wrong file, or two files concatenated).
     */
    private static byte[] readExactly(InputStream in, int n, Path file, String what) throws IOException {
        byte[] b = new byte[Math.min(n, CHUNK)];
        int off = 0;
        while (off < n) {
            if (off == b.length) b = Arrays.copyOf(b, (int) Math.min(n, 2L * b.length));
            int r;
            try {
                r = in.read(b, off, b.length - off);
            } catch (EOFException e) {
                // GZIPInputStream reports a cut-off stream this way ("Unexpected end of ZLIB input stream").
                r = -1;
            }
            if (r < 0) {
                throw new IllegalArgumentException(file + ": truncated: expected " + n + " " + what + ", found " + off);
            }
            off += r;
        }
        long extra = 0;
        try {
            byte[] sink = new byte[8192];
            for (int r; (r = in.read(sink)) > 0; ) extra += r;
        } catch (EOFException e) {
            // A complete payload followed by a cut-off gzip trailer still counts as corrupt.
            throw new IllegalArgumentException(file + ": truncated: gzip stream ends early after " + n + " " + what, e);
        }
        if (extra > 0) {
            throw new IllegalArgumentException(file + ": expected exactly " + n + " " + what + " after the header, found "
                    + extra + " extra bytes (header dimensions do not match the file)");
        }
        return b;
    }

    private static DataInputStream open(Path p) throws IOException {
        InputStream raw = new BufferedInputStream(Files.newInputStream(p), 1 << 16);
        raw.mark(2);
        int b0 = raw.read(), b1 = raw.read();
        raw.reset();
        InputStream in = (b0 == 0x1f && b1 == 0x8b) ? new BufferedInputStream(new GZIPInputStream(raw, 1 << 16), 1 << 16) : raw;
        return new DataInputStream(in);
    }

    private static RuntimeException ioError(Path file, IOException e) {
        if (e instanceof NoSuchFileException) {
            return new IllegalArgumentException("IDX file not found: " + file, e);
        }
        // ZipException (corrupt gzip) lands here too: say which file, keep the cause.
        return new UncheckedIOException("cannot read IDX file " + file + ": " + e, e);
    }

    /** "train-images-idx3-ubyte.gz" → "train"; any other name → the name up to its first '-' or '.'. */
    static String splitFromName(Path images) {
        Path fn = images.getFileName();
        String name = fn == null ? "images" : fn.toString();
        int cut = name.length();
        for (char c : new char[]{'-', '.'}) {
            int k = name.indexOf(c);
            if (k > 0 && k < cut) cut = k;
        }
        return name.substring(0, cut);
    }
}
