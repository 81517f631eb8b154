package org.sparkmim.model.nn;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.MaskState;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.memory.MemoryReport;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.BaseGraphVertex;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

/**
 * [B, 1+T, D] → [B, T, D]: drops the CLS row so the decoder tokens feed DL4J's RnnOutputLayer (NWC format) as a
 * sequence of T patch tokens. No parameters.
 */
public class DropCls extends GraphVertex {

    @Override
    public DropCls clone() {
        return new DropCls();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DropCls;
    }

    @Override
    public int hashCode() {
        return 31;
    }

    @Override
    public long numParams(boolean backprop) {
        return 0;
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
    public org.deeplearning4j.nn.graph.vertex.GraphVertex instantiate(ComputationGraph graph, String name, int idx,
                                                                      INDArray paramsView, boolean initializeParams,
                                                                      DataType networkDatatype) {
        return new Impl(graph, name, idx, networkDatatype);
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType... vertexInputs) {
        return vertexInputs[0];
    }

    @Override
    public MemoryReport getMemoryReport(InputType... inputTypes) {
        return null;
    }

    static final class Impl extends BaseGraphVertex {
        private long[] inShape;

        Impl(ComputationGraph graph, String name, int idx, DataType dt) {
            super(graph, name, idx, null, null, dt);
        }

        @Override
        public boolean hasLayer() {
            return false;
        }

        @Override
        public Layer getLayer() {
            return null;
        }

        @Override
        public INDArray doForward(boolean training, LayerWorkspaceMgr ws) {
            long t0 = Prof.t();
            INDArray x = inputs[0];
            inShape = x.shape();
            INDArray out = ws.createUninitialized(ArrayType.ACTIVATIONS, x.dataType(), inShape[0], inShape[1] - 1, inShape[2]);
            out.assign(x.get(all(), interval(1, inShape[1]), all()));
            Prof.add("drop_cls.f", t0);
            return out;
        }

        @Override
        public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr ws) {
            long t0 = Prof.t();
            INDArray dx = ws.create(ArrayType.ACTIVATION_GRAD, epsilon.dataType(), inShape);   // zeros: CLS gets none
            dx.get(all(), interval(1, inShape[1]), all()).assign(epsilon);
            Prof.add("drop_cls.b", t0);
            return new Pair<>(null, new INDArray[]{dx});
        }

        @Override
        public void setBackpropGradientsViewArray(INDArray backpropGradientsViewArray) {
            if (backpropGradientsViewArray != null) throw new IllegalStateException("DropCls has no parameters");
        }

        @Override
        public Pair<INDArray, MaskState> feedForwardMaskArrays(INDArray[] maskArrays, MaskState currentMaskState,
                                                              int minibatchSize) {
            return new Pair<>(null, currentMaskState);
        }

        @Override
        public String toString() {
            return "DropCls(" + getVertexName() + ")";
        }
    }
}
