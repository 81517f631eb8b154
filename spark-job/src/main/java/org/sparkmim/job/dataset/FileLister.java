package org.sparkmim.job.dataset;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Lists an image tree, a flat folder or an ILSVRC val folder on any Hadoop file system (file://, hdfs://, s3a://).
 * Every file found ends up in exactly one of items, skipped or rejected.
 */
public final class FileLister {
    private FileLister() { }

    /** A file found under the root: key = path relative to the root, '/'-separated. */
    record Found(String key, String uri, long size) { }

    public static Listing list(Configuration conf, String root, SourceKind kind, PreprocessConfig cfg, String split,
                               Map<String, String> valLabels, List<String> valClasses) {
        List<Found> files = walk(conf, root);
        List<SourceItem> items = new ArrayList<>();
        List<Reject> skipped = new ArrayList<>(), rejected = new ArrayList<>();
        List<Found> images = new ArrayList<>();
        for (Found f : files) {
            String name = f.key().substring(f.key().lastIndexOf('/') + 1);
            if (name.startsWith(".") || name.startsWith("_")) {
                skipped.add(new Reject(f.key(), "hidden or marker file (name starts with '.' or '_')"));
            } else if (!cfg.isImageName(name)) {
                skipped.add(new Reject(f.key(), "not an image file name (extension not in mim.preprocess.extensions)"));
            } else if (kind == SourceKind.TREE && !f.key().contains("/")) {
                skipped.add(new Reject(f.key(), "image outside any class directory (tree layout is ROOT/<class>/<file>)"));
            } else {
                images.add(f);
            }
        }
        List<String> classes = List.of();
        switch (kind) {
            case TREE -> {
                TreeSet<String> names = new TreeSet<>();
                for (Found f : images) names.add(f.key().substring(0, f.key().indexOf('/')));
                classes = List.copyOf(names);
                Map<String, Integer> index = indexOf(classes);
                for (Found f : images) {
                    String cls = f.key().substring(0, f.key().indexOf('/'));
                    items.add(SourceItem.file(f.key(), f.uri(), f.size(), index.get(cls), cls, split));
                }
            }
            case FLAT -> images.forEach(f -> items.add(SourceItem.file(f.key(), f.uri(), f.size(), -1, null, split)));
            case IMAGENET_VAL -> {
                classes = List.copyOf(valClasses);
                Map<String, Integer> index = indexOf(classes);
                for (Found f : images) {
                    String name = f.key().substring(f.key().lastIndexOf('/') + 1);
                    String id = name.contains(".") ? name.substring(0, name.lastIndexOf('.')) : name;
                    String synset = valLabels.get(id);
                    int label = synset == null ? -1 : index.getOrDefault(synset, -1);
                    if (synset == null) {
                        rejected.add(new Reject(f.key(), "no label for ImageId " + id + " in the labels file"));
                    } else if (label < 0) {
                        rejected.add(new Reject(f.key(), "synset " + synset + " of ImageId " + id + " is not in the class list"));
                    } else {
                        items.add(SourceItem.file(f.key(), f.uri(), f.size(), label, synset, split));
                    }
                }
            }
            default -> throw new IllegalArgumentException("FileLister does not list " + kind);
        }
        items.sort(Comparator.comparing(SourceItem::key));
        return new Listing(kind, root, List.copyOf(items), sorted(skipped), sorted(rejected), classes);
    }

    /** True when ROOT has at least one sub-directory holding files: the tree layout. */
    public static boolean looksLikeTree(Configuration conf, String root) {
        try {
            Path p = new Path(root);
            FileSystem fs = p.getFileSystem(conf);
            for (FileStatus s : fs.listStatus(p)) if (s.isDirectory() && !s.getPath().getName().startsWith(".")) return true;
            return false;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list source " + root, e);
        }
    }

    static List<Found> walk(Configuration conf, String root) {
        Path rootPath = new Path(root);
        try {
            FileSystem fs = rootPath.getFileSystem(conf);
            FileStatus st = fs.getFileStatus(rootPath);
            if (!st.isDirectory()) throw new DatasetException("--source " + root + " is a file, not a directory");
            String base = fs.makeQualified(rootPath).toUri().getPath();
            if (!base.endsWith("/")) base += "/";
            List<Found> out = new ArrayList<>();
            RemoteIterator<LocatedFileStatus> it = fs.listFiles(rootPath, true);
            while (it.hasNext()) {
                LocatedFileStatus f = it.next();
                String path = f.getPath().toUri().getPath();
                if (!path.startsWith(base)) throw new IllegalStateException("listed " + path + " outside " + base);
                out.add(new Found(path.substring(base.length()), f.getPath().toString(), f.getLen()));
            }
            out.sort(Comparator.comparing(Found::key));
            return out;
        } catch (FileNotFoundException e) {
            throw new DatasetException("--source " + root + ": no such directory", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list source " + root + ": " + e.getMessage(), e);
        }
    }

    static Map<String, Integer> indexOf(List<String> classes) {
        Map<String, Integer> m = new java.util.HashMap<>();
        for (int i = 0; i < classes.size(); i++) m.put(classes.get(i), i);
        return m;
    }

    private static List<Reject> sorted(List<Reject> l) {
        List<Reject> c = new ArrayList<>(l);
        c.sort(null);
        return List.copyOf(c);
    }
}
