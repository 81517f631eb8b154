package org.sparkmim.model.nn;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.NoOp;
import org.sparkmim.model.config.ModelConfig;
import org.sparkmim.model.mae.MaeGraph;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The whole MAE graph in float (every TransformerBlock on the fused attention, GELU and LayerNorm kernels) against
 * its double twin (ND4J's ops, the path the gradient check covers) with the same parameters and batch: the loss
 * and every parameter's gradient agree to float rounding, with and without the key-padding bias.
 */
class FusedGraphTest {
    @Test
    void theFloatGraphOnTheFusedKernelsMatchesItsDoubleTwin() {
        for (boolean keyPadding : new boolean[]{false, true}) {
            ModelConfig m = org.sparkmim.model.fixtures.TinyModels.of(12, 2, 1, 4 * VectorKernels.lanes());
            m.depth = 2;
            m.decoderDim = 2 * VectorKernels.lanes();                           // decoder dh = lanes: fused too
            m.validate();
            ComputationGraph gd = new ComputationGraph(MaeGraph.build(m, new NoOp(), 0.0, 42, DataType.DOUBLE, keyPadding));
            gd.init();
            gd.params().addi(org.nd4j.linalg.factory.Nd4j.randn(DataType.DOUBLE, gd.params().shape()).muli(0.1));
            ComputationGraph gf = new ComputationGraph(MaeGraph.build(m, new NoOp(), 0.0, 42, DataType.FLOAT, keyPadding));
            gf.init();
            gf.setParams(gd.params().castTo(DataType.FLOAT));
            INDArray[] a = GradientCheckTest.inputs(4, m.tokens(), 9, m.patchDim(), 3, keyPadding);
            INDArray[] in = keyPadding ? new INDArray[]{a[0], a[1], a[2], a[3]} : new INDArray[]{a[0], a[1], a[2]};
            double sd = score(gd, in, a[4], a[5]), sf = score(gf, cast(in), a[4].castTo(DataType.FLOAT), a[5].castTo(DataType.FLOAT));
            assertThat(sf).as("loss, key padding %s", keyPadding).isCloseTo(sd, org.assertj.core.api.Assertions.within(1e-5 * Math.abs(sd)));
            for (String p : gd.gradient().gradientForVariable().keySet()) {
                INDArray d = gd.gradient().gradientForVariable().get(p), f = gf.gradient().gradientForVariable().get(p);
                double scale = Math.max(1e-3, d.amaxNumber().doubleValue());
                double diff = f.castTo(DataType.DOUBLE).sub(d).amaxNumber().doubleValue();
                assertThat(diff).as("gradient of %s (key padding %s): max |float − double| %s at scale %s", p, keyPadding, diff, scale)
                        .isLessThan(2e-4 * scale);
            }
        }
    }

    private static double score(ComputationGraph g, INDArray[] in, INDArray labels, INDArray labelMask) {
        g.setInputs(in);
        g.setLabels(labels);
        g.setLayerMaskArrays(null, new INDArray[]{labelMask});
        g.computeGradientAndScore();
        return g.score();
    }

    private static INDArray[] cast(INDArray[] in) {
        INDArray[] out = new INDArray[in.length];
        for (int i = 0; i < in.length; i++) out[i] = in[i].castTo(DataType.FLOAT);
        return out;
    }
}
