package org.sparkmim.model.mae;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.sparkmim.masking.BlockMasking;
import org.sparkmim.masking.SampleMask;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.method.Batch;
import org.sparkmim.model.method.Methods;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Block masking end to end on the MAE architecture: config keys reach the operator, and the prepared batch is
 * exactly the operator's per-image plan (same count N−K for every row, slot/ids_keep/mask consistent).
 */
class BlockMaskingMaeTest {

    static MimConfig cfg(Map<String, String> extra) {
        Map<String, String> m = new java.util.HashMap<>(Map.of("method.masking", "block", "model.image-size", "28",
                "model.patch", "2", "model.dim", "16", "model.heads", "2", "model.depth", "1"));
        m.putAll(extra);
        return MimConfig.load(m);
    }

    @Test
    void blockKeysReachTheOperator() {
        MimConfig c = cfg(Map.of("method.block.min-patches", "6", "method.block.max-patches", "20",
                "method.block.min-aspect", "0.5", "method.mask-ratio", "0.6"));
        BlockMasking op = (BlockMasking) ((MaeMethod) Methods.create(c)).masking();
        assertThat(op.minBlockPatches()).isEqualTo(6);
        assertThat(op.maxBlockPatches()).isEqualTo(20);
        assertThat(op.minAspect()).isEqualTo(0.5);
        assertThat(op.ratio()).isEqualTo(0.6);
    }

    @Test
    void preparedBatchIsTheOperatorsPlanPerImage() {
        MimConfig c = cfg(Map.of());
        MaeMethod me = (MaeMethod) Methods.create(c);
        int g = c.model.gridSize(), n = c.model.tokens(), b = 6;       // 14x14 grid
        Batch batch = MaeInvariantsTest.randomBatch(c.model, b, 3);
        MultiDataSet mds = me.prepare(batch);
        INDArray keep = mds.getFeatures(1), slot = mds.getFeatures(2), mask = mds.getLabelsMaskArray(0);
        int k = (int) keep.size(1);
        assertThat(k).isEqualTo((int) Math.floor(n * 0.25 + 1e-9));
        double clustered = 0;
        for (int i = 0; i < b; i++) {
            SampleMask plan = me.masking().sample(g, g, batch.runSeed(), batch.epoch(), batch.keys()[i]);
            assertThat(mask.getRow(i).sumNumber().intValue()).isEqualTo(n - k);
            for (int t = 0; t < n; t++) {
                assertThat(mask.getDouble(i, t)).isEqualTo(plan.isMasked(t) ? 1.0 : 0.0);
                assertThat(slot.getDouble(i, t) < 0).isEqualTo(plan.isMasked(t));
            }
            for (int j = 0; j < k; j++) assertThat(slot.getInt(i, keep.getInt(i, j))).isEqualTo(j);
            clustered += neighbourFraction(mask.getRow(i), g);
        }
        // blocks, not scattered tokens: a masked token's 4-neighbour is masked far more often than the ratio
        assertThat(clustered / b).isGreaterThan(0.85);
    }

    @Test
    void badBlockKeysAreConfigErrorsNamingTheKey() {
        assertThatThrownBy(() -> cfg(Map.of("method.block.min-aspect", "0")))
                .hasMessageContaining("mim.method.block.min-aspect");
        assertThatThrownBy(() -> cfg(Map.of("method.block.min-patches", "8", "method.block.max-patches", "4")))
                .hasMessageContaining("mim.method.block.max-patches").hasMessageContaining("min-patches");
        assertThatThrownBy(() -> cfg(Map.of("method.masking", "checkerboard")))
                .hasMessageContaining("mim.method.masking").hasMessageContaining("block");
    }

    /** Share of (masked token, in-grid 4-neighbour) pairs whose neighbour is masked too. */
    static double neighbourFraction(INDArray mask, int g) {
        int pairs = 0, both = 0;
        int[][] d = {{0, 1}, {1, 0}, {0, -1}, {-1, 0}};
        for (int r = 0; r < g; r++)
            for (int c = 0; c < g; c++) {
                if (mask.getDouble(r * g + c) == 0) continue;
                for (int[] e : d) {
                    int rr = r + e[0], cc = c + e[1];
                    if (rr < 0 || cc < 0 || rr >= g || cc >= g) continue;
                    pairs++;
                    if (mask.getDouble(rr * g + cc) == 1) both++;
                }
            }
        return both / (double) pairs;
    }
}
