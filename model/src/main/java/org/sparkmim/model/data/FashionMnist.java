package org.sparkmim.model.data;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Fashion-MNIST (Zalando SE, MIT license): the bundled 10k/2k sample in data/fashion-mnist-sample (so the demo
 * and tests run offline with no install), the full set from the Debian package dataset-fashion-mnist
 * ({@link #systemPath()}), or any directory holding the four standard IDX files via the config key data.path.
 */
public final class FashionMnist {
    public static final String[] CLASSES = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
            "Sneaker", "Bag", "Ankle boot"};
    public static final Path SYSTEM = Path.of("/usr/share/datasets/fashion-mnist");
    static final String SAMPLE = "data/fashion-mnist-sample";
    static final String CONFIG_KEY = "data.path";

    private FashionMnist() { }

    /** Where dataset-fashion-mnist installs the full 60k/10k set. */
    public static Path systemPath() {
        return SYSTEM;
    }

    /**
     * split "train" (files train-*) or "test" (files t10k-*); each file may be gzipped (.gz) or raw (no suffix).
     * Keys of the returned images are "train/i" or "test/i".
     */
    public static ImageSet load(Path dir, String split) {
        String prefix;
        if ("train".equals(split)) {
            prefix = "train";
        } else if ("test".equals(split)) {
            prefix = "t10k";
        } else {
            throw new IllegalArgumentException("Fashion-MNIST split must be \"train\" or \"test\", got " + split);
        }
        if (dir == null || !Files.isDirectory(dir)) throw missing(String.valueOf(dir), "directory");
        Path img = find(dir, prefix + "-images-idx3-ubyte");
        Path lab = find(dir, prefix + "-labels-idx1-ubyte");
        return IdxReader.read(img, lab, CLASSES, split);
    }

    /** Gzip first: it is what upstream and Debian ship; a raw file is what a user gets after gunzip. */
    private static Path find(Path dir, String base) {
        for (String ext : new String[]{".gz", ""}) {
            Path p = dir.resolve(base + ext);
            if (Files.isRegularFile(p)) return p;
        }
        throw missing(dir.resolve(base + ".gz") + " (or uncompressed " + base + ")", "file");
    }

    private static IllegalArgumentException missing(String what, String kind) {
        return new IllegalArgumentException("Fashion-MNIST " + kind + " not found: " + what + ". Fix: install the full "
                + "set with 'apt-get install dataset-fashion-mnist' (" + SYSTEM + ", or set " + CONFIG_KEY + "=system), or "
                + "point " + CONFIG_KEY + " at a directory holding train-images-idx3-ubyte.gz, "
                + "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz");
    }

    /**
     * The data directory: data.path when set ("system" meaning {@link #systemPath()}); otherwise the bundled sample
     * under the project home, i.e. -Dmim.home, else the nearest ancestor of the working directory that holds
     * data/fashion-mnist-sample (so it works from the repo root, a module directory, or the bin/ launcher).
     * Existence of the returned directory is checked by {@link #load}, whose error then names it.
     */
    public static Path locate(String configured) {
        if (configured != null && !configured.isBlank()) {
            return configured.strip().equals("system") ? SYSTEM : Path.of(configured.strip());
        }
        String home = System.getProperty("mim.home");
        if (home != null && !home.isBlank()) return Path.of(home).resolve(SAMPLE);
        Path cwd = Path.of("").toAbsolutePath();
        for (Path p = cwd; p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve(SAMPLE))) return p.resolve(SAMPLE);
        }
        throw missing("bundled sample " + SAMPLE + " (" + CONFIG_KEY + " is empty, -Dmim.home is unset, and no ancestor of "
                + cwd + " contains it)", "directory");
    }
}
