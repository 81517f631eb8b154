package org.sparkmim.job.dataset;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.sparkmim.model.data.FashionMnist;
import org.sparkmim.model.data.ImageSet;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Fashion-MNIST / MNIST IDX files as a source: both splits (train-* → "train", t10k-* → "test"), read by the model
 * module's {@link FashionMnist}/IdxReader (gzip or raw, hardened against bad headers). Keys are
 * {@link ImageSet#key}, e.g. {@code train/123}, the same keys the single-JVM trainer seeds masks with.
 */
public final class IdxSource {
    private IdxSource() { }

    /**
     * @param classNames index → name; null = the Fashion-MNIST names (pass the digits "0".."9" for MNIST)
     */
    public static Listing list(Configuration conf, String root, List<String> classNames) {
        java.nio.file.Path dir = localCopy(conf, root);
        List<String> names = classNames != null ? classNames : Arrays.asList(FashionMnist.CLASSES);
        List<SourceItem> items = new ArrayList<>();
        for (String split : List.of("train", "test")) {
            ImageSet set;
            try {
                set = FashionMnist.load(dir, split);
            } catch (IllegalArgumentException e) {
                throw new DatasetException("--source " + root + " (kind idx): " + e.getMessage(), e);
            }
            int n = set.imageSize();
            byte[] px = set.pixels();
            for (int i = 0; i < set.count(); i++) {
                int label = set.label(i);
                if (label >= names.size()) {
                    throw new DatasetException("--source " + root + ": label " + label + " of " + set.key(i)
                            + " has no class name (" + names.size() + " names given)");
                }
                items.add(SourceItem.idx(set.key(i), label, names.get(label), split,
                        Arrays.copyOfRange(px, i * n, (i + 1) * n), set.width(), set.height()));
            }
        }
        return new Listing(SourceKind.IDX, root, List.copyOf(items), List.of(), List.of(), List.copyOf(names));
    }

    /** True when ROOT holds a train-images-idx3-ubyte[.gz] file. */
    public static boolean looksLikeIdx(Configuration conf, String root) {
        try {
            Path p = new Path(root);
            FileSystem fs = p.getFileSystem(conf);
            for (FileStatus s : fs.listStatus(p)) if (s.getPath().getName().startsWith("train-images-idx3-ubyte")) return true;
            return false;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list source " + root, e);
        }
    }

    /** IdxReader works on java.nio paths: files on HDFS/S3 are copied to a local temp directory first. */
    private static java.nio.file.Path localCopy(Configuration conf, String root) {
        Path p = new Path(root);
        String scheme = p.toUri().getScheme();
        if (scheme == null || scheme.equals("file")) return java.nio.file.Path.of(p.toUri().getPath());
        try {
            FileSystem fs = p.getFileSystem(conf);
            java.nio.file.Path tmp = Files.createTempDirectory("mim-idx-");
            tmp.toFile().deleteOnExit();
            for (FileStatus s : fs.listStatus(p)) {
                if (s.isFile() && s.getPath().getName().contains("-ubyte")) {
                    java.nio.file.Path dst = tmp.resolve(s.getPath().getName());
                    fs.copyToLocalFile(false, s.getPath(), new Path(dst.toUri()), true);
                    dst.toFile().deleteOnExit();
                }
            }
            return tmp;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot copy IDX files from " + root, e);
        }
    }
}
