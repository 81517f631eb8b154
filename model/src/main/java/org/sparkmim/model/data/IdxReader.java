package org.sparkmim.model.data;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/** Reads MNIST-style IDX files (ubyte images 0x00000803, labels 0x00000801), gzip or raw, detected by magic. */
public final class IdxReader {
    static final int IMAGES_MAGIC = 0x00000803;
    static final int LABELS_MAGIC = 0x00000801;

    private IdxReader() { }

    public static ImageSet read(Path images, Path labelsOrNull, String[] classNames, String split) {
        int count, h, w;
        byte[] px;
        try (DataInputStream in = open(images)) {
            int magic = in.readInt();
            if (magic != IMAGES_MAGIC) {
                throw new IllegalArgumentException(images + ": not an IDX image file (magic 0x" + Integer.toHexString(magic)
                        + ", expected 0x00000803)");
            }
            count = in.readInt();
            h = in.readInt();
            w = in.readInt();
            if (count < 0 || h <= 0 || w <= 0 || (long) count * h * w > Integer.MAX_VALUE - 16) {
                throw new IllegalArgumentException(images + ": implausible IDX dimensions " + count + "x" + h + "x" + w);
            }
            px = readFully(in, count * h * w, images, "pixel bytes");
        } catch (EOFException e) {
            throw new IllegalArgumentException(images + ": truncated IDX header", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read IDX file " + images + ": " + e.getMessage(), e);
        }
        int[] labels = null;
        if (labelsOrNull != null) {
            try (DataInputStream in = open(labelsOrNull)) {
                int magic = in.readInt();
                if (magic != LABELS_MAGIC) {
                    throw new IllegalArgumentException(labelsOrNull + ": not an IDX label file (magic 0x"
                            + Integer.toHexString(magic) + ", expected 0x00000801)");
                }
                int n = in.readInt();
                if (n != count) {
                    throw new IllegalArgumentException(labelsOrNull + ": " + n + " labels but " + images + " has " + count + " images");
                }
                byte[] raw = readFully(in, n, labelsOrNull, "label bytes");
                labels = new int[n];
                for (int i = 0; i < n; i++) {
                    labels[i] = raw[i] & 0xFF;
                    if (classNames != null && classNames.length > 0 && labels[i] >= classNames.length) {
                        throw new IllegalArgumentException(labelsOrNull + ": label " + labels[i] + " at " + i
                                + " outside 0.." + (classNames.length - 1));
                    }
                }
            } catch (EOFException e) {
                throw new IllegalArgumentException(labelsOrNull + ": truncated IDX header", e);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read IDX file " + labelsOrNull + ": " + e.getMessage(), e);
            }
        }
        return new ImageSet(count, h, w, 1, px, labels, classNames, split, images.toString(), 0);
    }

    private static byte[] readFully(DataInputStream in, int n, Path file, String what) throws IOException {
        byte[] b = new byte[n];
        int off = 0;
        while (off < n) {
            int r;
            try {
                r = in.read(b, off, n - off);
            } catch (EOFException e) {
                r = -1;
            }
            if (r < 0) {
                throw new IllegalArgumentException(file + ": truncated: expected " + n + " " + what + ", found " + off);
            }
            off += r;
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
}
