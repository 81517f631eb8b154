package org.sparkmim.model.eval;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Per-feature standardization x' = (x − μ) / σ with μ, σ from the train split only, so the test split never
 * informs its own preprocessing. A feature that is constant on the train split carries no information the
 * classifiers could learn from; its scale is set to 0 (the feature is dropped) instead of dividing by ~0 and
 * letting test-set noise in that dimension dominate cosine similarities.
 */
public final class Standardizer {
    /** σ below this (relative to the largest σ) counts as constant. */
    static final double CONSTANT = 1e-6;

    private final float[] mean;     // [F]
    private final float[] invStd;   // [F]

    private Standardizer(float[] mean, float[] invStd) {
        this.mean = mean;
        this.invStd = invStd;
    }

    /** Statistics of x [N, F] (population variance, two passes in double for accuracy on 60k rows). */
    public static Standardizer fit(INDArray x) {
        int n = (int) x.rows(), f = (int) x.columns();
        if (n < 2) throw new IllegalArgumentException("standardization needs at least 2 train rows, got " + n);
        float[] a = Arrays2.floats(x);
        double[] mu = new double[f], var = new double[f];
        for (int i = 0; i < n; i++) for (int j = 0; j < f; j++) mu[j] += a[i * f + j];
        for (int j = 0; j < f; j++) mu[j] /= n;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < f; j++) {
                double d = a[i * f + j] - mu[j];
                var[j] += d * d;
            }
        }
        double maxStd = 0;
        for (int j = 0; j < f; j++) maxStd = Math.max(maxStd, Math.sqrt(var[j] / n));
        float[] m = new float[f], inv = new float[f];
        for (int j = 0; j < f; j++) {
            double sd = Math.sqrt(var[j] / n);
            m[j] = (float) mu[j];
            inv[j] = sd > CONSTANT * maxStd && sd > 0 ? (float) (1 / sd) : 0f;
        }
        return new Standardizer(m, inv);
    }

    /** x [N, F] → a new standardized [N, F] (float). */
    public INDArray apply(INDArray x) {
        if (x.columns() != mean.length) {
            throw new IllegalArgumentException("features have " + x.columns() + " columns, statistics have " + mean.length);
        }
        INDArray mu = Nd4j.create(mean, new long[]{1, mean.length});
        INDArray inv = Nd4j.create(invStd, new long[]{1, invStd.length});
        return x.castTo(DataType.FLOAT).subRowVector(mu).muliRowVector(inv);
    }

    /** Number of features kept (non-constant on the train split). */
    public int keptFeatures() {
        int k = 0;
        for (float v : invStd) if (v != 0) k++;
        return k;
    }
}
