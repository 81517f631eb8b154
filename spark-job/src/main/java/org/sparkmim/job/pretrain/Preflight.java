package org.sparkmim.job.pretrain;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * Checks, before any training starts, the settings whose absence makes DL4J on Spark fail late and cryptically
 * (an NPE deep in Kryo, Aeron refusing to start, connections dropping under a small /dev/shm). Driver-side checks
 * run here; executor-side checks run as a tiny Spark job so they see the executors' real JVM flags and mounts.
 * Every problem names the setting and how to fix it.
 */
public final class Preflight {
    static final String AERON_FLAG = "aeron.publication.unblock.timeout";
    static final String KRYO = "org.apache.spark.serializer.KryoSerializer";
    static final String REGISTRATOR = "org.nd4j.kryo.Nd4jRegistrator";

    private Preflight() { }

    /** Throws IllegalArgumentException listing every problem found (not only the first). */
    public static void check(JavaSparkContext sc, SparkSettings s) {
        List<String> problems = new ArrayList<>(driverProblems(sc.getConf(), s));
        if (problems.isEmpty()) problems.addAll(executorProblems(sc, s));
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("preflight failed:\n  - " + String.join("\n  - ", problems)
                    + "\n(deploy/spark-conf.sh prints every --conf the job needs)");
        }
    }

    static List<String> driverProblems(SparkConf conf, SparkSettings s) {
        List<String> p = new ArrayList<>();
        if (!KRYO.equals(conf.get("spark.serializer", ""))) {
            p.add("spark.serializer must be " + KRYO + " (is '" + conf.get("spark.serializer", "unset") + "')");
        }
        if (!conf.get("spark.kryo.registrator", "").contains(REGISTRATOR)) {
            p.add("spark.kryo.registrator must include " + REGISTRATOR + " (ND4J arrays in RDDs; without it the "
                    + "failure is an NPE inside Kryo)");
        }
        if (!Object.class.getModule().isOpen("java.nio", Preflight.class.getModule())) {
            p.add("the driver JVM lacks the --add-opens flags Spark needs on JDK 17 (see conf/jvm.properties; "
                    + "pass them with --driver-java-options)");
        }
        if ("shared".equals(s.sync())) {
            String master = conf.get("spark.master", "");
            boolean aeron = usesAeron(master, s);
            if (aeron && System.getProperty(AERON_FLAG) == null) {
                p.add("driver JVM flag -D" + AERON_FLAG + "=60000000000 is missing (gradient sharing: Aeron refuses "
                        + "to start without it)");
            }
            if (master.startsWith("local") && s.workers() > 1) {
                // SharedTrainingWrapper keeps ONE model per executor JVM and feeds it every partition that lands
                // there: in local mode "2 workers" would be one model taking 2x the steps at half the batch.
                p.add("mim.spark.workers = " + s.workers() + " with sync = shared on a local master: gradient sharing "
                        + "trains one model per JVM, so local mode has exactly 1 worker; set mim.spark.workers = 1 "
                        + "(or use sync = averaging, whose local tasks are separate workers)");
            }
            if (!master.startsWith("local") && !conf.get("spark.executor.extraJavaOptions", "").contains(AERON_FLAG)) {
                p.add("spark.executor.extraJavaOptions lacks -D" + AERON_FLAG + "=60000000000");
            }
            if (s.stepSynced() && "export".equals(s.approach())) {
                p.add("mim.spark.step-sync = " + s.stepSync() + " needs mim.spark.approach = direct (is export): "
                        + "with direct, each worker trains one task of the chunk's stage, which is how the workers "
                        + "find each other at every step; set step-sync = 0 to train unsynchronized with export");
            }
            String shm = aeron ? shmProblem(s.minShmMb()) : null;
            if (shm != null) p.add("driver: " + shm);
            // DL4J's parameter server is a JVM-wide singleton that keeps its port after a job ends: a second job in
            // this JVM (tests, a restart after executor loss) reuses it, so only a port held by someone else counts
            String port = !aeron || org.nd4j.parameterserver.distributed.v2.ModelParameterServer.getInstance().isInitialized()
                    ? null : portProblem(s.port());
            if (port != null) p.add(port);
        }
        return p;
    }

    /**
     * Whether gradient sharing runs over DL4J's Aeron transport: always on a cluster; in local mode only with
     * spark.local-transport = aeron ({@link InJvmTransport} needs no port, no /dev/shm and no Aeron flag).
     */
    static boolean usesAeron(String master, SparkSettings s) {
        return "shared".equals(s.sync()) && (!master.startsWith("local") || "aeron".equals(s.localTransport()));
    }

    /** Runs one task per worker and collects what each executor lacks. */
    static List<String> executorProblems(JavaSparkContext sc, SparkSettings s) {
        boolean aeron = usesAeron(sc.getConf().get("spark.master", ""), s);
        int minShm = s.minShmMb();
        return sc.parallelize(IntStream.range(0, s.workers()).boxed().collect(Collectors.toList()), s.workers())
                .map(i -> {
                    List<String> p = new ArrayList<>();
                    String host = InetAddress.getLocalHost().getHostName();
                    if (aeron && System.getProperty(AERON_FLAG) == null) {
                        p.add("executor on " + host + ": JVM flag -D" + AERON_FLAG + " missing");
                    }
                    if (aeron) {
                        String shm = shmProblem(minShm);
                        if (shm != null) p.add("executor on " + host + ": " + shm);
                    }
                    return p;
                }).collect().stream().flatMap(List::stream).distinct().collect(Collectors.toList());
    }

    /**
     * Deletes the Aeron directories under {@code base} (aeron-*) whose media driver is no longer alive, and returns
     * how many MiB that freed. Why: DL4J's embedded Aeron driver makes a fresh directory per JVM, about 600 MiB of
     * /dev/shm (RAM) each, and a JVM that is killed (a lost executor, a cancelled job, the fault tests) leaves it
     * behind; 21 of them had taken 11 GiB of a 23 GiB host here. A directory counts as alive when Aeron's own
     * check finds a driver heartbeat in it within {@code timeoutMs}, so another job's directory is left alone, and
     * so is one changed within the last minute (a driver that is starting has no heartbeat yet).
     */
    static long removeStaleAeronDirs(Path base, long timeoutMs) {
        if (!Files.isDirectory(base)) return 0;
        long freed = 0, young = System.currentTimeMillis() - 60_000;
        try (var dirs = Files.newDirectoryStream(base, "aeron-*")) {
            for (Path d : dirs) {
                if (!Files.isDirectory(d) || Files.getLastModifiedTime(d).toMillis() > young || driverActive(d, timeoutMs)) continue;
                long bytes = 0;
                try (var files = Files.walk(d)) {
                    for (Path f : (Iterable<Path>) files.sorted(java.util.Comparator.reverseOrder())::iterator) {
                        if (Files.isRegularFile(f)) bytes += Files.size(f);
                        Files.deleteIfExists(f);
                    }
                } catch (IOException e) {
                    continue; // another user's directory, or one that is being removed right now
                }
                freed += bytes;
            }
        } catch (IOException e) {
            return freed;
        }
        return freed >> 20;
    }

    private static boolean driverActive(Path dir, long timeoutMs) {
        try {
            return io.aeron.CommonContext.isDriverActive(dir.toFile(), timeoutMs, m -> { });
        } catch (RuntimeException e) { // e.g. "CnC file is created but not initialised": killed while starting
            return false;
        }
    }

    static String shmProblem(int minMb) {
        Path shm = Path.of("/dev/shm");
        if (minMb <= 0 || !Files.isDirectory(shm)) return null;
        long freed = removeStaleAeronDirs(shm, 10_000);
        if (freed > 0) LoggerFactory.getLogger(Preflight.class).info("removed {} MiB of stale Aeron directories from {}", freed, shm);
        try {
            long mb = Files.getFileStore(shm).getTotalSpace() >> 20;
            return mb < minMb ? "/dev/shm is " + mb + " MiB, below mim.spark.min-shm-mb = " + minMb
                    + " (Aeron keeps its buffers there; on Kubernetes mount an emptyDir with medium: Memory)" : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** The controller's UDP port must be free on the driver (Aeron binds it). */
    static String portProblem(int port) {
        try (DatagramSocket d = new DatagramSocket(null)) {
            d.setReuseAddress(false);
            d.bind(new InetSocketAddress(port));
            return null;
        } catch (IOException e) {
            return "UDP port mim.spark.port = " + port + " is not available on the driver (" + e.getMessage()
                    + "); pick a free port";
        }
    }

    /** The controller address must belong to this (driver) host, or executors would talk to nobody. */
    static String addressProblem(String address) {
        try {
            InetAddress a = InetAddress.getByName(address);
            return a.isLoopbackAddress() || NetworkInterface.getByInetAddress(a) != null ? null
                    : "mim.spark.controller-address = " + address + " is not an address of the driver host";
        } catch (IOException e) {
            return "mim.spark.controller-address = " + address + " does not resolve: " + e.getMessage();
        }
    }
}
