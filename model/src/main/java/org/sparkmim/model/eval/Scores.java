package org.sparkmim.model.eval;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.sparkmim.model.config.MimConfig;

/**
 * kNN and linear-probe accuracy of one feature set, with the probe's confusion matrix.
 *
 * @param confusion [C][C] test counts, row = true class, column = the probe's prediction
 */
public record Scores(String name, int featureDim, double knnTop1, double knnTop5, double probeTop1, double probeLr,
                     int[][] confusion) {
    /** Share of the train split held out to choose the probe's LR. */
    static final double VALIDATION = 0.1;

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
        double lr = chooseLr(tr, trainY, classes, e, seed);
        LinearProbe.Result probe = LinearProbe.fit(tr, trainY, te, testY, classes,
                new LinearProbe.Params(e.probeEpochs(), lr, e.probeBatch(), e.probeWeightDecay(), seed));
        int[][] cm = new int[classes][classes];
        for (int i = 0; i < testY.length; i++) cm[testY[i]][probe.predictions()[i]]++;
        return new Scores(name, (int) trainF.columns(), knn.top1(), knn.top5(), probe.top1(), lr, cm);
    }

    /**
     * The probe LR from eval.probe-lrs with the best accuracy on a held-out 10% of the train split (ties: the
     * smaller LR). The test split is never looked at.
     */
    static double chooseLr(INDArray tr, int[] y, int classes, MimConfig.EvalConfig e, long seed) {
        java.util.List<Double> lrs = e.probeLrs();
        int n = y.length, nVal = (int) Math.round(n * VALIDATION);
        if (lrs.size() == 1 || nVal < 10) return lrs.get(0);
        int[] perm = org.sparkmim.model.train.Trainer.permutation(n, new java.util.SplittableRandom(seed ^ 0x7E57L));
        int[] fitRows = java.util.Arrays.copyOfRange(perm, 0, n - nVal), valRows = java.util.Arrays.copyOfRange(perm, n - nVal, n);
        INDArray xf = org.nd4j.linalg.factory.Nd4j.pullRows(tr, 1, fitRows), xv = org.nd4j.linalg.factory.Nd4j.pullRows(tr, 1, valRows);
        int[] yf = java.util.Arrays.stream(fitRows).map(i -> y[i]).toArray(), yv = java.util.Arrays.stream(valRows).map(i -> y[i]).toArray();
        double best = lrs.get(0), bestAcc = -1;
        for (double lr : lrs.stream().sorted().toList()) {
            double acc = LinearProbe.fit(xf, yf, xv, yv, classes,
                    new LinearProbe.Params(e.probeEpochs(), lr, e.probeBatch(), e.probeWeightDecay(), seed)).top1();
            org.slf4j.LoggerFactory.getLogger(Scores.class).info(String.format(java.util.Locale.ROOT,
                    "linear probe LR %.0e: %.2f%% on the held-out 10%% of train", lr, 100 * acc));
            if (acc > bestAcc) {
                bestAcc = acc;
                best = lr;
            }
        }
        return best;
    }
}
