package org.sparkmim.model.method;

import org.deeplearning4j.nn.graph.ComputationGraph;

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
     *                 projected input), or null: the masked original
     * @param residual [B, N, P] the residual the loss measures (ROPIM's complement residual), or null: the
     *                 prediction with the visible patches pasted back
     */
    record Result(float[] patches, float[] pred, float[] mask, int size, int tokens, int patchDim, boolean normPix,
                  float[] input, float[] residual) {
        /** A masking method's result. */
        public Result(float[] patches, float[] pred, float[] mask, int size, int tokens, int patchDim, boolean normPix) {
            this(patches, pred, mask, size, tokens, patchDim, normPix, null, null);
        }

        public boolean transformsInput() {
            return input != null;
        }
    }

    Result reconstruct(ComputationGraph graph, Batch batch);
}
