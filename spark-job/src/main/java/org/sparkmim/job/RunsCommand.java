package org.sparkmim.job;

import org.sparkmim.model.report.RunSummary;
import org.sparkmim.model.report.RunsCompare;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** Commands over several run directories. */
@Command(name = "runs", mixinStandardHelpOptions = true, description = "Work with run directories.",
        subcommands = {RunsCommand.Compare.class})
public class RunsCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (compare)");
    }

    @Command(name = "compare", mixinStandardHelpOptions = true,
            description = "Print a table of runs (config, progress, evaluation) and draw their loss and kNN curves in one plot.")
    public static class Compare implements Callable<Integer> {
        @Parameters(arity = "1..*", description = "Run directories.")
        List<Path> dirs;

        @Option(names = "--out", description = "Plot file (default: compare.png next to the first run).")
        Path out;

        @Override
        public Integer call() {
            List<RunSummary> runs = RunsCompare.read(dirs.stream().map(Path::toAbsolutePath).toList());
            System.out.print(RunsCompare.table(runs));
            Path png = out != null ? out : dirs.get(0).toAbsolutePath().getParent().resolve("compare.png");
            RunsCompare.plot(runs, png);
            System.err.println("plot: " + png);
            List<Map<String, Object>> rows = new ArrayList<>();
            for (RunSummary r : runs) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("run_dir", r.dir().toString());
                m.put("method", r.method());
                m.put("steps", r.steps());
                m.put("final_loss", finite(r.finalLoss()));
                m.put("knn_top1", finite(r.knnTop1()));
                m.put("probe_top1", finite(r.probeTop1()));
                m.put("verdict", r.verdict());
                rows.add(m);
            }
            new Summary("runs compare").put("runs", rows).put("plot", png.toString()).print();
            return ExitCodes.OK;
        }

        private static Object finite(double v) {
            return Double.isFinite(v) ? v : null;
        }
    }
}
