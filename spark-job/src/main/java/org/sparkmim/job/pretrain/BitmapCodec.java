package org.sparkmim.job.pretrain;

import org.nd4j.linalg.compression.ThresholdCompression;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;

/**
 * ND4J's bitmap encoding of a gradient-sharing update, written out in Java: the same message, bit for bit, at a
 * fraction of the native op's cost.
 *
 * <p>Why. Per step, DL4J's gradient sharing encodes the worker's residual with ND4J's {@code encode_bitmap} op,
 * which branches per element; with τ = LR a third of the elements cross, so the branches mispredict (6.8 ms for 1.3M
 * parameters, {@code bench --sharing}). Here, with the Vector API, two lane comparisons per 16 elements give masks
 * whose bits are the message's bits, and a blend gives the value sent (2.2 ms). The same pass keeps each element's
 * sent value, so neither the sender nor, in local mode, the driver's replica has to decode the message again
 * ({@link BitmapSharing}, {@link LocalReplica}). A JVM without the Vector API runs a branch-free scalar loop.
 *
 * <p>The format (libnd4j's {@code SpecialMethods::encodeBitmapGeneric}): 4 header ints {@code [N, N, float bits of
 * τ, BITMAP_ENCODING]}, then one int per 16 elements; element 16w + b owns bit b (|x| ≥ τ) and bit b + 16 (x
 * negative, sent). Encoding x: |x| ≥ τ sends sign(x)·τ; else x ≤ −τ/2 sends −τ/2 (the format has no positive half
 * quantum); else nothing. The residual keeps x minus what was sent. Any receiver decodes it with ND4J's op.
 */
public final class BitmapCodec {
    /** The header's 4th int, which receivers check. */
    static final int BITMAP_ENCODING = ThresholdCompression.BITMAP_ENCODING;

    private BitmapCodec() { }

    /** Ints in the message for n elements: 4 header ints, one per 16 elements, and one spare (ND4J's size). */
    public static int messageInts(long n) {
        return Math.toIntExact(n / 16 + 5);
    }

    /** Whether {@link #encode} takes this residual: fp32, contiguous, its own buffer from offset 0, under 2^31. */
    public static boolean encodable(INDArray residual) {
        return residual.dataType() == DataType.FLOAT && !residual.isView() && residual.data().offset() == 0
                && residual.length() < Integer.MAX_VALUE - 64 && residual.data().length() == residual.length();
    }

    /**
     * Encodes {@code residual} in place, exactly as ND4J's {@code bitmapEncode(residual, message, threshold)}.
     *
     * @param residual [N] fp32; left holding what was not sent
     * @param message  [N/16 + 5] int32, written whole (header included)
     * @param quanta   [N] fp32 or null: receives, per element, the value the message carries for it (0, ±τ, −τ/2)
     * @return the number of elements that sent a quantum, as ND4J's op returns
     */
    public static long encode(INDArray residual, INDArray message, float threshold, INDArray quanta) {
        int n = (int) residual.length();
        if (message.dataType() != DataType.INT32 || message.length() != messageInts(n)) {
            throw new IllegalArgumentException("bitmap message must be int32 [" + messageInts(n) + "], was "
                    + message.dataType() + " [" + message.length() + "]");
        }
        if (VECTOR && quanta != null) {
            // straight on ND4J's memory: the copies to heap arrays cost more than the encoding (memory-bound)
            return Lanes.encode(residual.data().asNio().order(ByteOrder.nativeOrder()), n, threshold,
                    message.data().asNioInt(), quanta.data().asNio().order(ByteOrder.nativeOrder()));
        }
        return encode(residual.data().asNioFloat(), n, threshold, message.data().asNioInt(),
                quanta == null ? null : quanta.data().asNioFloat());
    }

    /** {@link #encode(INDArray, INDArray, float, INDArray)} on buffers: r [n], msg [n/16 + 5], quanta [n] or null. */
    static long encode(FloatBuffer r, int n, float t, IntBuffer msg, FloatBuffer quanta) {
        Scratch s = SCRATCH.get().size(n);
        float[] x = s.x, q = s.q;
        int[] words = s.words;
        r.get(0, x, 0, n);   // bulk copies: the loop below runs on heap arrays, which the JIT compiles tighter
        long count = encode(x, n, t, words, q);
        r.put(0, x, 0, n);
        if (quanta != null) quanta.put(0, q, 0, n);
        msg.put(0, words, 0, BitmapCodec.messageInts(n));
        return count;
    }

    /**
     * Whether the Vector API path runs: the JVM has jdk.incubator.vector (conf/jvm.properties adds it everywhere)
     * and its preferred float vectors divide a 16-element block. Otherwise the scalar loop below, ~3x slower.
     */
    static final boolean VECTOR = vectorUsable();

    private static boolean vectorUsable() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) return false;
        try {
            int lanes = Lanes.lanes();
            return lanes >= 4 && 16 % lanes == 0;
        } catch (LinkageError e) {
            return false;
        }
    }

    /** The encoding with the Vector API: each lane comparison gives a mask whose bits are the message's bits. */
    static final class Lanes {
        private static final jdk.incubator.vector.VectorSpecies<Float> S =
                jdk.incubator.vector.FloatVector.SPECIES_PREFERRED;

        static int lanes() {
            return S.length();
        }

        /** As {@link BitmapCodec#encode(float[], int, float, int[], float[])}, on native-order buffers: r [n], q [n] floats. */
        static long encode(ByteBuffer r, int n, float t, IntBuffer msg, ByteBuffer q) {
            int lanes = S.length();
            float h = t / 2f;
            ByteOrder order = ByteOrder.nativeOrder();
            msg.put(0, n).put(1, n).put(2, Float.floatToIntBits(t)).put(3, BITMAP_ENCODING);
            var zero = jdk.incubator.vector.FloatVector.zero(S);
            var ge = jdk.incubator.vector.VectorOperators.GE;
            var lt = jdk.incubator.vector.VectorOperators.LT;
            long count = 0;
            int full = n / 16, w = 4;
            for (int b = 0; b < full; b++, w++) {
                int word = 0;
                for (int off = 0; off < 16; off += lanes) {
                    int at = ((b << 4) + off) * Float.BYTES;
                    var v = jdk.incubator.vector.FloatVector.fromByteBuffer(S, r, at, order);
                    var a = v.abs();
                    var big = a.compare(ge, t);                        // |v| ≥ τ: sends sign(v)·τ
                    var neg = v.compare(lt, 0f);
                    var half = a.compare(ge, h).and(neg).andNot(big);  // −τ < v ≤ −τ/2: sends −τ/2
                    var sent = zero.blend(t, big).blend(-t, big.and(neg)).blend(-h, half);
                    v.sub(sent).intoByteBuffer(r, at, order);
                    sent.intoByteBuffer(q, at, order);
                    word |= (int) (big.toLong() << off) | (int) (neg.and(big.or(half)).toLong() << (off + 16));
                }
                msg.put(w, word);
                count += Integer.bitCount((word | (word >>> 16)) & 0xffff);
            }
            int rest = n - (full << 4);
            if (rest > 0) {   // the partial last block, element by element as the scalar loop does
                float[] tailX = new float[rest], tailQ = new float[rest];
                for (int i = 0; i < rest; i++) tailX[i] = r.getFloat(((full << 4) + i) * Float.BYTES);
                int[] tailWords = new int[messageInts(rest)];
                count += BitmapCodec.encode(tailX, rest, t, tailWords, tailQ);
                for (int i = 0; i < rest; i++) {
                    r.putFloat(((full << 4) + i) * Float.BYTES, tailX[i]);
                    q.putFloat(((full << 4) + i) * Float.BYTES, tailQ[i]);
                }
                msg.put(w++, tailWords[4]);
            } else {
                msg.put(w, 0);
            }
            return count;
        }
    }

    /** Per thread: the arrays the residual, the quanta and the message are copied through. */
    private static final class Scratch {
        float[] x = new float[0], q = new float[0];
        int[] words = new int[0];

        Scratch size(int n) {
            if (x.length != n) {
                x = new float[n];
                q = new float[n];
                words = new int[messageInts(n)];
            }
            return this;
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * The encoding on arrays: x [n] in place, words [n/16 + 5] (header included), q [n] the values sent.
     *
     * <p>On the bits of the floats, so that nothing branches on the data: for a finite float, |v| ≥ τ is the same
     * as (bits of |v|) ≥ (bits of τ) compared as ints, and the value sent is put together from τ's or τ/2's bits
     * and v's sign. (A NaN would send ±τ and stay NaN where ND4J sends nothing; the run stops at a non-finite
     * update before it matters, NonFiniteGuard.)
     */
    static long encode(float[] x, int n, float t, int[] words, float[] q) {
        int tBits = Float.floatToRawIntBits(t);
        int hBits = Float.floatToRawIntBits(t / 2f) | 0x80000000;   // −τ/2
        words[0] = n;
        words[1] = n;
        words[2] = Float.floatToIntBits(t);
        words[3] = BITMAP_ENCODING;
        long count = 0;
        int full = n / 16, w = 4;
        for (int b = 0; b < full; b++, w++) {      // whole blocks: a fixed trip count the JIT unrolls
            int word = 0;
            int base = b << 4;
            for (int f = 0; f < 16; f++) {
                int cell = encodeOne(x, q, base + f, tBits, hBits);
                word |= (cell & 1) << f | (cell >>> 1) << (f + 16);
                count += (cell | cell >>> 1) & 1;
            }
            words[w] = word;
        }
        if (n % 16 != 0) {
            int word = 0;
            for (int i = full << 4, f = 0; i < n; i++, f++) {
                int cell = encodeOne(x, q, i, tBits, hBits);
                word |= (cell & 1) << f | (cell >>> 1) << (f + 16);
                count += (cell | cell >>> 1) & 1;
            }
            words[w++] = word;
        }
        if (n % 16 == 0) words[w] = 0; // the spare last int (a partial last block takes it otherwise)
        return count;
    }

    /** Encodes x[i] in place, writes q[i]; returns its two bits: 1 = |x| ≥ τ, 2 = sign sent. */
    private static int encodeOne(float[] x, float[] q, int i, int tBits, int hBits) {
        float v = x[i];
        int vBits = Float.floatToRawIntBits(v);
        int neg = vBits >>> 31;
        int abs = vBits & 0x7fffffff;
        int big = ((abs - tBits) >>> 31) ^ 1;                                       // |v| ≥ τ
        int half = (((abs - (hBits & 0x7fffffff)) >>> 31) ^ 1) & neg & (big ^ 1);  // −τ < v ≤ −τ/2
        int sentBits = (-big & (tBits | (neg << 31))) | (-half & hBits);          // ±τ, −τ/2 or +0
        float sent = Float.intBitsToFloat(sentBits);
        x[i] = v - sent;
        q[i] = sent;
        return big | (neg & (big | half)) << 1;
    }
}
