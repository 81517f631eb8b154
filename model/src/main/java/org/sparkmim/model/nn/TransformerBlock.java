package org.sparkmim.model.nn;

import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.point;

/**
 * Pre-norm ViT block (timm): x += Attn(LN1 x); x += MLP(LN2 x), MLP ratio 4, GELU, qkv bias, LN eps 1e-6.
 *
 * <p>Inputs: x [B,T,D], and optionally a second input that is either
 * <ul>
 *   <li>an additive key bias [B,T] (0 = attend, -1e9 = padded key) for variable-length batches (SBAM+AMR), or</li>
 *   <li>a full additive mask [B,T,Tk], shared by the heads, whose keys and values are the first Tk tokens of x
 *   (MaPeT's two streams: every row queries, only the content stream is attended to).</li>
 * </ul>
 * Output: [B,T,D]. With {@code layerScale} &gt; 0 each residual branch is scaled by a learned per-channel γ
 * (timm's LayerScale, γ initialised to layerScale). Forward and backward are written by hand with one fused qkv
 * gemm and batched matmuls for attention; the attention scale is folded into the gemm alpha.
 */
public class TransformerBlock extends ParamVertexConf {
    public int dim;
    public int heads;
    public int mlpRatio = 4;
    /** LayerScale's initial γ; 0 = no LayerScale (MAE's blocks). */
    public double layerScale;

    public TransformerBlock() { }

    public TransformerBlock(int dim, int heads, double layerScale) {
        this(dim, heads);
        if (!(layerScale >= 0)) throw new IllegalArgumentException("layer scale must be >= 0, got " + layerScale);
        this.layerScale = layerScale;
    }

    public TransformerBlock(int dim, int heads) {
        if (dim % heads != 0) {
            throw new IllegalArgumentException("model width " + dim + " must be divisible by heads " + heads);
        }
        this.dim = dim;
        this.heads = heads;
    }

    @Override
    public LinkedHashMap<String, long[]> paramShapes() {
        long d = dim, h = (long) dim * mlpRatio;
        LinkedHashMap<String, long[]> m = new LinkedHashMap<>();
        m.put("ln1g", new long[]{d});
        m.put("ln1b", new long[]{d});
        m.put("qkvW", new long[]{d, 3 * d});
        m.put("qkvb", new long[]{3 * d});
        m.put("projW", new long[]{d, d});
        m.put("projb", new long[]{d});
        m.put("ln2g", new long[]{d});
        m.put("ln2b", new long[]{d});
        m.put("fc1W", new long[]{d, h});
        m.put("fc1b", new long[]{h});
        m.put("fc2W", new long[]{h, d});
        m.put("fc2b", new long[]{d});
        if (layerScale > 0) {
            m.put("ls1", new long[]{d});
            m.put("ls2", new long[]{d});
        }
        return m;
    }

    @Override
    public boolean isDecayed(String param) {
        return param.endsWith("W");
    }

    @Override
    public void initParams(Map<String, INDArray> p) {
        long d = dim, h = (long) dim * mlpRatio;
        p.get("ln1g").assign(1);
        p.get("ln1b").assign(0);
        p.get("ln2g").assign(1);
        p.get("ln2b").assign(0);
        Ops.xavierUniform(p.get("qkvW"), d, 3 * d);
        Ops.xavierUniform(p.get("projW"), d, d);
        Ops.xavierUniform(p.get("fc1W"), d, h);
        Ops.xavierUniform(p.get("fc2W"), h, d);
        p.get("qkvb").assign(0);
        p.get("projb").assign(0);
        p.get("fc1b").assign(0);
        p.get("fc2b").assign(0);
        if (layerScale > 0) {
            p.get("ls1").assign(layerScale);
            p.get("ls2").assign(layerScale);
        }
    }

    @Override
    protected ParamVertex createVertex(ComputationGraph g, String name, int idx, INDArray view, DataType dt) {
        return new Impl(this, g, name, idx, view, dt);
    }

    @Override
    public TransformerBlock clone() {
        TransformerBlock c = new TransformerBlock();
        c.dim = dim;
        c.heads = heads;
        c.mlpRatio = mlpRatio;
        c.layerScale = layerScale;
        return (TransformerBlock) copyBaseInto(c);
    }

    @Override
    public int minVertexInputs() {
        return 1;
    }

    @Override
    public int maxVertexInputs() {
        return 2;
    }

    @Override
    public InputType getOutputType(int layerIndex, InputType... in) {
        return in[0];
    }

    @Override
    public String toString() {
        return "TransformerBlock(dim=" + dim + ",heads=" + heads + ",mlp=" + mlpRatio
                + (layerScale > 0 ? ",ls=" + layerScale : "") + ",wd=" + weightDecay + ")";
    }

    static final class Impl extends ParamVertex {
        private final int d, h, dh;
        private final double scale;
        // forward caches (ACTIVATIONS workspace: alive until this vertex's backward)
        private INDArray x2, xhat1, rstd1, h1, qkv, qkvh, kk, vv, att, ocat, x1, xhat2, rstd2, h2, f, cdf, gf, a1, a2;
        private long bSz, tSz, tk;
        /** This forward ran the fused attention (Kernels), so backward must too (it kept qkv, not qkvh). */
        private boolean fusedAttention;
        private final boolean ls;

        Impl(TransformerBlock c, ComputationGraph g, String name, int idx, INDArray view, DataType dt) {
            super(c, g, name, idx, view, dt);
            d = c.dim;
            h = c.heads;
            dh = c.dim / c.heads;
            scale = 1.0 / Math.sqrt(dh);
            ls = c.layerScale > 0;
        }

        /** The second input if it is a full mask [B,T,Tk], else null. */
        private INDArray fullMask() {
            return inputs.length > 1 && inputs[1] != null && inputs[1].rank() == 3 ? inputs[1] : null;
        }

        @Override
        public INDArray doForward(boolean training, LayerWorkspaceMgr ws) {
            long t = Prof.t();
            INDArray x = inputs[0];                                       // [B,T,D]
            bSz = x.size(0);
            tSz = x.size(1);
            long m = bSz * tSz;
            x2 = Kernels.use(x) ? x.reshape('c', m, d) : x.dup('c').reshape('c', m, d);   // [BT,D], read only
            xhat1 = act(ws, m, d);
            rstd1 = act(ws, m, 1);
            h1 = act(ws, m, d);
            Ops.layerNorm(x2, params.get("ln1g"), params.get("ln1b"), xhat1, rstd1, h1);
            t = Prof.add("blk.f.ln", t);

            qkv = act(ws, m, 3L * d);                                     // [BT,3D]
            Ops.linear(h1, params.get("qkvW"), params.get("qkvb"), qkv);
            t = Prof.add("blk.f.qkv_gemm", t);
            INDArray mask = fullMask();
            tk = mask == null ? tSz : mask.size(2);
            if (mask != null && (mask.size(0) != bSz || mask.size(1) != tSz || tk > tSz)) {
                throw new IllegalArgumentException(getVertexName() + ": attention mask " + java.util.Arrays.toString(mask.shape())
                        + " does not fit tokens [" + bSz + "," + tSz + ",*]: need [B,T,Tk] with Tk <= T");
            }
            INDArray maskOrBias = mask != null ? mask : inputs.length > 1 ? inputs[1] : null;
            fusedAttention = Kernels.useAttention(dh, qkv, maskOrBias);
            if (fusedAttention) {                                          // one pass per (image, head), no permutes
                att = act(ws, bSz, h, tSz, tk);
                ocat = act(ws, m, d);
                Kernels.attention(qkv, maskOrBias, scale, (int) bSz, (int) tSz, (int) tk, h, dh, att, ocat);
                t = Prof.add("blk.f.attention", t);
                return mlpForward(ws, m, t);
            }
            // [B,T,3,H,dh] -> [3,B,H,T,dh], contiguous so each of q,k,v is a batched-matmul operand
            qkvh = act(ws, 3, bSz, h, tSz, dh);
            qkvh.assign(qkv.reshape('c', bSz, tSz, 3, h, dh).permute(2, 0, 3, 1, 4));
            t = Prof.add("blk.f.qkv_permute", t);
            INDArray q = qkvh.get(point(0), all(), all(), all(), all());
            if (tk == tSz) {
                kk = qkvh.get(point(1), all(), all(), all(), all());
                vv = qkvh.get(point(2), all(), all(), all(), all());
            } else {                                                       // keys: the first Tk tokens [B,H,Tk,dh]
                kk = act(ws, bSz, h, tk, dh);
                vv = act(ws, bSz, h, tk, dh);
                kk.assign(qkvh.get(point(1), all(), all(), NDArrayIndex.interval(0, tk), all()));
                vv.assign(qkvh.get(point(2), all(), all(), NDArrayIndex.interval(0, tk), all()));
            }

            INDArray s = act(ws, bSz, h, tSz, tk);                       // [B,H,T,Tk]
            Ops.bmm(q, kk, s, false, true, scale, 0.0);
            t = Prof.add("blk.f.qk_bmm", t);
            if (mask != null) Ops.addHeadSharedMask(s, mask);
            else if (inputs.length > 1 && inputs[1] != null) Ops.addKeyBias(s, inputs[1]);
            att = act(ws, bSz, h, tSz, tk);
            Ops.softmaxLastDim(s, att);
            t = Prof.add("blk.f.softmax", t);
            INDArray oh = act(ws, bSz, h, tSz, dh);                      // [B,H,T,dh]
            Ops.bmm(att, vv, oh, false, false, 1.0, 0.0);
            t = Prof.add("blk.f.av_bmm", t);
            ocat = act(ws, m, d);                                          // [BT,D] heads concatenated
            ocat.reshape('c', bSz, tSz, h, dh).assign(oh.permute(0, 2, 1, 3));
            t = Prof.add("blk.f.o_permute", t);
            return mlpForward(ws, m, t);
        }

        /** From the concatenated heads ocat [BT,D]: projection, residual, LN2, MLP, residual → [B,T,D]. */
        private INDArray mlpForward(LayerWorkspaceMgr ws, long m, long t) {
            x1 = act(ws, m, d);                                            // x + [γ1 ⊙] proj(attn)
            if (ls) {
                Ops.linear(ocat, params.get("projW"), params.get("projb"), x1);
                a1 = act(ws, m, d);                                        // the branch before γ1, for dγ1
                a1.assign(x1);
                x1.muliRowVector(params.get("ls1"));
                x1.addi(x2);
            } else {
                Ops.linearResidual(ocat, params.get("projW"), params.get("projb"), x2, x1);
            }
            t = Prof.add("blk.f.proj", t);

            xhat2 = act(ws, m, d);
            rstd2 = act(ws, m, 1);
            h2 = act(ws, m, d);
            Ops.layerNorm(x1, params.get("ln2g"), params.get("ln2b"), xhat2, rstd2, h2);
            t = Prof.add("blk.f.ln", t);
            long hid = (long) d * ((TransformerBlock) conf).mlpRatio;
            f = act(ws, m, hid);
            cdf = act(ws, m, hid);
            gf = act(ws, m, hid);
            Ops.linearGelu(h2, params.get("fc1W"), params.get("fc1b"), f, cdf, gf);
            t = Prof.add("blk.f.fc1_gelu", t);
            INDArray out = act(ws, m, d);
            if (ls) {
                Ops.linear(gf, params.get("fc2W"), params.get("fc2b"), out);
                a2 = act(ws, m, d);
                a2.assign(out);
                out.muliRowVector(params.get("ls2"));
                out.addi(x1);
            } else {
                Ops.linearResidual(gf, params.get("fc2W"), params.get("fc2b"), x1, out);
            }
            t = Prof.add("blk.f.fc2", t);
            return out.reshape('c', bSz, tSz, d);
        }

        @Override
        public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr ws) {
            long t = Prof.t();
            long m = bSz * tSz;
            long hid = f.size(1);
            // [BT,D], read only (the residual's gradient goes to a new array below), so a dense epsilon needs no copy
            INDArray dout = Kernels.use(epsilon) ? epsilon.reshape('c', m, d) : epsilon.dup('c').reshape('c', m, d);
            // MLP branch
            INDArray dg = bpWork(ws, m, hid);
            INDArray dBranch2 = dout;
            if (ls) {                                                      // dγ2 = Σ dout ⊙ a2; d a2 = dout ⊙ γ2
                INDArray prod = bpWork(ws, m, d);
                Ops.colSum(prod.assign(dout).muli(a2), grads.get("ls2"));
                dBranch2 = prod.assign(dout).muliRowVector(params.get("ls2"));
            }
            Ops.linearBackward(gf, params.get("fc2W"), dBranch2, grads.get("fc2W"), grads.get("fc2b"), dg, 0.0);
            t = Prof.add("blk.b.fc2", t);
            INDArray scratch = Kernels.use(f, cdf, dg) ? null : bpWork(ws, m, hid);   // the ND4J path's temporary
            Ops.geluBackward(f, cdf, dg, dg, scratch, grads.get("fc1b"));      // dg := d f; d fc1b = Σ_rows d f
            t = Prof.add("blk.b.gelu", t);
            INDArray dh2 = bpWork(ws, m, d);
            Ops.linearBackward(h2, params.get("fc1W"), dg, grads.get("fc1W"), null, dh2, 0.0);
            t = Prof.add("blk.b.fc1", t);
            INDArray dx1 = bpWork(ws, m, d);                                // residual: dx1 = dout + LN2'(dh2)
            Ops.layerNormBackwardAdd(dh2, xhat2, rstd2, params.get("ln2g"), grads.get("ln2g"), grads.get("ln2b"),
                    dout, dx1);
            t = Prof.add("blk.b.ln", t);
            // attention branch
            INDArray docat = bpWork(ws, m, d);
            INDArray dBranch1 = dx1;
            if (ls) {
                INDArray prod = bpWork(ws, m, d);
                Ops.colSum(prod.assign(dx1).muli(a1), grads.get("ls1"));
                dBranch1 = prod.assign(dx1).muliRowVector(params.get("ls1"));
            }
            Ops.linearBackward(ocat, params.get("projW"), dBranch1, grads.get("projW"), grads.get("projb"), docat, 0.0);
            t = Prof.add("blk.b.proj", t);
            INDArray dh1 = bpWork(ws, m, d);
            if (fusedAttention) {
                INDArray dqkv = bpWork(ws, m, 3L * d);
                Kernels.attentionBackward(qkv, att, docat, scale, (int) bSz, (int) tSz, (int) tk, h, dh, dqkv);
                t = Prof.add("blk.b.attention", t);
                Ops.linearBackward(h1, params.get("qkvW"), dqkv, grads.get("qkvW"), grads.get("qkvb"), dh1, 0.0);
                t = Prof.add("blk.b.qkv_gemm", t);
                return lnBackward1(ws, m, dx1, dh1, t);
            }
            INDArray doh = bpWork(ws, bSz, h, tSz, dh);
            doh.assign(docat.reshape('c', bSz, tSz, h, dh).permute(0, 2, 1, 3));
            t = Prof.add("blk.b.o_permute", t);
            INDArray q = qkvh.get(point(0), all(), all(), all(), all());
            INDArray dqkvh = bpWork(ws, 3, bSz, h, tSz, dh);
            INDArray dq = dqkvh.get(point(0), all(), all(), all(), all());
            boolean prefix = tk < tSz;
            INDArray dk, dv;
            if (prefix) {                                                  // keys are the first Tk tokens: the
                dqkvh.assign(0);                                           // other rows get no dK, dV
                dk = bpWork(ws, bSz, h, tk, dh);
                dv = bpWork(ws, bSz, h, tk, dh);
            } else {
                dk = dqkvh.get(point(1), all(), all(), all(), all());
                dv = dqkvh.get(point(2), all(), all(), all(), all());
            }
            INDArray da = bpWork(ws, bSz, h, tSz, tk);
            Ops.bmm(doh, vv, da, false, true, 1.0, 0.0);                  // dA = dO·Vᵀ
            Ops.bmm(att, doh, dv, true, false, 1.0, 0.0);                 // dV = Aᵀ·dO
            t = Prof.add("blk.b.av_bmm", t);
            Ops.softmaxBackwardInPlace(att, da);                           // da := dS (pre-scale)
            t = Prof.add("blk.b.softmax", t);
            Ops.bmm(da, kk, dq, false, false, scale, 0.0);                 // dQ = s·dS·K
            Ops.bmm(da, q, dk, true, false, scale, 0.0);                   // dK = s·dSᵀ·Q
            if (prefix) {
                dqkvh.get(point(1), all(), all(), NDArrayIndex.interval(0, tk), all()).assign(dk);
                dqkvh.get(point(2), all(), all(), NDArrayIndex.interval(0, tk), all()).assign(dv);
            }
            t = Prof.add("blk.b.qk_bmm", t);
            INDArray dqkv = bpWork(ws, m, 3L * d);
            dqkv.reshape('c', bSz, tSz, 3, h, dh).assign(dqkvh.permute(1, 3, 0, 2, 4));
            t = Prof.add("blk.b.qkv_permute", t);
            Ops.linearBackward(h1, params.get("qkvW"), dqkv, grads.get("qkvW"), grads.get("qkvb"), dh1, 0.0);
            t = Prof.add("blk.b.qkv_gemm", t);
            return lnBackward1(ws, m, dx1, dh1, t);
        }

        /** dx = dx1 (the residual) + LN1'(dh1): the block's input gradient. */
        private Pair<Gradient, INDArray[]> lnBackward1(LayerWorkspaceMgr ws, long m, INDArray dx1, INDArray dh1, long t) {
            INDArray dx = actGrad(ws, m, d);                                // dx1 + LN1'(dh1), one pass
            Ops.layerNormBackwardAdd(dh1, xhat1, rstd1, params.get("ln1g"), grads.get("ln1g"), grads.get("ln1b"),
                    dx1, dx);
            t = Prof.add("blk.b.ln", t);
            INDArray[] eps = new INDArray[inputs.length];
            eps[0] = dx.reshape('c', bSz, tSz, d);
            return result(gradient(), eps);
        }
    }
}
