package org.sparkmim.model.train;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.method.Methods;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The initial weights depend on run.seed alone: a fresh JVM builds the same graph as this one. Without that the
 * random-init floor of evaluate and the start of every engine's run moved from process to process. Before the fix
 * the default run.seed = 0 went to ND4J's RNG unchanged, which treats 0 as "unseeded": every random parameter
 * differed between two JVMs (within one JVM the draws happened to repeat, so only a second process shows it).
 */
class InitSeedTest {
    static final Map<String, String> SMALL = Map.of("model.dim", "32", "model.depth", "1", "model.heads", "2",
            "model.decoder-dim", "16", "model.decoder-depth", "1", "model.decoder-heads", "2");

    /** "name=sum" of every parameter of the initial MAE graph for this seed, in the graph's order. */
    static String fingerprint(long seed) {
        Map<String, String> m = new java.util.HashMap<>(SMALL);
        m.put("run.seed", String.valueOf(seed));
        MimConfig cfg = MimConfig.load(m);
        ComputationGraph g = Trainer.newGraph(cfg, Methods.create(cfg), 10);
        return g.paramTable().entrySet().stream()
                .map(e -> e.getKey() + "=" + e.getValue().sumNumber().doubleValue()).collect(Collectors.joining(","));
    }

    /** Run in a child JVM: prints the fingerprint of the seed in args[0]. */
    public static void main(String[] args) {
        System.out.println("FP " + fingerprint(Long.parseLong(args[0])));
    }

    static String inChildJvm(long seed) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("--add-opens") || a.startsWith("-Xmx") || a.startsWith("-D")).toList());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), InitSeedTest.class.getName(), String.valueOf(seed)));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as("child JVM exit, output:\n" + out).isZero();
        return out.lines().filter(l -> l.startsWith("FP ")).findFirst().orElseThrow().substring(3);
    }

    @Test
    void initialWeightsDependOnTheSeedAloneAcrossProcesses() throws Exception {
        String here = fingerprint(0);
        assertThat(inChildJvm(0)).as("run.seed 0 (the default) in a second JVM").isEqualTo(here);
        assertThat(fingerprint(1)).as("another seed, another init").isNotEqualTo(here);
        assertThat(inChildJvm(1)).isEqualTo(fingerprint(1));
    }
}
