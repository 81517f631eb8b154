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
 * [B, r+T, D] → [B, T, D]: drops the first r rows, by default r = 1, the CLS row, so the decoder tokens feed DL4J's
 * RnnOutputLayer (NWC format) as a sequence of T patch tokens. MaPeT drops its whole content stream to keep the
 * query stream. No parameters; the dropped rows get a zero gradient.
 */
public class DropCls extends FreeVertexConf {
    /** Leading rows dropped (1 = CLS). A checkpoint written before this field existed reads as 1. */
    public int rows = 1;

    public DropCls() { }

    public DropCls(int rows) {
        if (rows < 1) throw new IllegalArgumentException("DropCls drops at least 1 row, got " + rows);
        this.rows = rows;
    }

    @Override
    public DropCls clone() {
        return new DropCls(rows);
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
        return rows == 1 ? "DropCls()" : "DropCls(" + rows + ")";
    }

    @Override
    protected Runtime createRuntime(ComputationGraph graph, String name, int idx, DataType dt) {
        return new Impl(graph, name, idx, dt, rows);
    }

    static final class Impl extends Runtime {
        private final int rows;
        private long[] inShape;

        Impl(ComputationGraph graph, String name, int idx, DataType dt, int rows) {
            super(graph, name, idx, dt);
            this.rows = rows;
        }

        @Override
        public INDArray doForward(boolean training, LayerWorkspaceMgr ws) {
            long t0 = Prof.t();
            INDArray x = inputs[0];
            inShape = x.shape();
            if (inShape[1] <= rows) {
                throw new IllegalArgumentException(getVertexName() + ": " + inShape[1] + " rows, cannot drop the first " + rows);
            }
            INDArray out = act(ws, inShape[0], inShape[1] - rows, inShape[2]);
            out.assign(x.get(all(), interval(rows, inShape[1]), all()));
            Prof.add("drop_cls.f", t0);
            return out;
        }

        @Override
        public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr ws) {
            long t0 = Prof.t();
            INDArray dx = ws.create(ArrayType.ACTIVATION_GRAD, epsilon.dataType(), inShape);   // zeros: CLS gets none
            dx.get(all(), interval(rows, inShape[1]), all()).assign(epsilon);
            Prof.add("drop_cls.b", t0);
            return new Pair<>(null, new INDArray[]{dx});
        }
    }
}
