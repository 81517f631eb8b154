package org.sparkmim.job.eval;

import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.eval.Evaluation;
import org.sparkmim.model.eval.FeatureEncoder;
import org.sparkmim.model.method.Methods;
import org.sparkmim.model.method.MimMethod;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Feature extraction on Spark executors. The driver broadcasts the checkpoint file's bytes and the resolved
 * config once; each executor thread restores the graph from them (cached per thread: DL4J graphs are not
 * thread-safe) and encodes its partition in batches of eval.extract-batch. Each partition returns one block
 * (indices, labels, features), and the driver puts the rows back in index order and checks none is missing.
 */
public final class SparkFeatures implements Evaluation.Extraction {
    private static final Logger LOG = LoggerFactory.getLogger(SparkFeatures.class);

    private final JavaSparkContext sc;
    private final ImageSource source;
    private final Broadcast<byte[]> checkpoint;
    private final Broadcast<String> config;
    private final java.util.Map<String, org.apache.spark.api.java.JavaRDD<LabelledImage>> images = new java.util.HashMap<>();

    public SparkFeatures(JavaSparkContext sc, ImageSource source, Path checkpointFile, MimConfig cfg) {
        this.sc = sc;
        this.source = source;
        try {
            this.checkpoint = sc.broadcast(Files.readAllBytes(checkpointFile));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read checkpoint " + checkpointFile, e);
        }
        this.config = sc.broadcast(cfg.render());
    }

    /**
     * One partition's result: rows in the partition's order. A plain class, not a record: results travel through
     * Spark's Kryo (4.x), which cannot serialize Java records.
     */
    static final class Block implements Serializable {
        private int[] index;
        private int[] label;
        private int dim;
        private float[] features;

        private Block() { } // Kryo

        Block(int[] index, int[] label, int dim, float[] features) {
            this.index = index;
            this.label = label;
            this.dim = dim;
            this.features = features;
        }

        int[] index() {
            return index;
        }

        int[] label() {
            return label;
        }

        int dim() {
            return dim;
        }

        float[] features() {
            return features;
        }
    }

    @Override
    public INDArray features(Evaluation.Kind kind, String split) {
        long t0 = System.nanoTime();
        Broadcast<byte[]> ck = checkpoint;
        Broadcast<String> conf = config;
        // one image RDD per split for every feature kind: source.images broadcasts the split's pixels
        var rdd = images.computeIfAbsent(split, sp -> source.images(sc, sp)).mapPartitions(it -> encode(it, kind, ck, conf));
        Progress progress = new Progress(kind.label + " " + split, rdd.getNumPartitions(), source.count(split));
        sc.sc().addSparkListener(progress);
        List<Block> blocks;
        try {
            blocks = rdd.collect();
        } finally {
            sc.sc().removeSparkListener(progress);
        }
        int n = source.count(split);
        int[] labels = source.labels(split);
        int dim = blocks.stream().filter(b -> b.index().length > 0).mapToInt(Block::dim).findFirst().orElse(0);
        float[] out = new float[n * dim];
        boolean[] seen = new boolean[n];
        for (Block b : blocks) {
            for (int r = 0; r < b.index().length; r++) {
                int i = b.index()[r];
                if (i < 0 || i >= n) throw new IllegalStateException(split + " image " + i + " came back out of range");
                if (seen[i]) throw new IllegalStateException(split + " image " + i + " came back twice");
                if (b.label()[r] != labels[i]) {
                    throw new IllegalStateException(split + " image " + i + " has label " + b.label()[r] + " on the executor but "
                            + labels[i] + " on the driver");
                }
                seen[i] = true;
                System.arraycopy(b.features(), r * dim, out, i * dim, dim);
            }
        }
        for (int i = 0; i < n; i++) {
            if (!seen[i]) throw new IllegalStateException(split + " image " + i + " is missing from the extracted features");
        }
        double s = (System.nanoTime() - t0) / 1e9;
        LOG.info(String.format(Locale.ROOT, "%s features of %d %s images on Spark: dim %d, %.1f s (%.0f img/s)", kind.label, n,
                split, dim, s, n / s));
        return Nd4j.create(out, new long[]{n, dim});
    }

    /** Driver-side progress: partitions done of total, images/s and ETA, logged as tasks finish. */
    static final class Progress extends SparkListener {
        private final String what;
        private final int parts, images;
        private final long t0 = System.nanoTime();
        private final AtomicInteger done = new AtomicInteger();

        Progress(String what, int parts, int images) {
            this.what = what;
            this.parts = parts;
            this.images = images;
        }

        @Override
        public void onTaskEnd(SparkListenerTaskEnd end) {
            int d = done.incrementAndGet();
            double s = (System.nanoTime() - t0) / 1e9, rate = images * (d / (double) parts) / s;
            LOG.info(String.format(Locale.ROOT, "%s features: %d/%d partitions, ~%.0f img/s, ETA %.0f s", what, d, parts, rate,
                    (parts - d) * s / d));
        }
    }

    /** Executor side: batches of decoded images → one block of features. */
    static Iterator<Block> encode(Iterator<LabelledImage> it, Evaluation.Kind kind, Broadcast<byte[]> ck,
                                  Broadcast<String> conf) {
        FeatureEncoder enc = ExecutorEncoders.get(kind, ck, conf);
        int batch = ExecutorEncoders.config(conf).eval.extractBatch();
        List<Integer> idx = new ArrayList<>();
        List<Integer> lab = new ArrayList<>();
        List<float[]> feats = new ArrayList<>();
        int dim = 0;
        List<LabelledImage> buf = new ArrayList<>(batch);
        while (it.hasNext()) {
            buf.clear();
            while (it.hasNext() && buf.size() < batch) buf.add(it.next());
            LabelledImage first = buf.get(0);
            int len = first.pixels().length;
            float[] px = new float[buf.size() * len];
            String[] keys = new String[buf.size()];
            for (int i = 0; i < buf.size(); i++) {
                LabelledImage im = buf.get(i);
                if (im.pixels().length != len) {
                    throw new IllegalArgumentException("image " + im.index() + " is " + im.height() + "x" + im.width() + "x"
                            + im.channels() + ", unlike image " + first.index() + ": evaluate needs one image size per split");
                }
                for (int k = 0; k < len; k++) px[i * len + k] = (im.pixels()[k] & 0xFF) / 255f;
                keys[i] = "eval/" + im.index();
                idx.add(im.index());
                lab.add(im.label());
            }
            INDArray f = enc.encode(px, buf.size(), first.height(), first.width(), first.channels(), keys); // [B, F]
            dim = (int) f.columns();
            feats.add(f.castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT).dup('c').data().asFloat());
        }
        float[] all = new float[idx.size() * dim];
        int off = 0;
        for (float[] f : feats) {
            System.arraycopy(f, 0, all, off, f.length);
            off += f.length;
        }
        return List.of(new Block(idx.stream().mapToInt(Integer::intValue).toArray(),
                lab.stream().mapToInt(Integer::intValue).toArray(), dim, all)).iterator();
    }

    /** Per executor thread: the restored graph and its random-init twin, keyed by the broadcast that carried them. */
    static final class ExecutorEncoders {
        private static final ThreadLocal<Map<String, Object>> CACHE = ThreadLocal.withInitial(HashMap::new);

        static MimConfig config(Broadcast<String> conf) {
            return (MimConfig) CACHE.get().computeIfAbsent("cfg-" + conf.id(),
                    k -> MimConfig.fromRendered(conf.value(), "config broadcast by the evaluate driver", null, Map.of()));
        }

        static FeatureEncoder get(Evaluation.Kind kind, Broadcast<byte[]> ck, Broadcast<String> conf) {
            MimConfig cfg = config(conf);
            MimMethod method = (MimMethod) CACHE.get().computeIfAbsent("method-" + conf.id(), k -> Methods.create(cfg));
            ComputationGraph trained = kind == Evaluation.Kind.ENCODER ? (ComputationGraph) CACHE.get().computeIfAbsent(
                    "graph-" + ck.id(), k -> restore(ck.value())) : null;
            return (FeatureEncoder) CACHE.get().computeIfAbsent(kind + "-" + ck.id() + "-" + conf.id(),
                    k -> Evaluation.encoder(kind, cfg, method, trained));
        }

        private static ComputationGraph restore(byte[] zip) {
            try {
                return ModelSerializer.restoreComputationGraph(new ByteArrayInputStream(zip), false);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot restore the broadcast checkpoint", e);
            }
        }
    }
}
