package org.sparkmim.model.method;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A method whose objective predicts pixels of masked patches (MAE and its relatives). Lets the report draw
 * reconstructions without knowing the method's graph layout.
 */
public interface PixelReconstruction {

    /**
     * One forward pass with the method's own masks for (batch.runSeed, batch.epoch, key).
     *
     * @param patches  [B, N, P] the input patches (normalized pixels, MAE patch order)
     * @param pred     [B, N, P] the prediction; in per-patch normalized space when normPix
     * @param mask     [B, N] 1 = masked (predicted), 0 = visible
     * @param input    [B, N, P] what the encoder was given, for methods that transform rather than mask (ROPIM's
     *                 projected input) or that fill the masked patches (A2MIM's mean fill), or null: the masked
     *                 original
     * @param residual [B, N, P] the residual the loss measures (ROPIM's complement residual), or null: the
     *                 prediction with the visible patches pasted back
     */
    record Result(float[] patches, float[] pred, float[] mask, int size, int tokens, int patchDim, boolean normPix,
                  float[] input, float[] residual) {
        /** A masking method's result. */
        public Result(float[] patches, float[] pred, float[] mask, int size, int tokens, int patchDim, boolean normPix) {
            this(patches, pred, mask, size, tokens, patchDim, normPix, null, null);
        }

        /** Nothing is masked: the input is transformed and the loss looks at a residual (ROPIM). */
        public boolean transformsInput() {
            return input != null && residual != null;
        }

        /** Masked patches enter the encoder filled with something (A2MIM: the image mean) that input shows. */
        public boolean fillsInput() {
            return input != null && residual == null;
        }
    }

    /**
     * A per-token head's output behind RnnToFeedForwardPreProcessor(NWC), rows n·B + b ('f' order) [N·B, P], as
     * predictions [B, N, P] row-major: the layout Result wants. Shared by the methods without a decoder.
     */
    static float[] tokenRows(INDArray head, int b, int n, int pd, String method) {
        if (head.length() != (long) b * n * pd) {
            throw new IllegalStateException(method + " graph gave " + head.length() + " predictions for " + b
                    + " images of " + n + " tokens x " + pd);
        }
        return head.castTo(DataType.FLOAT).reshape('c', n, b, pd).permute(1, 0, 2).dup('c').data().asFloat();
    }

    Result reconstruct(ComputationGraph graph, Batch batch);
}
