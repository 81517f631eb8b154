package org.sparkmim.job.eval;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.sparkmim.job.dataset.DatasetDir;
import org.sparkmim.job.dataset.DatasetException;
import org.sparkmim.job.dataset.DatasetSchema;
import org.sparkmim.job.dataset.ImageDecode;
import org.sparkmim.job.dataset.Manifest;
import org.sparkmim.model.data.ImageSet;
import scala.Tuple2;

import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import static org.apache.spark.sql.functions.col;

/**
 * A dataset directory written by {@code preprocess} (any Hadoop URI) as evaluate's labelled images: evaluate's
 * "train" is the dataset's split train, its "test" the split test, else val. The driver reads only the keys and
 * labels of a split (no image bytes) and numbers the rows in natural key order (digit runs compared as numbers:
 * {@code train/9} before {@code train/10}), so the numbering does not depend on how preprocess shuffled the rows
 * into shards, and a dataset made from IDX files keeps the files' order (the same images as {@link IdxImageSource}
 * under the same --train-limit). The executors read the split's rows, decode the image bytes and bring them to
 * model.image-size ({@link ImageDecode#square}), so every image of a split has one size.
 */
public final class DatasetImageSource extends SplitSource<DatasetImageSource.Part> {
    private final String uri;
    private final int side;
    private final int channels;
    private final transient Dataset<Row> rows;
    /** The rows evaluate's "test" reads: {@link #rows} again, or those of the --test-data directory. */
    private final transient Dataset<Row> testRows;
    private final String testUri;

    /** One of evaluate's splits: the dataset split its rows are in, their keys in index order, their labels. */
    record Part(String datasetSplit, String[] keys, int[] labels) {
        Part subset(int from, int to) {
            return new Part(datasetSplit, java.util.Arrays.copyOfRange(keys, from, to), java.util.Arrays.copyOfRange(labels, from, to));
        }
    }

    private DatasetImageSource(String uri, Manifest m, int side, int channels, Dataset<Row> rows, Part train, Part test,
                               String testUri, Dataset<Row> testRows, String description) {
        super(train, test, m.classes().toArray(String[]::new), description);
        this.uri = uri;
        this.side = side;
        this.channels = channels;
        this.rows = rows;
        this.testUri = testUri;
        this.testRows = testRows;
    }

    /** Both splits from one directory; see {@link #open(SparkSession, String, String, int, int, int, int, int)}. */
    public static DatasetImageSource open(SparkSession spark, String uri, int side, int channels, int trainLimit,
                                          int testLimit, int holdout) {
        return open(spark, uri, null, side, channels, trainLimit, testLimit, holdout);
    }

    /**
     * Both splits; limits of 0 mean all images; holdout H > 0 scores the last H images of the (limited) train split
     * against the others and never reads the test split, as {@link IdxImageSource#open(java.nio.file.Path, int, int, int)}.
     *
     * @param testUri  null, or another dataset directory whose split test, val or only split is evaluate's "test" (an
     *                 ImageNet-style train tree and its val set are preprocessed into two directories); its classes
     *                 must be the train directory's, in the same order
     * @param side     model.image-size: every image is brought to [side, side, channels]
     * @param channels model.channels (1 = grey, 3 = RGB)
     */
    public static DatasetImageSource open(SparkSession spark, String uri, String testUri, int side, int channels,
                                          int trainLimit, int testLimit, int holdout) {
        DatasetDir dir = DatasetDir.open(spark, uri);
        if (testUri != null && holdout > 0) {
            throw new DatasetException("--holdout " + holdout + " scores on the train split of " + uri + "; it cannot be "
                    + "combined with --test-data " + testUri);
        }
        String testSplit = heldOutSplit(dir.manifest(), uri, holdout <= 0 && testUri == null);
        Dataset<Row> rows = dir.rows(spark);
        int classes = dir.manifest().classes().size();
        Part train = part(rows, uri, "train", classes, trainLimit);
        String where = "dataset " + uri + ", images at " + side + "x" + side + "x" + channels;
        if (testUri != null) {
            DatasetDir other = DatasetDir.open(spark, testUri);
            String split = testSplitOf(other.manifest(), testUri, dir.manifest(), uri);
            Dataset<Row> otherRows = other.rows(spark);
            Part test = part(otherRows, testUri, split, classes, testLimit);
            return new DatasetImageSource(uri, dir.manifest(), side, channels, rows, train, test, testUri, otherRows,
                    where + ": split train (" + train.keys().length + " images); test: dataset " + testUri + " split "
                            + split + " (" + test.keys().length + ")");
        }
        if (holdout <= 0) {
            Part test = part(rows, uri, testSplit, classes, testLimit);
            return new DatasetImageSource(uri, dir.manifest(), side, channels, rows, train, test, uri, rows,
                    where + ": split train (" + train.keys().length + " images), split " + testSplit + " ("
                            + test.keys().length + ")");
        }
        int n = train.keys().length;
        ImageSource.checkHoldout(holdout, n);
        return new DatasetImageSource(uri, dir.manifest(), side, channels, rows, train.subset(0, n - holdout),
                train.subset(n - holdout, n), uri, rows, where + ": split train only, scored on its last " + holdout
                + " images (holdout), the test split not read");
    }

    /**
     * The split of a --test-data directory that scores the model: test, else val, else its only split. Refuses one
     * without labels, with another class list than the train directory's (a label index must mean the same class),
     * or with several splits none of which is test or val.
     */
    public static String testSplitOf(Manifest test, String testUri, Manifest train, String trainUri) {
        if (test.classes().isEmpty()) {
            throw new DatasetException("--test-data " + testUri + " has no class labels (its " + Manifest.FILE + " lists no "
                    + "classes): the held-out images must be labelled");
        }
        if (!test.classes().equals(train.classes())) {
            throw new DatasetException("--test-data " + testUri + " has classes " + abbreviate(test.classes()) + " but --data "
                    + trainUri + " has " + abbreviate(train.classes()) + ": both need the same classes in the same order "
                    + "(label i must be the same class in both)");
        }
        Set<String> splits = test.splits() == null ? Set.of() : test.splits().keySet();
        if (splits.contains("test")) return "test";
        if (splits.contains("val")) return "val";
        if (splits.size() == 1) return splits.iterator().next();
        throw new DatasetException("--test-data " + testUri + " has splits " + splits + ": allowed a dataset with a split "
                + "test or val, or with one split");
    }

    private static String abbreviate(List<String> classes) {
        return classes.size() <= 6 ? classes.toString() : classes.subList(0, 5) + " ... (" + classes.size() + " classes)";
    }

    /**
     * The split that scores a model: test, else val. Refuses (naming the directory and what is allowed) a dataset
     * without class labels, without a train split, or (when {@code needTest}) without a test or val split.
     */
    public static String heldOutSplit(Manifest m, String uri, boolean needTest) {
        Set<String> splits = m.splits() == null ? Set.of() : m.splits().keySet();
        String allowed = ": evaluate and finetune need a labelled dataset with a split train and a split test or val in "
                + "one directory (preprocess --kind idx writes both), a Fashion-MNIST IDX directory, or 'system'";
        if (m.classes().isEmpty()) {
            throw new DatasetException("dataset " + uri + " has no class labels (its " + Manifest.FILE + " lists no "
                    + "classes)" + allowed);
        }
        if (!splits.contains("train")) throw new DatasetException("dataset " + uri + " has no split train (splits " + splits + ")" + allowed);
        String test = splits.contains("test") ? "test" : "val";
        if (needTest && !splits.contains(test)) {
            throw new DatasetException("dataset " + uri + " has no split test or val (splits " + splits + ")" + allowed);
        }
        return test;
    }

    /** Keys and labels of one dataset split on the driver, in natural key order, the first {@code limit} (0 = all). */
    private static Part part(Dataset<Row> rows, String uri, String split, int classes, int limit) {
        TreeMap<String, Integer> byKey = new TreeMap<>(NATURAL);
        for (Row r : rows.filter(col(DatasetSchema.SPLIT).equalTo(split)).select(DatasetSchema.KEY, DatasetSchema.LABEL)
                .collectAsList()) {
            int label = r.getInt(1);
            if (label < 0 || label >= classes) {
                throw new DatasetException("dataset " + uri + ": image " + r.getString(0) + " of split " + split + " has label "
                        + label + "; evaluate and finetune need every image labelled with a class of " + Manifest.FILE
                        + " (0.." + (classes - 1) + ")");
            }
            if (byKey.put(r.getString(0), label) != null) {
                throw new DatasetException("dataset " + uri + ": key " + r.getString(0) + " appears twice in split " + split);
            }
        }
        if (byKey.isEmpty()) throw new DatasetException("dataset " + uri + ": split " + split + " has no rows");
        int n = limit > 0 ? Math.min(limit, byKey.size()) : byKey.size();
        String[] keys = new String[n];
        int[] labels = new int[n];
        int i = 0;
        for (Map.Entry<String, Integer> e : byKey.entrySet()) {
            if (i == n) break;
            keys[i] = e.getKey();
            labels[i++] = e.getValue();
        }
        return new Part(split, keys, labels);
    }

    /** Keys in natural order: runs of digits compare as numbers, the rest as text; ties (leading zeros) by the text. */
    static final Comparator<String> NATURAL = (a, b) -> {
        int i = 0, j = 0;
        while (i < a.length() && j < b.length()) {
            char ca = a.charAt(i), cb = b.charAt(j);
            if (Character.isDigit(ca) && Character.isDigit(cb)) {
                int ei = i, ej = j;
                while (ei < a.length() && Character.isDigit(a.charAt(ei))) ei++;
                while (ej < b.length() && Character.isDigit(b.charAt(ej))) ej++;
                String da = a.substring(i, ei).replaceFirst("^0+(?=.)", ""), db = b.substring(j, ej).replaceFirst("^0+(?=.)", "");
                int c = da.length() != db.length() ? Integer.compare(da.length(), db.length()) : da.compareTo(db);
                if (c != 0) return c;
                i = ei;
                j = ej;
            } else {
                if (ca != cb) return Character.compare(ca, cb);
                i++;
                j++;
            }
        }
        int c = Integer.compare(a.length() - i, b.length() - j);
        return c != 0 ? c : a.compareTo(b);
    };

    @Override
    public JavaRDD<LabelledImage> images(JavaSparkContext sc, String name) {
        Part p = split(name);
        Map<String, Integer> index = new HashMap<>(p.keys().length * 2);
        for (int i = 0; i < p.keys().length; i++) index.put(p.keys()[i], i);
        boolean test = name.equals("test");
        JavaRDD<Row> splitRows = (test ? testRows : rows).filter(col(DatasetSchema.SPLIT).equalTo(p.datasetSplit()))
                .select(DatasetSchema.KEY, DatasetSchema.LABEL, DatasetSchema.IMAGE).toJavaRDD();
        return decode(splitRows, sc.broadcast(index), test ? testUri : uri, side, channels);
    }

    /** Executor side: rows (key, label, image) of the split → the numbered ones decoded to [side, side, channels]. */
    private static JavaRDD<LabelledImage> decode(JavaRDD<Row> rows, Broadcast<Map<String, Integer>> index, String uri,
                                                 int side, int channels) {
        return rows.flatMap(r -> {
            Integer i = index.value().get(r.getString(0));
            if (i == null) return Collections.emptyIterator();    // past --train-limit/--test-limit, or the other holdout part
            ImageDecode.Pixels px;
            try {
                px = ImageDecode.square((byte[]) r.get(2), channels, side);
            } catch (RuntimeException e) {
                throw new DatasetException("dataset " + uri + ": cannot decode image " + r.getString(0) + ": " + e.getMessage(), e);
            }
            return List.of(new LabelledImage(i, r.getInt(1), side, side, channels, px.data())).iterator();
        });
    }

    /**
     * A split decoded on the executors and collected in index order into a driver-side set [n, side, side, channels]
     * (finetune's epoch-end test top-1 scores on it).
     */
    public ImageSet collect(JavaSparkContext sc, String name) {
        Part p = split(name);
        int n = p.keys().length, len = side * side * channels;
        byte[] px = new byte[n * len];
        boolean[] seen = new boolean[n];
        // (index, pixels) pairs: task results travel through Kryo, which cannot serialize the LabelledImage record
        for (Tuple2<Integer, byte[]> t : images(sc, name).mapToPair(im -> new Tuple2<>(im.index(), im.pixels())).collect()) {
            if (seen[t._1()]) throw new IllegalStateException(name + " image " + t._1() + " of " + uri + " came back twice");
            seen[t._1()] = true;
            System.arraycopy(t._2(), 0, px, t._1() * len, len);
        }
        for (int i = 0; i < n; i++) {
            if (!seen[i]) throw new IllegalStateException(name + " image " + p.keys()[i] + " of " + uri + " was not decoded");
        }
        return new ImageSet(n, side, side, channels, px, p.labels(), classNames(), p.datasetSplit(), "dataset "
                + (name.equals("test") ? testUri : uri) + " split " + p.datasetSplit(), 0);
    }

    @Override
    public int count(String name) {
        return split(name).keys().length;
    }

    @Override
    public int[] labels(String name) {
        return split(name).labels().clone();
    }
}
