package org.sparkmim.job;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparkmim.model.data.FashionMnist;
import org.sparkmim.model.data.ImageSet;
import org.sparkmim.model.eval.Encoders;
import org.sparkmim.model.method.PixelReconstruction;
import org.sparkmim.model.report.MaskPictures;
import org.sparkmim.model.report.ReconGrid;
import org.sparkmim.model.report.ReportPage;
import org.sparkmim.model.train.Checkpoints;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * Regenerates a run's report: curves from metrics.jsonl, the confusion matrix from eval.json, and, from the newest
 * checkpoint, a reconstruction grid and the mask pictures when the run has none for that step.
 */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = "Regenerate report.html (curves, confusion matrix, reconstructions, masks, config) for a run directory.")
public class ReportCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(ReportCommand.class);

    @Parameters(index = "0", description = "The run directory.")
    Path runDir;

    @Option(names = "--data", description = "Images to draw reconstructions of (IDX directory or 'system'; default: the run's data.path).")
    String data;

    @Override
    public Integer call() {
        if (!Files.isDirectory(runDir)) throw new IllegalArgumentException("run directory " + runDir + " does not exist");
        Path dir = runDir.toAbsolutePath();
        if (!Checkpoints.list(dir).isEmpty()) drawFromCheckpoint(dir);
        Path html = ReportPage.write(dir);
        System.err.println("report: " + html);
        new Summary("report").put("run_dir", dir.toString()).put("report", html.toString()).print();
        return ExitCodes.OK;
    }

    private void drawFromCheckpoint(Path dir) {
        Encoders.Loaded ck = Encoders.open(dir, null, java.util.Map.of());
        ImageSet images;
        try {
            images = FashionMnist.load(FashionMnist.locate(data != null ? data : ck.cfg().data.path()), "test");
        } catch (IllegalArgumentException e) {
            LOG.warn("no images to draw reconstructions with ({}); the report is built from the existing files", e.getMessage());
            return;
        }
        long step = Checkpoints.step(ck.checkpoint());
        int epoch = ((Number) ck.provenance().getOrDefault("epoch", 0)).intValue();
        if (!Files.isDirectory(dir.resolve("masks"))) {
            MaskPictures.write(dir, ck.cfg(), ck.method().maskingOperators(), images, 8);
        }
        Path png = dir.resolve("recon").resolve(String.format("final-step-%07d.png", step));
        if (ck.method() instanceof PixelReconstruction pr && !Files.exists(png) && !hasEpochGrid(dir, epoch)) {
            ReconGrid.write(png, ck.cfg(), pr, ck.graph(), images, ck.cfg().eval.reconImages(), epoch, step);
        }
    }

    private static boolean hasEpochGrid(Path dir, int epoch) {
        return Files.exists(dir.resolve("recon").resolve(String.format("epoch-%03d.png", epoch)));
    }
}
