package org.sparkmim.model.nn;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;
import static org.nd4j.linalg.indexing.NDArrayIndex.point;

/**
 * MAE encoder input: gather the visible patches, embed them, add the fixed position code, prepend CLS.
 *
 * <p>Inputs: patches [B, N·P] (MAE patchify order), ids_keep [B, K] (float-coded token indices).
 * Output: [B, 1+K, D] = concat(cls + pos[0], W·patch[ids_keep] + b + pos[1+ids_keep]) with pos[0] = 0.
 * Gathering before the linear map is exact (it is per token) and embeds only K of N patches.
 */
public class PatchEmbed extends ParamVertexConf {
    public int patchDim;
    public int dim;
    public int gridH;
    public int gridW;

    public PatchEmbed() { }

    public PatchEmbed(int patchDim, int dim, int gridH, int gridW) {
        this.patchDim = patchDim;
        this.dim = dim;
        this.gridH = gridH;
        this.gridW = gridW;
    }

    @Override
    public LinkedHashMap<String, long[]> paramShapes() {
        LinkedHashMap<String, long[]> m = new LinkedHashMap<>();
        m.put("W", new long[]{patchDim, dim});
        m.put("b", new long[]{dim});
        m.put("cls", new long[]{dim});
        return m;
    }

    @Override
    public boolean isDecayed(String param) {
        return param.equals("W");
    }

    @Override
    public void initParams(Map<String, INDArray> p) {
        Ops.xavierUniform(p.get("W"), patchDim, dim); // MAE: xavier on the flattened conv weight
        p.get("b").assign(0);
        Ops.normal(p.get("cls"), 0.02);
    }

    @Override
    protected ParamVertex createVertex(ComputationGraph g, String name, int idx, INDArray view, DataType dt) {
        return new Impl(this, g, name, idx, view, dt);
    }

    @Override
    public PatchEmbed clone() {
        return (PatchEmbed) copyBaseInto(new PatchEmbed(patchDim, dim, gridH, gridW));
    }

    @Override
    public int minVertexInputs() {
        return 2;
    }

    @Override
    public int maxVertexInputs() {
        return 2;
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType... in) {
        return InputType.recurrent(dim);
    }

    @Override
    public String toString() {
        return "PatchEmbed(P=" + patchDim + ",D=" + dim + ",grid=" + gridH + "x" + gridW + ",wd=" + weightDecay + ")";
    }

    static final class Impl extends ParamVertex {
        private final PatchEmbed c;
        private final INDArray pos;        // [N,D] fixed
        private INDArray xs;               // [B·K, P] gathered visible patches (for dW)
        private long bSz, kSz;

        Impl(PatchEmbed c, ComputationGraph g, String name, int idx, INDArray view, DataType dt) {
            super(c, g, name, idx, view, dt);
            this.c = c;
            this.pos = SinCosPosEmbed.array(c.gridH, c.gridW, c.dim, dt);
        }

        @Override
        public INDArray doForward(boolean training, LayerWorkspaceMgr ws) {
            long t0 = Prof.t();
            INDArray patches = inputs[0], ids = inputs[1];
            long n = (long) c.gridH * c.gridW;
            bSz = patches.size(0);
            kSz = ids.size(1);
            int[] rows = Gather.flatRows(ids, n);
            int[] posRows = new int[rows.length];
            for (int i = 0; i < rows.length; i++) posRows[i] = (int) (rows[i] % n);
            INDArray src = patches.dup('c').reshape('c', bSz * n, c.patchDim);
            xs = act(ws, bSz * kSz, c.patchDim);
            Nd4j.pullRows(src, xs, 1, rows);
            INDArray e = act(ws, bSz * kSz, c.dim);
            Ops.linear(xs, params.get("W"), params.get("b"), e);
            e.addi(Nd4j.pullRows(pos, 1, posRows));
            INDArray out = act(ws, bSz, 1 + kSz, c.dim);
            out.get(all(), point(0), all()).assign(params.get("cls").reshape(1, c.dim).broadcast(bSz, c.dim));
            out.get(all(), interval(1, 1 + kSz), all()).assign(e.reshape('c', bSz, kSz, c.dim));
            Prof.add("embed.f", t0);
            return out;
        }

        @Override
        public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr ws) {
            long t0 = Prof.t();
            INDArray dOut = epsilon;                                                  // [B,1+K,D]
            grads.get("cls").assign(dOut.get(all(), point(0), all()).sum(0));
            INDArray de = dOut.get(all(), interval(1, 1 + kSz), all()).dup('c').reshape('c', bSz * kSz, c.dim);
            Ops.linearBackward(xs, params.get("W"), de, grads.get("W"), grads.get("b"), null, 0.0);
            Prof.add("embed.b", t0);
            return result(gradient(), null, null);
        }
    }
}
