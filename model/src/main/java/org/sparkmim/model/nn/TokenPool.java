package org.sparkmim.model.nn;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;
import static org.nd4j.linalg.indexing.NDArrayIndex.point;

/**
 * Final-norm tokens [B, 1+N, D] → one vector per image [B, D], the classifier's input when fine-tuning: the mean of
 * the N patch tokens (CLS excluded; MAE's global pooling, and evaluate's mean feature) or the CLS row. A DL4J
 * feed-forward activation, so a plain {@code OutputLayer} can follow. No parameters.
 */
public class TokenPool extends FreeVertexConf {
    /** true: the CLS row; false: the mean of rows 1..N. */
    public boolean cls;
    /** D, for the output type. */
    public int dim;

    public TokenPool() { }

    public TokenPool(int dim, boolean cls) {
        this.dim = dim;
        this.cls = cls;
    }

    @Override
    public TokenPool clone() {
        return new TokenPool(dim, cls);
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
    public InputType getOutputType(int layerIndex, InputType... vertexInputs) {
        return InputType.feedForward(dim);
    }

    @Override
    public String toString() {
        return "TokenPool(dim=" + dim + ",cls=" + cls + ")";
    }

    @Override
    protected Runtime createRuntime(ComputationGraph graph, String name, int idx, DataType dt) {
        return new Impl(graph, name, idx, dt, cls);
    }

    static final class Impl extends Runtime {
        private final boolean cls;
        private long[] inShape;

        Impl(ComputationGraph graph, String name, int idx, DataType dt, boolean cls) {
            super(graph, name, idx, dt);
            this.cls = cls;
        }

        /** x [B, 1+N, D] → [B, D]. */
        @Override
        public INDArray doForward(boolean training, LayerWorkspaceMgr ws) {
            INDArray x = inputs[0];
            inShape = x.shape();
            if (inShape.length != 3 || inShape[1] < 2) {
                throw new IllegalArgumentException(getVertexName() + ": expected tokens [B, 1+N, D] with N >= 1, got "
                        + java.util.Arrays.toString(inShape));
            }
            INDArray out = act(ws, inShape[0], inShape[2]);
            if (cls) out.assign(x.get(all(), point(0), all()));
            else out.assign(x.get(all(), interval(1, inShape[1]), all()).mean(1));
            return out;
        }

        /** dy [B, D] → dx [B, 1+N, D]: dy on the CLS row, or dy / N on every patch row. */
        @Override
        public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr ws) {
            INDArray dx = ws.create(ArrayType.ACTIVATION_GRAD, epsilon.dataType(), inShape);
            long b = inShape[0], n = inShape[1] - 1, d = inShape[2];
            if (cls) {
                dx.get(all(), point(0), all()).assign(epsilon);
            } else {
                INDArray share = epsilon.div(n).reshape(b, 1, d);
                dx.get(all(), interval(1, n + 1), all()).assign(share.broadcast(b, n, d));
            }
            return new Pair<>(null, new INDArray[]{dx});
        }
    }
}
