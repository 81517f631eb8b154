package org.sparkmim.job;

import org.sparkmim.job.dataset.Codecs;
import org.sparkmim.job.dataset.JpegCodec;
import org.sparkmim.job.dataset.PreprocessBench;
import org.sparkmim.job.dataset.PreprocessConfig;
import org.sparkmim.job.dataset.TurboCodec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** bin/spark-mim bench-preprocess: images/s per core of the preprocess path, per codec, with the stage split. */
@Command(name = "bench-preprocess", mixinStandardHelpOptions = true,
        description = "Measure preprocess throughput (decode + resize to shorter side 256 + JPEG encode) on generated "
                + "ImageNet-sized JPEGs, per codec: img/s per core and on all cores, with the decode/resize/encode split.")
public class BenchPreprocessCommand implements Callable<Integer> {
    @Mixin
    CommonOptions opts = new CommonOptions();

    @Option(names = "--images", defaultValue = "64", description = "Distinct generated JPEGs (default ${DEFAULT-VALUE}).")
    int images;

    @Option(names = "--width", defaultValue = "500", description = "Generated width (default ${DEFAULT-VALUE}).")
    int width;

    @Option(names = "--height", defaultValue = "375", description = "Generated height (default ${DEFAULT-VALUE}).")
    int height;

    @Option(names = "--quality", defaultValue = "90", description = "Quality of the generated JPEGs (default ${DEFAULT-VALUE}).")
    int quality;

    @Option(names = "--seconds", defaultValue = "5", description = "Timed seconds per codec and mode (default ${DEFAULT-VALUE}).")
    double seconds;

    @Option(names = "--codecs", split = ",", defaultValue = "turbo,turbo-full-decode,jvm,jdk",
            description = "Codecs to compare (default ${DEFAULT-VALUE}); turbo ones are left out when libturbojpeg is missing.")
    List<String> codecs;

    @Override
    public Integer call() {
        PreprocessConfig cfg = PreprocessConfig.from(opts.resolve(null, Map.of()));
        int threads = Runtime.getRuntime().availableProcessors();
        List<byte[]> jpegs = PreprocessBench.makeJpegs(images, width, height, quality, 42);
        double kb = jpegs.stream().mapToInt(b -> b.length).average().orElse(0) / 1024;
        System.err.printf("%d generated %dx%d JPEGs at q%d, mean %.1f KB; target shorter side %d, output q%d; %d cores%n",
                images, width, height, quality, kb, cfg.shorterSide(), cfg.jpegQuality(), threads);
        if (!TurboCodec.available()) System.err.println("libturbojpeg not loadable: " + TurboCodec.unavailableReason());
        List<PreprocessBench.Result> results = new ArrayList<>();
        System.err.println("per image, CPU ms of the converting thread (img/s/core = 1000 / total); wall rates below "
                + "depend on what else runs on the machine (load average now " + loadAverage() + ")");
        System.err.printf("%-18s %9s %9s %9s %9s %11s %11s %14s%n", "codec", "decode ms", "resize ms", "encode ms", "total ms",
                "img/s/core", "wall 1 thr", "wall " + threads + " thr");
        for (String name : codecs) {
            JpegCodec c = codec(name);
            if (c == null) continue;
            PreprocessBench.Result r = PreprocessBench.run(c, cfg, jpegs, seconds, threads);
            results.add(r);
            System.err.printf("%-18s %9.2f %9.2f %9.2f %9.2f %11.1f %11.1f %14.1f%n", r.codec(), r.decodeMs(), r.resizeMs(),
                    r.encodeMs(), r.totalMs(), r.imgPerSecPerCore(), r.wallImgPerSec(), r.imgPerSecAllCores());
        }
        PreprocessBench.Result chosen = results.stream().filter(r -> r.codec().equals(Codecs.byName(cfg.codec()).name()))
                .findFirst().orElse(results.get(0));
        Summary s = new Summary("bench-preprocess").put("codec", chosen.codec())
                .put("img_per_s_per_core", PretrainCommand.round(chosen.imgPerSecPerCore()))
                .put("wall_img_per_s_one_thread", PretrainCommand.round(chosen.wallImgPerSec()))
                .put("wall_img_per_s_all_cores", PretrainCommand.round(chosen.imgPerSecAllCores())).put("cores", threads)
                .put("load_average", loadAverage())
                .put("decode_ms", PretrainCommand.round(chosen.decodeMs())).put("resize_ms", PretrainCommand.round(chosen.resizeMs()))
                .put("encode_ms", PretrainCommand.round(chosen.encodeMs())).put("mean_input_kb", PretrainCommand.round(kb));
        for (PreprocessBench.Result r : results) s.put(r.codec().replace('-', '_') + "_img_per_s_per_core", PretrainCommand.round(r.imgPerSecPerCore()));
        s.print();
        return ExitCodes.OK;
    }

    private static double loadAverage() {
        return Math.round(java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage() * 100) / 100.0;
    }

    private static JpegCodec codec(String name) {
        return switch (name) {
            case "jdk" -> new PreprocessBench.JdkCodec();
            case "jvm" -> Codecs.jvm();
            case "turbo" -> TurboCodec.available() ? Codecs.byName("turbo") : null;
            case "turbo-full-decode" -> TurboCodec.available() ? new PreprocessBench.TurboFullDecode() : null;
            default -> throw new IllegalArgumentException("--codecs " + name + ": allowed turbo, turbo-full-decode, jvm, jdk");
        };
    }
}
