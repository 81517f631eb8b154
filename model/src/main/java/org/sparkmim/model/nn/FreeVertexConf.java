package org.sparkmim.model.nn;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.MaskState;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.memory.MemoryReport;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.BaseGraphVertex;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Configuration base for parameter-free custom vertices (plan slicing, gathers of index data, loss terms).
 * Equality is by {@link #toString()}, which subclasses make list every field, so JSON round trips compare equal.
 *
 * <p>DL4J sums the epsilons a vertex gets from several consumers with {@code addi} and fails on a null one
 * after a non-null one, so runtime vertices return zero arrays, never null, for inputs that are other vertices.
 */
public abstract class FreeVertexConf extends GraphVertex {

    protected abstract Runtime createRuntime(ComputationGraph graph, String name, int idx, DataType dataType);

    @Override
    public long numParams(boolean backprop) {
        return 0;
    }

    @Override
    public org.deeplearning4j.nn.graph.vertex.GraphVertex instantiate(ComputationGraph graph, String name, int idx,
                                                                      INDArray paramsView, boolean initializeParams,
                                                                      DataType networkDatatype) {
        return createRuntime(graph, name, idx, networkDatatype);
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType... vertexInputs) {
        return vertexInputs[0];
    }

    @Override
    public MemoryReport getMemoryReport(InputType... inputTypes) {
        return null;
    }

    @Override
    public boolean equals(Object o) {
        return o != null && o.getClass() == getClass() && o.toString().equals(toString());
    }

    @Override
    public int hashCode() {
        return toString().hashCode();
    }

    /** Runtime base: no layer, no parameters, no DL4J feature masks (masks travel as explicit inputs). */
    public abstract static class Runtime extends BaseGraphVertex {
        protected Runtime(ComputationGraph graph, String name, int idx, DataType dt) {
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
        public void setBackpropGradientsViewArray(INDArray backpropGradientsViewArray) {
            if (backpropGradientsViewArray != null) throw new IllegalStateException(getVertexName() + " has no parameters");
        }

        @Override
        public Pair<INDArray, MaskState> feedForwardMaskArrays(INDArray[] maskArrays, MaskState currentMaskState,
                                                              int minibatchSize) {
            return new Pair<>(null, currentMaskState);
        }

        /** An output (or anything kept for backward). */
        protected INDArray act(LayerWorkspaceMgr ws, long... shape) {
            return ws.createUninitialized(ArrayType.ACTIVATIONS, dataType, shape);
        }

        /** A zero epsilon for an input that must not receive gradient. */
        protected INDArray zeroGrad(LayerWorkspaceMgr ws, long... shape) {
            return ws.create(ArrayType.ACTIVATION_GRAD, dataType, shape);
        }

        @Override
        public String toString() {
            return getClass().getSimpleName() + "(" + getVertexName() + ")";
        }
    }
}
