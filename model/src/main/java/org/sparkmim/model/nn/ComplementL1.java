package org.sparkmim.model.nn;

import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.sparkmim.masking.OrthogonalProjection;

/**
 * ROPIM's loss as a graph vertex: the L1 norm of the reconstruction residual projected on the complement of the
 * image's sketch subspace, along the token axis, i.e. of the information the projection removed.
 *
 * <pre>
 * inputs: pred [N·B, P] (DenseLayer behind RnnToFeedForwardPreProcessor(NWC): rows in 'f' order, row = n·B + b)
 *         targets [B, N, P] (pixels, MAE patch order)      sketch [B, 3N] ({@link SketchPatchEmbed#encode})
 * R = targets − pred                 [B, N, P]
 * Q = (I − P) R  per image           [B, N, P]
 * L = mean_{b,n,k} |Q|
 * output: c[b] = Σ_{n,k} |Q[b]| / (N·P)   [B, 1]   for {@link SumLoss}: Σ_b c[b] / B = L
 * </pre>
 * Backward: dQ = sign(Q)·ε[b]/(N·P); dR = (I − P)ᵀ dQ = dQ − P dQ (P symmetric); dpred = −dR.
 */
public class ComplementL1 extends LossTermConf {

    @Override
    public ComplementL1 clone() {
        return new ComplementL1();
    }

    @Override
    public String toString() {
        return "ComplementL1()";
    }

    @Override
    protected Runtime createRuntime(ComputationGraph graph, String name, int idx, DataType dt) {
        return new Impl(graph, name, idx, dt);
    }

    /** (I − P) x per image, in place: x [B, N, P] flat row-major. */
    public static void complement(OrthogonalProjection.Sketch[] sk, double[] x, int n, int p) {
        double[] px = new double[n * p];
        for (int b = 0; b < sk.length; b++) {
            int off = b * n * p;
            sk[b].apply(x, off, px, 0, p);
            for (int i = 0; i < n * p; i++) x[off + i] -= px[i];
        }
    }

    static final class Impl extends Runtime {
        private double[] sgn;      // [B, N, P] sign of Q
        private OrthogonalProjection.Sketch[] sk;
        private int bSz, nTok, pSz;

        Impl(ComputationGraph graph, String name, int idx, DataType dt) {
            super(graph, name, idx, dt);
        }

        @Override
        public INDArray doForward(boolean training, LayerWorkspaceMgr ws) {
            INDArray pred = inputs[0], t = inputs[1];
            bSz = (int) t.size(0);
            nTok = (int) t.size(1);
            pSz = (int) t.size(2);
            sk = SketchPatchEmbed.decodeAll(inputs[2], nTok);
            double[] pr = pred.dup('c').reshape(pred.length()).toDoubleVector();     // rows n·B + b
            double[] q = t.dup('c').reshape(t.length()).toDoubleVector();           // [B, N, P]
            for (int b = 0; b < bSz; b++) {
                for (int n = 0; n < nTok; n++) {
                    int dst = (b * nTok + n) * pSz, src = (n * bSz + b) * pSz;
                    for (int k = 0; k < pSz; k++) q[dst + k] -= pr[src + k];
                }
            }
            complement(sk, q, nTok, pSz);
            sgn = new double[q.length];
            double[] c = new double[bSz];
            for (int b = 0; b < bSz; b++) {
                double s = 0;
                for (int i = b * nTok * pSz; i < (b + 1) * nTok * pSz; i++) {
                    s += Math.abs(q[i]);
                    sgn[i] = Math.signum(q[i]);
                }
                c[b] = s / ((double) nTok * pSz);
            }
            INDArray out = act(ws, bSz, 1);
            out.assign(Nd4j.create(c, new long[]{bSz, 1}).castTo(dataType));
            return out;
        }

        @Override
        public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr ws) {
            double[] eps = epsilon.castTo(DataType.DOUBLE).reshape(bSz).toDoubleVector();
            double[] dq = new double[sgn.length];
            double scale = 1.0 / ((double) nTok * pSz);
            for (int b = 0; b < bSz; b++) {
                for (int i = b * nTok * pSz; i < (b + 1) * nTok * pSz; i++) dq[i] = sgn[i] * eps[b] * scale;
            }
            complement(sk, dq, nTok, pSz);                                       // dR = (I − P) dQ
            double[] dp = new double[dq.length];                                // rows n·B + b, dpred = −dR
            for (int b = 0; b < bSz; b++) {
                for (int n = 0; n < nTok; n++) {
                    int src = (b * nTok + n) * pSz, dst = (n * bSz + b) * pSz;
                    for (int k = 0; k < pSz; k++) dp[dst + k] = -dq[src + k];
                }
            }
            INDArray dPred = ws.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, (long) nTok * bSz, pSz);
            dPred.assign(Nd4j.create(dp, new long[]{(long) nTok * bSz, pSz}).castTo(dataType));
            return new Pair<>(null, new INDArray[]{dPred, null, null});
        }
    }

    /** L on [B, N, P] arrays (tests, evaluation): mean |(I − P)(targets − pred)|. */
    public static double loss(INDArray targets, INDArray pred, OrthogonalProjection.Sketch[] sk) {
        int b = (int) targets.size(0), n = (int) targets.size(1), p = (int) targets.size(2);
        double[] r = targets.castTo(DataType.DOUBLE).sub(pred.castTo(DataType.DOUBLE)).dup('c').reshape(targets.length()).toDoubleVector();
        complement(sk, r, n, p);
        double s = 0;
        for (double v : r) s += Math.abs(v);
        return s / ((double) b * n * p);
    }
}
