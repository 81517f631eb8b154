package org.sparkmim.model.nn;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.ByteBuffer;
import java.util.stream.IntStream;

/**
 * Which implementation runs GELU, LayerNorm ({@link Ops}) and TransformerBlock's attention: the fused Vector API
 * kernels ({@link VectorKernels}) or ND4J's ops. The fused path needs all of
 * <ul>
 *   <li>the JDK module jdk.incubator.vector (conf/jvm.properties adds it for bin/, Surefire, Spark's driver and
 *   executors; a JVM started without it gets ND4J's ops);</li>
 *   <li>ND4J's CPU backend (under the cuda profile the arrays live on the GPU: ND4J's ops run there);</li>
 *   <li>float, dense row-major arrays (double runs, e.g. the gradient checks, keep ND4J's ops);</li>
 *   <li>not {@code MIM_KERNELS=nd4j} in the environment (or {@code -Dmim.kernels=nd4j}), the switch for A/B runs.</li>
 * </ul>
 * Both give the same numbers to float rounding ({@code KernelsTest}).
 */
public final class Kernels {
    /** "vector (16 float lanes)" or "nd4j (reason)": printed by bench and pretrain. */
    public static final String MODE;
    private static final boolean VECTOR;
    /** Elements (or row elements) below which one thread does the whole op. */
    private static final int PARALLEL_MIN = 1 << 16;
    private static final int THREADS = Math.max(1, Runtime.getRuntime().availableProcessors());

    static {
        String why = null;
        String sw = System.getProperty("mim.kernels", System.getenv().getOrDefault("MIM_KERNELS", "auto"));
        if (sw.equalsIgnoreCase("nd4j")) {
            why = "MIM_KERNELS=nd4j";
        } else if (!sw.equalsIgnoreCase("auto") && !sw.equalsIgnoreCase("vector")) {
            throw new IllegalArgumentException("MIM_KERNELS / -Dmim.kernels=" + sw + ": allowed auto, vector, nd4j");
        } else if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            why = "the JVM was started without --add-modules jdk.incubator.vector";
        } else if (!Nd4j.getBackend().getClass().getName().toLowerCase().contains("cpu")) {
            why = "ND4J backend " + Nd4j.getBackend().getClass().getSimpleName() + " is not the CPU one";
        }
        int lanes = 0;
        if (why == null) {
            try {
                lanes = VectorKernels.lanes();
            } catch (LinkageError e) {
                why = "the Vector API is not usable here (" + e + ")";
            }
        }
        if (why == null && lanes < 4) why = "the CPU has " + lanes + "-lane float vectors";
        VECTOR = why == null;
        MODE = VECTOR ? "vector (" + lanes + " float lanes)" : "nd4j (" + why + ")";
        // once per JVM: the driver's and every executor's log say which path their steps take
        org.slf4j.LoggerFactory.getLogger(Kernels.class).info("fused kernels (GELU, LayerNorm, attention): {}", MODE);
    }

    private Kernels() { }

    /** True when the fused path takes these arrays. */
    static boolean use(INDArray... arrays) {
        if (!VECTOR) return false;
        for (INDArray a : arrays) {
            if (a.dataType() != DataType.FLOAT || a.ordering() != 'c' || a.elementWiseStride() != 1
                    || !isDense(a) || (a.offset() + a.length()) * Float.BYTES > Integer.MAX_VALUE) {
                return false;
            }
        }
        return true;
    }

    private static boolean isDense(INDArray a) {
        long expect = 1;
        long[] shape = a.shape(), stride = a.stride();
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && stride[i] != expect) return false;
            expect *= shape[i];
        }
        return true;
    }

    /** The array's whole underlying buffer (the array starts at offset() elements into it), native byte order. */
    private static ByteBuffer buf(INDArray a) {
        return a.data().asNio().order(java.nio.ByteOrder.nativeOrder());
    }

    /** Splits [0, n) into chunks (multiples of align) over the available cores when the work is large. */
    private static void split(long n, long work, int align, java.util.function.BiConsumer<Integer, Integer> body) {
        int parts = (int) Math.max(1, Math.min(THREADS, work / PARALLEL_MIN));
        if (parts == 1) {
            body.accept(0, (int) n);
            return;
        }
        long chunk = (n + parts - 1) / parts;
        chunk = (chunk + align - 1) / align * align;
        long c = chunk;
        IntStream.range(0, parts).parallel().forEach(p -> {
            long from = p * c, to = Math.min(n, from + c);
            if (from < to) body.accept((int) from, (int) to);
        });
    }

    /** out[M, N] += b[N] (broadcast over rows) + res[M, N], one pass. */
    static void addBiasResidual(INDArray out, INDArray b, INDArray res) {
        int n = (int) out.size(1);
        float[] bv = b.toFloatVector();
        ByteBuffer bo = buf(out), br = buf(res);
        long oo = out.offset(), ro = res.offset();
        split(out.size(0), out.length(), 1, (from, to) -> VectorKernels.addBiasResidual(bo, oo, bv, br, ro, n, from, to));
    }

    static void biasGelu(INDArray f, INDArray b, INDArray cdf, INDArray y) {
        int h = (int) f.size(1);
        float[] bv = b.toFloatVector();
        ByteBuffer bf = buf(f), bc = buf(cdf), by = buf(y);
        long fo = f.offset(), co = cdf.offset(), yo = y.offset();
        split(f.size(0), f.length(), 1, (from, to) -> VectorKernels.biasGelu(bf, fo, bv, bc, co, by, yo, h, from, to));
    }

    static void geluBackwardColSum(INDArray x, INDArray cdf, INDArray dy, INDArray dx, INDArray db) {
        int h = (int) x.size(1);
        ByteBuffer bx = buf(x), bc = buf(cdf), bdy = buf(dy), bdx = buf(dx);
        long xo = x.offset(), co = cdf.offset(), dyo = dy.offset(), dxo = dx.offset();
        java.util.List<double[]> parts = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        split(x.size(0), x.length(), 1, (from, to) -> {
            double[] acc = new double[h];
            VectorKernels.geluBackwardColSum(bx, xo, bc, co, bdy, dyo, bdx, dxo, h, from, to, acc);
            parts.add(acc);
        });
        put(db, sum(parts, h));
    }

    private static float[] sum(java.util.List<double[]> parts, int n) {
        double[] s = new double[n];
        for (double[] p : parts) for (int j = 0; j < n; j++) s[j] += p[j];
        float[] out = new float[n];
        for (int j = 0; j < n; j++) out[j] = (float) s[j];
        return out;
    }

    /** True when the fused attention takes this block: the arrays qualify and each head's width fills whole vectors. */
    static boolean useAttention(int dh, INDArray... arrays) {
        return VECTOR && dh % VectorKernels.lanes() == 0 && use(java.util.Arrays.stream(arrays)
                .filter(java.util.Objects::nonNull).toArray(INDArray[]::new));
    }

    /**
     * Attention from the qkv gemm output [B·T, 3D] to out [B·T, D], keeping A in att [B, H, T, Tk]. mask is null,
     * a key bias [B, T] or a full mask [B, T, Tk] (rank tells which).
     */
    static void attention(INDArray qkv, INDArray mask, double scale, int b, int t, int tk, int heads, int dh,
                          INDArray att, INDArray out) {
        ByteBuffer bq = buf(qkv), ba = buf(att), bo = buf(out), bm = mask == null ? null : buf(mask);
        long qo = qkv.offset(), ao = att.offset(), oo = out.offset(), mo = mask == null ? 0 : mask.offset();
        int kind = mask == null ? VectorKernels.NO_MASK : mask.rank() == 3 ? VectorKernels.FULL_MASK : VectorKernels.KEY_BIAS;
        split(b * heads, qkv.length() + att.length(), 1,
                (from, to) -> VectorKernels.attention(bq, qo, bm, mo, kind, ba, ao, bo, oo, t, tk, heads, dh, (float) scale, from, to));
    }

    static void attentionBackward(INDArray qkv, INDArray att, INDArray dout, double scale, int b, int t, int tk,
                                  int heads, int dh, INDArray dqkv) {
        ByteBuffer bq = buf(qkv), ba = buf(att), bd = buf(dout), bdq = buf(dqkv);
        long qo = qkv.offset(), ao = att.offset(), doo = dout.offset(), dqo = dqkv.offset();
        split(b * heads, qkv.length() + att.length(), 1,
                (from, to) -> VectorKernels.attentionBackward(bq, qo, ba, ao, bd, doo, bdq, dqo, t, tk, heads, dh, (float) scale, from, to));
    }

    static void layerNorm(INDArray x, INDArray g, INDArray b, INDArray xhat, INDArray rstd, INDArray y) {
        int d = (int) x.size(1);
        float[] gv = g.toFloatVector(), bv = b.toFloatVector();
        ByteBuffer bx = buf(x), bh = buf(xhat), br = buf(rstd), by = buf(y);
        long xo = x.offset(), ho = xhat.offset(), ro = rstd.offset(), yo = y.offset();
        split(x.size(0), x.length(), 1,
                (from, to) -> VectorKernels.layerNorm(bx, xo, gv, bv, bh, ho, br, ro, by, yo, d, Ops.LN_EPS, from, to));
    }

    /** dx = add + LN'(dy) (add null: dx = LN'(dy); add may be dx itself). */
    static void layerNormBackward(INDArray dy, INDArray xhat, INDArray rstd, INDArray g, INDArray dg, INDArray db,
                                  INDArray dx, INDArray add) {
        int d = (int) dy.size(1);
        float[] gv = g.toFloatVector();
        ByteBuffer bdy = buf(dy), bh = buf(xhat), br = buf(rstd), bdx = buf(dx), ba = add == null ? null : buf(add);
        long dyo = dy.offset(), ho = xhat.offset(), ro = rstd.offset(), dxo = dx.offset(), ado = add == null ? 0 : add.offset();
        java.util.List<double[]> gParts = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        java.util.List<double[]> bParts = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        split(dy.size(0), dy.length(), 1, (from, to) -> {
            double[] sg = new double[d], sb = new double[d];
            VectorKernels.layerNormBackward(bdy, dyo, bh, ho, br, ro, gv, bdx, dxo, ba, ado, d, from, to, sg, sb);
            gParts.add(sg);
            bParts.add(sb);
        });
        put(dg, sum(gParts, d));
        put(db, sum(bParts, d));
    }

    /** dst[D] := v (dst is usually a view into the flat gradient vector). */
    private static void put(INDArray dst, float[] v) {
        ByteBuffer b = buf(dst);
        if (use(dst)) {
            long o = dst.offset();
            for (int j = 0; j < v.length; j++) b.putFloat((int) ((o + j) * Float.BYTES), v[j]);
        } else {
            dst.assign(Nd4j.createFromArray(v).reshape(dst.shape()));
        }
    }
}
