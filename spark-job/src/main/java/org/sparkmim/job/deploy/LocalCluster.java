package org.sparkmim.job.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real Spark standalone cluster on this host, started from the jars the build resolved (no Spark distribution):
 * a Master on 127.0.0.1 and Workers on 127.0.0.2, 127.0.0.3, ... with 1 core each, as child processes. Jobs are
 * submitted through {@code deploy/submit-standalone.sh}. {@link #close()} kills every process it started, and
 * their descendants (executors are the Workers' children, the submit script's JVM is a child of its shell).
 * {@code experiment engines --cluster-workers N} trains on one, and so do the standalone cluster tests: a way to
 * run the real multi-executor path (separate executor JVMs, gradient sharing over Aeron UDP) on one machine.
 */
public final class LocalCluster implements AutoCloseable {
    public static final Path HOME = org.sparkmim.job.Home.dir();
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;
    private final String cp;
    private final List<String> flags;
    private final Path properties;
    private final int masterPort;
    private final int uiPort;
    private final List<Process> daemons = new ArrayList<>();
    private final List<Process> workers = new ArrayList<>();
    private final List<Process> jobs = new ArrayList<>();

    private LocalCluster(Path dir) throws IOException {
        this.dir = Files.createDirectories(dir);
        Path cpFile = HOME.resolve("spark-job/target/classpath.txt");
        if (!Files.exists(cpFile)) throw new IllegalStateException(cpFile + " missing: build the project first (mvn -B install -DskipTests)");
        this.cp = HOME.resolve("spark-job/target/classes") + ":" + Files.readString(cpFile).trim();
        this.flags = List.of(jvmFlags().split("\\s+"));
        this.masterPort = freePort();
        this.uiPort = freePort();
        // spark.authenticate is on in deploy/: the daemons and the jobs share this secret
        this.properties = dir.resolve("spark-cluster.properties");
        String secret = HexFormat.of().formatHex(new SecureRandom().generateSeed(32));
        Files.writeString(properties, "spark.authenticate=true\nspark.authenticate.secret=" + secret + "\n");
        Files.setPosixFilePermissions(properties, PosixFilePermissions.fromString("rw-------"));
        // Workers look for $SPARK_HOME/jars when they build an executor's command line; ours is empty (the
        // executors' classpath is spark.executor.extraClassPath)
        Files.createDirectories(dir.resolve("spark-home/jars"));
        Files.createDirectories(dir.resolve("logs"));
    }

    /** Starts a Master and {@code nWorkers} Workers and waits until all Workers are registered. */
    public static LocalCluster start(Path dir, int nWorkers) throws Exception {
        LocalCluster c = new LocalCluster(dir);
        try {
            c.daemons.add(c.java("master", Map.of(), "org.apache.spark.deploy.master.Master",
                    "--properties-file", c.properties.toString(), "-h", "127.0.0.1", "-p", String.valueOf(c.masterPort),
                    "--webui-port", String.valueOf(c.uiPort)));
            for (int i = 0; i < nWorkers; i++) c.startWorker(i);
            c.awaitWorkers(nWorkers, Duration.ofMinutes(3));
            return c;
        } catch (Exception | Error e) {
            c.close();
            throw e;
        }
    }

    private void startWorker(int i) throws IOException {
        String ip = "127.0.0." + (i + 2);
        Path work = Files.createDirectories(dir.resolve("work-" + ip));
        Process p = java("worker-" + ip, Map.of("SPARK_SCALA_VERSION", "2.12", "DL4J_VOID_IP", ip,
                        "SPARK_LOCAL_IP", ip, "SPARK_HOME", dir.resolve("spark-home").toString()),
                "org.apache.spark.deploy.worker.Worker", "--properties-file", properties.toString(), "-h", ip,
                "--cores", "1", "--memory", "4g", "--webui-port", String.valueOf(freePort()), "-d", work.toString(),
                masterUrl());
        daemons.add(p);
        workers.add(p);
    }

    public String masterUrl() {
        return "spark://127.0.0.1:" + masterPort;
    }

    /** The submit script's environment for this cluster (sizes small enough for a 2-core test host). */
    public Map<String, String> submitEnv(int executors, int aeronPort) {
        return Map.of("MASTER", masterUrl(), "MIM_SPARK_PROPERTIES", properties.toString(),
                "MIM_EXECUTORS", String.valueOf(executors), "MIM_EXECUTOR_CORES", "1",
                "MIM_EXECUTOR_HEAP", "2g", "MIM_EXECUTOR_OFFHEAP", "2g", "MIM_DRIVER_MEMORY", "3g",
                "MIM_AERON_PORT", String.valueOf(aeronPort), "SPARK_LOCAL_IP", "127.0.0.1");
    }

    /** Runs deploy/submit-standalone.sh with these job arguments; stdout/stderr go to {@code name.out/.err}. */
    public Process submit(String name, Map<String, String> env, List<String> args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("bash", HOME.resolve("deploy/submit-standalone.sh").toString()));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(HOME.toFile())
                .redirectOutput(dir.resolve(name + ".out").toFile()).redirectError(dir.resolve(name + ".err").toFile());
        pb.environment().putAll(env);
        pb.environment().put("OMP_WAIT_POLICY", "PASSIVE");
        pb.environment().put("OPENBLAS_THREAD_TIMEOUT", "4");
        Process p = pb.start();
        jobs.add(p);
        return p;
    }

    public Path log(String name) {
        return dir.resolve(name);
    }

    /** A log as text (malformed bytes replaced: a log is evidence, not input). */
    public static String read(Path log) throws IOException {
        return new String(Files.readAllBytes(log), java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Waits for a submitted job; kills it (and its children) if it outlives the timeout. */
    public static int await(Process p, Duration timeout) throws InterruptedException {
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            kill(p.toHandle());
            throw new AssertionError("job did not finish within " + timeout);
        }
        return p.exitValue();
    }

    /** PIDs of the running executor JVMs (CoarseGrainedExecutorBackend children of the Workers). */
    public List<ProcessHandle> executors() {
        return workers.stream().flatMap(Process::descendants)
                .filter(h -> commandLine(h).contains("CoarseGrainedExecutorBackend"))
                .toList();
    }

    /** From /proc: ProcessHandle.Info drops the arguments of a command line as long as an executor's. */
    private static String commandLine(ProcessHandle h) {
        try {
            return new String(Files.readAllBytes(Path.of("/proc", String.valueOf(h.pid()), "cmdline")),
                    java.nio.charset.StandardCharsets.UTF_8);
        } catch (IOException e) {
            return ""; // exited meanwhile
        }
    }

    /** Every executor's stderr so far (the Workers' work directories). */
    public String executorLogs() throws IOException {
        StringBuilder sb = new StringBuilder();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(f -> f.getFileName().toString().equals("stderr")).sorted().toList()) {
                sb.append("==> ").append(p).append('\n').append(read(p)).append('\n');
            }
        }
        return sb.toString();
    }

    /** The Master's view (the JSON of its web UI). */
    public JsonNode state() throws IOException, InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + uiPort + "/json/"))
                .timeout(Duration.ofSeconds(10)).build();
        return JSON.readTree(http.send(req, HttpResponse.BodyHandlers.ofString()).body());
    }

    private void awaitWorkers(int n, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "no answer";
        while (System.nanoTime() < deadline) {
            for (Process d : daemons) {
                if (!d.isAlive()) throw new IllegalStateException("a cluster daemon exited early; see " + dir.resolve("logs"));
            }
            try {
                JsonNode s = state();
                long alive = 0;
                for (JsonNode w : s.path("workers")) if ("ALIVE".equals(w.path("state").asText())) alive++;
                if (alive == n) return;
                last = alive + " of " + n + " workers alive";
            } catch (IOException e) {
                last = e.toString();
            }
            Thread.sleep(500);
        }
        throw new IllegalStateException("standalone cluster not ready after " + timeout + ": " + last);
    }

    private Process java(String name, Map<String, String> env, String mainClass, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(javaBin(), "-Xmx512m"));
        cmd.addAll(flags);
        cmd.addAll(List.of("-cp", cp, mainClass));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(dir.resolve("logs/" + name + ".log").toFile());
        pb.environment().putAll(env);
        return pb.start();
    }

    @Override
    public void close() {
        // jobs first (their executors go with the Workers below), then Workers, then the Master
        for (Process p : jobs) kill(p.toHandle());
        for (int i = daemons.size() - 1; i >= 0; i--) kill(daemons.get(i).toHandle());
    }

    /** Kills a process and all its descendants, by PID, and waits for them to go. */
    public static void kill(ProcessHandle p) {
        List<ProcessHandle> all = new ArrayList<>(p.descendants().toList());
        all.add(p);
        all.forEach(ProcessHandle::destroyForcibly);
        for (ProcessHandle h : all) {
            try {
                h.onExit().get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                // still going after 30 s: nothing more we can do from here; it was sent SIGKILL
            }
        }
    }

    /** This JVM's java binary: the one child JVMs of this project (cluster daemons, experiment runs) start with. */
    public static String javaBin() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static String jvmFlags() throws IOException {
        Optional<String> line = Files.readAllLines(HOME.resolve("conf/jvm.properties")).stream()
                .filter(l -> l.startsWith("mim.jvm.flags=")).findFirst();
        return line.orElseThrow().substring("mim.jvm.flags=".length()).trim();
    }

    public static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
