package org.sparkmim.model.method;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.IUpdater;
import org.sparkmim.masking.MaskingOperator;

import java.util.List;

/**
 * A pretraining method = masking operator + graph + objective. The trainer and the Spark job only talk to this.
 *
 * <p>Contract (why it looks like this):
 * <ul>
 *   <li>{@link #prepare} is a pure function of the batch and its seeds. It runs wherever the data is (a Spark
 *   executor's data iterator, before the worker's model is reachable), so it must not need model state.</li>
 *   <li>A plan that needs model state (SBAM's saliency from the current patch embeddings) is computed inside
 *   the graph by a vertex, from inputs {@link #prepare} supplies (e.g. the seeded noise). The graph's forward
 *   pass therefore always sees the current parameters, on one JVM or on any gradient-sharing worker.</li>
 *   <li>The graph has exactly one output, whose loss is the method's objective, so DL4J's fit, score and
 *   SharedTrainingMaster all optimize and report the same number.</li>
 * </ul>
 */
public interface MimMethod {
    String name();

    /** The DL4J graph for this method; every trainable vertex gets this updater and weight decay. */
    ComputationGraphConfiguration graph(IUpdater updater, double weightDecay, long seed, DataType dataType);

    /** Images → the step's MultiDataSet (features, labels, label masks) in this method's graph layout. */
    MultiDataSet prepare(Batch batch);

    /**
     * Analytic training FLOPs (matmuls, forward + backward) per input image, for bench's GFLOP/s and MFU. A method
     * owns this because its cost per image is its own: EMAE runs K encoder-decoder passes per image.
     */
    double trainFlopsPerImage();


    /**
     * Frozen-encoder features of unmasked images for evaluation: the encoder sees all N tokens (no masking), in
     * inference mode; only the encoder part of the graph is computed. Shape [B, F] with F = D, or k·D for lastk.
     */
    INDArray features(ComputationGraph graph, Batch batch, FeatureSpec spec);

    /** Mean-pooled tokens or CLS, [B, D]. */
    default INDArray features(ComputationGraph graph, Batch batch, boolean cls) {
        return features(graph, batch, cls ? FeatureSpec.CLS : FeatureSpec.MEAN);
    }

    /**
     * Called once on a freshly built and initialized training graph, before step 0 (never on a resumed one): a method
     * whose start is not a random init (fine-tuning copies a pretrained encoder) sets its parameters here. Runs where
     * the graph is built, the driver on Spark.
     */
    default void initialize(ComputationGraph graph) { }

    /** The masking operators this method draws from, for the report's mask pictures (empty if none). */
    default List<MaskingOperator> maskingOperators() {
        return List.of();
    }
}
