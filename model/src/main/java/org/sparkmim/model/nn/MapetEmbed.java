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
 * MaPeT's token sequence (METHODS.md §6): both streams laid end to end, as the two-stream blocks read them.
 *
 * <p>Inputs: patches [B, N·P] (MAE patchify order), pred_ids [B, Np] (float-coded predicted patches in grid order).
 * Output [B, T, D] with T = 1 + N + 2·Np:
 * <pre>
 *   row 0              cls + pos[0]
 *   rows 1..N          W·patch_n + b + pos[1+n]                (content stream)
 *   rows 1+N+j         mtok + pos[1+pred_j]                    (mask-position tokens m, content stream)
 *   rows 1+N+Np+j      mtok + pos[1+pred_j]                    (query stream g starts as m)
 * </pre>
 * The position embedding is learned (MaPeT, not MAE's fixed sin-cos), initialised N(0, 0.02) like cls and mtok.
 */
public class MapetEmbed extends ParamVertexConf {
    public int patchDim;
    public int dim;
    public int tokens;

    public MapetEmbed() { }

    public MapetEmbed(int patchDim, int dim, int tokens) {
        this.patchDim = patchDim;
        this.dim = dim;
        this.tokens = tokens;
    }

    @Override
    public LinkedHashMap<String, long[]> paramShapes() {
        LinkedHashMap<String, long[]> m = new LinkedHashMap<>();
        m.put("W", new long[]{patchDim, dim});
        m.put("b", new long[]{dim});
        m.put("cls", new long[]{dim});
        m.put("pos", new long[]{1 + tokens, dim});
        m.put("mtok", new long[]{dim});
        return m;
    }

    @Override
    public boolean isDecayed(String param) {
        return param.equals("W");
    }

    @Override
    public void initParams(Map<String, INDArray> p) {
        Ops.xavierUniform(p.get("W"), patchDim, dim);
        p.get("b").assign(0);
        Ops.normal(p.get("cls"), 0.02);
        Ops.normal(p.get("pos"), 0.02);
        Ops.normal(p.get("mtok"), 0.02);
    }

    @Override
    protected ParamVertex createVertex(ComputationGraph g, String name, int idx, INDArray view, DataType dt) {
        return new Impl(this, g, name, idx, view, dt);
    }

    @Override
    public MapetEmbed clone() {
        return (MapetEmbed) copyBaseInto(new MapetEmbed(patchDim, dim, tokens));
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
        return "MapetEmbed(P=" + patchDim + ",D=" + dim + ",N=" + tokens + ",wd=" + weightDecay + ")";
    }

    static final class Impl extends ParamVertex {
        private final MapetEmbed c;
        private INDArray x;                // [B·N, P] patches (for dW)
        private INDArray onehot;           // [B·Np, 1+N] which position each mask-position token carries
        private long bSz, np;

        Impl(MapetEmbed c, ComputationGraph g, String name, int idx, INDArray view, DataType dt) {
            super(c, g, name, idx, view, dt);
            this.c = c;
        }

        @Override
        public INDArray doForward(boolean training, LayerWorkspaceMgr ws) {
            long t0 = Prof.t();
            INDArray patches = inputs[0], ids = inputs[1];
            long n = c.tokens, d = c.dim;
            bSz = patches.size(0);
            np = ids.size(1);
            int[] pred = Gather.ints(ids);                                  // [B·Np] patch indices
            for (int v : pred) {
                if (v < 0 || v >= n) throw new IllegalArgumentException(getVertexName() + ": predicted patch " + v + " outside 0.." + (n - 1));
            }
            INDArray pos = params.get("pos");                               // [1+N, D]
            INDArray out = act(ws, bSz, 1 + n + 2 * np, d);
            out.get(all(), point(0), all()).assign(params.get("cls").add(pos.getRow(0)).reshape(1, d).broadcast(bSz, d));
            x = act(ws, bSz * n, c.patchDim);
            x.assign(patches.reshape('c', bSz * n, c.patchDim));
            INDArray e = act(ws, bSz * n, d);
            Ops.linear(x, params.get("W"), params.get("b"), e);
            INDArray e3 = e.reshape('c', bSz, n, d);
            e3.addi(pos.get(interval(1, 1 + n), all()).reshape(1, n, d).broadcast(bSz, n, d));
            out.get(all(), interval(1, 1 + n), all()).assign(e3);
            onehot = act(ws, bSz * np, 1 + n);
            onehot.assign(0);
            for (int r = 0; r < pred.length; r++) onehot.putScalar(r, 1 + pred[r], 1.0);
            INDArray m = act(ws, bSz * np, d);
            Nd4j.gemm(onehot, pos, m, false, false, 1.0, 0.0);             // pos[1+pred]
            m.addiRowVector(params.get("mtok"));
            INDArray m3 = m.reshape('c', bSz, np, d);
            out.get(all(), interval(1 + n, 1 + n + np), all()).assign(m3);
            out.get(all(), interval(1 + n + np, 1 + n + 2 * np), all()).assign(m3);
            Prof.add("mapet_embed.f", t0);
            return out;
        }

        @Override
        public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr ws) {
            long t0 = Prof.t();
            long n = c.tokens, d = c.dim;
            INDArray dOut = epsilon;                                         // [B,T,D]
            INDArray dcls = dOut.get(all(), point(0), all()).sum(0);         // [D]
            grads.get("cls").assign(dcls);
            INDArray dpos = grads.get("pos");                                // [1+N, D]
            dpos.getRow(0).assign(dcls);
            INDArray de = dOut.get(all(), interval(1, 1 + n), all()).dup('c');    // [B,N,D]
            dpos.get(interval(1, 1 + n), all()).assign(de.sum(0));
            Ops.linearBackward(x, params.get("W"), de.reshape('c', bSz * n, d), grads.get("W"), grads.get("b"), null, 0.0);
            INDArray dm = dOut.get(all(), interval(1 + n, 1 + n + np), all()).dup('c')
                    .addi(dOut.get(all(), interval(1 + n + np, 1 + n + 2 * np), all())).reshape('c', bSz * np, d);
            Ops.colSum(dm, grads.get("mtok"));
            Nd4j.gemm(onehot, dm, dpos, true, false, 1.0, 1.0);            // scatter-add into pos[1+pred]
            Prof.add("mapet_embed.b", t0);
            return result(gradient(), null, null);
        }
    }
}
