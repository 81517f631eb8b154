package org.sparkmim.model.export;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.sparkmim.model.config.ModelConfig;
import org.sparkmim.model.mae.MaeGraph;
import org.sparkmim.model.nn.SinCosPosEmbed;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A checkpoint's ViT encoder under the parameter names and layouts of timm's {@code VisionTransformer}
 * (timm.models.vision_transformer), so that {@code timm.create_model(..., num_classes=0, **args)} followed by
 * {@code load_state_dict(strict=True)} gives the same encoder.
 *
 * <p>The layouts differ in two ways. Our linear layers compute x·W with W [in, out]; torch's nn.Linear computes
 * x·Wᵀ with W [out, in], so every matrix is transposed. Our patch embedding is a linear layer over MAE's patch
 * order (i·p + j)·C + c; timm's is a convolution with weight [D, C, p, p], the same numbers reordered. The
 * rest matches by construction: the fused qkv's output columns are ordered [q | k | v], heads contiguous within
 * each, as timm reshapes them; LayerNorm eps 1e-6; exact GELU; the CLS token is added at position 0 with a zero
 * position code (MAE's fixed sin-cos code has pos[0] = 0), so timm's pos_embed [1, 1+N, D] is that row of zeros
 * followed by the grid's code, or the learned table where the method learns one (MaPeT).
 *
 * <p>The pooled feature that matches evaluate's {@code mean} feature is timm's {@code global_pool='avg'} with
 * {@code fc_norm=False}: the final norm on every token, then the mean of the patch tokens (CLS excluded).
 */
public final class TimmVit {
    private TimmVit() { }

    /**
     * timm's state dict of the encoder: name → tensor in torch's layout. A fine-tuned checkpoint also carries its
     * classifier as timm's {@code head} (then timm's {@code model(x)} gives its logits).
     */
    public static LinkedHashMap<String, Safetensors.Tensor> stateDict(ComputationGraph g, ModelConfig m) {
        if (!ModelConfig.VIT.equals(m.backbone)) {
            throw new IllegalArgumentException("export to timm's VisionTransformer needs a ViT checkpoint; this one's "
                    + "backbone is model.backbone = " + m.backbone + " (TimmResNet writes timm's ResNet layout)");
        }
        int d = m.dim, p = m.patch, c = m.channels, n = m.tokens();
        LinkedHashMap<String, Safetensors.Tensor> sd = new LinkedHashMap<>();

        Map<String, INDArray> embed = params(g, MaeGraph.EMBED);
        // the patch projection lives in the embedding itself, or (SBAM) in the vertex that embeds all patches
        Map<String, INDArray> proj = embed.containsKey("W") ? embed : params(g, "embed_all");
        INDArray w = need(proj, "W", "patch embedding"), b = need(proj, "b", "patch embedding");
        if (w.size(0) != (long) p * p * c || w.size(1) != d) {
            throw new IllegalArgumentException("patch embedding W is " + java.util.Arrays.toString(w.shape()) + ", expected ["
                    + p * p * c + ", " + d + "] for patch " + p + " and " + c + " channel(s)");
        }
        sd.put("cls_token", tensor(need(embed, "cls", "CLS token"), 1, 1, d));
        float[] pos = new float[(n + 1) * d];
        if (embed.containsKey("pos")) {                       // learned [1+N, D] (MaPeT), CLS row first
            INDArray table = need(embed, "pos", "position table");
            if (table.length() != (long) (n + 1) * d) {
                throw new IllegalArgumentException("learned position table is " + java.util.Arrays.toString(table.shape())
                        + ", expected [" + (n + 1) + ", " + d + "] (CLS + N = " + n + " tokens, width " + d + ")");
            }
            float[] learned = table.dup('c').data().asFloat();
            System.arraycopy(learned, 0, pos, 0, pos.length);
        } else {                                              // MAE's fixed sin-cos code; the CLS row stays 0
            double[][] table = SinCosPosEmbed.table(m.gridSize(), m.gridSize(), d);
            for (int t = 0; t < n; t++) for (int k = 0; k < d; k++) pos[(t + 1) * d + k] = (float) table[t][k];
        }
        sd.put("pos_embed", new Safetensors.Tensor(new long[]{1, n + 1, d}, pos));
        float[] wf = w.dup('c').data().asFloat(), conv = new float[wf.length];
        for (int o = 0; o < d; o++)
            for (int ch = 0; ch < c; ch++)
                for (int i = 0; i < p; i++)
                    for (int j = 0; j < p; j++)
                        conv[((o * c + ch) * p + i) * p + j] = wf[((i * p + j) * c + ch) * d + o];
        sd.put("patch_embed.proj.weight", new Safetensors.Tensor(new long[]{d, c, p, p}, conv));
        sd.put("patch_embed.proj.bias", tensor(b, d));

        for (int i = 0; i < m.depth; i++) {
            Map<String, INDArray> blk = params(g, "enc" + i);
            String pre = "blocks." + i + ".";
            sd.put(pre + "norm1.weight", tensor(need(blk, "ln1g", pre), d));
            sd.put(pre + "norm1.bias", tensor(need(blk, "ln1b", pre), d));
            sd.put(pre + "attn.qkv.weight", transposed(need(blk, "qkvW", pre)));
            sd.put(pre + "attn.qkv.bias", tensor(need(blk, "qkvb", pre), 3 * d));
            sd.put(pre + "attn.proj.weight", transposed(need(blk, "projW", pre)));
            sd.put(pre + "attn.proj.bias", tensor(need(blk, "projb", pre), d));
            if (blk.containsKey("ls1")) sd.put(pre + "ls1.gamma", tensor(blk.get("ls1"), d));
            sd.put(pre + "norm2.weight", tensor(need(blk, "ln2g", pre), d));
            sd.put(pre + "norm2.bias", tensor(need(blk, "ln2b", pre), d));
            sd.put(pre + "mlp.fc1.weight", transposed(need(blk, "fc1W", pre)));
            sd.put(pre + "mlp.fc1.bias", tensor(need(blk, "fc1b", pre), need(blk, "fc1b", pre).length()));
            sd.put(pre + "mlp.fc2.weight", transposed(need(blk, "fc2W", pre)));
            sd.put(pre + "mlp.fc2.bias", tensor(need(blk, "fc2b", pre), d));
            if (blk.containsKey("ls2")) sd.put(pre + "ls2.gamma", tensor(blk.get("ls2"), d));
        }
        Map<String, INDArray> norm = params(g, MaeGraph.LATENT);
        sd.put("norm.weight", tensor(need(norm, "g", "final norm"), d));
        sd.put("norm.bias", tensor(need(norm, "b", "final norm"), d));
        if (classifier(g) != null) {                          // a fine-tuned model: timm's head is its classifier
            Map<String, INDArray> head = g.getLayer(MaeGraph.HEAD).paramTable();
            INDArray hw = need(head, "W", "classifier");           // [D, K]
            sd.put("head.weight", transposed(hw));
            sd.put("head.bias", tensor(need(head, "b", "classifier"), hw.size(1)));
        }
        return sd;
    }

    /** The fine-tuning classifier's pooling (TokenPool) when g is a fine-tuned model, else null (a pretrained encoder). */
    public static org.sparkmim.model.nn.TokenPool classifier(ComputationGraph g) {
        var v = g.getConfiguration().getVertices().get(org.sparkmim.model.finetune.FinetuneMethod.POOL);
        return v instanceof org.sparkmim.model.nn.TokenPool tp ? tp : null;
    }

    /**
     * The keyword arguments of {@code timm.create_model} (or {@code VisionTransformer(...)}) that build this encoder
     * with no classifier, pooling as evaluate's mean feature.
     */
    public static LinkedHashMap<String, Object> constructorArgs(ComputationGraph g, ModelConfig m) {
        LinkedHashMap<String, Object> a = new LinkedHashMap<>();
        a.put("img_size", m.imageSize);
        a.put("patch_size", m.patch);
        a.put("in_chans", m.channels);
        a.put("embed_dim", m.dim);
        a.put("depth", m.depth);
        a.put("num_heads", m.heads);
        a.put("mlp_ratio", 4.0);
        a.put("qkv_bias", true);
        a.put("class_token", true);
        var pool = classifier(g);
        // timm's 'avg' pools the patch tokens after the final norm (with fc_norm False), 'token' takes the CLS row
        a.put("global_pool", pool != null && pool.cls ? "token" : "avg");
        a.put("fc_norm", false);
        a.put("num_classes", pool != null ? g.getLayer(MaeGraph.HEAD).getParam("b").length() : 0);
        Map<String, INDArray> blk0 = m.depth > 0 ? params(g, "enc0") : Map.of();
        a.put("init_values", blk0.containsKey("ls1") ? blk0.get("ls1").meanNumber().doubleValue() : null);
        return a;
    }

    static Map<String, INDArray> params(ComputationGraph g, String vertex) {
        GraphVertex v = g.getVertex(vertex);
        if (v == null) {
            throw new IllegalArgumentException("the checkpoint's graph has no vertex '" + vertex + "', which its encoder "
                    + "exported to timm needs (ViT: embed, enc0..enc{depth-1}, enc_norm; ResNet: stem_*, s{i}b{j}_*)");
        }
        return v.paramTable(false);
    }

    static INDArray need(Map<String, INDArray> p, String key, String where) {
        INDArray a = p.get(key);
        if (a == null) throw new IllegalArgumentException(where + ": parameter '" + key + "' missing (has " + p.keySet() + ")");
        return a;
    }

    static Safetensors.Tensor tensor(INDArray a, long... shape) {
        return new Safetensors.Tensor(shape, a.dup('c').data().asFloat());
    }

    /** [in, out] → torch's [out, in]. */
    static Safetensors.Tensor transposed(INDArray w) {
        return new Safetensors.Tensor(new long[]{w.size(1), w.size(0)}, w.transpose().dup('c').data().asFloat());
    }
}
