package org.sparkmim.model.nn;

import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.sparkmim.model.config.ModelConfig;
import org.sparkmim.model.mae.MaeGraph;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every hand-written vertex passes DL4J's numerical gradient check in double precision, inside the full MAE
 * graph (so the gradient reaching each vertex is itself checked end to end).
 */
class GradientCheckTest {

    @BeforeAll
    static void dbl() {
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    }

    static ModelConfig tinyConf() {
        ModelConfig m = org.sparkmim.model.fixtures.TinyModels.of(6, 2, 1, 8);  // N = 9 tokens, P = 4
        m.depth = 2;
        return m.validate();
    }

    /** Inputs for B samples: K visible tokens each, chosen at random. */
    static INDArray[] inputs(int b, int n, int k, int p, long seed, boolean keyBias) {
        Random r = new Random(seed);
        double[][] keep = new double[b][k];
        double[][] slot = new double[b][n];
        double[][] mask = new double[b][n];
        for (int i = 0; i < b; i++) {
            int[] perm = r.ints(0, Integer.MAX_VALUE).limit(n).toArray();
            Integer[] idx = new Integer[n];
            for (int j = 0; j < n; j++) idx[j] = j;
            java.util.Arrays.sort(idx, (x, y) -> Integer.compare(perm[x], perm[y]));
            java.util.Arrays.fill(slot[i], -1);
            java.util.Arrays.fill(mask[i], 1);
            for (int j = 0; j < k; j++) {
                keep[i][j] = idx[j];
                slot[i][idx[j]] = j;
                mask[i][idx[j]] = 0;
            }
        }
        INDArray patches = Nd4j.rand(DataType.DOUBLE, b, (long) n * p).subi(0.5);
        INDArray target = Nd4j.randn(DataType.DOUBLE, b, n, p);
        INDArray[] in = keyBias
                ? new INDArray[]{patches, Nd4j.create(keep), Nd4j.create(slot), keyBias(b, k)}
                : new INDArray[]{patches, Nd4j.create(keep), Nd4j.create(slot)};
        return new INDArray[]{in[0], in[1], in[2], keyBias ? in[3] : null, target, Nd4j.create(mask)};
    }

    /** Key bias [B, 1+K]: the last key of sample 0 is padding. */
    static INDArray keyBias(int b, int k) {
        INDArray kb = Nd4j.zeros(DataType.DOUBLE, b, 1 + k);
        kb.putScalar(0, k, -1e9);
        return kb;
    }

    private boolean check(boolean keyPadding) {
        ModelConfig m = tinyConf();
        ComputationGraph g = new ComputationGraph(MaeGraph.build(m, new NoOp(), 0.0, 42, DataType.DOUBLE, keyPadding));
        g.init();
        // move LayerNorm/bias params off their trivial init so their gradients are generic
        g.params().addi(Nd4j.randn(DataType.DOUBLE, g.params().shape()).muli(0.1));
        INDArray[] a = inputs(3, m.tokens(), 3, m.patchDim(), 7, keyPadding);
        INDArray[] in = keyPadding ? new INDArray[]{a[0], a[1], a[2], a[3]} : new INDArray[]{a[0], a[1], a[2]};
        // DL4J's subset option is MultiLayerNetwork-only; with key padding, check the blocks that receive the bias
        // (the rest of the graph is the same as in the first test)
        java.util.Set<String> exclude = new java.util.HashSet<>();
        if (keyPadding) {
            g.paramTable().keySet().stream().filter(k -> !k.startsWith("enc")).forEach(exclude::add);
        }
        return GradientCheckUtil.checkGradients(new GradientCheckUtil.GraphConfig().net(g).inputs(in)
                .labels(new INDArray[]{a[4]}).labelMask(new INDArray[]{a[5]}).excludeParams(exclude)
                .epsilon(1e-6).maxRelError(1e-5).minAbsoluteError(1e-9));
    }

    @Test
    void maeGraphPassesGradientCheck() {
        assertThat(check(false)).isTrue();
    }

    @Test
    void encoderWithKeyPaddingPassesGradientCheck() {
        assertThat(check(true)).isTrue();
    }

    /** The fine-tuning graph (encoder on all tokens, TokenPool, softmax head) with mean pooling and with CLS. */
    @Test
    void fineTuningClassifierPassesGradientCheck() {
        for (String pool : new String[]{"mean", "cls"}) {
            ModelConfig m = tinyConf();
            var ft = new org.sparkmim.model.config.MimConfig.FinetuneConfig("", true, 0.75, 0.1, pool, 3, 1);
            var method = new org.sparkmim.model.finetune.FinetuneMethod(m, ft);
            ComputationGraph g = new ComputationGraph(method.graph(new NoOp(), 0.0, 42, DataType.DOUBLE));
            g.init();
            g.params().addi(Nd4j.randn(DataType.DOUBLE, g.params().shape()).muli(0.1));
            int b = 3, n = m.tokens();
            INDArray ids = Nd4j.create(DataType.DOUBLE, b, n);
            for (int i = 0; i < b; i++) for (int t = 0; t < n; t++) ids.putScalar(i, t, t);
            INDArray patches = Nd4j.rand(DataType.DOUBLE, b, (long) n * m.patchDim()).subi(0.5);
            INDArray y = Nd4j.create(new double[][]{{0.9, 0.05, 0.05}, {0.05, 0.9, 0.05}, {0.05, 0.05, 0.9}});
            boolean ok = GradientCheckUtil.checkGradients(new GradientCheckUtil.GraphConfig().net(g)
                    .inputs(new INDArray[]{patches, ids}).labels(new INDArray[]{y})
                    .epsilon(1e-6).maxRelError(1e-5).minAbsoluteError(1e-9));
            assertThat(ok).as(pool).isTrue();
        }
    }
}
