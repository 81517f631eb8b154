package org.sparkmim.model.nn;

import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * MAE reconstruction loss (METHODS.md §1): ℓ[b,n] = mean_P (pred − t)², L = Σ ℓ·mask / Σ mask, mask = 1 on
 * removed tokens. Targets t are the (optionally per-patch normalized) pixels prepared with the batch.
 *
 * <p>Used by DL4J's RnnOutputLayer (NWC: predictions [B, N, P], labels [B, N, P], label mask [B, N]), which hands
 * this function token rows: labels and preOutput [B·N, P], mask [B·N, 1]. DL4J then divides the score by B and the
 * updater divides gradients by B, so both are returned multiplied by B (= rows / tokens): the optimized
 * quantity is exactly L whatever the per-sample masked counts (AMR).
 */
public class MaskedPatchMse implements ILossFunction {
    /** N tokens per sample, to recover B from the row count. */
    @JsonProperty
    public int tokens;

    public MaskedPatchMse() { }

    public MaskedPatchMse(int tokens) {
        this.tokens = tokens;
    }

    /** ℓ per row [R, 1]. */
    private static INDArray perRow(INDArray labels, INDArray pred) {
        INDArray diff = pred.sub(labels);
        return diff.muli(diff).mean(true, 1);
    }

    private long samples(INDArray labels) {
        if (tokens <= 0 || labels.size(0) % tokens != 0) {
            throw new IllegalStateException("MaskedPatchMse: " + labels.size(0) + " token rows is not a multiple of " + tokens);
        }
        return labels.size(0) / tokens;
    }

    private static double maskedCount(INDArray mask, long rows) {
        double d = mask == null ? rows : mask.sumNumber().doubleValue();
        if (d <= 0) throw new IllegalArgumentException("mask has no masked token: nothing to reconstruct");
        return d;
    }

    @Override
    public double computeScore(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask,
                               boolean average) {
        INDArray l = perRow(labels, preOutput);
        if (mask != null) l.muli(mask);
        double loss = l.sumNumber().doubleValue() / maskedCount(mask, labels.size(0));
        return average ? loss : loss * samples(labels);
    }

    /** Per token row, scaled so that their sum over rows / B is L. */
    @Override
    public INDArray computeScoreArray(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask) {
        INDArray l = perRow(labels, preOutput);
        if (mask != null) l.muli(mask);
        return l.muli(samples(labels) / maskedCount(mask, labels.size(0)));
    }

    @Override
    public INDArray computeGradient(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask) {
        long p = labels.size(1);
        // dL/dpred = 2(pred − t)·mask / (P·Σmask), times B (see class comment)
        INDArray g = preOutput.sub(labels).muli(2.0 * samples(labels) / (p * maskedCount(mask, labels.size(0))));
        if (mask != null) g.muliColumnVector(mask);
        return g;
    }

    @Override
    public Pair<Double, INDArray> computeGradientAndScore(INDArray labels, INDArray preOutput, IActivation activationFn,
                                                          INDArray mask, boolean average) {
        return new Pair<>(computeScore(labels, preOutput, activationFn, mask, average),
                computeGradient(labels, preOutput, activationFn, mask));
    }

    /** The MAE loss L on [B, N, P] (or [B, N·P]) predictions and targets with a [B, N] mask. */
    public static double loss(INDArray labels, INDArray pred, INDArray mask) {
        long b = mask.size(0), n = mask.size(1);
        INDArray diff = pred.sub(labels).reshape('c', b, n, labels.length() / (b * n));
        INDArray perTok = diff.muli(diff).mean(2);                      // [B,N]
        double denom = mask.sumNumber().doubleValue();
        if (denom <= 0) throw new IllegalArgumentException("mask has no masked token: nothing to reconstruct");
        return perTok.muli(mask).sumNumber().doubleValue() / denom;
    }

    @Override
    public String name() {
        return "MaskedPatchMse";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MaskedPatchMse m && m.tokens == tokens;
    }

    @Override
    public int hashCode() {
        return tokens;
    }

    @Override
    public String toString() {
        return "MaskedPatchMse(tokens=" + tokens + ")";
    }
}
