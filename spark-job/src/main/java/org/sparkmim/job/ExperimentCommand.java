package org.sparkmim.job;

import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.data.FashionMnist;
import org.sparkmim.model.data.ImageSet;
import org.sparkmim.model.experiment.Claims;
import org.sparkmim.model.experiment.Compare;
import org.sparkmim.model.report.CompareReport;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.LocalDate;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** Experiments over several runs. */
@Command(name = "experiment", mixinStandardHelpOptions = true, description = "Experiments over several pretraining runs.",
        subcommands = {ExperimentCommand.CompareMethods.class, ExperimentEngines.class})
public class ExperimentCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (compare, engines)");
    }

    @Command(name = "compare", mixinStandardHelpOptions = true,
            description = "Pretrain each method (and a mask-ratio sweep) in this JVM under the same wall-time budget, each "
                    + "with its LR schedule fitted to the budget, then score kNN + linear probe on frozen features and "
                    + "kNN against training time; writes compare.json/.md/.png and appends the table to docs/RESULTS.md.")
    public static class CompareMethods implements Callable<Integer> {
        @Mixin
        CommonOptions opts = new CommonOptions();

        @Option(names = "--methods", split = ",", defaultValue = "mae,emae,sbam,block",
                description = "Methods at --ratio: mae, block (MAE with block masking), emae, sbam; ropim, a2mim and mapet (predicted share 0.75; needs --set method.mapet.tokens=DIR) run at their own ratios. With --set model.backbone=resnet only a2mim fits (default ${DEFAULT-VALUE}).")
        List<String> methods;

        @Option(names = "--ratio", defaultValue = "0.75", description = "Mask ratio of the --methods runs (default ${DEFAULT-VALUE}).")
        double ratio;

        @Option(names = "--sweep", split = ",", defaultValue = "mae,sbam",
                description = "Methods also run at every --ratios value (default ${DEFAULT-VALUE}; empty = no sweep).")
        List<String> sweep;

        @Option(names = "--ratios", split = ",", defaultValue = "0.6,0.75,0.9", description = "Sweep ratios (default ${DEFAULT-VALUE}).")
        List<Double> ratios;

        @Option(names = "--budget-minutes", defaultValue = "5", description = "Training wall time per run (default ${DEFAULT-VALUE}).")
        double budgetMinutes;

        @Option(names = "--curve-points", defaultValue = "4",
                description = "Checkpoints per run scored by kNN for the time-to-accuracy curve (default ${DEFAULT-VALUE}).")
        int curvePoints;

        @Option(names = "--curve-bank", defaultValue = "2000", description = "Train images in the curve's kNN bank (default ${DEFAULT-VALUE}).")
        int curveBank;

        @Option(names = "--curve-queries", defaultValue = "1000", description = "Test images queried by the curve's kNN (default ${DEFAULT-VALUE}).")
        int curveQueries;

        @Option(names = "--eval-train", defaultValue = "10000",
                description = "Train images for the final kNN bank and probe (0 = all; default ${DEFAULT-VALUE}: feature "
                        + "extraction of MAE-small runs at ~200 img/s on 2 cores, so the full 70k would cost 6 min per run).")
        int evalTrain;

        @Option(names = "--eval-test", defaultValue = "5000", description = "Test images scored at the end (0 = all; default ${DEFAULT-VALUE}).")
        int evalTest;

        @Mixin
        ResultsOptions output = new ResultsOptions();

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            long t0 = System.nanoTime();
            List<String> sw = sweep.stream().filter(s -> !s.isBlank()).toList();
            List<Compare.Variant> plan = Compare.plan(methods, ratio, sw, ratios);
            Path dir = output.dir("compare");
            Path presetPath = CommonOptions.presetPath(opts.preset != null ? opts.preset : "compare");
            // the variant's keys win over --set: a compare run is defined by its method and mask ratio
            java.util.function.Function<Map<String, String>, MimConfig> configFor = extra -> {
                Map<String, String> all = new LinkedHashMap<>(opts.set);
                all.putAll(extra);
                return MimConfig.load(presetPath, opts.conf, all);
            };
            MimConfig base = configFor.apply(Compare.sharedKeys(plan));
            Path data = FashionMnist.locate(base.data.path());
            ImageSet train = FashionMnist.load(data, "train"), test = FashionMnist.load(data, "test");
            if (base.data.trainLimit() > 0 && base.data.trainLimit() < train.count()) train = train.subset(0, base.data.trainLimit());
            System.err.printf("experiment compare: %d runs (%s), %.1f min each, output %s%n", plan.size(),
                    String.join(", ", plan.stream().map(Compare.Variant::label).toList()), budgetMinutes, dir);
            Compare.Result r = Compare.run(plan, configFor, train, test, dir,
                    new Compare.Options(budgetMinutes, curvePoints, curveBank, curveQueries, evalTrain, evalTest));
            Claims claims = Claims.judge(r);
            String command = "bin/spark-mim " + String.join(" ", spec.commandLine().getParseResult().originalArgs());
            String md = CompareReport.write(dir, r, claims, command, LocalDate.now().toString());
            System.out.print(md);
            Path resultsFile = output.append(md);
            new Summary("experiment compare").put("dir", dir.toString()).put("table", dir.resolve("compare.md").toString())
                    .put("plot", dir.resolve("compare.png").toString()).put("runs", plan.size())
                    .put("emae_claim", claims.emae()).put("sbam_claim", claims.sbam())
                    .put("ropim_claim", claims.ropim())
                    .put("results", resultsFile == null ? null : resultsFile.toString())
                    .put("elapsed_s", PretrainCommand.round((System.nanoTime() - t0) / 1e9)).print();
            return ExitCodes.OK;
        }
    }
}
