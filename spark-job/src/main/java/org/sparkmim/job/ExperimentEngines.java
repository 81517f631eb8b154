package org.sparkmim.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.sparkmim.job.deploy.LocalCluster;
import org.sparkmim.job.pretrain.SparkPretrain;
import org.sparkmim.job.pretrain.SparkSettings;
import org.sparkmim.job.pretrain.TrainSource;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.eval.Encoders;
import org.sparkmim.model.eval.Scores;
import org.sparkmim.model.train.Trainer;
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
        if (clusterWorkers < 0) throw new CommandLine.ParameterException(spec.commandLine(), "--cluster-workers " + clusterWorkers + ": allowed >= 0");
        if (master != null && clusterWorkers < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--master needs --cluster-workers N >= 1 (executors to use)");
        }
        Path dir = output.dir("engines");
        Files.createDirectories(dir);
        MimConfig base = opts.resolve("fmnist-quality", defaults(steps));
        Path configFile = dir.resolve("engines.conf");
        Files.writeString(configFile, base.render() + "\n");
        int total = engines.size() + (clusterWorkers > 0 ? 1 : 0);
        System.err.printf("experiment engines: %d runs of %d steps (%s%s), config %s (fingerprint %s), output %s%n", total,
                base.optim.steps(), String.join(", ", engines), clusterWorkers > 0 ? ", shared x" + clusterWorkers + " workers" : "",
                configFile, base.fingerprint().substring(0, 12), dir);

        Map<String, Scores> floors = new HashMap<>();
        List<Row> rows = new ArrayList<>();
        Map<String, Object> floorReport = null;
        for (String e : engines) {
            progress(rows.size(), total, t0, e);
            Path runDir = dir.resolve(e);
            Map<String, String> keys = "jvm".equals(e) ? Map.of("run.name", "jvm")
                    : Map.of("run.name", e, "spark.sync", e, "spark.workers", "1");
            Scored s = reuse(runDir, with(keys), "jvm".equals(e) ? "jvm" : "spark local", "jvm".equals(e) ? "-" : e);
            if (s == null) s = score("jvm".equals(e) ? trainJvm(runDir) : trainLocalSpark(e, runDir), floors);
            rows.add(s.row(e));
            floorReport = s.floors;
        }
        if (clusterWorkers > 0) {
            String label = "shared-" + clusterWorkers + "w";
            progress(rows.size(), total, t0, label);
            Path runDir = dir.resolve(label);
            Scored s = reuse(runDir, with(Map.of("run.name", label, "spark.sync", "shared",
                    "spark.workers", String.valueOf(clusterWorkers))), "spark standalone", "shared");
            if (s == null) s = score(trainCluster(configFile, runDir, dir), floors);
            rows.add(s.row(label));
            floorReport = s.floors;
        }
        String command = "bin/spark-mim " + String.join(" ", spec.commandLine().getParseResult().originalArgs());
        String md = markdown(rows, floorReport, base, command);
        Files.writeString(dir.resolve("engines.md"), md);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("command", command);
        json.put("config_fingerprint", base.fingerprint());
        json.put("rows", rows);
        json.put("floors", floorReport);
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

    private Trained trainJvm(Path runDir) {
        MimConfig cfg = with(Map.of("run.name", "jvm"));
        long t = System.nanoTime();
        Trainer.Result r = new Trainer(cfg, PretrainCommand.trainSet(cfg), runDir).run();
        return new Trained("jvm", "-", 1, r.steps(), r.imgPerSec(), (System.nanoTime() - t) / 1e9, r.checkpoint(), runDir);
    }

    private Trained trainLocalSpark(String sync, Path runDir) {
        MimConfig cfg = with(Map.of("run.name", sync, "spark.sync", sync, "spark.workers", "1"));
        SparkSettings s = SparkSettings.of(cfg);
        long t = System.nanoTime();
        SparkPretrain.Result r;
        try (LocalSpark spark = LocalSpark.start("spark-mim experiment engines " + sync, null, "local[1]")) {
            r = SparkPretrain.run(spark.javaContext(), cfg, s, TrainSource.idx(cfg), runDir.toUri().toString());
        } finally {
            // the next Spark row starts a new application in this JVM: no gradient-sharing transport may survive
            SparkPretrain.releaseDriverTransport(s);
        }
        return new Trained("spark local", sync, 1, r.steps(), r.imgPerSec(), (System.nanoTime() - t) / 1e9,
                Path.of(java.net.URI.create(r.checkpoint())), runDir);
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
