package org.sparkmim.model.nn;

import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.lossfunctions.ILossFunction;

/**
 * The objective is already computed in the graph (a loss-term vertex emits per-sample contributions [B, 1]): the
 * score is their sum and the gradient is 1. Labels are ignored (a dummy [B, 1] array). DL4J divides the score
 * and, in the updater, the gradients by B, so the loss-term vertex emits contributions scaled by B.
 */
public class SumLoss implements ILossFunction {

    @Override
    public double computeScore(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask,
                               boolean average) {
        double s = preOutput.sumNumber().doubleValue();
        return average ? s / preOutput.size(0) : s;
    }

    @Override
    public INDArray computeScoreArray(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask) {
        return preOutput.sum(true, 1);
    }

    @Override
    public INDArray computeGradient(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask) {
        return preOutput.ulike().assign(1);
    }

    @Override
    public Pair<Double, INDArray> computeGradientAndScore(INDArray labels, INDArray preOutput, IActivation activationFn,
                                                          INDArray mask, boolean average) {
        return new Pair<>(computeScore(labels, preOutput, activationFn, mask, average),
                computeGradient(labels, preOutput, activationFn, mask));
    }

    @Override
    public String name() {
        return "SumLoss";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SumLoss;
    }

    @Override
    public int hashCode() {
        return 17;
    }

    @Override
    public String toString() {
        return "SumLoss()";
    }
}
