package org.sparkmim.job.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import org.junit.jupiter.api.Test;
import org.sparkmim.job.pretrain.SparkSettings;
import org.sparkmim.model.config.MimConfig;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What can be checked of deploy/ without a cluster: the manifests parse and request what the job needs, the
 * HOCON overlays pass the same validation as any run, and the submit scripts build a spark-submit line with
 * every required setting (DRY_RUN).
 */
class DeployFilesTest {
    static final Path HOME = Path.of(System.getProperty("user.dir")).getParent();
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    static JsonNode yaml(String rel) throws Exception {
        return YAML.readTree(HOME.resolve(rel).toFile());
    }

    @Test
    void executorPodTemplateRequestsAGpuAndAMemoryBackedShm() throws Exception {
        JsonNode pod = yaml("deploy/k8s/executor-pod-template.yaml");
        JsonNode c = pod.at("/spec/containers/0");
        assertThat(c.at("/resources/limits/nvidia.com~1gpu").asInt()).isEqualTo(1);
        assertThat(c.at("/volumeMounts/0/mountPath").asText()).isEqualTo("/dev/shm");
        assertThat(pod.at("/spec/volumes/0/emptyDir/medium").asText()).isEqualTo("Memory");
        assertThat(c.at("/env").toString()).contains("DL4J_VOID_IP").contains("status.podIP");
    }

    @Test
    void cronJobNeverOverlapsAndDoesNotRetryConfigErrors() throws Exception {
        JsonNode cj = yaml("deploy/k8s/cronjob.yaml");
        assertThat(cj.get("kind").asText()).isEqualTo("CronJob");
        assertThat(cj.at("/spec/concurrencyPolicy").asText()).isEqualTo("Forbid");
        assertThat(cj.at("/spec/jobTemplate/spec/backoffLimit").asInt()).isZero();
        assertThat(cj.at("/spec/jobTemplate/spec/template/spec/containers/0/command/0").asText()).endsWith("submit-k8s.sh");
        assertThat(yaml("deploy/k8s/networkpolicy.yaml").get("kind").asText()).isEqualTo("NetworkPolicy");
        assertThat(yaml("deploy/k8s/driver-pod-template.yaml").get("kind").asText()).isEqualTo("Pod");
    }

    @Test
    void clusterOverlaysPassValidation() {
        for (String f : List.of("conf/cluster/yarn.conf", "conf/cluster/k8s.conf")) {
            MimConfig c = MimConfig.load(null, HOME.resolve(f), Map.of("spark.workers", "8"));
            SparkSettings s = SparkSettings.of(c);
            assertThat(c.model.dim).as(f).isEqualTo(768);
            assertThat(s.sync()).as(f).isEqualTo("shared");
            assertThat(s.batchPerWorker(c)).as(f).isEqualTo(512);
        }
    }

    @Test
    void submitScriptsCarryKryoFlagsAuthAndOffHeapSizing() throws Exception {
        String yarn = dryRun(Map.of("MIM_EXECUTORS", "4"), "deploy/submit-yarn.sh", "job.jar", "pretrain");
        assertThat(yarn).contains("--master yarn").contains("spark.kryo.registrator=org.nd4j.kryo.Nd4jRegistrator")
                .contains("aeron.publication.unblock.timeout=60000000000").contains("add-opens")
                .contains("spark.authenticate=true").contains("org.bytedeco.javacpp.maxbytes=12288m")
                .contains("spark.executor.memoryOverhead=14336m").contains("spark.task.cpus=4")
                .contains("spark.workers=4").contains("spark.executorEnv.OMP_WAIT_POLICY=PASSIVE")
                .contains("spark.executorEnv.OPENBLAS_THREAD_TIMEOUT=4");
        String k8s = dryRun(Map.of("K8S_MASTER", "k8s://https://api:6443", "MIM_IMAGE", "r/spark-mim:1"),
                "deploy/submit-k8s.sh", "pretrain");
        assertThat(k8s).contains("executor-pod-template.yaml").contains("spark.executor.resource.gpu.amount=1")
                .contains("local:///opt/spark-mim/spark-mim-job.jar");
    }

    static String dryRun(Map<String, String> env, String... cmd) throws Exception {
        List<String> argv = new java.util.ArrayList<>(List.of("bash", HOME.resolve(cmd[0]).toString()));
        argv.addAll(List.of(cmd).subList(1, cmd.length));
        ProcessBuilder pb = new ProcessBuilder(argv);
        pb.environment().putAll(env);
        pb.environment().put("DRY_RUN", "1");
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }
}
