package org.sparkmim.job.pretrain;

import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;
import org.nd4j.parameterserver.distributed.v2.ModelParameterServer;
import org.sparkmim.model.config.MimConfig;

import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Preflight asks for a free UDP port only where gradient sharing runs over Aeron: on a cluster, or in local mode
 * with spark.local-transport = aeron. The in-JVM transport (local mode's default) binds nothing, so a port held by
 * another process is no reason to refuse the run. The port here is really taken, by a bound socket.
 */
class LocalTransportPreflightTest {

    @Test
    void aTakenUdpPortStopsOnlyRunsThatUseAeron() throws Exception {
        // the check is skipped while this JVM's parameter server runs (a second job reuses its port): start clean
        ModelParameterServer mps = ModelParameterServer.getInstance();
        if (mps.isInitialized()) mps.shutdown();
        try (DatagramSocket taken = new DatagramSocket(new InetSocketAddress(0))) {
            int port = taken.getLocalPort();
            assertThat(portProblems("local[2]", "in-jvm", port)).isEmpty();
            assertThat(portProblems("local[2]", "aeron", port)).singleElement().asString()
                    .contains("mim.spark.port = " + port).contains("pick a free port");
            assertThat(portProblems("spark://127.0.0.1:7077", "in-jvm", port)).as("a cluster always uses Aeron")
                    .singleElement().asString().contains("mim.spark.port = " + port);
        }
    }

    @Test
    void aWrongLocalTransportIsRefusedByKey() {
        MimConfig c = MimConfig.load(Map.of("spark.local-transport", "udp"));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> SparkSettings.of(c))
                .hasMessageContaining("mim.spark.local-transport").hasMessageContaining("udp")
                .hasMessageContaining("in-jvm").hasMessageContaining("aeron");
    }

    private static List<String> portProblems(String master, String transport, int port) {
        MimConfig c = MimConfig.load(Map.of("spark.sync", "shared", "spark.local-transport", transport,
                "spark.port", Integer.toString(port), "spark.controller-address", "127.0.0.1"));
        SparkConf conf = new SparkConf(false).set("spark.master", master);
        return Preflight.driverProblems(conf, SparkSettings.of(c)).stream().filter(p -> p.contains("UDP port")).toList();
    }
}
