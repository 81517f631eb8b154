package org.sparkmim.model.nn;

import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The MAE loss (METHODS.md §1) as a graph vertex, for masks decided inside the graph (SBAM): L = Σ ℓ·mask / Σ mask
 * with ℓ[b,n] = mean_P (pred − t)², over the whole batch, so per-sample masked counts may differ (AMR).
 *
 * <p>Inputs: pred [B·N, P] from a DenseLayer behind DL4J's RnnToFeedForwardPreProcessor (NWC), whose rows are
 * in 'f' order: row = n·B + b; targets [B, N, P]; mask [B, N] (1 = masked). Output: per-sample contributions
 * c[b] = B · Σ_n ℓ[b,n]·mask[b,n] / Σ mask, [B, 1], for {@link SumLoss} (Σ_b c[b] / B = L). If nothing is
 * masked (feature extraction) the output is 0.
 */
public class PlanMaskedMse extends LossTermConf {

    @Override
    public PlanMaskedMse clone() {
        return new PlanMaskedMse();
    }

    @Override
    public String toString() {
        return "PlanMaskedMse()";
    }

    @Override
    protected Runtime createRuntime(ComputationGraph graph, String name, int idx, DataType dt) {
        return new Impl(graph, name, idx, dt);
    }

    static final class Impl extends Runtime {
        private INDArray diff;     // [N·B, P] pred − t, rows n·B + b
        private INDArray m;        // [N·B, 1] mask in the same row order
        private double masked;
        private long bSz, nTok, pSz;

        Impl(ComputationGraph graph, String name, int idx, DataType dt) {
            super(graph, name, idx, dt);
        }

        @Override
        public INDArray doForward(boolean training, LayerWorkspaceMgr ws) {
            INDArray pred = inputs[0], t = inputs[1], mask = inputs[2];
            bSz = t.size(0);
            nTok = t.size(1);
            pSz = t.size(2);
            diff = act(ws, nTok * bSz, pSz);
            diff.reshape('c', nTok, bSz, pSz).assign(t.permute(1, 0, 2));           // rows n·B + b, as pred
            diff.rsubi(pred);
            m = act(ws, nTok * bSz, 1);
            m.reshape('c', nTok, bSz).assign(mask.transpose());
            masked = m.sumNumber().doubleValue();
            INDArray perTok = diff.mul(diff).mean(true, 1).muli(m);                 // [N·B, 1] ℓ·mask
            INDArray out = act(ws, bSz, 1);
            // Σ over tokens of each sample: [N, B] summed over rows
            out.assign(perTok.reshape('c', nTok, bSz).sum(0).reshape(bSz, 1));
            out.muli(masked > 0 ? bSz / masked : 0);
            return out;
        }

        @Override
        public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr ws) {
            INDArray dPred = ws.createUninitialized(org.deeplearning4j.nn.workspace.ArrayType.ACTIVATION_GRAD, dataType,
                    nTok * bSz, pSz);
            double scale = masked > 0 ? 2.0 * bSz / (pSz * masked) : 0;
            // row n·B + b gets eps[b] · 2B/(P·Σmask) · mask · (pred − t)
            INDArray w = m.reshape('c', nTok, bSz).mulRowVector(epsilon.reshape(1, bSz)).muli(scale).reshape(nTok * bSz, 1);
            dPred.assign(diff).muliColumnVector(w);
            return new Pair<>(null, new INDArray[]{dPred, null, zeroGrad(ws, bSz, nTok)});
        }
    }
}
