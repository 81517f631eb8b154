package org.sparkmim.model.train;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.config.ModelConfig;
import org.sparkmim.model.method.MimMethod;

import java.util.Arrays;
import java.util.List;

/**
 * Throughput measurement: the machine's fp32 matmul peak through ND4J's BLAS, the model's training img/s,
 * its analytic FLOPs, and MFU = achieved / peak. Prints figures; never asserts on time.
 */
public final class Bench {
    private Bench() { }

    /**
     * @param rssMb     resident set size of the process after each timed window, MB
     * @param offHeapMb off-heap bytes JavaCPP tracks (ND4J's buffers and workspaces) after each window, MB
     * @param peakRssMb the process's peak resident set size (VmHWM) at the end, MB
     */
    public record Result(double imgPerSec, double gflopPerImage, double gflops, double peakGflops, double mfu,
                         double[] windowRates, double timedMillis, long[] rssMb, long[] offHeapMb, long peakRssMb) { }

    /** A /proc/self/status field in MB (VmRSS, VmHWM), or -1 where there is no /proc. */
    public static long procStatusMb(String field) {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
                if (line.startsWith(field + ":")) return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
            }
        } catch (java.io.IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    /** Best GFLOP/s of fp32 gemm over transformer-like shapes (M×K·K×N), best-of-reps per shape. */
    public static double matmulPeak(List<int[]> shapes, int reps) {
        double best = 0;
        for (int[] s : shapes) {
            INDArray a = Nd4j.rand(DataType.FLOAT, s[0], s[1]);
            INDArray b = Nd4j.rand(DataType.FLOAT, s[1], s[2]);
            INDArray c = Nd4j.createUninitialized(DataType.FLOAT, s[0], s[2]);
            for (int i = 0; i < 3; i++) Nd4j.gemm(a, b, c, false, false, 1.0, 0.0);
            double flop = 2.0 * s[0] * s[1] * s[2];
            for (int r = 0; r < reps; r++) {
                long t = System.nanoTime();
                Nd4j.gemm(a, b, c, false, false, 1.0, 0.0);
                best = Math.max(best, flop / (System.nanoTime() - t));
            }
        }
        return best; // flop per ns = GFLOP/s
    }

    public static List<int[]> defaultShapes() {
        return List.of(new int[]{3328, 192, 576}, new int[]{3328, 192, 768}, new int[]{3328, 768, 192},
                new int[]{2048, 1024, 1024}, new int[]{4096, 512, 2048});
    }

    /**
     * Analytic training FLOPs per image (matmuls only, forward × 3 for forward + backward) of the MAE graph with
     * K visible tokens: encoder on 1+K tokens, decoder on 1+N.
     */
    public static double maeFlopsPerImage(ModelConfig m, int keep) {
        int n = m.tokens(), p = m.patchDim();
        double fwd = 2.0 * keep * p * m.dim;                                  // patch embed (visible only)
        fwd += m.depth * blockFlops(1 + keep, m.dim);
        fwd += 2.0 * (1 + keep) * m.dim * m.decoderDim;                       // decoder embed
        fwd += m.decoderDepth * blockFlops(1 + n, m.decoderDim);
        fwd += 2.0 * n * m.decoderDim * p;                                    // pixel head
        return 3 * fwd;
    }

    /**
     * Training FLOPs per image of the encoder alone on T patch tokens (+ CLS) with every patch embedded, and a
     * per-token linear pixel head (ROPIM): patch embed, blocks on 1+T, head D → P on T. Forward × 3.
     */
    public static double encoderFlopsPerImage(ModelConfig m, int tokens) {
        double fwd = 2.0 * tokens * m.patchDim() * m.dim + m.depth * blockFlops(1 + tokens, m.dim)
                + 2.0 * tokens * m.dim * m.patchDim();
        return 3 * fwd;
    }

    /**
     * Forward FLOPs per image of evaluate's feature extraction on a ViT: patch embed and the encoder's blocks on
     * 1+N tokens, every patch visible (matmuls only, as {@link #maeFlopsPerImage}).
     */
    public static double featureFlopsPerImage(ModelConfig m) {
        int n = m.tokens();
        return 2.0 * n * m.patchDim() * m.dim + m.depth * blockFlops(1 + n, m.dim);
    }

    /** img/s and windows of evaluate's feature extraction (forward only, no gradient). */
    public record FeatureResult(double imgPerSec, int batch) { }

    /**
     * Evaluate's feature path, timed: {@link EvalBatches} preprocessing, then the method's features, on batches of
     * eval.extract-batch train images, with a fresh graph of the method (weights do not change the speed). One
     * untimed batch first, then windows of batchesPerWindow batches; img/s is the median window.
     */
    public static FeatureResult featureThroughput(MimMethod method, MimConfig cfg, org.sparkmim.model.data.ImageSet data,
                                                  int windows, int batchesPerWindow) {
        ComputationGraph g = freshGraph(method);
        int b = Math.min(cfg.eval.extractBatch(), data.count());
        org.sparkmim.model.method.FeatureSpec spec = cfg.eval.featureSpec();
        int from = 0;
        method.features(g, org.sparkmim.model.eval.EvalBatches.of(cfg, data, from, b, 0), spec);   // warm-up
        double[] rates = new double[windows];
        for (int w = 0; w < windows; w++) {
            long t = System.nanoTime();
            for (int i = 0; i < batchesPerWindow; i++) {
                from = (from + b) % (data.count() - b + 1);
                method.features(g, org.sparkmim.model.eval.EvalBatches.of(cfg, data, from, b, 0), spec);
            }
            rates[w] = batchesPerWindow * (double) b / ((System.nanoTime() - t) / 1e9);
        }
        return new FeatureResult(median(rates), b);
    }

    /** The method's float graph, initialized, with bench's Adam (AdamW 0.9/0.95, wd 0.05). */
    private static ComputationGraph freshGraph(MimMethod method) {
        Adam adam = Adam.builder().learningRate(1e-4).beta1(0.9).beta2(0.95).build();
        ComputationGraph g = new ComputationGraph(method.graph(adam, 0.05, 0, DataType.FLOAT));
        g.init();
        return g;
    }

    private static double median(double[] rates) {
        double[] sorted = rates.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    /** One pre-norm block on T tokens of width D: qkv, QKᵀ, AV, proj, fc1, fc2. */
    static double blockFlops(int t, int d) {
        return 2.0 * t * d * 3 * d + 2.0 * 2 * t * t * d + 2.0 * t * d * d + 2.0 * 2 * t * d * 4 * d;
    }

    /** The first n minibatches of the data in file order, augmented (epoch 0) and prepared by the method. */
    public static List<MultiDataSet> batches(MimMethod method, org.sparkmim.model.data.ImageSet data, MimConfig cfg, int n) {
        int b = cfg.optim.batch();
        int[] order = new int[data.count()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        List<MultiDataSet> out = new java.util.ArrayList<>();
        for (int i = 0; i < Math.min(n, data.count() / b); i++) out.add(method.prepare(Trainer.batch(data, order, i * b, b, 0, cfg)));
        return out;
    }

    /**
     * Train on pre-built batches (no data path in the timing), warmup steps first, then windows of steps;
     * img/s is the median window.
     */
    public static Result trainThroughput(MimMethod method, List<MultiDataSet> batches, int batchSize, int warmup,
                                         int windows, int stepsPerWindow, double flopPerImage, double peak) {
        ComputationGraph g = freshGraph(method);
        int k = 0;
        for (int i = 0; i < warmup; i++) g.fit(batches.get(k++ % batches.size()));
        org.sparkmim.model.nn.Prof.reset(); // profile only the timed windows
        long timed = 0;
        double[] rates = new double[windows];
        long[] rss = new long[windows], offHeap = new long[windows];
        for (int w = 0; w < windows; w++) {
            long t = System.nanoTime();
            for (int i = 0; i < stepsPerWindow; i++) g.fit(batches.get(k++ % batches.size()));
            long dt = System.nanoTime() - t;
            timed += dt;
            rates[w] = stepsPerWindow * (double) batchSize / (dt / 1e9);
            rss[w] = procStatusMb("VmRSS");
            offHeap[w] = org.bytedeco.javacpp.Pointer.totalBytes() >> 20;
        }
        double med = median(rates);
        double gflops = med * flopPerImage / 1e9;
        return new Result(med, flopPerImage / 1e9, gflops, peak, gflops / peak, rates, timed / 1e6, rss, offHeap,
                procStatusMb("VmHWM"));
    }
}
