package org.sparkmim.model.report;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.data.ImageSet;
import org.sparkmim.model.eval.OnlineKnn;
import org.sparkmim.model.method.PixelReconstruction;
import org.sparkmim.model.train.EpochHook;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

/**
 * The standard epoch-end hooks of a pretraining run, from mim.eval.*: reconstruction grids, the mask pictures
 * (once), and online kNN on a held-out slice. Pretraining commands install these; the trainer stays generic.
 */
public final class RunHooks {
    private static final Logger LOG = LoggerFactory.getLogger(RunHooks.class);

    private RunHooks() { }

    /**
     * @param train the training images (first eval.online-bank are the kNN bank; the first eval.recon-images are drawn)
     * @param test  the held-out split for online kNN queries, or null to skip online kNN
     */
    public static List<EpochHook> standard(MimConfig cfg, ImageSet train, ImageSet test) {
        List<EpochHook> hooks = new ArrayList<>();
        var e = cfg.eval;
        if (e.reconEvery() > 0) {
            ImageSet shown = test != null ? test : train;
            hooks.add(new Pictures(shown.subset(0, Math.min(e.reconImages(), shown.count()))));
        }
        if (e.onlineKnnEvery() > 0) {
            if (test == null || !test.hasLabels() || !train.hasLabels()) {
                LOG.warn("eval.online-knn-every={} but no labelled held-out split is available: online kNN is off",
                        e.onlineKnnEvery());
            } else {
                hooks.add(new OnlineKnn(train.subset(0, Math.min(e.onlineBank(), train.count())),
                        test.subset(0, Math.min(e.onlineQueries(), test.count()))));
            }
        }
        return hooks;
    }

    /** recon/epoch-NNN.png every eval.recon-every epochs (final-step-S.png when the budget ends an epoch early), masks once. */
    static final class Pictures implements EpochHook {
        private final ImageSet images;

        Pictures(ImageSet images) {
            this.images = images;
        }

        @Override
        public void onEpochEnd(Context ctx) {
            if (!Files.isDirectory(ctx.runDir().resolve("masks"))) {
                MaskPictures.write(ctx.runDir(), ctx.cfg(), ctx.method().maskingOperators(), images, 8);
            }
            if (!ctx.due(ctx.cfg().eval.reconEvery()) || !(ctx.method() instanceof PixelReconstruction pr)) return;
            boolean partial = ctx.progress() != ctx.epoch();
            String name = partial ? String.format("final-step-%07d.png", ctx.step()) : String.format("epoch-%03d.png", ctx.epoch());
            ReconGrid.write(ctx.runDir().resolve("recon").resolve(name), ctx.cfg(), pr, ctx.graph(), images,
                    ctx.cfg().eval.reconImages(), ctx.epoch(), ctx.step());
        }

        @Override
        public String toString() {
            return "pictures";
        }
    }
}
