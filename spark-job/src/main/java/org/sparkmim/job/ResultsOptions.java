package org.sparkmim.job;

import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;

/** Where an experiment writes: --out (its runs and table) and --results / --no-results (the markdown log it appends to). */
public final class ResultsOptions {
    @Option(names = "--out", description = "Directory for the runs and the table (default runs/EXPERIMENT-TIMESTAMP).")
    Path out;

    @Option(names = "--results", description = "Markdown file the table is appended to (default docs/RESULTS.md of the install).")
    Path results;

    @Option(names = "--no-results", description = "Do not append to the results file.")
    boolean noResults;

    /** --out, or runs/NAME-yyyyMMdd-HHmmss; absolute. */
    Path dir(String name) {
        return (out != null ? out : Path.of("runs", name + "-"
                + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")))).toAbsolutePath();
    }

    /** The results file the table goes to, or null with --no-results. */
    Path resultsFile() {
        return noResults ? null : results != null ? results : Home.dir().resolve("docs").resolve("RESULTS.md");
    }

    /** Appends the markdown to the results file (unless --no-results); returns the file or null. */
    Path append(String markdown) {
        Path f = resultsFile();
        if (f == null) return null;
        org.sparkmim.model.report.CompareReport.appendTo(f, markdown);
        System.err.println("appended to " + f);
        return f;
    }
}
