package org.sparkmim.model.nn;

import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
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
public class DropCls extends FreeVertexConf {

    @Override
    public DropCls clone() {
        return new DropCls();
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
    public String toString() {
        return "DropCls()";
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
            long t0 = Prof.t();
            INDArray x = inputs[0];
            inShape = x.shape();
            INDArray out = act(ws, inShape[0], inShape[1] - 1, inShape[2]);
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
    }
}
