package org.sparkmim.model.train;

import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipFile;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.data.FashionMnist;
import org.sparkmim.model.data.ImageSet;
import org.sparkmim.model.method.Methods;

import java.nio.file.Path;
import java.util.Map;
import java.util.zip.ZipEntry;

import static org.assertj.core.api.Assertions.assertThat;

/** The checkpoint file: what DL4J's own reader restores from it, bit for bit, and how its entries are stored. */
class CheckpointsTest {

    @Test
    void aCheckpointRestoresWeightsAndOptimizerStateExactlyWithTheWeightsStoredUncompressed(@TempDir Path tmp)
            throws Exception {
        MimConfig cfg = TrainerTest.cfg(tmp);
        ImageSet train = FashionMnist.load(FashionMnist.locate(""), "train").subset(0, 128);
        Trainer trainer = new Trainer(cfg, train, tmp.resolve("run"));
        ComputationGraph g = trainer.newGraph();
        int[] order = new int[128];
        for (int i = 0; i < order.length; i++) order[i] = i;
        MultiDataSet mds = Methods.create(cfg).prepare(Trainer.batch(train, order, 0, 64, 0, cfg));
        g.fit(mds);
        g.fit(mds); // Adam's moments are non-zero now

        Path file = tmp.resolve("ckpt-2.zip");
        Checkpoints.write(g, file, new Checkpoints.Provenance(2, 0, 7, cfg.render(), cfg.fingerprint(),
                cfg.architectureFingerprint(), "mae"), Map.of("chunk", 3));

        ComputationGraph back = ModelSerializer.restoreComputationGraph(file.toFile(), true);
        assertThat(back.params()).isEqualTo(g.params());
        assertThat(back.getUpdater().getStateViewArray()).isEqualTo(g.getUpdater().getStateViewArray());
        assertThat(back.getConfiguration().toJson()).isEqualTo(g.getConfiguration().toJson());
        assertThat(Checkpoints.provenance(file)).containsEntry("step", 2).containsEntry("chunk", 3)
                .containsEntry("fingerprint", cfg.fingerprint());

        // weights and optimizer state are stored, not deflated: deflating floats saved 7% of the size and cost
        // most of a checkpoint's time
        try (ZipFile z = new ZipFile(file.toFile())) {
            ZipArchiveEntry coef = z.getEntry(ModelSerializer.COEFFICIENTS_BIN);
            ZipArchiveEntry upd = z.getEntry(ModelSerializer.UPDATER_BIN);
            assertThat(coef.getMethod()).isEqualTo(ZipEntry.STORED);
            assertThat(upd.getMethod()).isEqualTo(ZipEntry.STORED);
            assertThat(coef.getSize()).isGreaterThan(4L * g.params().length());
        }
    }
}
