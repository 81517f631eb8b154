package org.sparkmim.job;

import org.sparkmim.model.train.Trainer;
import picocli.CommandLine;

/** Distinct, documented exit codes (README "Exit codes"), so a scheduler can tell retry from fix-the-config. */
public final class ExitCodes {
    public static final int OK = 0;
    public static final int INTERNAL = 1;
    /** Bad command line or configuration value: fix the job definition, do not retry. */
    public static final int CONFIG = 2;
    /** Missing or unreadable input data. */
    public static final int DATA = 3;
    /** Training diverged (non-finite loss); the last good checkpoint is kept. */
    public static final int DIVERGED = 4;

    private ExitCodes() { }

    public static int of(Throwable e) {
        if (e instanceof CommandLine.ParameterException) return CONFIG;
        if (e instanceof org.sparkmim.job.dataset.DatasetException) return DATA;
        if (e instanceof Trainer.NonFiniteLossException) return DIVERGED;
        if (e instanceof java.io.UncheckedIOException || e instanceof java.nio.file.NoSuchFileException) return DATA;
        if (e instanceof IllegalArgumentException) {
            String m = String.valueOf(e.getMessage());
            return m.contains("data.path") || m.contains("IDX") || m.contains("truncated") ? DATA : CONFIG;
        }
        return INTERNAL;
    }
}
