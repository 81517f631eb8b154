package org.sparkmim.model.eval;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.method.FeatureSpec;
import org.sparkmim.model.method.MimMethod;

/** A frozen encoder as a feature extractor: {@link EvalBatches} preprocessing, then the method's features. */
public final class ModelEncoder implements FeatureEncoder {
    private final MimConfig cfg;
    private final MimMethod method;
    private final ComputationGraph graph;
    private final FeatureSpec spec;
    private final String name;

    public ModelEncoder(String name, MimConfig cfg, MimMethod method, ComputationGraph graph, FeatureSpec spec) {
        this.name = name;
        this.cfg = cfg;
        this.method = method;
        this.graph = graph;
        this.spec = spec;
    }

    @Override
    public INDArray encode(float[] images01, int count, int h, int w, int c, String[] keys) {
        return method.features(graph, EvalBatches.of(cfg, images01, count, h, w, c, keys, 0), spec);
    }

    @Override
    public String name() {
        return name;
    }
}
