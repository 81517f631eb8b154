package org.sparkmim.model.nn;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.MaskState;
import org.deeplearning4j.nn.api.TrainingConfig;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.BaseGraphVertex;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Runtime base for {@link ParamVertexConf} vertices: slices the flat parameter and gradient views into named,
 * shaped views, and gives subclasses allocation helpers that respect DL4J's workspaces.
 *
 * <p>Workspace rules (STACK-NOTES: gradient sharing needs workspaces ENABLED): anything a subclass keeps from
 * forward for backward is allocated in {@link ArrayType#ACTIVATIONS}; epsilons go to
 * {@link ArrayType#ACTIVATION_GRAD}; parameter gradients are written into the gradient views in place.
 */
public abstract class ParamVertex extends BaseGraphVertex {

    protected final ParamVertexConf conf;
    protected final INDArray paramsFlat;
    protected final Map<String, INDArray> params = new LinkedHashMap<>();
    protected final Map<String, INDArray> grads = new LinkedHashMap<>();
    protected INDArray gradsFlat;

    protected ParamVertex(ParamVertexConf conf, ComputationGraph graph, String name, int idx, INDArray paramsView,
                          DataType dataType) {
        super(graph, name, idx, null, null, dataType);
        this.conf = conf;
        this.paramsFlat = paramsView;
        slice(paramsView, params);
    }

    private void slice(INDArray flat, Map<String, INDArray> into) {
        into.clear();
        INDArray f = flat.reshape(flat.length());
        long off = 0;
        for (Map.Entry<String, long[]> e : conf.paramShapes().entrySet()) {
            long n = 1;
            for (long d : e.getValue()) n *= d;
            // a contiguous 1-D interval reshaped in 'c' order stays a view of the flat buffer
            into.put(e.getKey(), f.get(NDArrayIndex.interval(off, off + n)).reshape('c', e.getValue()));
            off += n;
        }
    }

    @Override
    public void setBackpropGradientsViewArray(INDArray backpropGradientsViewArray) {
        this.gradsFlat = backpropGradientsViewArray;
        slice(backpropGradientsViewArray, grads);
    }

    /** Gradient object pointing at the gradient views (which subclasses filled in place). */
    protected Gradient gradient() {
        Gradient g = new DefaultGradient(gradsFlat);
        for (Map.Entry<String, INDArray> e : grads.entrySet()) g.gradientForVariable().put(e.getKey(), e.getValue());
        return g;
    }

    protected static Pair<Gradient, INDArray[]> result(Gradient g, INDArray... eps) {
        return new Pair<>(g, eps);
    }

    /** An array that lives until this vertex's backward pass (outputs and caches). */
    protected INDArray act(LayerWorkspaceMgr ws, long... shape) {
        return ws.createUninitialized(ArrayType.ACTIVATIONS, dataType, shape);
    }

    /** An activation-gradient (epsilon) array handed to the input vertices. */
    protected INDArray actGrad(LayerWorkspaceMgr ws, long... shape) {
        return ws.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, shape);
    }

    /** Scratch memory for backward; valid only during this vertex's backward call. */
    protected INDArray bpWork(LayerWorkspaceMgr ws, long... shape) {
        return ws.createUninitialized(ArrayType.BP_WORKING_MEM, dataType, shape);
    }

    @Override
    public Map<String, INDArray> paramTable(boolean backpropOnly) {
        return params;
    }

    @Override
    public long numParams() {
        return paramsFlat == null ? 0 : paramsFlat.length();
    }

    @Override
    public INDArray params() {
        return paramsFlat;
    }

    @Override
    public INDArray getGradientsViewArray() {
        return gradsFlat;
    }

    @Override
    public TrainingConfig getConfig() {
        return conf;
    }

    @Override
    public boolean hasLayer() {
        return false;
    }

    @Override
    public Layer getLayer() {
        return null;
    }

    @Override
    public Pair<INDArray, MaskState> feedForwardMaskArrays(INDArray[] maskArrays, MaskState currentMaskState,
                                                          int minibatchSize) {
        // padding masks travel as explicit graph inputs, not as DL4J feature masks
        return new Pair<>(null, currentMaskState);
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "(" + getVertexName() + ")";
    }
}
