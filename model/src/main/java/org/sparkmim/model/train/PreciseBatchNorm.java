package org.sparkmim.model.train;

import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Sets every batch-norm layer's running mean and variance to the statistics of its input over a fixed set of
 * training inputs ("precise BN", Wu and Johnson 2021), before anything uses the graph in inference mode: checkpoints,
 * the probe loss, online kNN.
 *
 * <p>Why: DL4J carries the running statistics as parameters whose per-step "gradient" is the moving-average delta.
 * Under gradient sharing that delta is threshold-encoded like a weight update, and an encoded element moves by at
 * most the threshold per message, so the running means lagged far behind (measured on A2MIM-ResNet-18 after 48
 * steps: running means 10–30× smaller than one JVM's, probe loss +24% in inference mode while the training-mode loss
 * matched). Recomputing them from the current weights removes the dependence on how the deltas travelled; both
 * engines do it, on the same images, so they stay comparable. A graph without batch norm (every ViT) is untouched.
 */
public final class PreciseBatchNorm {
    private PreciseBatchNorm() { }

    /** Images used for the statistics (the first ones of the training split, with their epoch-0 augmentation and masks). */
    public static final int IMAGES = 512;
    /** Forward pass size: every activation of the graph is held at once. */
    public static final int CHUNK = 64;

    public static boolean hasBatchNorm(ComputationGraph g) {
        for (GraphVertex v : g.getVertices()) {
            if (v.hasLayer() && v.getLayer().conf().getLayer() instanceof BatchNormalization) return true;
        }
        return false;
    }

    /**
     * Training-mode forward passes over data (features [B, ...] of the graph's inputs, in chunks of {@link #CHUNK});
     * each batch-norm layer's running mean and variance become the means over chunks of its per-channel batch mean
     * and (biased) batch variance of its input [B, C, H, W] or [B, C].
     * @return the number of batch-norm layers set (0 = nothing to do)
     */
    public static int recalibrate(ComputationGraph g, MultiDataSet data) {
        Map<String, String> inputOf = new LinkedHashMap<>();
        Map<String, Double> epsOf = new LinkedHashMap<>();
        for (GraphVertex v : g.getVertices()) {
            if (!v.hasLayer() || !(v.getLayer().conf().getLayer() instanceof BatchNormalization bn)) continue;
            inputOf.put(v.getVertexName(), g.getConfiguration().getVertexInputs().get(v.getVertexName()).get(0));
            epsOf.put(v.getVertexName(), bn.getEps());
        }
        if (inputOf.isEmpty()) return 0;
        long n = data.getFeatures(0).size(0);
        Map<String, INDArray> sumMean = new LinkedHashMap<>(), sumVar = new LinkedHashMap<>();
        int chunks = 0;
        for (long from = 0; from < n; from += CHUNK) {
            long to = Math.min(n, from + CHUNK);
            INDArray[] in = new INDArray[data.numFeatureArrays()];
            for (int i = 0; i < in.length; i++) {
                INDArray f = data.getFeatures(i);
                List<org.nd4j.linalg.indexing.INDArrayIndex> idx = new ArrayList<>();
                idx.add(NDArrayIndex.interval(from, to));
                for (int d = 1; d < f.rank(); d++) idx.add(NDArrayIndex.all());
                in[i] = f.get(idx.toArray(new org.nd4j.linalg.indexing.INDArrayIndex[0])).dup();
            }
            Map<String, INDArray> act = g.feedForward(in, true);
            for (Map.Entry<String, String> e : inputOf.entrySet()) {
                INDArray x = act.get(e.getValue()).castTo(DataType.DOUBLE);
                int[] axes = x.rank() == 4 ? new int[]{0, 2, 3} : new int[]{0};
                INDArray mean = x.mean(axes), var = x.var(false, axes);
                sumMean.merge(e.getKey(), mean, INDArray::add);
                sumVar.merge(e.getKey(), var, INDArray::add);
            }
            chunks++;
        }
        g.clear();
        for (String name : inputOf.keySet()) {
            Map<String, INDArray> p = g.getVertex(name).paramTable(false);
            p.get("mean").assign(sumMean.get(name).div(chunks).reshape(p.get("mean").shape()));
            INDArray var = sumVar.get(name).div(chunks);
            if (p.containsKey("log10stdev")) {
                // DL4J's default form (and the only one that survives its JSON round trip: useLogStd = false comes
                // back true): log10 of std = sqrt(var + eps)
                INDArray log10std = org.nd4j.linalg.ops.transforms.Transforms.log(
                        org.nd4j.linalg.ops.transforms.Transforms.sqrt(var.add(epsOf.get(name)), false), 10.0, false);
                p.get("log10stdev").assign(log10std.reshape(p.get("log10stdev").shape()));
            } else {
                p.get("var").assign(var.reshape(p.get("var").shape()));
            }
        }
        return inputOf.size();
    }
}
