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
 * inputs: x [B, 1+N, D] (ViT tokens, CLS row first, passed through)  or  x [B, D, H, W] (a ResNet's feature map,
 *         channelsFirst, N = H·W)     m [B, N] (1 = masked token; row-major over the H×W grid)
 * gamma off (ViT, and the released ResNet code with mask_init = 0):   y = x + t·m
 * gamma on  (released ResNet "init" configs, γ init 1e-6):            y = x·(1−m) + γ⊙x·m + t·m
 * params: t [D] ~ N(0, 0.02);  γ [D] = gammaInit (only when gammaInit > 0). No weight decay on either.
 * </pre>
 * Backward: dx = dy·(1 − m + γ·m) (dy when gamma is off); dt = Σ_{b,n} m·dy; dγ = Σ_{b,n} m·x⊙dy.
 * The ViT form is A2MIM's mask_layer on a Transformer; the channelsFirst form is the same on a ResNet stage's
 * input, with t and γ per channel.
 */
public class MaskTokenAdd extends ParamVertexConf {
    public int dim;
    /** 0 = no γ (y = x + t·m); > 0 = learnable γ initialised to this value. */
    public double gammaInit;
    /** x is a feature map [B, D, H, W] (ResNet) instead of tokens [B, 1+N, D] (ViT). */
    public boolean channelsFirst;

    public MaskTokenAdd() { }

    public MaskTokenAdd(int dim, double gammaInit) {
        this(dim, gammaInit, false);
    }

    public MaskTokenAdd(int dim, double gammaInit, boolean channelsFirst) {
        if (gammaInit < 0) throw new IllegalArgumentException("mask-token gamma init must be >= 0, got " + gammaInit);
        this.dim = dim;
        this.gammaInit = gammaInit;
        this.channelsFirst = channelsFirst;
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
        return (MaskTokenAdd) copyBaseInto(new MaskTokenAdd(dim, gammaInit, channelsFirst));
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
        return "MaskTokenAdd(D=" + dim + ",gammaInit=" + gammaInit + (channelsFirst ? ",NCHW" : "") + ",wd=" + weightDecay + ")";
    }

    static final class Impl extends ParamVertex {
        private final MaskTokenAdd c;
        private INDArray x3;   // the masked-able part of the input (tokens [B, N, D] or the map [B, D, H, W]), for dγ
        private INDArray mD;   // the mask broadcast to x3's shape

        Impl(MaskTokenAdd c, ComputationGraph g, String name, int idx, INDArray view, DataType dt) {
            super(c, g, name, idx, view, dt);
            this.c = c;
        }

        /** The part of x (or of dy) the mask applies to: the N patch tokens, or the whole map. */
        private INDArray body(INDArray a) {
            return c.channelsFirst ? a : a.get(all(), interval(1, a.size(1)), all());
        }

        /** A per-channel parameter shaped to broadcast against body(x). */
        private INDArray perChannel(INDArray p, long[] shape) {
            return (c.channelsFirst ? p.reshape(1, c.dim, 1, 1) : p.reshape(1, 1, c.dim)).broadcast(shape);
        }

        /** Axes summed for a per-channel parameter's gradient. */
        private int[] sumAxes() {
            return c.channelsFirst ? new int[]{0, 2, 3} : new int[]{0, 1};
        }

        @Override
        public INDArray doForward(boolean training, LayerWorkspaceMgr ws) {
            INDArray x = inputs[0], mask = inputs[1];
            long b = x.size(0);
            long n = c.channelsFirst ? x.size(2) * x.size(3) : x.size(1) - 1;
            if (mask.size(0) != b || mask.size(1) != n || (c.channelsFirst ? x.size(1) : x.size(2)) != c.dim) {
                throw new IllegalStateException(getVertexName() + ": mask " + java.util.Arrays.toString(mask.shape())
                        + " does not match " + java.util.Arrays.toString(x.shape()) + " (want [B, N] for "
                        + (c.channelsFirst ? "[B, " + c.dim + ", H, W] with N = H·W" : "[B, 1+N, " + c.dim + "]") + ")");
            }
            INDArray out = act(ws, x.shape());
            out.assign(x);
            INDArray tok = body(out);
            long[] shape = tok.shape();
            mD = act(ws, shape);
            INDArray m = mask.castTo(dataType);
            mD.assign((c.channelsFirst ? m.reshape(b, 1, x.size(2), x.size(3)) : m.reshape(b, n, 1)).broadcast(shape));
            if (c.hasGamma()) {
                x3 = act(ws, shape);
                x3.assign(body(x));
                // x·(1−m) + γ⊙x·m = x + (γ − 1)⊙x·m
                tok.addi(x3.mul(mD).muli(perChannel(params.get("gamma").sub(1.0), shape)));
            }
            tok.addi(mD.mul(perChannel(params.get("t"), shape)));
            return out;
        }

        @Override
        public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr ws) {
            INDArray dy = epsilon;
            INDArray mdy = body(dy).mul(mD);
            grads.get("t").assign(mdy.sum(sumAxes()));
            INDArray dx = actGrad(ws, dy.shape());
            dx.assign(dy);
            if (c.hasGamma()) {
                grads.get("gamma").assign(mdy.mul(x3).sum(sumAxes()));
                body(dx).addi(mdy.muli(perChannel(params.get("gamma").sub(1.0), mD.shape())));
            }
            return result(gradient(), dx, null);
        }
    }
}
