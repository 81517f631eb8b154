package org.nd4j.nativeblas;

/**
 * The class DL4J 1.0.0-M2.1 looks for before it uses oneDNN, under the name it had before ND4J moved its CPU bindings.
 * <p>
 * Why this exists: {@code org.deeplearning4j.nn.layers.mkldnn.BaseMKLDNNHelper.mklDnnEnabled()} loads
 * {@code org.nd4j.nativeblas.Nd4jCpu$Environment} by name and calls {@code getInstance().isUseMKLDNN()} on it. In
 * M2.1 that class lives at {@code org.nd4j.linalg.cpu.nativecpu.bindings.Nd4jCpu$Environment} and the method is
 * {@code isUseONEDNN()}, so the lookup throws, DL4J records a failed check, and every ConvolutionLayer and
 * BatchNormalization silently falls back to its Java path (im2col into a permuted buffer, then gemm: 20 img/s for
 * ResNet-18 w16 on 28 px against 134 img/s on oneDNN, 2 cores). This class answers that lookup with libnd4j's own
 * answer. It holds no state and changes nothing else; on the CUDA backend DL4J never asks for it.
 * {@code ResNetA2mimTest.dl4jUsesOneDnnForTheResNet} fails if the helpers stop being used.
 */
public final class Nd4jCpu {
    private Nd4jCpu() { }

    /** What DL4J's reflection expects: a singleton with {@code isUseMKLDNN()}. */
    public static final class Environment {
        private static final Environment INSTANCE = new Environment();

        private Environment() { }

        public static Environment getInstance() {
            return INSTANCE;
        }

        /** libnd4j's Environment and its isUseONEDNN, looked up once; null when the CPU bindings are absent. */
        private static final Object BINDINGS;
        private static final java.lang.reflect.Method USE_ONEDNN;

        static {
            Object instance = null;
            java.lang.reflect.Method use = null;
            try {
                Class<?> env = Class.forName("org.nd4j.linalg.cpu.nativecpu.bindings.Nd4jCpu$Environment");
                instance = env.getMethod("getInstance").invoke(null);
                use = env.getMethod("isUseONEDNN");
            } catch (ReflectiveOperationException | LinkageError e) {
                instance = null;
            }
            BINDINGS = instance;
            USE_ONEDNN = use;
        }

        /**
         * libnd4j's own switch (true on the onednn classifier of nd4j-native), read live as DL4J expects. Reached by
         * reflection so that this class also compiles in the cuda profile, where the CPU bindings are not on the
         * classpath; false when they are absent.
         */
        public boolean isUseMKLDNN() {
            if (BINDINGS == null || USE_ONEDNN == null) return false;
            try {
                return (Boolean) USE_ONEDNN.invoke(BINDINGS);
            } catch (ReflectiveOperationException e) {
                return false;
            }
        }
    }
}
