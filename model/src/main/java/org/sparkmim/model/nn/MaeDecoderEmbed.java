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

/**
 * MAE decoder input: project the encoder output to the decoder width, put every visible token back at its
 * image position, fill the rest with the learned mask token, add the fixed decoder position code.
 *
 * <p>Inputs: latent [B, 1+K, D]; slot [B, N] where slot[b,n] = j (0 ≤ j &lt; K) if token n was encoder input
 * j, or −1 if token n is masked. For MAE, slot[b,n] = ids_restore[b,n] when it is &lt; K, else −1; using
 * explicit slots (not ids_restore + K) lets padded, variable-length batches (SBAM+AMR) share this vertex:
 * padded encoder slots are simply never referenced. Output: [B, 1+N, Dd] (row 0 = CLS, its position code 0).
 */
public class MaeDecoderEmbed extends ParamVertexConf {
    public int dim;
    public int decoderDim;
    public int gridH;
    public int gridW;

    public MaeDecoderEmbed() { }

    public MaeDecoderEmbed(int dim, int decoderDim, int gridH, int gridW) {
        this.dim = dim;
        this.decoderDim = decoderDim;
        this.gridH = gridH;
        this.gridW = gridW;
    }

    @Override
    public LinkedHashMap<String, long[]> paramShapes() {
        LinkedHashMap<String, long[]> m = new LinkedHashMap<>();
        m.put("W", new long[]{dim, decoderDim});
        m.put("b", new long[]{decoderDim});
        m.put("maskToken", new long[]{decoderDim});
        return m;
    }

    @Override
    public boolean isDecayed(String param) {
        return param.equals("W");
    }

    @Override
    public void initParams(Map<String, INDArray> p) {
        Ops.xavierUniform(p.get("W"), dim, decoderDim);
        p.get("b").assign(0);
        Ops.normal(p.get("maskToken"), 0.02);
    }

    @Override
    protected ParamVertex createVertex(ComputationGraph g, String name, int idx, INDArray view, DataType dt) {
        return new Impl(this, g, name, idx, view, dt);
    }

    @Override
    public MaeDecoderEmbed clone() {
        return (MaeDecoderEmbed) copyBaseInto(new MaeDecoderEmbed(dim, decoderDim, gridH, gridW));
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
        return InputType.recurrent(decoderDim);
    }

    @Override
    public String toString() {
        return "MaeDecoderEmbed(D=" + dim + ",Dd=" + decoderDim + ",grid=" + gridH + "x" + gridW + ")";
    }

    static final class Impl extends ParamVertex {
        private final MaeDecoderEmbed c;
        private final INDArray pos;      // [1+N, Dd], row 0 zeros (CLS)
        private INDArray lat2d;          // [B(1+K), D]
        private int[] srcRow;            // output row -> source row (last source row = mask token)
        private long bSz, kSz, nTok;

        Impl(MaeDecoderEmbed c, ComputationGraph g, String name, int idx, INDArray view, DataType dt) {
            super(c, g, name, idx, view, dt);
            this.c = c;
            INDArray p = SinCosPosEmbed.array(c.gridH, c.gridW, c.decoderDim, dt);
            try (var ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                this.pos = Nd4j.vstack(Nd4j.zeros(dt, 1, c.decoderDim), p);
            }
        }

        @Override
        public INDArray doForward(boolean training, LayerWorkspaceMgr ws) {
            long t0 = Prof.t();
            INDArray lat = inputs[0];
            bSz = lat.size(0);
            kSz = lat.size(1) - 1;
            nTok = inputs[1].size(1);
            int dd = c.decoderDim;
            long rowsIn = bSz * (1 + kSz);
            lat2d = act(ws, rowsIn, c.dim);
            lat2d.reshape('c', bSz, 1 + kSz, c.dim).assign(lat);    // kept for dW: must outlive forward
            INDArray y = Nd4j.createUninitialized(lat2d.dataType(), rowsIn, dd);
            Ops.linear(lat2d, params.get("W"), params.get("b"), y);
            t0 = Prof.add("dec_embed.f.linear", t0);
            INDArray src = Nd4j.createUninitialized(y.dataType(), rowsIn + 1, dd);  // + the mask token row
            src.get(interval(0, rowsIn), all()).assign(y);
            src.getRow(rowsIn).assign(params.get("maskToken"));
            int[] slots = Gather.ints(inputs[1]);
            srcRow = new int[(int) (bSz * (1 + nTok))];
            for (int b = 0; b < bSz; b++) {
                int o = (int) (b * (1 + nTok));
                srcRow[o] = (int) (b * (1 + kSz));
                for (int n = 0; n < nTok; n++) {
                    int j = slots[(int) (b * nTok + n)];
                    if (j >= kSz) throw new IllegalArgumentException("decoder slot " + j + " >= visible count " + kSz);
                    srcRow[o + 1 + n] = j < 0 ? (int) rowsIn : (int) (b * (1 + kSz) + 1 + j);
                }
            }
            INDArray out = act(ws, bSz * (1 + nTok), dd);
            Nd4j.pullRows(src, out, 1, srcRow);
            t0 = Prof.add("dec_embed.f.gather", t0);
            INDArray out3 = out.reshape('c', bSz, 1 + nTok, dd);
            // each image's [(1+N)·Dd] row gets pos added: a row-vector broadcast (materializing pos broadcast to
            // [B, 1+N, Dd] first cost 31 ms of a 1.1 s MAE-tiny step)
            out.reshape('c', bSz, (1 + nTok) * dd).addiRowVector(pos.reshape(1, (1 + nTok) * dd));
            Prof.add("dec_embed.f.pos", t0);
            return out3;
        }

        @Override
        public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr ws) {
            long t0 = Prof.t();
            int dd = c.decoderDim;
            long rowsIn = bSz * (1 + kSz);
            INDArray dOut = epsilon.dup('c').reshape('c', bSz * (1 + nTok), dd);
            // scatter-add back to source rows: each visible source row is used at most once, so a gather
            // through the inverse map is exact; padded slots and the mask token are handled separately.
            int zeroRow = (int) (bSz * (1 + nTok));
            int[] inv = new int[(int) rowsIn];
            java.util.Arrays.fill(inv, zeroRow);
            double[] maskSel = new double[(int) (bSz * (1 + nTok))];
            for (int r = 0; r < srcRow.length; r++) {
                if (srcRow[r] == rowsIn) maskSel[r] = 1; else inv[srcRow[r]] = r;
            }
            INDArray dOutZ = Nd4j.createUninitialized(dOut.dataType(), zeroRow + 1, dd);
            dOutZ.get(interval(0, zeroRow), all()).assign(dOut);
            dOutZ.getRow(zeroRow).assign(0);
            INDArray dy = bpWork(ws, rowsIn, dd);
            Nd4j.pullRows(dOutZ, dy, 1, inv);
            INDArray sel = Nd4j.create(maskSel).castTo(dOut.dataType()).reshape(1, maskSel.length);
            grads.get("maskToken").assign(sel.mmul(dOut).reshape(dd));
            INDArray dlat = actGrad(ws, rowsIn, c.dim);
            Ops.linearBackward(lat2d, params.get("W"), dy, grads.get("W"), grads.get("b"), dlat, 0.0);
            Prof.add("dec_embed.b", t0);
            return result(gradient(), dlat.reshape('c', bSz, 1 + kSz, c.dim), null);
        }
    }
}
