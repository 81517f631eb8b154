package org.sparkmim.job;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * One launcher for every job: {@code bin/spark-mim <command>} locally, or the same main class under
 * spark-submit. Each command ends by printing a one-line JSON summary on stdout; the exit code tells schedulers
 * what happened (see {@link ExitCodes}).
 */
@Command(name = "spark-mim", mixinStandardHelpOptions = true, version = "spark-mim 0.1.0",
        description = "Masked image modeling pretraining on Spark + DL4J.",
        subcommands = {DemoCommand.class, PretrainCommand.class, BenchCommand.class, PreprocessCommand.class,
                BenchPreprocessCommand.class, DatasetCommand.class, EvaluateCommand.class, ReportCommand.class,
                RunsCommand.class, ExperimentCommand.class, TokenizeCommand.class, ExportCommand.class, FinetuneCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing command");
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            int code = ExitCodes.of(ex);
            System.err.println("spark-mim " + commandLine.getCommandName() + ": " + ex.getMessage());
            if (code == ExitCodes.INTERNAL) ex.printStackTrace(System.err);
            return code;
        });
        cl.setExitCodeExceptionMapper(ExitCodes::of);
        return cl.execute(args);
    }
}
