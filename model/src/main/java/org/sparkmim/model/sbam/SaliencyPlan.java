package org.sparkmim.model.sbam;

import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.sparkmim.model.nn.FreeVertexConf;

/**
 * SBAM's masking plan inside the graph, so it always uses the current patch embeddings (on one JVM or on any
 * gradient-sharing worker). Inputs: X [B,N,D] (all tokens, embedded, + position), noise u [B,N] ~ U(0,1),
 * mode [B,1] ({@link SbamPlanner} MODE_*). Output: the packed plan [B, 2N + 1 + 2·Kmax] read by
 * {@link org.sparkmim.model.nn.PlanSlice}. No gradient flows through the scores: backward returns zeros.
 */
public class SaliencyPlan extends FreeVertexConf {
    public int tokens;
    public double ratio;
    public double rVar;
    public double delta;
    public double noise;
    public boolean amr;
    public boolean perSample;

    public SaliencyPlan() { }

    public SaliencyPlan(int tokens, SbamPlanner.Settings s) {
        this.tokens = tokens;
        this.ratio = s.ratio();
        this.rVar = s.rVar();
        this.delta = s.delta();
        this.noise = s.noise();
        this.amr = s.amr();
        this.perSample = s.perSample();
    }

    public SbamPlanner.Settings settings() {
        return new SbamPlanner.Settings(ratio, rVar, delta, noise, amr, perSample);
    }

    @Override
    public SaliencyPlan clone() {
        return new SaliencyPlan(tokens, settings());
    }

    @Override
    public int minVertexInputs() {
        return 3;
    }

    @Override
    public int maxVertexInputs() {
        return 3;
    }

    @Override
    public org.deeplearning4j.nn.conf.inputs.InputType getOutputType(int layerIndex,
                                                                    org.deeplearning4j.nn.conf.inputs.InputType... in) {
        return org.deeplearning4j.nn.conf.inputs.InputType.feedForward(2L * tokens + 1);
    }

    @Override
    public String toString() {
        return "SaliencyPlan(N=" + tokens + "," + settings() + ")";
    }

    @Override
    protected Runtime createRuntime(ComputationGraph graph, String name, int idx, DataType dt) {
        return new Impl(this, graph, name, idx, dt);
    }

    static final class Impl extends Runtime {
        private final SaliencyPlan c;
        private long[] xShape;

        Impl(SaliencyPlan c, ComputationGraph graph, String name, int idx, DataType dt) {
            super(graph, name, idx, dt);
            this.c = c;
        }

        @Override
        public INDArray doForward(boolean training, LayerWorkspaceMgr ws) {
            INDArray x = inputs[0];
            xShape = x.shape();
            double[][] u = inputs[1].toDoubleMatrix();
            double[] m = inputs[2].reshape(inputs[2].length()).toDoubleVector();
            int[] mode = new int[m.length];
            for (int i = 0; i < m.length; i++) mode[i] = (int) Math.round(m[i]);
            double[][] packed = SbamPlanner.pack(SbamPlanner.plan(x, u, mode, c.settings()), c.tokens);
            INDArray out = act(ws, packed.length, packed[0].length);
            out.assign(Nd4j.create(packed).castTo(dataType));
            return out;
        }

        @Override
        public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr ws) {
            // argsort is piecewise constant: the scores get no gradient, and X gets none through them
            return new Pair<>(null, new INDArray[]{zeroGrad(ws, xShape), null, null});
        }
    }
}
