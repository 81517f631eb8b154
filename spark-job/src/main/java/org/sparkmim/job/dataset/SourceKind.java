package org.sparkmim.job.dataset;

import java.util.Locale;

/** How a source directory is laid out (the CLI's --kind). */
public enum SourceKind {
    /** ROOT/&lt;class&gt;/&lt;file&gt; (ILSVRC train): class = first directory, index = position in the sorted names. */
    TREE,
    /** Images anywhere under ROOT, unlabelled (label -1): MIM needs no labels. */
    FLAT,
    /** Fashion-MNIST/MNIST IDX files (train-* and t10k-*, gzipped or raw) in ROOT: splits train and test. */
    IDX,
    /** ILSVRC val: flat ROOT/*.JPEG plus a LOC_val_solution.csv-style labels file, mapped through a class list. */
    IMAGENET_VAL;

    public String cliName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** "tree", "flat", "idx", "imagenet-val" (null for auto-detection). */
    public static SourceKind parse(String s) {
        if (s == null || s.equals("auto")) return null;
        for (SourceKind k : values()) if (k.cliName().equals(s)) return k;
        throw new IllegalArgumentException("--kind " + s + ": allowed auto, tree, flat, idx, imagenet-val");
    }
}
