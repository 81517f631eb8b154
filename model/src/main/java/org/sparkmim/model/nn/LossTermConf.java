package org.sparkmim.model.nn;

import org.deeplearning4j.nn.conf.inputs.InputType;

/**
 * Configuration base for loss-term vertices: three inputs (the head's predictions, the targets, the per-sample
 * plan that decides what the loss looks at) → per-sample contributions [B, 1] for {@link SumLoss}. Used where the
 * objective needs more than DL4J's label mask can carry (SBAM's in-graph mask, ROPIM's sketch).
 */
public abstract class LossTermConf extends FreeVertexConf {

    @Override
    public int minVertexInputs() {
        return 3;
    }

    @Override
    public int maxVertexInputs() {
        return 3;
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType... in) {
        return InputType.feedForward(1);
    }
}
