package org.sparkmim.model.method;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.mae.MaeInvariantsTest;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Spark workers and checkpoints rebuild each method's graph from its JSON: the custom vertices and losses must
 * round-trip, and the rebuilt graph must score a batch exactly as the original.
 */
class GraphJsonTest {

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"mae", "emae", "sbam", "ropim", "a2mim", "a2mim-resnet", "mapet"})
    void graphRoundTripsThroughJson(String name) {
        if (name.equals("mapet")) {
            // random token ids for the random batch's keys img/0..3: the graph needs the codebook size
            org.sparkmim.model.mapet.TokenTables.put("test://graph-json", new org.sparkmim.model.mapet.TokenTable() {
                @Override public int vocab() { return 6; }
                @Override public int patch() { return 7; }
                @Override public int imageSize() { return 28; }
                @Override public String datasetFingerprint() { return "none"; }
                @Override public String location() { return "test://graph-json"; }
                @Override public void fill(String key, int[] dst, int off) {
                    for (int i = 0; i < 16; i++) dst[off + i] = Math.floorMod(key.hashCode() + i, 6);
                }
            });
        }
        MimConfig cfg = name.equals("a2mim-resnet")
                ? MimConfig.load(Map.of("method.name", "a2mim", "model.backbone", "resnet", "model.resnet.width", "4"))
                : MimConfig.load(Map.of("method.name", name, "model.patch", "7", "model.dim", "16",
                "model.depth", "1", "model.heads", "2", "model.decoder-dim", "16", "model.decoder-depth", "1",
                "method.mapet.tokens", "test://graph-json"));
        MimMethod m = Methods.create(cfg);
        ComputationGraphConfiguration conf = m.graph(new Adam(1e-3), 0.05, 1, DataType.FLOAT);
        ComputationGraphConfiguration back = ComputationGraphConfiguration.fromJson(conf.toJson());
        assertThat(back).isEqualTo(conf);
        ComputationGraph a = new ComputationGraph(conf);
        a.init();
        ComputationGraph b = new ComputationGraph(back);
        b.init(a.params().dup(), false);
        MultiDataSet mds = m.prepare(MaeInvariantsTest.randomBatch(cfg.model, 4, 2));
        assertThat(b.score(mds)).isCloseTo(a.score(mds), within(1e-6));
    }
}
