package org.sparkmim.model.data;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Fashion-MNIST (Zalando, MIT): the bundled 10k/2k sample in data/fashion-mnist-sample, or the full set from
 * the Debian package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist), or any directory via data.path.
 */
public final class FashionMnist {
    public static final String[] CLASSES = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
            "Sneaker", "Bag", "Ankle boot"};
    public static final Path SYSTEM = Path.of("/usr/share/datasets/fashion-mnist");
    static final String SAMPLE = "data/fashion-mnist-sample";

    private FashionMnist() { }

    /** split: "train" or "test" (files train-* or t10k-*, gzip or raw). */
    public static ImageSet load(Path dir, String split) {
        String prefix = switch (split) {
            case "train" -> "train";
            case "test" -> "t10k";
            default -> throw new IllegalArgumentException("split must be train or test, got " + split);
        };
        if (!Files.isDirectory(dir)) throw missing(dir, "directory");
        Path img = find(dir, prefix + "-images-idx3-ubyte");
        Path lab = find(dir, prefix + "-labels-idx1-ubyte");
        return IdxReader.read(img, lab, CLASSES, split);
    }

    private static Path find(Path dir, String base) {
        for (String ext : new String[]{".gz", ""}) {
            Path p = dir.resolve(base + ext);
            if (Files.isRegularFile(p)) return p;
        }
        throw missing(dir.resolve(base + ".gz"), "file");
    }

    private static IllegalArgumentException missing(Path p, String what) {
        return new IllegalArgumentException("Fashion-MNIST " + what + " not found: " + p + ". Set data.path to a directory "
                + "holding train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and "
                + "t10k-labels-idx1-ubyte.gz, or install the full set with 'apt-get install dataset-fashion-mnist' ("
                + SYSTEM + ")");
    }

    /** data.path if set; else the bundled sample under the project home (-Dmim.home or a parent of the cwd). */
    public static Path locate(String configured) {
        if (configured != null && !configured.isBlank()) {
            return configured.equals("system") ? SYSTEM : Path.of(configured);
        }
        String home = System.getProperty("mim.home");
        if (home != null && !home.isBlank()) return Path.of(home).resolve(SAMPLE);
        Path p = Path.of("").toAbsolutePath();
        while (p != null) {
            if (Files.isDirectory(p.resolve(SAMPLE))) return p.resolve(SAMPLE);
            p = p.getParent();
        }
        throw missing(Path.of(SAMPLE), "bundled sample directory");
    }
}
