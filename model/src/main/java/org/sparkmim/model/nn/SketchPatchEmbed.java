package org.sparkmim.model.nn;

import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.sparkmim.masking.OrthogonalProjection;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;
import static org.nd4j.linalg.indexing.NDArrayIndex.point;

/**
 * ROPIM's encoder input: embed ALL N patches, project them along the token axis with the image's count sketch,
 * add the fixed position code, prepend CLS. The parameters (W, b, cls), their init and decay are {@link PatchEmbed}'s.
 *
 * <pre>
 * inputs: patches [B, N·P] (MAE patchify order), sketch [B, 3N] (see {@link #encode}: bucket, sign, weight per token)
 * E  = W·patch + b                       [B, N, D]
 * Ê  = P E   per image, along tokens     [B, N, D]   (P = S(SᵀS)⁻¹Sᵀ, applied as bucket sums in O(N·D))
 * out = concat(cls, Ê + pos)             [B, 1+N, D]
 * </pre>
 * P is symmetric, so the backward of the projection is the same projection: dE = P dÊ. The position code is added
 * after the projection, so every token keeps its own position (the projection mixes contents, not positions).
 */
public class SketchPatchEmbed extends PatchEmbed {

    public SketchPatchEmbed() { }

    public SketchPatchEmbed(int patchDim, int dim, int gridH, int gridW) {
        super(patchDim, dim, gridH, gridW);
    }

    /** One image's sketch as the graph's input row [3N]: bucket index, sign (±1), weight (1/|bucket| or 0.14). */
    public static void encode(OrthogonalProjection.Sketch s, float[] dst, int off) {
        int n = s.tokens();
        for (int i = 0; i < n; i++) {
            dst[off + i] = s.bucket()[i];
            dst[off + n + i] = s.sign()[i];
            dst[off + 2 * n + i] = (float) s.weight()[i];
        }
    }

    /** The sketch of input row [3N] (inverse of {@link #encode}). */
    public static OrthogonalProjection.Sketch decode(double[] row, int n) {
        int[] bucket = new int[n], sign = new int[n];
        double[] weight = new double[n];
        int buckets = 0;
        for (int i = 0; i < n; i++) {
            bucket[i] = (int) Math.round(row[i]);
            sign[i] = row[n + i] < 0 ? -1 : 1;
            weight[i] = row[2 * n + i];
            if (bucket[i] < 0 || bucket[i] >= n) throw new IllegalArgumentException("sketch bucket " + row[i] + " of token " + i
                    + " is outside [0, " + n + ")");
            buckets = Math.max(buckets, bucket[i] + 1);
        }
        return new OrthogonalProjection.Sketch(bucket, sign, weight, buckets);
    }

    /** Sketches of a [B, 3N] input. */
    public static OrthogonalProjection.Sketch[] decodeAll(INDArray sketch, int n) {
        double[][] rows = sketch.castTo(DataType.DOUBLE).toDoubleMatrix();
        OrthogonalProjection.Sketch[] out = new OrthogonalProjection.Sketch[rows.length];
        for (int b = 0; b < rows.length; b++) out[b] = decode(rows[b], n);
        return out;
    }

    /** x [B, N, D] flat row-major → P x per image, in place. */
    public static void project(OrthogonalProjection.Sketch[] sk, double[] x, int n, int d) {
        for (int b = 0; b < sk.length; b++) sk[b].apply(x, b * n * d, x, b * n * d, d);
    }

    @Override
    protected ParamVertex createVertex(ComputationGraph g, String name, int idx, INDArray view, DataType dt) {
        return new Impl(this, g, name, idx, view, dt);
    }

    @Override
    public SketchPatchEmbed clone() {
        return (SketchPatchEmbed) copyBaseInto(new SketchPatchEmbed(patchDim, dim, gridH, gridW));
    }

    @Override
    public String toString() {
        return "Sketch" + super.toString();
    }

    static final class Impl extends ParamVertex {
        private final SketchPatchEmbed c;
        private final INDArray pos;        // [N, D] fixed
        private INDArray xs;               // [B·N, P] patches (for dW)
        private OrthogonalProjection.Sketch[] sk;
        private long bSz;

        Impl(SketchPatchEmbed c, ComputationGraph g, String name, int idx, INDArray view, DataType dt) {
            super(c, g, name, idx, view, dt);
            this.c = c;
            this.pos = SinCosPosEmbed.array(c.gridH, c.gridW, c.dim, dt);
        }

        @Override
        public INDArray doForward(boolean training, LayerWorkspaceMgr ws) {
            long t0 = Prof.t();
            int n = c.gridH * c.gridW;
            bSz = inputs[0].size(0);
            sk = decodeAll(inputs[1], n);
            xs = act(ws, bSz * n, c.patchDim);
            xs.reshape('c', bSz, (long) n * c.patchDim).assign(inputs[0]);
            INDArray e = act(ws, bSz * n, c.dim);
            Ops.linear(xs, params.get("W"), params.get("b"), e);
            double[] ed = e.reshape(e.length()).toDoubleVector();               // [B, N, D]
            project(sk, ed, n, c.dim);
            INDArray out = act(ws, bSz, 1 + n, c.dim);
            out.get(all(), point(0), all()).assign(params.get("cls").reshape(1, c.dim).broadcast(bSz, c.dim));
            INDArray tok = out.get(all(), interval(1, 1 + n), all());
            tok.assign(Nd4j.create(ed, new long[]{bSz, n, c.dim}).castTo(dataType));
            tok.addi(pos.reshape(1, n, c.dim).broadcast(bSz, n, c.dim));
            Prof.add("embed.f", t0);
            return out;
        }

        @Override
        public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr ws) {
            long t0 = Prof.t();
            int n = c.gridH * c.gridW;
            INDArray dOut = epsilon;                                                  // [B, 1+N, D]
            grads.get("cls").assign(dOut.get(all(), point(0), all()).sum(0));
            double[] de = dOut.get(all(), interval(1, 1 + n), all()).dup('c').reshape(bSz * n * c.dim).toDoubleVector();
            project(sk, de, n, c.dim);                                                // Pᵀ = P
            INDArray dE = Nd4j.create(de, new long[]{bSz * n, c.dim}).castTo(dataType);
            Ops.linearBackward(xs, params.get("W"), dE, grads.get("W"), grads.get("b"), null, 0.0);
            Prof.add("embed.b", t0);
            return result(gradient(), null, null);
        }
    }
}
