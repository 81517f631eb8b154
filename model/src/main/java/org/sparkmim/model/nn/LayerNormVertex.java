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

/** LayerNorm over the last axis of [B,T,D] (the encoder's and decoder's final norms). */
public class LayerNormVertex extends ParamVertexConf {
    public int dim;

    public LayerNormVertex() { }

    public LayerNormVertex(int dim) {
        this.dim = dim;
    }

    @Override
    public LinkedHashMap<String, long[]> paramShapes() {
        LinkedHashMap<String, long[]> m = new LinkedHashMap<>();
        m.put("g", new long[]{dim});
        m.put("b", new long[]{dim});
        return m;
    }

    @Override
    public boolean isDecayed(String param) {
        return false;
    }

    @Override
    public void initParams(Map<String, INDArray> p) {
        p.get("g").assign(1);
        p.get("b").assign(0);
    }

    @Override
    protected ParamVertex createVertex(ComputationGraph g, String name, int idx, INDArray view, DataType dt) {
        return new Impl(this, g, name, idx, view, dt);
    }

    @Override
    public LayerNormVertex clone() {
        return (LayerNormVertex) copyBaseInto(new LayerNormVertex(dim));
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
    public InputType getOutputType(int layerIndex, InputType... in) {
        return in[0];
    }

    @Override
    public String toString() {
        return "LayerNorm(" + dim + ")";
    }

    static final class Impl extends ParamVertex {
        private final int d;
        private INDArray xhat, rstd;
        private long[] shape;

        Impl(LayerNormVertex c, ComputationGraph g, String name, int idx, INDArray view, DataType dt) {
            super(c, g, name, idx, view, dt);
            d = c.dim;
        }

        @Override
        public INDArray doForward(boolean training, LayerWorkspaceMgr ws) {
            long t0 = Prof.t();
            shape = inputs[0].shape();
            long m = inputs[0].length() / d;
            INDArray x = inputs[0].dup('c').reshape('c', m, d);
            xhat = act(ws, m, d);
            rstd = act(ws, m, 1);
            INDArray y = act(ws, m, d);
            Ops.layerNorm(x, params.get("g"), params.get("b"), xhat, rstd, y);
            Prof.add("final_ln.f", t0);
            return y.reshape('c', shape);
        }

        @Override
        public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr ws) {
            long t0 = Prof.t();
            long m = xhat.size(0);
            INDArray dy = epsilon.dup('c').reshape('c', m, d);
            INDArray dx = actGrad(ws, m, d);
            Ops.layerNormBackward(dy, xhat, rstd, params.get("g"), grads.get("g"), grads.get("b"), dx, false);
            Prof.add("final_ln.b", t0);
            return result(gradient(), dx.reshape('c', shape));
        }
    }
}
