package org.sparkmim.model.eval;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The weighted kNN on tiny labelled sets whose answers are worked out by hand. */
class KnnTest {

    static INDArray rows(double[][] v) {
        return Nd4j.createFromArray(v).castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT);
    }

    @Test
    void temperatureWeightedVoteBeatsMajorityWhenOneNeighbourIsMuchCloser() {
        // query along +x. Bank: one class-1 point at 8° (cos 0.990), two class-0 points at 60° (cos 0.5).
        double a = Math.toRadians(8), b = Math.toRadians(60);
        INDArray bank = rows(new double[][]{{Math.cos(a), Math.sin(a)}, {Math.cos(b), Math.sin(b)}, {Math.cos(b), -Math.sin(b)},
                {-1, 0}});
        int[] bankY = {1, 0, 0, 2};
        INDArray q = rows(new double[][]{{3, 0}});   // cosine ignores the norm
        // T = 0.07: exp(0.990/0.07) = e^14.1 outweighs 2·exp(0.5/0.07) = 2·e^7.1 → class 1
        Knn.Result sharp = Knn.classify(bank, bankY, q, new int[]{1}, 3, 3, 0.07);
        assertThat(sharp.top1Pred()).containsExactly(1);
        assertThat(sharp.top1()).isEqualTo(1.0);
        // T = 100: weights ≈ 1 each → plain majority of the 3 nearest → class 0
        Knn.Result flat = Knn.classify(bank, bankY, q, new int[]{1}, 3, 3, 100);
        assertThat(flat.top1Pred()).containsExactly(0);
        assertThat(flat.top1()).isEqualTo(0.0);
        // top-5 over 3 classes contains every class that got a vote, so the true class 1 is always in it
        assertThat(flat.top5()).isEqualTo(1.0);
    }

    @Test
    void clustersAreClassifiedAndTop5CountsTheTrueClassAnywhereInTheFirstFive() {
        Random r = new Random(1);
        int classes = 8, per = 30, d = 16;
        double[][] centers = new double[classes][d];
        for (double[] c : centers) for (int j = 0; j < d; j++) c[j] = r.nextGaussian() * 5;
        double[][] bank = new double[classes * per][], qs = new double[classes][];
        int[] by = new int[classes * per], qy = new int[classes];
        for (int c = 0; c < classes; c++) {
            for (int i = 0; i < per; i++) {
                bank[c * per + i] = jitter(centers[c], r, 0.3);
                by[c * per + i] = c;
            }
            qs[c] = jitter(centers[c], r, 0.3);
            qy[c] = c;
        }
        Knn.Result res = Knn.classify(rows(bank), by, rows(qs), qy, classes, 20, 0.07);
        assertThat(res.top1()).isEqualTo(1.0);
        assertThat(res.top5()).isEqualTo(1.0);
        // wrong labels for the queries: top-1 must then be 0 (the classifier does not look at query labels)
        int[] wrong = Arrays.stream(qy).map(y -> (y + 1) % classes).toArray();
        assertThat(Knn.classify(rows(bank), by, rows(qs), wrong, classes, 20, 0.07).top1()).isEqualTo(0.0);
    }

    @Test
    void chunkedSimilaritiesMatchABruteForceTopK() {
        Random r = new Random(3);
        float[] v = new float[1000];
        for (int i = 0; i < v.length; i++) v[i] = r.nextFloat();
        int[] idx = new int[7];
        float[] val = new float[7];
        Knn.topK(v, 0, v.length, 7, idx, val);
        Integer[] order = new Integer[v.length];
        for (int i = 0; i < v.length; i++) order[i] = i;
        Arrays.sort(order, (x, y) -> Float.compare(v[y], v[x]));
        for (int j = 0; j < 7; j++) {
            assertThat(idx[j]).isEqualTo(order[j]);
            assertThat(val[j]).isCloseTo(v[order[j]], within(0f));
        }
    }

    static double[] jitter(double[] c, Random r, double s) {
        double[] x = c.clone();
        for (int j = 0; j < x.length; j++) x[j] += r.nextGaussian() * s;
        return x;
    }
}
