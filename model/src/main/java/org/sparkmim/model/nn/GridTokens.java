package org.sparkmim.model.nn;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A feature map [B, C, H, W] → tokens [B, H·W, C] (row-major over the grid), so a ResNet's last stage feeds the
 * same per-token pixel head and losses as a ViT's tokens. A per-token linear layer after this is a 1×1 conv, and
 * its P = s²·C outputs per cell in patch order are the released PixelShuffle(s) decoder up to a fixed relabelling
 * of its output channels. No parameters.
 */
public class GridTokens extends FreeVertexConf {

    @Override
    public GridTokens clone() {
        return new GridTokens();
    }

    @Override
    public int minVertexInputs() {
        return 1;
    }

    @Override
    public int maxVertexInputs() {
        return 1;
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType... in) {
        if (in[0] instanceof InputType.InputTypeConvolutional cv) {
            return InputType.recurrent(cv.getChannels(), cv.getHeight() * cv.getWidth(), org.deeplearning4j.nn.conf.RNNFormat.NWC);
        }
        return in[0];
    }

    @Override
    public String toString() {
        return "GridTokens()";
    }

    @Override
    protected Runtime createRuntime(ComputationGraph graph, String name, int idx, DataType dt) {
        return new Impl(graph, name, idx, dt);
    }

    static final class Impl extends Runtime {
        private long[] inShape;

        Impl(ComputationGraph graph, String name, int idx, DataType dt) {
            super(graph, name, idx, dt);
        }

        @Override
        public INDArray doForward(boolean training, LayerWorkspaceMgr ws) {
            INDArray x = inputs[0];                                                 // [B, C, H, W]
            if (x.rank() != 4) {
                throw new IllegalStateException(getVertexName() + ": want a feature map [B, C, H, W], got "
                        + java.util.Arrays.toString(x.shape()));
            }
            inShape = x.shape();
            long b = inShape[0], c = inShape[1], n = inShape[2] * inShape[3];
            INDArray out = act(ws, b, n, c);
            out.assign(x.reshape('c', b, c, n).permute(0, 2, 1));
            return out;
        }

        @Override
        public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr ws) {
            long b = inShape[0], c = inShape[1], n = inShape[2] * inShape[3];
            INDArray dx = ws.createUninitialized(ArrayType.ACTIVATION_GRAD, epsilon.dataType(), inShape);   // [B, C, H, W]
            dx.reshape('c', b, c, n).assign(epsilon.permute(0, 2, 1));
            return new Pair<>(null, new INDArray[]{dx});
        }
    }
}
