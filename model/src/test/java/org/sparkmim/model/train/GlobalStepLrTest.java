package org.sparkmim.model.train;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
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
    void savedUpdaterStateResumesExactlyInAWorkerBuiltFromTheShippedConfig() {
        // DL4J's parameter-averaging worker builds its model as new ComputationGraph(shipped.clone()) and hands it
        // the updater state the previous split saved. Both splits must group the parameters into the same updater
        // blocks, or Adam reads its moments at the wrong offsets (the first update of split 2 went NaN). In local
        // mode the shipped config is the driver's own instance, so a worker must not change it through clone().
        MimMethod m = Methods.create(CFG);
        org.deeplearning4j.nn.conf.ComputationGraphConfiguration shipped = graph(m).getConfiguration();
        String before = shipped.toJson();
        ImageSet data = FashionMnist.load(FashionMnist.locate(""), "train").subset(0, 96);
        int[] order = new int[96];
        for (int i = 0; i < 96; i++) order[i] = i;
        ComputationGraph split1 = new ComputationGraph(shipped.clone());
        split1.init(graph(m).params(), true);
        split1.setListeners(new GlobalStepLr(0));
        for (int s = 0; s < 2; s++) split1.fit(m.prepare(Trainer.batch(data, order, s * 32, 32, 0, CFG)));
        assertThat(shipped.toJson()).as("the shipped config after a worker trained").isEqualTo(before);

        ComputationGraph split2 = new ComputationGraph(shipped.clone());
        split2.init(split1.params().dup(), false);
        split2.setUpdater(new org.deeplearning4j.nn.updater.graph.ComputationGraphUpdater(split2,
                split1.getUpdater().getStateViewArray().dup()));
        split2.setListeners(new GlobalStepLr(2));
        assertThat(blocks(split2)).isEqualTo(blocks(split1));

        MultiDataSet third = m.prepare(Trainer.batch(data, order, 64, 32, 0, CFG));
        split1.fit(third);
        split2.fit(third);
        assertThat(split2.params().isNaN().any()).isFalse();
        assertThat(split2.params().sub(split1.params()).amaxNumber().doubleValue())
                .as("same update as the uninterrupted model").isLessThan(1e-6);
    }

    /** The updater's parameter blocks as "from-to" ranges. */
    private static java.util.List<String> blocks(ComputationGraph g) {
        return g.getUpdater().getUpdaterBlocks().stream().map(b -> b.getParamOffsetStart() + "-" + b.getParamOffsetEnd()).toList();
    }

    @Test
    void followsTheGlobalStepFromItsBaseAndItsOwnCount() {
        MimMethod m = Methods.create(CFG);
        ComputationGraph g = graph(m);
        var sched = Trainer.schedule(CFG, 10); // the schedule inside the graph's Adam configs
        GlobalStepLr clock = new GlobalStepLr(10);
        clock.onGradientCalculation(g);
        // the model's counter becomes the global step before the updater runs: the LR schedule and Adam's bias
        // correction read it
        assertThat(g.getConfiguration().getIterationCount()).isEqualTo(10);
        assertThat(lrAtUpdate(g)).isEqualTo(sched.lr(10));
        clock.iterationDone(g, 999, 0); // DL4J's own iteration number is ignored
        clock.iterationDone(g, 999, 0);
        clock.onGradientCalculation(g);
        assertThat(clock.step()).isEqualTo(12);
        assertThat(lrAtUpdate(g)).isEqualTo(sched.lr(12)).isNotEqualTo(sched.lr(10));
    }

    /** The LR the head's weights get at the model's current iteration counter. */
    private static double lrAtUpdate(ComputationGraph g) {
        return g.getVertex("head").getConfig().getUpdaterByParam("W").getLearningRate(g.getConfiguration().getIterationCount(), 0);
    }

    @Test
    void underParameterAveragingEachShippedCopyStartsAtTheDriversSplitCounter() throws Exception {
        // each averaging split gets a fresh copy of the listener and a model whose counter DL4J reset to 0; the copy
        // must start at the driver's counter, which DL4J advances per split
        ComputationGraph driver = graph(Methods.create(CFG));
        GlobalStepLr clock = new GlobalStepLr(10).followDriver(driver.getConfiguration());
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
        assertThat(worker.getConfiguration().getIterationCount()).isEqualTo(15);
        assertThat(lrAtUpdate(worker)).isEqualTo(Trainer.schedule(CFG, 10).lr(15));
    }
}
