package org.sparkmim.model.eval;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The linear probe learns what is linearly separable and cannot invent signal in random labels. */
class LinearProbeTest {
    static final LinearProbe.Params P = new LinearProbe.Params(20, 1e-2, 64, 1e-4, 0);

    record Data(INDArray x, int[] y) { }

    /** Classes at well separated Gaussian centres in d dims (linearly separable with overwhelming probability). */
    static Data blobs(int n, int classes, int d, Random r, boolean randomLabels) {
        double[][] centers = new double[classes][d];
        for (double[] c : centers) for (int j = 0; j < d; j++) c[j] = r.nextGaussian() * 4;
        float[] x = new float[n * d];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            int c = r.nextInt(classes);
            for (int j = 0; j < d; j++) x[i * d + j] = (float) (centers[c][j] + r.nextGaussian());
            y[i] = randomLabels ? r.nextInt(classes) : c;
        }
        return new Data(Nd4j.create(x, new long[]{n, d}), y);
    }

    @Test
    void separableDataIsLearnedToNearlyPerfectTestAccuracy() {
        Random r = new Random(11);
        Data all = blobs(3000, 5, 12, r, false);
        INDArray tr = all.x().get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 2000), org.nd4j.linalg.indexing.NDArrayIndex.all());
        INDArray te = all.x().get(org.nd4j.linalg.indexing.NDArrayIndex.interval(2000, 3000), org.nd4j.linalg.indexing.NDArrayIndex.all());
        int[] ytr = java.util.Arrays.copyOfRange(all.y(), 0, 2000), yte = java.util.Arrays.copyOfRange(all.y(), 2000, 3000);
        Standardizer st = Standardizer.fit(tr);
        LinearProbe.Result res = LinearProbe.fit(st.apply(tr), ytr, st.apply(te), yte, 5, P);
        assertThat(res.top1()).isGreaterThanOrEqualTo(0.99);
        assertThat(res.trainLoss()).isLessThan(0.1);
    }

    @Test
    void randomLabelsStayAtChanceOnTheTestSplit() {
        Random r = new Random(12);
        Data train = blobs(2000, 4, 12, r, true), test = blobs(2000, 4, 12, r, true);
        Standardizer st = Standardizer.fit(train.x());
        LinearProbe.Result res = LinearProbe.fit(st.apply(train.x()), train.y(), st.apply(test.x()), test.y(), 4, P);
        // chance is 0.25; the standard error over 2000 test images is ~0.01
        assertThat(res.top1()).isBetween(0.20, 0.30);
    }

    @Test
    void standardizerUsesTrainStatisticsAndDropsConstantFeatures() {
        INDArray train = Nd4j.createFromArray(new float[][]{{1, 5, 0}, {3, 5, 10}, {5, 5, 20}});
        INDArray test = Nd4j.createFromArray(new float[][]{{3, 7, 10}});
        Standardizer st = Standardizer.fit(train);
        float[] t = st.apply(train).getRow(2).toFloatVector();
        assertThat(t[0]).isCloseTo((float) (2 / Math.sqrt(8.0 / 3)), within(1e-5f));
        float[] out = st.apply(test).toFloatVector();
        assertThat(out[0]).isCloseTo(0f, within(1e-6f));      // the train mean maps to 0
        assertThat(out[1]).isEqualTo(0f);                      // constant on train → dropped, even if test differs
        assertThat(st.keptFeatures()).isEqualTo(2);
        assertThat(st.apply(test).dataType()).isEqualTo(DataType.FLOAT);
    }
}
