package org.sparkmim.model.emae;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.learning.config.IUpdater;
import org.sparkmim.masking.MaskSeeds;
import org.sparkmim.masking.ParallelMasking;
import org.sparkmim.masking.SampleMask;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.config.ModelConfig;
import org.sparkmim.model.mae.MaeGraph;
import org.sparkmim.model.mae.MaeMethod;
import org.sparkmim.model.method.Batch;
import org.sparkmim.model.train.Bench;

/**
 * EMAE (METHODS.md §5): each image's N tokens are split into K disjoint visible parts (ParallelMasking), so every
 * token is seen once per step; the K parts run as one MAE batch of B·K rows (row b·K + k = image b, part k)
 * through the unchanged MAE encoder-decoder, and {@link EmaeLoss} adds the cross-part self-consistency term.
 * The per-part mask ratio is 1 − 1/K; method.mask-ratio is not used.
 */
public class EmaeMethod extends MaeMethod {
    private final ParallelMasking parallel;
    private final MimConfig.EmaeConfig emae;

    public EmaeMethod(ModelConfig model, MimConfig.MethodConfig method) {
        super(model, method.withMaskRatio(1.0 - 1.0 / checkParts(model, method.emae().parts())));
        this.emae = method.emae();
        this.parallel = new ParallelMasking(emae.parts());
    }

    private static int checkParts(ModelConfig model, int k) {
        int n = model.tokens();
        if (k < 2 || n % k != 0) {
            throw new IllegalArgumentException("mim.method.emae.parts=" + k + " must be >= 2 and divide the token count N="
                    + n + " of model.image-size " + model.imageSize + " / model.patch " + model.patch);
        }
        return k;
    }

    @Override
    public String name() {
        return "emae";
    }

    public int parts() {
        return emae.parts();
    }

    @Override
    public ComputationGraphConfiguration graph(IUpdater updater, double weightDecay, long seed, DataType dataType) {
        return MaeGraph.build(model, updater, weightDecay, seed, dataType, false,
                new EmaeLoss(model.tokens(), emae.parts(), emae.lambda(), emae.distance(), emae.stopGradient()));
    }

    /** [B] images → the MAE graph's MultiDataSet with B·K rows, one per (image, part). */
    @Override
    public MultiDataSet prepare(Batch batch) {
        SampleMask[][] plans = new SampleMask[batch.size()][];
        for (int i = 0; i < batch.size(); i++) {
            plans[i] = parallel.parts(model.gridSize(), model.gridSize(),
                    MaskSeeds.stream(batch.runSeed(), batch.epoch(), batch.keys()[i]));
        }
        return assemble(batch, plans);
    }

    /** K MAE passes with N/K visible tokens each, per image. */
    @Override
    public double trainFlopsPerImage() {
        return emae.parts() * Bench.maeFlopsPerImage(model, model.tokens() / emae.parts());
    }
}
