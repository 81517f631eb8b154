package org.sparkmim.model.nn;

import static org.assertj.core.api.Assertions.assertThat;

import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * ND4J's gemm, as the bundled OpenBLAS 0.3.19 computes it with the kernel this machine runs, against a plain-Java multiply.
 *
 * <p>Why: OpenBLAS picks its kernels by CPU, and {@code bin/blas-env.sh} forces a kernel family. 0.3.19's Cooperlake
 * family (chosen for {@code avx512_bf16} CPUs until 2026-12-02) returns DGEMM results that are off by ~100% for many
 * ordinary shapes ({@code [16,144]×[144,1024]}, {@code [100,100]×[100,100]}), while its SGEMM is right. Training is
 * float and did not notice; every double reference in these tests (gradient checks, the oneDNN-vs-Java check) did.
 * This test names the cause instead of leaving it to surface as a 3% loss mismatch elsewhere.
 */
class BlasKernelTest {

    /** [M, K] × [K, N] shapes covering OpenBLAS's small-matrix path, its blocked path and skinny operands. */
    private static final int[][] SHAPES = {
            {2, 3, 4}, {8, 8, 8}, {16, 27, 64}, {64, 27, 16}, {256, 72, 8}, {8, 72, 256}, {1024, 144, 16},
            {16, 144, 1024}, {64, 64, 64}, {100, 100, 100}, {4, 512, 4}, {300, 5, 300}, {197, 64, 197}};

    @Test
    void gemmMatchesAPlainLoopInDoubleAndFloatForEveryTransposition() {
        String kernel = System.getenv().getOrDefault("OPENBLAS_CORETYPE", "auto-detected");
        StringBuilder bad = new StringBuilder();
        for (DataType dt : new DataType[]{DataType.DOUBLE, DataType.FLOAT}) {
            double tol = dt == DataType.DOUBLE ? 1e-12 : 1e-5;
            for (int[] s : SHAPES) {
                for (boolean ta : new boolean[]{false, true}) {
                    for (boolean tb : new boolean[]{false, true}) {
                        Nd4j.getRandom().setSeed(31L * s[0] + s[2]);
                        INDArray a = Nd4j.randn(DataType.DOUBLE, ta ? new long[]{s[1], s[0]} : new long[]{s[0], s[1]});
                        INDArray b = Nd4j.randn(DataType.DOUBLE, tb ? new long[]{s[2], s[1]} : new long[]{s[1], s[2]});
                        INDArray ref = reference(ta ? a.transpose() : a, tb ? b.transpose() : b);
                        INDArray got = Nd4j.gemm(a.castTo(dt), b.castTo(dt), ta, tb).castTo(DataType.DOUBLE);
                        double rel = got.sub(ref).norm2Number().doubleValue() / ref.norm2Number().doubleValue();
                        if (!(rel < tol)) {
                            bad.append(String.format("%n  %s [%d,%d]x[%d,%d] transA=%s transB=%s: relative L2 error %.3g",
                                    dt, s[0], s[1], s[1], s[2], ta, tb, rel));
                        }
                    }
                }
            }
        }
        assertThat(bad.toString())
                .as("OpenBLAS gemm is wrong with OPENBLAS_CORETYPE=%s; bin/blas-env.sh picks the kernel (SkylakeX, "
                        + "Haswell or auto); set MIM_OPENBLAS_CORETYPE to override it", kernel)
                .isEmpty();
    }

    /** C = A·B in plain Java (commons-math, no BLAS): [M, K] × [K, N] → [M, N]. */
    private static INDArray reference(INDArray a, INDArray b) {
        return Nd4j.create(new Array2DRowRealMatrix(a.toDoubleMatrix(), false)
                .multiply(new Array2DRowRealMatrix(b.toDoubleMatrix(), false)).getData());
    }
}
