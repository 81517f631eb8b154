package org.sparkmim.model.nn;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

/**
 * Encoder input from embedded tokens: X [B, N, D] and ids_keep [B, Kmax] (−1 = padding) →
 * [B, 1+Kmax, D] = concat(cls, X[b, ids_keep[b, j]] or 0 for padding). Padded rows are zeros; the key-padding
 * mask keeps them out of every real token's attention and the decoder never reads them, so they get no gradient.
 */
public class TokenGather extends ParamVertexConf {
    public int dim;

    public TokenGather() { }

    public TokenGather(int dim) {
        this.dim = dim;
    }

    @Override
    public LinkedHashMap<String, long[]> paramShapes() {
        LinkedHashMap<String, long[]> m = new LinkedHashMap<>();
        m.put("cls", new long[]{dim});
        return m;
    }

    @Override
    public boolean isDecayed(String param) {
        return false;
    }

    @Override
    public void initParams(Map<String, INDArray> p) {
        Ops.normal(p.get("cls"), 0.02);
    }

    @Override
    protected ParamVertex createVertex(ComputationGraph g, String name, int idx, INDArray view, DataType dt) {
        return new Impl(this, g, name, idx, view, dt);
    }

    @Override
    public TokenGather clone() {
        return (TokenGather) copyBaseInto(new TokenGather(dim));
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
        return "TokenGather(D=" + dim + ")";
    }

    static final class Impl extends ParamVertex {
        private final TokenGather c;
        private int[] srcRow;              // output row → source row (B·N = cls, B·N+1 = zero)
        private long bSz, nTok, kSz;

        Impl(TokenGather c, ComputationGraph g, String name, int idx, INDArray view, DataType dt) {
            super(c, g, name, idx, view, dt);
            this.c = c;
        }

        @Override
        public INDArray doForward(boolean training, LayerWorkspaceMgr ws) {
            INDArray x = inputs[0];
            bSz = x.size(0);
            nTok = x.size(1);
            kSz = inputs[1].size(1);
            int clsRow = (int) (bSz * nTok), zeroRow = clsRow + 1;
            INDArray src = Nd4j.createUninitialized(dataType, bSz * nTok + 2, c.dim);
            src.get(interval(0, bSz * nTok), all()).assign(x.reshape('c', bSz * nTok, c.dim));
            src.getRow(clsRow).assign(params.get("cls"));
            src.getRow(zeroRow).assign(0);
            int[] ids = Gather.ints(inputs[1]);
            srcRow = new int[(int) (bSz * (1 + kSz))];
            for (int b = 0; b < bSz; b++) {
                int o = (int) (b * (1 + kSz));
                srcRow[o] = clsRow;
                for (int j = 0; j < kSz; j++) {
                    int id = ids[(int) (b * kSz + j)];
                    if (id >= nTok) throw new IllegalArgumentException("token index " + id + " outside [0," + nTok + ")");
                    srcRow[o + 1 + j] = id < 0 ? zeroRow : (int) (b * nTok + id);
                }
            }
            INDArray out = act(ws, bSz * (1 + kSz), c.dim);
            Nd4j.pullRows(src, out, 1, srcRow);
            return out.reshape('c', bSz, 1 + kSz, c.dim);
        }

        @Override
        public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr ws) {
            long rowsOut = bSz * (1 + kSz);
            INDArray dOut = epsilon.dup('c').reshape('c', rowsOut, c.dim);
            int clsRow = (int) (bSz * nTok);
            // each token is gathered at most once: dX is a gather of dOut through the inverse map (zero row default)
            int[] inv = new int[(int) (bSz * nTok)];
            Arrays.fill(inv, (int) rowsOut);
            double[] clsSel = new double[(int) rowsOut];
            for (int r = 0; r < srcRow.length; r++) {
                if (srcRow[r] == clsRow) clsSel[r] = 1;
                else if (srcRow[r] < clsRow) inv[srcRow[r]] = r;
            }
            INDArray dOutZ = Nd4j.createUninitialized(dataType, rowsOut + 1, c.dim);
            dOutZ.get(interval(0, rowsOut), all()).assign(dOut);
            dOutZ.getRow(rowsOut).assign(0);
            INDArray dx = actGrad(ws, bSz * nTok, c.dim);
            Nd4j.pullRows(dOutZ, dx, 1, inv);
            grads.get("cls").assign(Nd4j.create(clsSel).castTo(dataType).reshape(1, rowsOut).mmul(dOut).reshape(c.dim));
            return result(gradient(), dx.reshape('c', bSz, nTok, c.dim), zeroIds(ws));
        }

        private INDArray zeroIds(LayerWorkspaceMgr ws) {
            return ws.create(org.deeplearning4j.nn.workspace.ArrayType.ACTIVATION_GRAD, dataType, bSz, kSz);
        }
    }
}
