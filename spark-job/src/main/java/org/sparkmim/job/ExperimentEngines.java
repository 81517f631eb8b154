package org.sparkmim.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.sparkmim.job.deploy.LocalCluster;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.eval.Encoders;
import org.sparkmim.model.eval.Scores;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code experiment engines}: one config trained for the same steps through every engine and sync mode, each
 * checkpoint scored with evaluate's protocol, one table. It answers "does the Spark job train as well and as fast
 * as one JVM?": the JVM trainer, Spark in local mode with one worker under parameter averaging and under gradient
 * sharing (the product's default), and optionally gradient sharing on N executors of a standalone cluster (one this
 * command starts on 127.0.0.x from the build's jars, or an existing one) at the same global batch and steps.
 *
 * <p>Every row is trained by {@code spark-mim pretrain} in a JVM of its own, as a user runs it. Trained one after the
 * other in this JVM, a later row ran on code an earlier one had already compiled (the JIT) and beside its leftover
 * threads and memory, so the rows' speeds were not measured alike. This host's runs also differ by ±10% from one to
 * the next, so {@code --speed-rounds N} trains the local rows N more times, unscored, in alternating order, and
 * reports each engine's median and the median of the per-round ratios to the JVM engine.
 */
@Command(name = "engines", mixinStandardHelpOptions = true,
        description = "Train one config for the same steps with --engine jvm and on Spark (averaging and gradient "
                + "sharing, 1 worker; optionally N workers on a standalone cluster), score every checkpoint with "
                + "evaluate's protocol (kNN + linear probe on frozen features, shared floors), and print and write the "
                + "table (engines.md/.json in --out, appended to docs/RESULTS.md).")
public class ExperimentEngines implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
            .setPropertyNamingStrategy(com.fasterxml.jackson.databind.PropertyNamingStrategies.SNAKE_CASE);
    static final List<String> LOCAL = List.of("jvm", "averaging", "shared");

    @Mixin
    CommonOptions opts = new CommonOptions();

    @Option(names = "--engines", split = ",", defaultValue = "jvm,averaging,shared",
            description = "Local rows: jvm (single JVM), averaging and shared (Spark local mode, 1 worker, "
                    + "spark.sync = parameter averaging / gradient sharing). Default ${DEFAULT-VALUE}.")
    List<String> engines;

    @Option(names = "--steps", defaultValue = "600", description = "optim.steps of every run (default ${DEFAULT-VALUE}).")
    long steps;

    @Option(names = "--cluster-workers", defaultValue = "0",
            description = "Also train with gradient sharing on this many executors of a standalone cluster (0 = no "
                    + "cluster row). Without --master the command starts one here: a Master on 127.0.0.1 and Workers on "
                    + "127.0.0.2.., 1 core each, from the build's jars, and stops it afterwards.")
    int clusterWorkers;

    @Option(names = "--master", description = "An existing standalone master (spark://host:port) for the cluster row; "
            + "needs MIM_SPARK_PROPERTIES as for deploy/submit-standalone.sh.")
    String master;

    @Option(names = "--speed-rounds", defaultValue = "0",
            description = "Train the local rows this many more times for speed only (unscored; each in a JVM of its "
                    + "own, the order reversed every round) and report medians (default ${DEFAULT-VALUE}).")
    int speedRounds;

    @Option(names = "--eval-train", defaultValue = "0", description = "Train images for the kNN bank and probe (0 = all; default ${DEFAULT-VALUE}).")
    int evalTrain;

    @Option(names = "--eval-test", defaultValue = "0", description = "Test images scored (0 = all; default ${DEFAULT-VALUE}).")
    int evalTest;

    @Mixin
    ResultsOptions output = new ResultsOptions();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** One trained and scored run. */
    record Row(String label, String engine, String sync, int workers, long steps, double imgPerSec, double trainSeconds,
               double knnTop1, double probeTop1, String verdict, Double maxUpdateVsDense, Integer zeroUpdateChunks,
               String runDir) { }

    /**
     * The experiment's own settings under the user's: equal steps with no time budget (the runs must not be cut at
     * different steps), no online kNN or pictures during training, and evaluate's global mean-pooled feature.
     */
    static Map<String, String> defaults(long steps) {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("optim.steps", String.valueOf(steps));
        d.put("run.time-budget-minutes", "0");
        d.put("eval.online-knn-every", "0");
        d.put("eval.feature", "mean");
        d.put("eval.pool-grid", "1");
        return d;
    }

    @Override
    public Integer call() throws Exception {
        long t0 = System.nanoTime();
        for (String e : engines) {
            if (!LOCAL.contains(e)) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--engines " + e + ": allowed " + String.join(", ", LOCAL));
            }
        }
        if (speedRounds < 0) throw new CommandLine.ParameterException(spec.commandLine(), "--speed-rounds " + speedRounds + ": allowed >= 0");
        if (clusterWorkers < 0) throw new CommandLine.ParameterException(spec.commandLine(), "--cluster-workers " + clusterWorkers + ": allowed >= 0");
        if (master != null && clusterWorkers < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--master needs --cluster-workers N >= 1 (executors to use)");
        }
        Path dir = output.dir("engines");
        Files.createDirectories(dir);
        MimConfig base = opts.resolve("fmnist-quality", defaults(steps));
        Path configFile = dir.resolve("engines.conf");
        Files.writeString(configFile, base.render() + "\n");
        int total = engines.size() * (1 + speedRounds) + (clusterWorkers > 0 ? 1 : 0);
        System.err.printf("experiment engines: %d runs of %d steps (%s%s), config %s (fingerprint %s), output %s%n", total,
                base.optim.steps(), String.join(", ", engines), clusterWorkers > 0 ? ", shared x" + clusterWorkers + " workers" : "",
                configFile, base.fingerprint().substring(0, 12), dir);

        Map<String, Scores> floors = new HashMap<>();
        List<Row> rows = new ArrayList<>();
        Map<String, Object> floorReport = null;
        for (String e : engines) {
            progress(rows.size(), total, t0, e);
            Path runDir = dir.resolve(e);
            Scored s = reuse(runDir, with(rowKeys(e, runDir)), "jvm".equals(e) ? "jvm" : "spark local", "jvm".equals(e) ? "-" : e);
            if (s == null) s = score(trainLocal(e, configFile, runDir, dir.resolve("logs"), e), floors);
            rows.add(s.row(e));
            floorReport = s.floors;
        }
        List<Map<String, Object>> speed = new ArrayList<>();
        if (speedRounds > 0) {
            Map<String, Object> first = new LinkedHashMap<>();
            first.put("round", 0);
            first.put("order", engines);
            for (Row r : rows) first.put(r.label(), r.imgPerSec());
            speed.add(first);
        }
        int done = rows.size();
        for (int round = 1; round <= speedRounds; round++) {
            List<String> order = new ArrayList<>(engines);
            if (round % 2 == 1) java.util.Collections.reverse(order); // round 0 (the scored rows) ran in listed order
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("round", round);
            r.put("order", order);
            for (String e : order) {
                progress(done++, total, t0, e + ", speed round " + round + "/" + speedRounds);
                Path runDir = dir.resolve("speed").resolve(round + "-" + e);
                org.apache.commons.io.FileUtils.deleteDirectory(runDir.toFile()); // a speed run always trains from step 0
                Trained t = trainLocal(e, configFile, runDir, dir.resolve("logs"), "speed-" + round + "-" + e);
                r.put(e, t.imgPerSec());
                org.apache.commons.io.FileUtils.deleteDirectory(runDir.toFile()); // never scored; its log stays in logs/
            }
            speed.add(r);
        }
        if (clusterWorkers > 0) {
            String label = "shared-" + clusterWorkers + "w";
            progress(total - 1, total, t0, label);
            Path runDir = dir.resolve(label);
            Scored s = reuse(runDir, with(Map.of("run.name", label, "spark.sync", "shared",
                    "spark.workers", String.valueOf(clusterWorkers))), "spark standalone", "shared");
            if (s == null) s = score(trainCluster(configFile, runDir, dir), floors);
            rows.add(s.row(label));
            floorReport = s.floors;
        }
        String command = "bin/spark-mim " + String.join(" ", spec.commandLine().getParseResult().originalArgs());
        String md = markdown(rows, floorReport, base, command) + speedMarkdown(speed, engines);
        Files.writeString(dir.resolve("engines.md"), md);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("command", command);
        json.put("config_fingerprint", base.fingerprint());
        json.put("rows", rows);
        json.put("floors", floorReport);
        if (!speed.isEmpty()) json.put("speed", speedJson(speed, engines));
        JSON.writeValue(dir.resolve("engines.json").toFile(), json);
        System.out.print(md);
        Path resultsFile = output.append(md);
        new Summary("experiment engines").put("dir", dir.toString()).put("table", dir.resolve("engines.md").toString())
                .put("runs", rows.size()).put("results", resultsFile == null ? null : resultsFile.toString())
                .put("elapsed_s", PretrainCommand.round((System.nanoTime() - t0) / 1e9)).print();
        return ExitCodes.OK;
    }

    private static void progress(int done, int total, long t0, String next) {
        double el = (System.nanoTime() - t0) / 1e9;
        String eta = done == 0 ? "" : String.format(Locale.ROOT, ", ETA %.0f min", el / done * (total - done) / 60);
        System.err.printf(Locale.ROOT, "experiment engines: run %d/%d (%s), %.1f min elapsed%s%n", done + 1, total, next, el / 60, eta);
    }

    /** A finished training run: where its checkpoint is and what the trainer reported. */
    record Trained(String engine, String sync, int workers, long steps, double imgPerSec, double seconds, Path checkpoint,
                   Path runDir) { }

    record Scored(Trained t, Map<String, Object> report, Map<String, Object> floors, Double maxVsDense, Integer zeroChunks) {
        Row row(String label) {
            return new Row(label, t.engine, t.sync, t.workers, t.steps, t.imgPerSec, t.seconds,
                    ((Number) report.get("knn_top1")).doubleValue(), ((Number) report.get("probe_top1")).doubleValue(),
                    String.valueOf(report.get("verdict")), maxVsDense, zeroChunks, t.runDir.toString());
        }
    }

    /**
     * What makes local row {@code e} that row, on top of the experiment's config: its run directory, and for a Spark
     * row its sync mode on one worker.
     */
    static Map<String, String> rowKeys(String e, Path runDir) {
        Map<String, String> k = new LinkedHashMap<>();
        k.put("run.dir", runDir.getParent().toAbsolutePath().toString());
        k.put("run.name", runDir.getFileName().toString());
        if (!"jvm".equals(e)) {
            k.put("spark.sync", e);
            k.put("spark.workers", "1");
        }
        return k;
    }

    /**
     * Local row {@code e} trained by {@code spark-mim pretrain} in a JVM of its own (see the class comment), with
     * the experiment's config file and the row's keys; its output goes to {@code logs/TAG.out} and {@code .err}.
     */
    private Trained trainLocal(String e, Path configFile, Path runDir, Path logs, String tag) throws Exception {
        List<String> args = new ArrayList<>(List.of("pretrain", "--conf", configFile.toString()));
        if ("jvm".equals(e)) args.addAll(List.of("--engine", "jvm"));
        rowKeys(e, runDir).forEach((k, v) -> args.addAll(List.of("--set", k + "=" + v)));
        Files.createDirectories(logs);
        Path out = logs.resolve(tag + ".out"), err = logs.resolve(tag + ".err");
        long t = System.nanoTime();
        int rc = LocalCluster.await(childJvm(args, out, err), Duration.ofHours(12));
        if (rc != 0) {
            throw new IllegalStateException("experiment engines: the " + e + " run failed (exit " + rc + "); see " + err);
        }
        JsonNode summary = lastJson(out);
        String ckpt = summary.get("checkpoint").asText();
        return new Trained("jvm".equals(e) ? "jvm" : "spark local", "jvm".equals(e) ? "-" : e, 1,
                summary.get("steps").asLong(), summary.get("img_per_s").asDouble(), (System.nanoTime() - t) / 1e9,
                ckpt.startsWith("file:") ? Path.of(java.net.URI.create(ckpt)) : Path.of(ckpt), runDir);
    }

    /** {@code spark-mim ARGS} in a new JVM: this JVM's java, flags and class path, and this process's environment. */
    static Process childJvm(List<String> args, Path out, Path err) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(LocalCluster.javaBin());
        for (String a : java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!a.startsWith("-agentlib:jdwp")) cmd.add(a); // a debugger's port is this JVM's alone
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(args);
        return new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    }

    /** The speed rounds' figures: per round and engine img/s, then each engine's median and median ratio to jvm. */
    static Map<String, Object> speedJson(List<Map<String, Object>> speed, List<String> engines) {
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("rounds", speed);
        Map<String, Double> median = new LinkedHashMap<>(), ratio = new LinkedHashMap<>();
        for (String e : engines) {
            median.put(e, median(speed.stream().map(r -> (Double) r.get(e)).toList()));
            if (engines.contains("jvm") && !"jvm".equals(e)) {
                ratio.put(e, median(speed.stream().map(r -> (Double) r.get(e) / (Double) r.get("jvm")).toList()));
            }
        }
        j.put("median_img_per_s", median);
        j.put("median_ratio_vs_jvm", ratio);
        return j;
    }

    /** The median (the mean of the middle two for an even count), by commons-math. */
    static double median(List<Double> v) {
        return new org.apache.commons.math3.stat.descriptive.rank.Median().evaluate(
                v.stream().mapToDouble(Double::doubleValue).toArray());
    }

    static String speedMarkdown(List<Map<String, Object>> speed, List<String> engines) {
        if (speed.isEmpty()) return "";
        boolean jvm = engines.contains("jvm");
        StringBuilder sb = new StringBuilder();
        sb.append("Speed: ").append(speed.size()).append(" runs of each local row, each `spark-mim pretrain` in a JVM of "
                + "its own, the order reversed every round (round 0 is the scored one). img/s over the whole run:\n\n");
        sb.append("| round | order |");
        for (String e : engines) sb.append(' ').append(e).append(" |");
        for (String e : engines) if (jvm && !"jvm".equals(e)) sb.append(' ').append(e).append(" vs jvm |");
        sb.append("\n|---|---|").append("---|".repeat(engines.size() + (jvm ? engines.size() - 1 : 0))).append('\n');
        for (Map<String, Object> r : speed) {
            @SuppressWarnings("unchecked")
            List<String> order = (List<String>) r.get("order");
            sb.append("| ").append(r.get("round")).append(" | ").append(String.join(", ", order)).append(" |");
            for (String e : engines) sb.append(String.format(Locale.ROOT, " %.1f |", (Double) r.get(e)));
            for (String e : engines) {
                if (jvm && !"jvm".equals(e)) {
                    sb.append(String.format(Locale.ROOT, " %.3fx |", (Double) r.get(e) / (Double) r.get("jvm")));
                }
            }
            sb.append('\n');
        }
        Map<String, Object> summary = speedJson(speed, engines);
        @SuppressWarnings("unchecked")
        Map<String, Double> med = (Map<String, Double>) summary.get("median_img_per_s");
        @SuppressWarnings("unchecked")
        Map<String, Double> rat = (Map<String, Double>) summary.get("median_ratio_vs_jvm");
        sb.append("| median | |");
        for (String e : engines) sb.append(String.format(Locale.ROOT, " **%.1f** |", med.get(e)));
        for (String e : engines) if (jvm && !"jvm".equals(e)) sb.append(String.format(Locale.ROOT, " **%.3fx** |", rat.get(e)));
        return sb.append("\n\n").toString();
    }

    /** The product path on a cluster: deploy/submit-standalone.sh pretrain with the experiment's config file. */
    private Trained trainCluster(Path configFile, Path runDir, Path dir) throws Exception {
        List<String> args = new ArrayList<>(List.of("pretrain", "--conf", configFile.toString(), "--run-dir",
                runDir.toUri().toString()));
        for (String kv : List.of("run.name=shared-" + clusterWorkers + "w", "spark.sync=shared", "spark.workers=" + clusterWorkers)) {
            args.addAll(List.of("--set", kv));
        }
        long t = System.nanoTime();
        JsonNode summary;
        if (master == null) {
            try (LocalCluster cluster = LocalCluster.start(dir.resolve("cluster"), clusterWorkers)) {
                System.err.printf("experiment engines: standalone cluster %s with %d workers; job log %s%n",
                        cluster.masterUrl(), clusterWorkers, cluster.log("train.err"));
                Process p = cluster.submit("train", cluster.submitEnv(clusterWorkers, LocalCluster.freePort()), args);
                int rc = LocalCluster.await(p, Duration.ofHours(12));
                if (rc != 0) throw new IllegalStateException("cluster run failed (exit " + rc + "); see " + cluster.log("train.err"));
                summary = lastJson(cluster.log("train.out"));
            }
        } else {
            Path log = dir.resolve("cluster-train");
            List<String> cmd = new ArrayList<>(List.of("bash", Home.dir().resolve("deploy/submit-standalone.sh").toString()));
            cmd.addAll(args);
            ProcessBuilder pb = new ProcessBuilder(cmd).directory(Home.dir().toFile())
                    .redirectOutput(log.resolveSibling("cluster-train.out").toFile())
                    .redirectError(log.resolveSibling("cluster-train.err").toFile());
            pb.environment().put("MASTER", master);
            pb.environment().put("MIM_EXECUTORS", String.valueOf(clusterWorkers));
            int rc = pb.start().waitFor();
            if (rc != 0) throw new IllegalStateException("cluster run failed (exit " + rc + "); see " + dir.resolve("cluster-train.err"));
            summary = lastJson(dir.resolve("cluster-train.out"));
        }
        return new Trained("spark " + (master == null ? "standalone (this host)" : master), "shared",
                summary.get("workers").asInt(), summary.get("steps").asLong(), summary.get("img_per_s").asDouble(),
                (System.nanoTime() - t) / 1e9, Path.of(java.net.URI.create(summary.get("checkpoint").asText())), runDir);
    }

    /**
     * A row finished by an earlier call with the same --out (the experiment resumes): its run directory holds an
     * evaluation of the checkpoint at --steps whose config matches this row's (the Aeron port aside, which the
     * submit script picks). Null when there is none; delete the directory to train the row again.
     */
    private Scored reuse(Path runDir, MimConfig expected, String engine, String sync) throws IOException {
        Path evalJson = runDir.resolve("eval.json"), conf = runDir.resolve("config.conf"), metrics = runDir.resolve("metrics.jsonl");
        if (!Files.isRegularFile(evalJson) || !Files.isRegularFile(conf) || !Files.isRegularFile(metrics)) return null;
        ObjectMapper m = new ObjectMapper();
        @SuppressWarnings("unchecked")
        Map<String, Object> report = m.readValue(evalJson.toFile(), Map.class);
        @SuppressWarnings("unchecked")
        Map<String, Object> prov = (Map<String, Object>) report.get("provenance");
        MimConfig stored = MimConfig.fromRendered(Files.readString(conf), conf.toString(), null, Map.of());
        // the JVM engine reads no spark.* key; a Spark row's Aeron port is the submit script's choice
        // the JVM engine reads neither spark.* nor debug.* (the Spark job's fault injection and experiments)
        List<String> ignore = "-".equals(sync) ? List.of("spark", "debug") : List.of("spark.port");
        if (((Number) prov.get("step")).longValue() != steps
                // (home: written into configs by builds before it was excluded; never a setting)
                || !MimConfig.sha256(without(stored.tree(), ignore).withoutPath("home").root().render(com.typesafe.config.ConfigRenderOptions.concise())).equals(
                        MimConfig.sha256(without(expected.tree(), ignore).root().render(com.typesafe.config.ConfigRenderOptions.concise())))) {
            return null;
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> setup = (Map<String, Object>) report.get("setup");
        if (!expected.eval.featureSpec().label().equals(setup.get("feature"))
                || (evalTrain > 0 && ((Number) setup.get("train_images")).intValue() != evalTrain)
                || (evalTest > 0 && ((Number) setup.get("test_images")).intValue() != evalTest)) {
            return null; // scored another way: score it again
        }
        List<String> lines = Files.readAllLines(metrics);
        JsonNode last = null;
        for (String line : lines) {
            JsonNode r = m.readTree(line);
            if (r.has("elapsed_s") && r.has("step")) last = r;
        }
        if (last == null) return null;
        double seconds = last.get("elapsed_s").asDouble();
        int workers = "-".equals(sync) ? 1 : stored.tree().getInt("spark.workers");
        Trained t = new Trained(engine, sync, workers, last.get("step").asLong(),
                last.get("step").asLong() * stored.optim.batch() / seconds, seconds,
                Path.of(String.valueOf(prov.get("checkpoint"))), runDir);
        System.err.printf("experiment engines: %s already trained and evaluated at step %d with this config: reused%n", runDir, steps);
        return scored(t, report);
    }

    private Scored score(Trained t, Map<String, Scores> floors) throws IOException {
        Map<String, String> evalKeys = new LinkedHashMap<>();
        defaults(steps).forEach((k, v) -> { if (k.startsWith("eval.")) evalKeys.put(k, v); });
        opts.set.forEach((k, v) -> { if (k.startsWith("eval.")) evalKeys.put(k, v); });
        Encoders.Loaded ck = Encoders.open(t.checkpoint, null, evalKeys);
        return scored(t, EvaluateCommand.evaluate(ck, null, null, evalTrain, evalTest, 0, null, t.runDir, floors));
    }

    /** A trained run with its evaluation, plus the update statistics of its metrics (Spark runs). */
    private static Scored scored(Trained t, Map<String, Object> report) throws IOException {
        @SuppressWarnings("unchecked")
        Map<String, Object> fl = (Map<String, Object>) report.get("floors");
        Double maxVsDense = null;
        Integer zero = null;
        Path metrics = t.runDir.resolve("metrics.jsonl");
        if (!"-".equals(t.sync) && Files.isRegularFile(metrics)) {
            ObjectMapper m = new ObjectMapper();
            for (String line : Files.readAllLines(metrics)) {
                JsonNode r = m.readTree(line);
                if (r.has("update_vs_dense")) maxVsDense = Math.max(maxVsDense == null ? 0 : maxVsDense, r.get("update_vs_dense").asDouble());
                // a chunk that left the driver's weights where they were (the "param change 0.000")
                if (r.has("param_change")) zero = (zero == null ? 0 : zero) + (r.get("param_change").asDouble() == 0 ? 1 : 0);
            }
        }
        System.err.printf(Locale.ROOT, "experiment engines: %s %s: %d steps, %.1f img/s, kNN %.2f, probe %.2f (%s)%n", t.engine,
                t.sync, t.steps, t.imgPerSec, 100 * ((Number) report.get("knn_top1")).doubleValue(),
                100 * ((Number) report.get("probe_top1")).doubleValue(), report.get("verdict"));
        return new Scored(t, report, fl, maxVsDense, zero);
    }

    /** The experiment's config (preset, --conf, defaults under --set) with a row's own keys on top. */
    private MimConfig with(Map<String, String> rowKeys) {
        Map<String, String> all = new LinkedHashMap<>(defaults(steps));
        all.putAll(opts.set);
        all.putAll(rowKeys);
        return MimConfig.load(CommonOptions.presetPath(opts.preset != null ? opts.preset : "fmnist-quality"), opts.conf, all);
    }

    static JsonNode lastJson(Path out) throws IOException {
        List<String> lines = Files.readAllLines(out);
        for (int i = lines.size() - 1; i >= 0; i--) {
            if (lines.get(i).startsWith("{")) return new ObjectMapper().readTree(lines.get(i));
        }
        throw new IllegalStateException("no JSON summary in " + out);
    }

    static String markdown(List<Row> rows, Map<String, Object> floors, MimConfig cfg, String command) {
        StringBuilder sb = new StringBuilder();
        sb.append("### Engines at equal steps (").append(LocalDate.now()).append(")\n\n");
        sb.append("`").append(command).append("`: ").append(cfg.method.name()).append(", ").append(cfg.model)
                .append(", global batch ").append(cfg.optim.batch()).append(", ").append(cfg.optim.steps())
                .append(" steps, seed ").append(cfg.run.seed()).append("; evaluate's protocol, feature ")
                .append(cfg.eval.featureSpec().label()).append(".\n\n");
        sb.append("| run | engine | sync | workers | steps | img/s | vs jvm | kNN top-1 | probe top-1 | max bytes/update vs dense | chunks applying nothing |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|---|---|\n");
        Double jvm = rows.stream().filter(r -> r.engine().equals("jvm")).map(Row::imgPerSec).findFirst().orElse(null);
        for (Row r : rows) {
            sb.append(String.format(Locale.ROOT, "| %s | %s | %s | %d | %d | %.0f | %s | %.2f | %.2f | %s | %s |%n", r.label(),
                    r.engine(), r.sync(), r.workers(), r.steps(), r.imgPerSec(),
                    jvm == null ? "" : String.format(Locale.ROOT, "%.2fx", r.imgPerSec() / jvm), 100 * r.knnTop1(),
                    100 * r.probeTop1(), r.maxUpdateVsDense() == null ? "-" : String.format(Locale.ROOT, "%.4f", r.maxUpdateVsDense()),
                    r.zeroUpdateChunks() == null ? "-" : r.zeroUpdateChunks()));
        }
        if (floors != null) {
            sb.append(String.format(Locale.ROOT, "| floors: raw pixels / random init | | | | | | | %s / %s | %s / %s | | |%n",
                    pct(floors, "pixels", "knn_top1"), pct(floors, "random_init", "knn_top1"),
                    pct(floors, "pixels", "probe_top1"), pct(floors, "random_init", "probe_top1")));
        }
        return sb.append('\n').toString();
    }

    @SuppressWarnings("unchecked")
    private static String pct(Map<String, Object> floors, String kind, String key) {
        Object v = ((Map<String, Object>) floors.get(kind)).get(key);
        return String.format(Locale.ROOT, "%.2f", 100 * ((Number) v).doubleValue());
    }

    private static com.typesafe.config.Config without(com.typesafe.config.Config c, List<String> paths) {
        for (String p : paths) c = c.withoutPath(p);
        return c;
    }
}
