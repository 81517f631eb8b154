package org.sparkmim.model.eval;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.AllocationPolicy;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.sparkmim.model.train.Trainer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.SplittableRandom;

/**
 * Linear probe: multinomial logistic regression W [F, C], b [C] on (standardized) frozen features, trained for a
 * fixed number of epochs, then top-1 on the test split.
 *
 * <p>Why minibatch Adam with a cosine-decayed LR rather than L-BFGS: the cost is fixed by (epochs, N) and known
 * before the run, with no line search and no convergence test whose tolerance would quietly change the budget
 * between a 128-wide encoder feature and a 784-wide pixel floor; standardized inputs keep the problem well
 * conditioned, so Adam reaches L-BFGS-level accuracy in a few tens of epochs; and it is the same kind of
 * optimizer MAE's own linear probe uses (SGD/LARS), so the numbers compare with the literature's protocol.
 * The loss is convex and W starts at 0, so the result depends on the data order only through the minibatches.
 */
public final class LinearProbe {
    private static final double BETA1 = 0.9, BETA2 = 0.999, EPS = 1e-8;

    private LinearProbe() { }

    /**
     * @param weightDecay L2 coefficient λ of the penalty 0.5·λ·||W||² (per example, so the gradient adds λ·W)
     */
    public record Params(int epochs, double lr, int batch, double weightDecay, long seed) { }

    /**
     * @param predictions [Ntest] predicted class per test row
     * @param trainLoss   mean cross-entropy over the last epoch's minibatches
     */
    public record Result(double top1, int[] predictions, double trainLoss) { }

    private static final Logger LOG = LoggerFactory.getLogger(LinearProbe.class);
    /** Seconds between progress lines: a probe on 60k wide features runs for minutes. */
    private static final double LOG_EVERY_S = 15;

    /** Per-step scratch memory: sized by the first step, then reused (parameters and Adam moments live outside). */
    private static final WorkspaceConfiguration STEP_WS = WorkspaceConfiguration.builder()
            .policyAllocation(AllocationPolicy.OVERALLOCATE).policyLearning(LearningPolicy.FIRST_LOOP).build();

    /**
     * @param trainX [N, F], testX [M, F]; labels in 0..classes-1
     */
    public static Result fit(INDArray trainX, int[] trainY, INDArray testX, int[] testY, int classes, Params p) {
        int n = (int) trainX.rows(), f = (int) trainX.columns();
        if (trainY.length != n || testY.length != testX.rows()) throw new IllegalArgumentException("labels/rows mismatch");
        if (testX.columns() != f) throw new IllegalArgumentException("train has " + f + " features, test " + testX.columns());
        INDArray x = trainX.castTo(DataType.FLOAT);
        INDArray w = Nd4j.zeros(DataType.FLOAT, f, classes), b = Nd4j.zeros(DataType.FLOAT, 1, classes);
        INDArray mw = w.like(), vw = w.like(), mb = b.like(), vb = b.like();
        int bs = Math.min(p.batch(), n), steps = n / bs;
        long total = (long) steps * p.epochs(), t = 0;
        SplittableRandom rng = new SplittableRandom(p.seed());
        double lastLoss = Double.NaN;
        long t0 = System.nanoTime(), lastLog = t0;
        for (int e = 0; e < p.epochs(); e++) {
            int[] order = Trainer.permutation(n, rng);
            double lossSum = 0;
            for (int s = 0; s < steps; s++) {
                // Each step's temporaries live in a workspace that is reset every step: allocated as plain arrays they
                // are freed only when the GC collects their small Java wrappers, and with a large heap it rarely runs
                // (measured: a 20k-image probe grew the JVM past 19 GB RSS and stalled the machine).
                try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().getAndActivateWorkspace(STEP_WS, "linear-probe-step")) {
                    int[] rows = java.util.Arrays.copyOfRange(order, s * bs, (s + 1) * bs);
                    INDArray xb = Nd4j.pullRows(x, 1, rows);                      // [B, F]
                    INDArray prob = Transforms.softmax(xb.mmul(w).addiRowVector(b), false); // [B, C]
                    float[] pv = Arrays2.floats(prob);
                    double loss = 0;
                    for (int i = 0; i < bs; i++) {
                        int y = trainY[rows[i]];
                        loss -= Math.log(Math.max(pv[i * classes + y], 1e-30));
                        pv[i * classes + y] -= 1f;                                // dL/dlogits = P − onehot(y)
                    }
                    lossSum += loss / bs;
                    INDArray g = Nd4j.create(pv, new long[]{bs, classes}).divi(bs);  // [B, C]
                    INDArray gw = Nd4j.gemm(xb, g, true, false).addi(w.mul(p.weightDecay())); // [F, C]
                    INDArray gb = g.sum(0).reshape(1, classes);
                    t++;
                    double lr = 0.5 * p.lr() * (1 + Math.cos(Math.PI * (t - 1) / total));
                    adam(w, gw, mw, vw, lr, t);
                    adam(b, gb, mb, vb, lr, t);
                }
            }
            lastLoss = lossSum / steps;
            long now = System.nanoTime();
            if ((now - lastLog) / 1e9 >= LOG_EVERY_S) {
                double el = (now - t0) / 1e9;
                LOG.info(String.format(java.util.Locale.ROOT, "linear probe (%d x %d, lr %.0e): epoch %d/%d loss %.4f, %.0f img/s, ETA %s",
                        n, f, p.lr(), e + 1, p.epochs(), lastLoss, (e + 1) * (double) steps * bs / el,
                        Trainer.human(el / (e + 1) * (p.epochs() - e - 1))));
                lastLog = now;
            }
        }
        int[] pred = predict(testX.castTo(DataType.FLOAT), w, b);
        int hit = 0;
        for (int i = 0; i < pred.length; i++) if (pred[i] == testY[i]) hit++;
        return new Result(hit / (double) pred.length, pred, lastLoss);
    }

    /** argmax over classes of x·W + b, [M] */
    static int[] predict(INDArray x, INDArray w, INDArray b) {
        INDArray logits = x.mmul(w).addiRowVector(b);
        long[] am = Nd4j.argMax(logits, 1).castTo(DataType.LONG).dup('c').data().asLong();
        int[] out = new int[am.length];
        for (int i = 0; i < am.length; i++) out[i] = (int) am[i];
        return out;
    }

    private static void adam(INDArray param, INDArray grad, INDArray m, INDArray v, double lr, long t) {
        m.muli(BETA1).addi(grad.mul(1 - BETA1));
        v.muli(BETA2).addi(grad.mul(grad).muli(1 - BETA2));
        double c1 = 1 - Math.pow(BETA1, t), c2 = 1 - Math.pow(BETA2, t);
        INDArray den = Transforms.sqrt(v.div(c2), false).addi(EPS);
        param.subi(m.div(c1).divi(den).muli(lr));
    }
}
