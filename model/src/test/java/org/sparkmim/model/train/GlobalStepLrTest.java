package org.sparkmim.model.train;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.data.FashionMnist;
import org.sparkmim.model.data.ImageSet;
import org.sparkmim.model.method.Methods;
import org.sparkmim.model.method.MimMethod;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The LR the Spark workers train with comes from the global step this listener counts, not DL4J's counter. */
class GlobalStepLrTest {
    static final MimConfig CFG = MimConfig.load(Map.of("model.dim", "32", "model.depth", "1", "model.heads", "2",
            "model.decoder-dim", "16", "model.decoder-depth", "1", "model.decoder-heads", "2", "optim.batch", "32"));

    static ComputationGraph graph(MimMethod m) {
        return Trainer.newGraph(CFG, m, 10);
    }

    @Test
    void setReachesEveryParameterisedVertexAndLrZeroFreezesWeights() {
        MimMethod m = Methods.create(CFG);
        ComputationGraph g = graph(m);
        ImageSet data = FashionMnist.load(FashionMnist.locate(""), "train").subset(0, 32);
        int[] order = new int[32];
        for (int i = 0; i < 32; i++) order[i] = i;
        MultiDataSet mds = m.prepare(Trainer.batch(data, order, 0, 32, 0, CFG));

        GlobalStepLr.set(g, 0.0);
        int withParams = 0;
        for (GraphVertex v : g.getVertices()) {
            if (v.numParams() == 0) continue;
            withParams++;
            for (String p : v.paramTable(false).keySet()) {
                assertThat(v.getConfig().getUpdaterByParam(p).getLearningRate(5, 0)).as(v.getVertexName() + "/" + p).isZero();
            }
        }
        assertThat(withParams).isGreaterThan(5);
        INDArray before = g.params().dup();
        g.fit(mds);
        assertThat(g.params().sub(before).amaxNumber().doubleValue()).isLessThan(1e-7); // float round-off only

        GlobalStepLr.set(g, 1e-3);
        g.fit(mds);
        assertThat(g.params().sub(before).amaxNumber().doubleValue()).isGreaterThan(1e-5);
    }

    @Test
    void followsTheGlobalStepFromItsBaseAndItsOwnCount() {
        var sched = new WarmupCosineSchedule(1e-3, 0, 4, 20);
        MimMethod m = Methods.create(CFG);
        ComputationGraph g = graph(m);
        GlobalStepLr clock = new GlobalStepLr(sched, 10);
        clock.onGradientCalculation(g);
        // the model's counter becomes the global step before the updater runs (Adam's bias correction reads it)
        assertThat(g.getConfiguration().getIterationCount()).isEqualTo(10);
        assertThat(g.getVertex("head").getConfig().getUpdaterByParam("W").getLearningRate(0, 0)).isEqualTo(sched.lr(10));
        clock.iterationDone(g, 999, 0); // DL4J's own iteration number is ignored
        clock.iterationDone(g, 999, 0);
        clock.onGradientCalculation(g);
        assertThat(clock.step()).isEqualTo(12);
        assertThat(g.getVertex("head").getConfig().getUpdaterByParam("W").getLearningRate(0, 0)).isEqualTo(sched.lr(12));
    }

    @Test
    void underParameterAveragingEachShippedCopyStartsAtTheDriversSplitCounter() throws Exception {
        // each averaging split gets a fresh copy of the listener and a model whose counter DL4J reset to 0; the copy
        // must start at the driver's counter, which DL4J advances per split
        var sched = new WarmupCosineSchedule(1e-3, 0, 4, 20);
        ComputationGraph driver = graph(Methods.create(CFG));
        GlobalStepLr clock = new GlobalStepLr(sched, 10).followDriver(driver.getConfiguration());
        driver.getConfiguration().setIterationCount(15);
        var bytes = new java.io.ByteArrayOutputStream();
        try (var out = new java.io.ObjectOutputStream(bytes)) {
            out.writeObject(clock);
        }
        GlobalStepLr shipped;
        try (var in = new java.io.ObjectInputStream(new java.io.ByteArrayInputStream(bytes.toByteArray()))) {
            shipped = (GlobalStepLr) in.readObject();
        }
        ComputationGraph worker = graph(Methods.create(CFG));
        shipped.onGradientCalculation(worker);
        assertThat(worker.getVertex("head").getConfig().getUpdaterByParam("W").getLearningRate(0, 0)).isEqualTo(sched.lr(15));
        assertThat(worker.getConfiguration().getIterationCount()).isEqualTo(15);
    }
}
