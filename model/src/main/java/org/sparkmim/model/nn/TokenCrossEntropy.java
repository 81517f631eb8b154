package org.sparkmim.model.nn;

import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * Cross-entropy per predicted token, averaged over the tokens (MaPeT's loss, METHODS.md §6: no label smoothing).
 *
 * <p>DL4J's RnnOutputLayer hands a loss B·Np token rows and divides the summed score (and the updater the
 * gradient) by B, so plain MCXENT optimizes Np × the mean. Dividing by Np here makes the reported score the mean
 * cross-entropy per token (ln k for a uniform guess over k codes), whatever Np is.
 */
public class TokenCrossEntropy extends LossMCXENT {
    /** Predicted tokens per image, Np. */
    @JsonProperty
    public int tokens;

    public TokenCrossEntropy() { }

    public TokenCrossEntropy(int tokens) {
        if (tokens < 1) throw new IllegalArgumentException("TokenCrossEntropy needs tokens >= 1, got " + tokens);
        this.tokens = tokens;
    }

    @Override
    public double computeScore(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask, boolean average) {
        return super.computeScore(labels, preOutput, activationFn, mask, average) / tokens;
    }

    @Override
    public INDArray computeScoreArray(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask) {
        return super.computeScoreArray(labels, preOutput, activationFn, mask).divi(tokens);
    }

    @Override
    public INDArray computeGradient(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask) {
        return super.computeGradient(labels, preOutput, activationFn, mask).divi(tokens);
    }

    @Override
    public Pair<Double, INDArray> computeGradientAndScore(INDArray labels, INDArray preOutput, IActivation activationFn,
                                                          INDArray mask, boolean average) {
        return new Pair<>(computeScore(labels, preOutput, activationFn, mask, average),
                computeGradient(labels, preOutput, activationFn, mask));
    }

    @Override
    public String name() {
        return "TokenCrossEntropy(" + tokens + ")";
    }

    @Override
    public String toString() {
        return name();
    }
}
