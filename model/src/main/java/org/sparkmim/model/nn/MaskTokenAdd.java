package org.sparkmim.model.nn;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

/**
 * A2MIM's learnable mask token, added residual-style at an intermediate stage (docs/METHODS.md, A2MIM). The input
 * pixels of masked blocks were already replaced by the image mean; this tells the network where they were.
 *
 * <pre>
 * inputs: x [B, 1+N, D] (CLS row first, passed through)    m [B, N] (1 = masked token)
 * gamma off (ViT, and the released ResNet code with mask_init = 0):   y = x + t·m
 * gamma on  (released ResNet "init" configs, γ init 1e-6):            y = x·(1−m) + γ⊙x·m + t·m
 * params: t [D] ~ N(0, 0.02);  γ [D] = gammaInit (only when gammaInit > 0). No weight decay on either.
 * </pre>
 * Backward: dx = dy·(1 − m + γ·m) (dy when gamma is off); dt = Σ_{b,n} m·dy; dγ = Σ_{b,n} m·x⊙dy.
 */
public class MaskTokenAdd extends ParamVertexConf {
    public int dim;
    /** 0 = no γ (y = x + t·m); > 0 = learnable γ initialised to this value. */
    public double gammaInit;

    public MaskTokenAdd() { }

    public MaskTokenAdd(int dim, double gammaInit) {
        if (gammaInit < 0) throw new IllegalArgumentException("mask-token gamma init must be >= 0, got " + gammaInit);
        this.dim = dim;
        this.gammaInit = gammaInit;
    }

    public boolean hasGamma() {
        return gammaInit > 0;
    }

    @Override
    public LinkedHashMap<String, long[]> paramShapes() {
        LinkedHashMap<String, long[]> m = new LinkedHashMap<>();
        m.put("t", new long[]{dim});
        if (hasGamma()) m.put("gamma", new long[]{dim});
        return m;
    }

    @Override
    public boolean isDecayed(String param) {
        return false;
    }

    @Override
    public void initParams(Map<String, INDArray> p) {
        Ops.normal(p.get("t"), 0.02);
        if (hasGamma()) p.get("gamma").assign(gammaInit);
    }

    @Override
    protected ParamVertex createVertex(ComputationGraph g, String name, int idx, INDArray view, DataType dt) {
        return new Impl(this, g, name, idx, view, dt);
    }

    @Override
    public MaskTokenAdd clone() {
        return (MaskTokenAdd) copyBaseInto(new MaskTokenAdd(dim, gammaInit));
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
        return in[0];
    }

    @Override
    public String toString() {
        return "MaskTokenAdd(D=" + dim + ",gammaInit=" + gammaInit + ",wd=" + weightDecay + ")";
    }

    static final class Impl extends ParamVertex {
        private final MaskTokenAdd c;
        private INDArray x3;   // [B, N, D] input tokens (for dγ)
        private INDArray mD;   // [B, N, D] mask broadcast over D

        Impl(MaskTokenAdd c, ComputationGraph g, String name, int idx, INDArray view, DataType dt) {
            super(c, g, name, idx, view, dt);
            this.c = c;
        }

        @Override
        public INDArray doForward(boolean training, LayerWorkspaceMgr ws) {
            INDArray x = inputs[0], mask = inputs[1];
            long b = x.size(0), n1 = x.size(1), n = n1 - 1;
            if (mask.size(0) != b || mask.size(1) != n) {
                throw new IllegalStateException(getVertexName() + ": mask " + java.util.Arrays.toString(mask.shape())
                        + " does not match tokens " + java.util.Arrays.toString(x.shape()) + " (want [B, N] for [B, 1+N, D])");
            }
            mD = act(ws, b, n, c.dim);
            mD.assign(mask.castTo(dataType).reshape(b, n, 1).broadcast(b, n, c.dim));
            INDArray out = act(ws, b, n1, c.dim);
            out.assign(x);
            INDArray tok = out.get(all(), interval(1, n1), all());                // view [B, N, D]
            INDArray t = params.get("t").reshape(1, 1, c.dim).broadcast(b, n, c.dim);
            if (c.hasGamma()) {
                x3 = act(ws, b, n, c.dim);
                x3.assign(x.get(all(), interval(1, n1), all()));
                // x·(1−m) + γ⊙x·m = x + (γ − 1)⊙x·m
                INDArray gm1 = params.get("gamma").sub(1.0).reshape(1, 1, c.dim).broadcast(b, n, c.dim);
                tok.addi(x3.mul(mD).muli(gm1));
            }
            tok.addi(mD.mul(t));
            return out;
        }

        @Override
        public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr ws) {
            INDArray dy = epsilon;                                                // [B, 1+N, D]
            long b = dy.size(0), n1 = dy.size(1), n = n1 - 1;
            INDArray dyTok = dy.get(all(), interval(1, n1), all());
            INDArray mdy = dyTok.mul(mD);                                         // [B, N, D]
            grads.get("t").assign(mdy.sum(0, 1));
            INDArray dx = actGrad(ws, b, n1, c.dim);
            dx.assign(dy);
            if (c.hasGamma()) {
                grads.get("gamma").assign(mdy.mul(x3).sum(0, 1));
                INDArray gm1 = params.get("gamma").sub(1.0).reshape(1, 1, c.dim).broadcast(b, n, c.dim);
                dx.get(all(), interval(1, n1), all()).addi(mdy.muli(gm1));
            }
            return result(gradient(), dx, null);
        }
    }
}
