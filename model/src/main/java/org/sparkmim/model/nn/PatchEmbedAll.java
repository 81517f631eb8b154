package org.sparkmim.model.nn;

import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Embeddings of ALL N tokens with the fixed position code, before any masking: patches [B, N·P] →
 * X [B, N, D] = W·patch + b + pos. Methods that plan the mask from the current embeddings (SBAM) read X, then
 * gather the visible rows with {@link TokenGather}; same parameters and init as {@link PatchEmbed} (whose CLS
 * token lives in TokenGather here).
 */
public class PatchEmbedAll extends PatchEmbed {

    public PatchEmbedAll() { }

    public PatchEmbedAll(int patchDim, int dim, int gridH, int gridW) {
        super(patchDim, dim, gridH, gridW);
    }

    @Override
    public LinkedHashMap<String, long[]> paramShapes() {
        LinkedHashMap<String, long[]> m = super.paramShapes();
        m.remove("cls");
        return m;
    }

    @Override
    public void initParams(Map<String, INDArray> p) {
        Ops.xavierUniform(p.get("W"), patchDim, dim);
        p.get("b").assign(0);
    }

    @Override
    protected ParamVertex createVertex(ComputationGraph g, String name, int idx, INDArray view, DataType dt) {
        return new Impl(this, g, name, idx, view, dt);
    }

    @Override
    public PatchEmbedAll clone() {
        return (PatchEmbedAll) copyBaseInto(new PatchEmbedAll(patchDim, dim, gridH, gridW));
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
        return "PatchEmbedAll" + super.toString().substring("PatchEmbed".length());
    }

    static final class Impl extends ParamVertex {
        private final PatchEmbedAll c;
        private final INDArray pos;        // [N, D] fixed
        private INDArray x2;               // [B·N, P] (for dW)
        private long bSz;

        Impl(PatchEmbedAll c, ComputationGraph g, String name, int idx, INDArray view, DataType dt) {
            super(c, g, name, idx, view, dt);
            this.c = c;
            this.pos = SinCosPosEmbed.array(c.gridH, c.gridW, c.dim, dt);
        }

        @Override
        public INDArray doForward(boolean training, LayerWorkspaceMgr ws) {
            long n = (long) c.gridH * c.gridW;
            bSz = inputs[0].size(0);
            x2 = act(ws, bSz * n, c.patchDim);
            x2.reshape('c', bSz, n * c.patchDim).assign(inputs[0]);
            INDArray out = act(ws, bSz * n, c.dim);
            Ops.linear(x2, params.get("W"), params.get("b"), out);
            // a row-vector broadcast over each image's [N·D] row, not pos materialized to [B, N, D] first
            out.reshape('c', bSz, n * c.dim).addiRowVector(pos.reshape(1, n * c.dim));
            return out.reshape('c', bSz, n, c.dim);
        }

        @Override
        public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr ws) {
            long n = (long) c.gridH * c.gridW;
            INDArray dx = epsilon.dup('c').reshape('c', bSz * n, c.dim);
            Ops.linearBackward(x2, params.get("W"), dx, grads.get("W"), grads.get("b"), null, 0.0);
            return result(gradient(), (INDArray) null);
        }
    }
}
