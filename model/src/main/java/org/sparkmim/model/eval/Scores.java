package org.sparkmim.model.eval;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.sparkmim.model.config.MimConfig;

/**
 * kNN and linear-probe accuracy of one feature set, with the probe's confusion matrix.
 *
 * @param confusion [C][C] test counts, row = true class, column = the probe's prediction
 */
public record Scores(String name, int featureDim, double knnTop1, double knnTop5, double probeTop1,
                     int[][] confusion) {

    /**
     * Standardize with train statistics, then kNN (train split as the bank) and the linear probe, both scored on
     * the test split.
     *
     * @param trainF [N, F]   testF [M, F]
     */
    public static Scores of(String name, INDArray trainF, int[] trainY, INDArray testF, int[] testY, int classes,
                            MimConfig.EvalConfig e, long seed) {
        Standardizer st = Standardizer.fit(trainF);
        INDArray tr = st.apply(trainF), te = st.apply(testF);
        Knn.Result knn = Knn.classify(tr, trainY, te, testY, classes, e.knnK(), e.knnTemperature());
        LinearProbe.Result probe = LinearProbe.fit(tr, trainY, te, testY, classes,
                new LinearProbe.Params(e.probeEpochs(), e.probeLr(), e.probeBatch(), e.probeWeightDecay(), seed));
        int[][] cm = new int[classes][classes];
        for (int i = 0; i < testY.length; i++) cm[testY[i]][probe.predictions()[i]]++;
        return new Scores(name, (int) trainF.columns(), knn.top1(), knn.top5(), probe.top1(), cm);
    }
}
