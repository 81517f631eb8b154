package org.sparkmim.job.pretrain;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link BitmapCodec} against ND4J's own bitmap ops: the same message bit for bit, the same residual, the same
 * count, and the quanta it hands the sender equal to what ND4J's decoder reads from the message, on the Vector API path
 * and on the scalar loop.
 */
class BitmapCodecTest {

    /** [n] AdamW-like update plus residual: most elements below τ, a third or so across it, exact edge values. */
    static INDArray residual(int n, float tau, long seed) {
        Nd4j.getRandom().setSeed(seed);
        INDArray r = Nd4j.randn(DataType.FLOAT, n).muli(0.8 * tau);
        float h = tau / 2f;
        float[] edges = {tau, -tau, h, -h, 0f, -0f, Math.nextDown(tau), Math.nextDown(-h), -Math.nextDown(h), 3 * tau, -7 * tau};
        for (int i = 0; i < edges.length && 17L * i + 3 < n; i++) r.putScalar(17L * i + 3, edges[i]);
        return r;
    }

    @Test
    void encodesExactlyAsNd4jDoes() {
        System.err.println("BitmapCodec: Vector API path " + BitmapCodec.VECTOR);
        float tau = 1e-3f;
        for (int n : new int[]{1, 15, 16, 17, 4099, 100_003}) {
            INDArray theirs = residual(n, tau, n), mine = theirs.dup();
            INDArray theirMsg = Nd4j.create(DataType.INT32, BitmapCodec.messageInts(n));
            INDArray myMsg = Nd4j.create(DataType.INT32, BitmapCodec.messageInts(n));
            INDArray quanta = Nd4j.create(DataType.FLOAT, n);
            long theirCount = Nd4j.getExecutioner().bitmapEncode(theirs, theirMsg, tau);
            long myCount = BitmapCodec.encode(mine, myMsg, tau, quanta);

            assertThat(myMsg.toIntVector()).as("message, n = %d", n).isEqualTo(theirMsg.toIntVector());
            assertThat(myCount).as("count, n = %d", n).isEqualTo(theirCount);
            assertThat(mine.toFloatVector()).as("residual left, n = %d", n).isEqualTo(theirs.toFloatVector());
            if (n > 1000) assertThat(myCount).as("a good share crosses").isBetween(n / 5L, n * 4L / 5);

            // the scalar loop (a JVM without the Vector API) gives the same
            float[] x = theirs.dup().toFloatVector(), q = new float[n];
            x = residual(n, tau, n).toFloatVector();
            int[] words = new int[BitmapCodec.messageInts(n)];
            assertThat(BitmapCodec.encode(x, n, tau, words, q)).isEqualTo(theirCount);
            assertThat(words).as("scalar message, n = %d", n).isEqualTo(theirMsg.toIntVector());
            assertThat(x).as("scalar residual, n = %d", n).isEqualTo(theirs.toFloatVector());
            assertThat(q).as("scalar quanta, n = %d", n).isEqualTo(quanta.toFloatVector());

            // what the message carries, read by ND4J's decoder, is what the encoder handed the sender
            INDArray decoded = Nd4j.zeros(DataType.FLOAT, n);
            Nd4j.getExecutioner().bitmapDecode(theirMsg, decoded);
            assertThat(quanta.toFloatVector()).as("quanta, n = %d", n).isEqualTo(decoded.toFloatVector());
        }
    }

    @Test
    void everyElementSendsAtMostOneQuantumAndKeepsTheRest() {
        float tau = 0.01f;
        int n = 50_000;
        INDArray in = residual(n, tau, 7), r = in.dup();
        INDArray msg = Nd4j.create(DataType.INT32, BitmapCodec.messageInts(n));
        INDArray q = Nd4j.create(DataType.FLOAT, n);
        BitmapCodec.encode(r, msg, tau, q);
        float[] x = in.toFloatVector(), left = r.toFloatVector(), sent = q.toFloatVector();
        for (int i = 0; i < n; i++) {
            assertThat(sent[i]).isIn(0f, tau, -tau, -tau / 2);
            assertThat(left[i] + sent[i]).as("element %d", i).isCloseTo(x[i], org.assertj.core.data.Offset.offset(1e-6f));
            if (Math.abs(x[i]) >= tau) assertThat(Math.abs(left[i])).isLessThan(Math.abs(x[i]));
        }
    }

    @Test
    void refusesAMessageOfTheWrongSize() {
        INDArray r = Nd4j.zeros(DataType.FLOAT, 100);
        assertThatThrownBy(() -> BitmapCodec.encode(r, Nd4j.create(DataType.INT32, 5), 0.1f, null))
                .hasMessageContaining("int32 [11]");
        assertThat(BitmapCodec.encodable(Nd4j.zeros(DataType.DOUBLE, 100))).isFalse();
        assertThat(BitmapCodec.encodable(Nd4j.zeros(DataType.FLOAT, 10, 10).getRow(3))).isFalse();
        assertThat(BitmapCodec.encodable(r)).isTrue();
    }
}
