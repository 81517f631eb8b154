package org.sparkmim.job;

import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.data.FashionMnist;
import org.sparkmim.model.data.ImageSet;
import org.sparkmim.model.method.Methods;
import org.sparkmim.model.method.MimMethod;
import org.sparkmim.model.train.Bench;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** Training throughput of a model (default MAE-tiny, batch 256, 28×28 p4) as img/s, GFLOP/s and MFU. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure matmul peak, training img/s, FLOPs/img, GFLOP/s and MFU (default: MAE-tiny, batch 256).")
public class BenchCommand implements Callable<Integer> {
    @Mixin
    CommonOptions opts = new CommonOptions();

    @Option(names = "--warmup", defaultValue = "10", description = "Untimed steps first (default ${DEFAULT-VALUE}; the JIT compiles the vector kernels during the first ~10).")
    int warmup;

    @Option(names = "--windows", defaultValue = "5", description = "Timed windows; img/s is their median (default ${DEFAULT-VALUE}).")
    int windows;

    @Option(names = "--steps", defaultValue = "5", description = "Steps per window (default ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--peak-only", description = "Only measure the fp32 matmul peak (to compare BLAS settings).")
    boolean peakOnly;

    @Option(names = "--profile", description = "Also print wall time per section of the hand-written passes.")
    boolean profile;

    @Option(names = "--sharing", description = "Also print what gradient sharing (the Spark job's default sync) costs "
            + "per step for this model, stage by stage: encoding, the transport's serialization, decoding, local "
            + "catch-up, as ms and as a share of the measured training step.")
    boolean sharing;

    @Override
    public Integer call() {
        org.sparkmim.model.nn.Prof.enable(profile);
        // MAE-tiny at batch 256 unless a preset or --conf says otherwise (these defaults used to override the
        // preset's own model.size and batch, so `bench --preset fmnist-quality` measured MAE-tiny)
        MimConfig cfg = opts.resolve(null, opts.preset == null && opts.conf == null
                ? Map.of("model.size", "tiny", "optim.batch", "256") : Map.of());
        int b = cfg.optim.batch();
        System.err.printf("env: OPENBLAS_CORETYPE=%s OMP_NUM_THREADS=%s OMP_WAIT_POLICY=%s OPENBLAS_THREAD_TIMEOUT=%s, "
                        + "ND4J backend %s, %d cores, kernels (GELU, LayerNorm, attention) %s%n",
                System.getenv("OPENBLAS_CORETYPE"), System.getenv("OMP_NUM_THREADS"), System.getenv("OMP_WAIT_POLICY"),
                System.getenv("OPENBLAS_THREAD_TIMEOUT"), Nd4j.getBackend().getClass().getSimpleName(),
                Runtime.getRuntime().availableProcessors(), org.sparkmim.model.nn.Kernels.MODE);
        double peak = Bench.matmulPeak(Bench.defaultShapes(), 8);
        System.err.printf("fp32 matmul peak through ND4J: %.1f GFLOP/s%n", peak);
        if (peakOnly) {
            new Summary("bench").put("peak_gflops", PretrainCommand.round(peak))
                    .put("openblas_coretype", String.valueOf(System.getenv("OPENBLAS_CORETYPE"))).print();
            return ExitCodes.OK;
        }

        ImageSet data = FashionMnist.load(FashionMnist.locate(cfg.data.path()), "train");
        MimMethod method = Methods.create(cfg);
        List<MultiDataSet> batches = Bench.batches(method, data, cfg, 4);
        double flop = method.trainFlopsPerImage();
        Bench.Result r = Bench.trainThroughput(method, batches, b, warmup, windows, steps, flop, peak);
        System.err.printf("%s %s batch %d: windows %s img/s%n", cfg.method.name(), cfg.model, b, Arrays.toString(
                Arrays.stream(r.windowRates()).map(x -> Math.round(x * 10) / 10.0).toArray()));
        System.err.printf("train %.1f img/s | %.3f GFLOP/img | %.1f GFLOP/s | MFU %.1f%% of %.1f GFLOP/s%n",
                r.imgPerSec(), r.gflopPerImage(), r.gflops(), 100 * r.mfu(), peak);
        boolean grows = r.rssMb().length > 1 && r.rssMb()[r.rssMb().length - 1] > 1.05 * r.rssMb()[0] + 16;
        System.err.printf("memory after each window: RSS %s MB, off-heap (JavaCPP) %s MB, peak RSS %d MB%s%n",
                Arrays.toString(r.rssMb()), Arrays.toString(r.offHeapMb()), r.peakRssMb(),
                grows ? " — RSS GROWS from window to window" : " (flat)");
        // evaluate's feature extraction: forward only, every token visible, eval.extract-batch images per pass
        org.sparkmim.model.nn.Prof.enable(false);
        Bench.FeatureResult fr = Bench.featureThroughput(method, cfg, data, 3, Math.max(2, 2048 / cfg.eval.extractBatch()));
        double fflop = cfg.model.isResNet() ? Double.NaN : Bench.featureFlopsPerImage(cfg.model);
        System.err.printf("features %.1f img/s (%.2fx training) | batch %d | %s%n", fr.imgPerSec(),
                fr.imgPerSec() / r.imgPerSec(), fr.batch(), Double.isNaN(fflop) ? "FLOPs not counted for the ResNet"
                        : String.format(java.util.Locale.ROOT, "%.3f GFLOP/img forward | %.1f GFLOP/s | MFU %.1f%% | "
                                + "training costs %.2fx the FLOPs of a feature pass per image", fflop / 1e9,
                        fr.imgPerSec() * fflop / 1e9, 100 * fr.imgPerSec() * fflop / 1e9 / peak, flop / fflop));
        var share = sharing ? sharingCost(cfg, method, batches, 1000.0 * b / r.imgPerSec()) : null;
        if (profile) {
            System.err.print(org.sparkmim.model.nn.Prof.report());
            System.err.printf("timed steps wall total: %.1f ms (the rest is DL4J: output layer, updater, graph bookkeeping)%n",
                    r.timedMillis());
        }
        new Summary("bench").put("model", cfg.model.toString()).put("method", cfg.method.name()).put("masking", cfg.method.masking()).put("batch", b)
                .put("img_per_s", PretrainCommand.round(r.imgPerSec())).put("gflop_per_img", PretrainCommand.round(r.gflopPerImage()))
                .put("gflops", PretrainCommand.round(r.gflops())).put("peak_gflops", PretrainCommand.round(peak))
                .put("mfu", PretrainCommand.round(r.mfu())).put("openblas_coretype", String.valueOf(System.getenv("OPENBLAS_CORETYPE")))
                .put("kernels", org.sparkmim.model.nn.Kernels.MODE)
                .put("rss_mb_last", r.rssMb()[r.rssMb().length - 1]).put("peak_rss_mb", r.peakRssMb())
                .put("offheap_mb_last", r.offHeapMb()[r.offHeapMb().length - 1]).put("memory_grows", grows)
                .put("features_img_per_s", PretrainCommand.round(fr.imgPerSec()))
                .put("features_to_train", PretrainCommand.round(fr.imgPerSec() / r.imgPerSec()))
                .put("features_gflop_per_img", Double.isNaN(fflop) ? null : PretrainCommand.round(fflop / 1e9))
                .put("sharing_worker_ms", share == null ? null : PretrainCommand.round(share.workerMs("java")))
                .put("sharing_worker_ms_nd4j", share == null ? null : PretrainCommand.round(share.workerMs("nd4j")))
                .put("sharing_receiver_ms", share == null ? null : PretrainCommand.round(share.receiverMs()))
                .put("sharing_message_vs_dense", share == null ? null : PretrainCommand.round(share.messageVsDense()))
                .print();
        return ExitCodes.OK;
    }

    /** @param stepMs the measured training step of this model, which the stages are a share of */
    private static org.sparkmim.job.pretrain.SharingCost.Result sharingCost(MimConfig cfg, MimMethod method,
                                                                           List<MultiDataSet> batches, double stepMs) {
        // 30 steps first: Adam's first steps are about ±LR for every element, later ones far smaller, and how many
        // elements cross the threshold decides the encoder's cost
        int warm = 30, spe = 1000;
        org.deeplearning4j.nn.graph.ComputationGraph g = org.sparkmim.model.train.Trainer.newGraph(cfg, method, spe);
        for (int i = 0; i < warm; i++) g.fit(batches.get(i % batches.size()));
        var threshold = org.sparkmim.job.pretrain.SparkSettings.of(cfg)
                .thresholdAlgorithm(org.sparkmim.model.train.Trainer.schedule(cfg, spe));
        var res = org.sparkmim.job.pretrain.SharingCost.measure(g, batches.get(0), threshold, 15);
        System.err.printf("gradient sharing per step, %d parameters, threshold %.3g (a quantum sent for %.1f%% of them), one "
                + "message %.1f KiB (%.4f x the dense fp32 update), training step %.1f ms:%n", res.denseBytes() / 4,
                res.threshold(), 100 * res.sentShare(), res.messageBytes() / 1024.0, res.messageVsDense(), stepMs);
        System.err.printf("  %-48s %-7s %-9s %7s%n", "stage", "encoder", "thread", "ms");
        for (var st : res.stages()) {
            System.err.printf("  %-48s %-7s %-9s %7.2f ms  %5.1f%% of the step%n", st.name(), st.encoder(), st.thread(),
                    st.ms(), 100 * st.ms() / stepMs);
        }
        System.err.printf("  on the training thread of one executor in local mode: spark.encoder = java %.2f ms (%.1f%% of "
                        + "the step), nd4j %.2f ms (%.1f%%); a message leaving the JVM adds %.2f ms; each receiver (other "
                        + "workers, a remote driver) %.2f ms per message%n", res.workerMs("java"),
                100 * res.workerMs("java") / stepMs, res.workerMs("nd4j"), 100 * res.workerMs("nd4j") / stepMs,
                res.clusterMs(), res.receiverMs());
        return res;
    }
}
