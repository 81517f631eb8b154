package org.sparkmim.job;

import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.data.FashionMnist;
import org.sparkmim.model.data.ImageSet;
import org.sparkmim.model.report.ReportPage;
import org.sparkmim.model.report.RunHooks;
import org.sparkmim.model.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Map;
import java.util.concurrent.Callable;

/** Pretrain in this JVM (no Spark): the foundation path. The Spark job reuses the same MimMethod and config. */
@Command(name = "pretrain", mixinStandardHelpOptions = true,
        description = "Pretrain a MIM model in one JVM on Fashion-MNIST IDX data (bundled sample by default).")
public class PretrainCommand implements Callable<Integer> {
    @Mixin
    CommonOptions opts = new CommonOptions();

    protected String commandName() {
        return "pretrain";
    }

    protected String defaultPreset() {
        return null;
    }

    protected Map<String, String> defaults() {
        return Map.of();
    }

    @Override
    public Integer call() {
        MimConfig cfg = opts.resolve(defaultPreset(), defaults());
        System.err.println("resolved config (fingerprint " + cfg.fingerprint().substring(0, 12) + "):\n" + cfg.render());
        ImageSet train = FashionMnist.load(FashionMnist.locate(cfg.data.path()), "train");
        if (cfg.data.trainLimit() > 0 && cfg.data.trainLimit() < train.count()) train = train.subset(0, cfg.data.trainLimit());
        String name = cfg.run.name().isEmpty()
                ? cfg.method.name() + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"))
                : cfg.run.name();
        Path runDir = Path.of(cfg.run.dir()).resolve(name).toAbsolutePath();
        Trainer trainer = new Trainer(cfg, train, runDir);
        RunHooks.standard(cfg, train, heldOut(cfg)).forEach(trainer::onEpochEnd);
        Trainer.Result r = trainer.run();
        String report = report(r.runDir());
        System.err.printf("run directory: %s%nfinal loss: %.4f (first %.4f) after %d steps, %d epochs, %.1f img/s%n",
                r.runDir(), r.finalLoss(), r.firstLoss(), r.steps(), r.epochs(), r.imgPerSec());
        new Summary(commandName()).put("method", cfg.method.name()).put("run_dir", r.runDir().toString())
                .put("steps", r.steps()).put("epochs", r.epochs()).put("first_loss", round(r.firstLoss()))
                .put("final_loss", round(r.finalLoss())).put("img_per_s", round(r.imgPerSec()))
                .put("checkpoint", String.valueOf(r.checkpoint())).put("stopped_by_budget", r.stoppedByBudget())
                .put("report", report).print();
        return ExitCodes.OK;
    }

    /** report.html for the run; a failure here is reported but must not turn a finished training run into an error. */
    static String report(Path runDir) {
        try {
            return ReportPage.write(runDir).toString();
        } catch (RuntimeException e) {
            System.err.println("could not write the run report (the run itself is complete): " + e);
            return null;
        }
    }

    /** The labelled test split for online kNN and reconstruction pictures, or null when the data has none. */
    static ImageSet heldOut(MimConfig cfg) {
        try {
            return FashionMnist.load(FashionMnist.locate(cfg.data.path()), "test");
        } catch (IllegalArgumentException e) {
            System.err.println("no test split (" + e.getMessage() + "): online kNN is off");
            return null;
        }
    }

    static double round(double v) {
        return Math.round(v * 10000) / 10000.0;
    }
}
