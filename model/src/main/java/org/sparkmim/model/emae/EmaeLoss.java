package org.sparkmim.model.emae;

import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * EMAE objective (METHODS.md §5) on the B·K part-rows of one batch: L = L_rec + λ·L_sc.
 *
 * <ul>
 *   <li>L_rec: MAE loss of each part, averaged over the K parts. Every part masks N − N/K tokens of every image,
 *   so this equals Σ ℓ·mask / Σ mask over all part-rows (ℓ = mean_P (pred − t)²).</li>
 *   <li>L_sc = mean over ordered pairs (i, j), i ≠ j, of mean over images and tokens n ∈ O_ij = M_i ∩ M_j of
 *   d(pred_i[n], sg(pred_j[n])); d = mean_P (a − b)² (mse) or 1 − cos(a, b) (cosine). With K = 2 the parts are
 *   complementary, O_ij is empty and L_sc = 0.</li>
 * </ul>
 *
 * <p>With the stop-gradient a pair's term sends gradient only to its first prediction. Since d is symmetric and
 * both orders of every pair are summed, the gradient with stop-gradient is exactly half the full one (the value
 * is the same): sg on ≡ sg off with λ/2 for the update. Kept as an option because METHODS.md marks the form as
 * an assumption.
 *
 * <p>DL4J's RnnOutputLayer (NWC) hands token rows [R, P] with R = N·B·K in its 'f' flattening of [B·K, N]:
 * row = n·(B·K) + b·K + k, i.e. the K parts of one image's token n are adjacent rows. As with MaskedPatchMse,
 * score and gradient are multiplied by the minibatch B·K, which DL4J divides out.
 */
public class EmaeLoss implements ILossFunction {
    @JsonProperty
    public int tokens;
    @JsonProperty
    public int parts;
    @JsonProperty
    public double lambda;
    @JsonProperty
    public String distance;
    @JsonProperty
    public boolean stopGradient;

    public EmaeLoss() { }

    public EmaeLoss(int tokens, int parts, double lambda, String distance, boolean stopGradient) {
        if (!distance.equals("mse") && !distance.equals("cosine")) {
            throw new IllegalArgumentException("mim.method.emae.distance=" + distance + ": allowed mse, cosine");
        }
        this.tokens = tokens;
        this.parts = parts;
        this.lambda = lambda;
        this.distance = distance;
        this.stopGradient = stopGradient;
    }

    /** Loss terms and dL/dpred of one batch, before the ×(B·K) scaling. */
    record Eval(double rec, double sc, double[] perRow, double[] grad) { }

    Eval eval(INDArray labels, INDArray pred, INDArray mask, boolean wantGrad) {
        int rows = (int) labels.size(0), p = (int) labels.size(1), k = parts;
        if (rows % tokens != 0 || (rows / tokens) % k != 0) {
            throw new IllegalStateException("EmaeLoss: " + rows + " token rows is not N·B·K with N=" + tokens + ", K=" + k);
        }
        int bk = rows / tokens, b = bk / k;
        double[] y = pred.dup('c').data().asDouble();         // [R, P]
        double[] t = labels.dup('c').data().asDouble();       // [R, P]
        double[] m = mask == null ? filled(rows) : mask.dup('c').data().asDouble();   // [R]
        double[] perRow = new double[rows];
        double[] g = wantGrad ? new double[rows * p] : null;

        double masked = 0;
        for (double v : m) masked += v;
        if (masked <= 0) throw new IllegalArgumentException("mask has no masked token: nothing to reconstruct");
        double rec = 0;
        for (int r = 0; r < rows; r++) {
            if (m[r] == 0) continue;
            double s = 0;
            for (int q = 0; q < p; q++) {
                double d = y[r * p + q] - t[r * p + q];
                s += d * d;
                if (wantGrad) g[r * p + q] = 2 * d / (p * masked);
            }
            perRow[r] = s / p / masked;
            rec += perRow[r];
        }

        double sc = 0;
        int overlap = tokens - 2 * (tokens / k);                 // |O_ij| per image, the same for every pair
        if (lambda > 0 && overlap > 0) {
            double w = lambda / ((double) k * (k - 1) * b * overlap);
            double[] dd = new double[p];
            for (int n = 0; n < tokens; n++) {
                for (int img = 0; img < b; img++) {
                    int base = n * bk + img * k;                  // row of (token n, image img, part 0)
                    for (int i = 0; i < k; i++) {
                        int ri = base + i;
                        if (m[ri] == 0) continue;
                        for (int j = 0; j < k; j++) {
                            int rj = base + j;
                            if (j == i || m[rj] == 0) continue;
                            double v = pairTerm(y, ri, rj, p, wantGrad ? dd : null);
                            perRow[ri] += w * v;
                            sc += w * v;
                            if (wantGrad) {
                                // d(pred_i, sg pred_j) → pred_i only; without sg, pred_j gets ∂₂d = ∂₁d(pred_j, pred_i)
                                for (int q = 0; q < p; q++) g[ri * p + q] += w * dd[q];
                                if (!stopGradient) {
                                    pairTerm(y, rj, ri, p, dd);
                                    for (int q = 0; q < p; q++) g[rj * p + q] += w * dd[q];
                                }
                            }
                        }
                    }
                }
            }
            sc /= lambda;
        }
        return new Eval(rec, sc, perRow, g);
    }

    /** d(y[a], y[b]) and, if grad != null, ∂d/∂y[a] into grad [P]. */
    private double pairTerm(double[] y, int a, int b, int p, double[] grad) {
        if (distance.equals("mse")) {
            double s = 0;
            for (int q = 0; q < p; q++) {
                double d = y[a * p + q] - y[b * p + q];
                s += d * d;
                if (grad != null) grad[q] = 2 * d / p;
            }
            return s / p;
        }
        double dot = 0, na = 0, nb = 0;
        for (int q = 0; q < p; q++) {
            double u = y[a * p + q], v = y[b * p + q];
            dot += u * v;
            na += u * u;
            nb += v * v;
        }
        double la = Math.sqrt(na) + 1e-12, lb = Math.sqrt(nb) + 1e-12, cos = dot / (la * lb);
        if (grad != null) {
            // ∂(1 − cos)/∂a = −(b/(|a||b|) − cos·a/|a|²)
            for (int q = 0; q < p; q++) grad[q] = -(y[b * p + q] / (la * lb) - cos * y[a * p + q] / (la * la));
        }
        return 1 - cos;
    }

    private static double[] filled(int n) {
        double[] a = new double[n];
        java.util.Arrays.fill(a, 1);
        return a;
    }

    private long minibatch(INDArray labels) {
        return labels.size(0) / tokens;
    }

    /** DL4J's score of one evaluation: the mean loss, or its sum over the minibatch when not averaged. */
    private double score(Eval e, INDArray labels, boolean average) {
        double loss = e.rec() + lambda * e.sc();
        return average ? loss : loss * minibatch(labels);
    }

    /** dL/dpred of one evaluation ×(B·K), which DL4J divides out, as preOutput's shape and type. */
    private INDArray gradient(Eval e, INDArray labels, INDArray preOutput) {
        double[] g = e.grad();
        long mb = minibatch(labels);
        for (int i = 0; i < g.length; i++) g[i] *= mb;
        return Nd4j.create(g, preOutput.shape(), 'c').castTo(preOutput.dataType());
    }

    @Override
    public double computeScore(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask,
                               boolean average) {
        return score(eval(labels, preOutput, mask, false), labels, average);
    }

    @Override
    public INDArray computeScoreArray(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask) {
        double[] r = eval(labels, preOutput, mask, false).perRow();
        long mb = minibatch(labels);
        for (int i = 0; i < r.length; i++) r[i] *= mb;
        return Nd4j.create(r, new long[]{r.length, 1}).castTo(preOutput.dataType());
    }

    @Override
    public INDArray computeGradient(INDArray labels, INDArray preOutput, IActivation activationFn, INDArray mask) {
        return gradient(eval(labels, preOutput, mask, true), labels, preOutput);
    }

    @Override
    public Pair<Double, INDArray> computeGradientAndScore(INDArray labels, INDArray preOutput, IActivation activationFn,
                                                          INDArray mask, boolean average) {
        Eval e = eval(labels, preOutput, mask, true);                 // one pass gives both
        return new Pair<>(score(e, labels, average), gradient(e, labels, preOutput));
    }

    @Override
    public String name() {
        return "EmaeLoss";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EmaeLoss e && e.toString().equals(toString());
    }

    @Override
    public int hashCode() {
        return toString().hashCode();
    }

    @Override
    public String toString() {
        return "EmaeLoss(tokens=" + tokens + ",parts=" + parts + ",lambda=" + lambda + ",distance=" + distance
                + ",stopGradient=" + stopGradient + ")";
    }
}
