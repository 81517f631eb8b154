package org.sparkmim.model.export;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.sparkmim.model.resnet.ResNet;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.NoOp;
import org.sparkmim.model.config.ModelConfig;
import org.sparkmim.model.finetune.FinetuneMethod;
import org.sparkmim.model.mae.MaeGraph;
import org.sparkmim.model.nn.PatchEmbed;
import org.sparkmim.model.nn.TokenPool;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * A checkpoint's encoder alone (ViT or ResNet), as a DL4J {@code ComputationGraph} that {@code ComputationGraph.load(file, false)}
 * restores without the decoder, the pixel head or any training state (the model jar must be on the classpath: the
 * vertices are this project's).
 *
 * <pre>
 * inputs:  patches [B, N·P] (MAE's patch order: patch t = (row, col), element (i·p + j)·C + c), ids_keep [B, N] = 0..N−1
 * outputs: enc_norm [B, 1+N, D] (CLS row first), pool [B, D] (mean of the N patch rows: evaluate's mean feature)
 *
 * ResNet:
 * input:   image [B, C, H, W] (normalized pixels, NCHW)
 * outputs: the last stage [B, C4, g, g], pool [B, C4] (its global average: evaluate's mean feature)
 * </pre>
 */
public final class Dl4jEncoder {
    public static final String TOKENS = MaeGraph.LATENT;
    public static final String POOLED = FinetuneMethod.POOL;

    private Dl4jEncoder() { }

    /** The encoder-only graph of m with the encoder parameters of g (any ViT method's checkpoint, or a fine-tuned one). */
    public static ComputationGraph of(ComputationGraph g, ModelConfig m, String where) {
        int grid = m.gridSize();
        var gb = MaeGraph.builder(0, DataType.FLOAT);
        if (m.isResNet()) {
            gb.setOutputs(ResNet.addPooledTrunk(gb, m, layer -> new NoOp(), 0.0, POOLED), POOLED);
            return copied(gb, g, m, where);
        }
        gb.addInputs(MaeGraph.IN_PATCHES, MaeGraph.IN_IDS_KEEP);
        gb.addVertex(MaeGraph.EMBED, MaeGraph.opt(new PatchEmbed(m.patchDim(), m.dim, grid, grid), new NoOp(), 0.0),
                MaeGraph.IN_PATCHES, MaeGraph.IN_IDS_KEEP);
        MaeGraph.addEncoder(gb, m, new NoOp(), 0.0, MaeGraph.EMBED, null);
        gb.addVertex(POOLED, new TokenPool(m.dim, false), MaeGraph.LATENT);
        gb.setOutputs(TOKENS, POOLED);
        return copied(gb, g, m, where);
    }

    private static ComputationGraph copied(ComputationGraphConfiguration.GraphBuilder gb, ComputationGraph g, ModelConfig m,
                                           String where) {
        ComputationGraph enc = new ComputationGraph(gb.build());
        enc.init();
        FinetuneMethod.copyEncoder(g, enc, m, where);
        return enc;
    }

    /** Writes it (no updater state) to a temporary name, then renames it into place. */
    public static void write(ComputationGraph encoder, Path out) throws IOException {
        Path tmp = out.resolveSibling("." + out.getFileName() + ".tmp");
        ModelSerializer.writeModel(encoder, tmp.toFile(), false);
        Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
