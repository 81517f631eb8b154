package org.sparkmim.job.pretrain;

import org.sparkmim.job.deploy.LocalCluster;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Measurements for docs/RESULTS.md, not a test of behaviour (no timing asserts; it only checks the runs
 * finished): on the 127.0.0.x standalone cluster, img/s with 1 executor vs 2 executors at the same global batch,
 * the gradient-sharing bytes per worker update relative to a dense fp32 gradient, and the probe-loss curves.
 * <pre>
 * mvn -B -o -Pcluster -pl spark-job -am test -Dtest=ClusterBench -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 * Prints one block per run to stdout (and target/surefire-reports/...ClusterBench-output.txt).
 */
class ClusterBench {
    @TempDir
    Path tmp;

    @Test
    void oneVersusTwoExecutors() throws Exception {
        try (LocalCluster cluster = LocalCluster.start(tmp.resolve("cluster"), 2)) {
            StandaloneClusterTest.cluster = cluster;
            List<String> report = new ArrayList<>();
            for (int executors : new int[] {1, 2}) {
                Path run = tmp.resolve("bench-" + executors);
                // 8192 images, global batch 128, 2 epochs x 4 chunks: 16 steps per chunk, the first chunk is warm-up
                Process p = cluster.submit("bench-" + executors, StandaloneClusterTest.env(executors),
                        StandaloneClusterTest.job(run, "data.train-limit=8192", "spark.chunks-per-epoch=4"));
                assertThat(LocalCluster.await(p, StandaloneClusterTest.JOB_TIMEOUT)).isZero();
                report.add(describe(executors, run, StandaloneClusterTest.lastJson(cluster.log("bench-" + executors + ".out"))));
            }
            report.forEach(System.out::println);
        }
    }

    private static String describe(int executors, Path run, JsonNode summary) throws Exception {
        List<JsonNode> m = StandaloneClusterTest.metrics(run);
        List<Double> rates = new ArrayList<>();
        StringBuilder curve = new StringBuilder(String.format("%.4f", summary.get("first_probe_loss").asDouble()));
        double ratio = 0;
        long msgs = 0, steps = 0, prevStep = 0;
        for (JsonNode r : m) {
            curve.append(String.format(" %.4f", r.get("probe_loss").asDouble()));
            if (r != m.get(0)) rates.add(r.get("img_per_s").asDouble()); // the first chunk pays JIT + Aeron setup
            long b = r.path("update_bytes").asLong();
            long n = r.path("update_msgs").asLong();
            ratio += n == 0 ? 0 : r.get("update_vs_dense").asDouble() * n;
            msgs += n;
            steps += r.get("step").asLong() - prevStep;
            prevStep = r.get("step").asLong();
            if (b < 0) throw new IllegalStateException();
        }
        rates.sort(Double::compare);
        double median = rates.get(rates.size() / 2);
        return String.format("executors=%d steps=%d global_batch=128 img/s(median chunk, excl. first)=%.1f "
                        + "img/s(whole run)=%.1f updates_received=%d (%.2f per step) bytes_per_update/dense=%.4f%n"
                        + "  probe loss (before, then per chunk): %s",
                executors, summary.get("steps").asLong(), median, summary.get("img_per_s").asDouble(), msgs,
                msgs / (double) Math.max(1, steps), msgs == 0 ? 0 : ratio / msgs, curve);
    }
}
