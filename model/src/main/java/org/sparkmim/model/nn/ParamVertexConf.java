package org.sparkmim.model.nn;

import org.deeplearning4j.nn.api.TrainingConfig;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.memory.MemoryReport;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.learning.regularization.WeightDecay;
import org.nd4j.shade.jackson.annotation.JsonIgnore;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Configuration base for our custom graph vertices that own parameters.
 *
 * <p>Why vertices and not layers: MIM graphs need several inputs per node (tokens + ids_keep,
 * latent + ids_restore, tokens + key-padding mask). DL4J treats any {@code GraphVertex} with
 * {@code numParams() > 0} as {@code Trainable}: it receives a view into the network's flat parameter and
 * gradient buffers, and its own updater and regularization per parameter (see ComputationGraphUpdater).
 * That keeps gradient sharing and checkpointing working on one flat buffer.
 *
 * <p>Fields are public so DL4J's (shaded) Jackson round-trips the configuration to Spark workers and into
 * checkpoints. AdamW = DL4J Adam + {@link WeightDecay} with applyLR=true (decoupled decay, applied after the
 * updater), and only on the parameters a subclass marks as decayed (weights, not biases/norms/tokens).
 */
public abstract class ParamVertexConf extends GraphVertex implements TrainingConfig {

    /** Updater for all parameters of this vertex (Adam with the run's LR schedule). */
    public IUpdater updater = new NoOp();
    /** Decoupled weight decay coefficient applied to {@link #isDecayed(String)} parameters. */
    public double weightDecay = 0.0;
    /** Set at instantiation: DL4J's vertex name, used by the updater to key state. */
    public String layerName;

    /** Parameter names and shapes, in the order they are laid out in the flat parameter view. */
    @JsonIgnore
    public abstract LinkedHashMap<String, long[]> paramShapes();

    /** True for parameters that get weight decay (MAE: weights only). */
    public abstract boolean isDecayed(String param);

    /** Fill freshly allocated parameter views (MAE init: Xavier-uniform weights, N(0,.02) tokens). */
    public abstract void initParams(Map<String, INDArray> params);

    /** Build the runtime vertex; params are views into the network's flat buffer. */
    protected abstract ParamVertex createVertex(ComputationGraph graph, String name, int idx, INDArray paramsView,
                                                DataType dataType);

    @Override
    public long numParams(boolean backprop) {
        long n = 0;
        for (long[] s : paramShapes().values()) {
            long c = 1;
            for (long d : s) c *= d;
            n += c;
        }
        return n;
    }

    @Override
    public org.deeplearning4j.nn.graph.vertex.GraphVertex instantiate(ComputationGraph graph, String name, int idx,
                                                                      INDArray paramsView, boolean initializeParams,
                                                                      DataType networkDatatype) {
        this.layerName = name;
        ParamVertex v = createVertex(graph, name, idx, paramsView, networkDatatype);
        if (initializeParams) {
            initParams(v.paramTable(false));
        }
        return v;
    }

    @Override
    public MemoryReport getMemoryReport(InputType... inputTypes) {
        return null; // not used by training; DL4J only calls this for memory estimation
    }

    // ---- TrainingConfig ----
    @Override
    public String getLayerName() {
        return layerName;
    }

    @Override
    public List<Regularization> getRegularizationByParam(String paramName) {
        return (weightDecay > 0 && isDecayed(paramName))
                ? List.of(new WeightDecay(weightDecay, true)) : Collections.emptyList();
    }

    @Override
    public boolean isPretrainParam(String paramName) {
        return false;
    }

    @Override
    public IUpdater getUpdaterByParam(String paramName) {
        return updater;
    }

    @Override
    public GradientNormalization getGradientNormalization() {
        return GradientNormalization.None;
    }

    @Override
    public double getGradientNormalizationThreshold() {
        return 0;
    }

    @Override
    public void setDataType(DataType dataType) {
        // parameters take the network's data type at instantiation
    }

    protected ParamVertexConf copyBaseInto(ParamVertexConf c) {
        c.updater = updater == null ? null : updater.clone();
        c.weightDecay = weightDecay;
        c.layerName = layerName;
        return c;
    }

    @Override
    public boolean equals(Object o) {
        return o != null && o.getClass() == getClass() && toString().equals(o.toString());
    }

    @Override
    public int hashCode() {
        return toString().hashCode();
    }
}
