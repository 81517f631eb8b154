package org.sparkmim.job;

import org.apache.spark.sql.Row;
import org.sparkmim.job.dataset.ContactSheet;
import org.sparkmim.job.dataset.DatasetDir;
import org.sparkmim.job.dataset.DatasetSchema;
import org.sparkmim.job.dataset.Manifest;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import javax.imageio.ImageIO;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** bin/spark-mim dataset inspect DIR: the manifest summary and a contact sheet. */
@Command(name = "dataset", mixinStandardHelpOptions = true, description = "Dataset directory tools.",
        subcommands = {DatasetCommand.Inspect.class})
public class DatasetCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (inspect)");
    }

    @Command(name = "inspect", mixinStandardHelpOptions = true,
            description = "Check a dataset directory (manifest, shard sizes, and with --verify every shard's SHA-256), "
                    + "print its summary and write a contact sheet PNG of sample images with their labels.")
    public static class Inspect implements Callable<Integer> {
        @Parameters(index = "0", description = "Dataset directory URI.")
        String dir;

        @Option(names = "--sheet", description = "Contact sheet PNG to write (local path; default <dataset name>-contact.png in the working directory).")
        Path sheet;

        @Option(names = "--samples", defaultValue = "48", description = "Images on the contact sheet (default ${DEFAULT-VALUE}).")
        int samples;

        @Option(names = "--columns", defaultValue = "8", description = "Contact sheet columns (default ${DEFAULT-VALUE}).")
        int columns;

        @Option(names = "--verify", description = "Also hash every shard and compare with the manifest (reads all data).")
        boolean verify;

        @Option(names = "--master", description = "Spark master when not under spark-submit (default local[*]).")
        String master;

        @Override
        public Integer call() {
            try (LocalSpark s = LocalSpark.start("spark-mim dataset inspect", master)) {
                DatasetDir ds = DatasetDir.open(s.session(), dir);
                if (verify) ds.verify(s.session());
                Manifest m = ds.manifest();
                Manifest.Counts c = m.counts();
                System.err.printf("dataset %s (%s source %s, created %s, codec %s, config %s)%n", dir, m.kind(), m.source(),
                        m.created(), m.codec(), m.configFingerprint().substring(0, 12));
                System.err.printf("rows %d in %d shards; splits %s; listed %d = accepted %d + rejected %d + skipped %d; "
                        + "converted %d %s%n", m.rows(), m.shards().size(), m.splits(), c.listed(), c.accepted(),
                        c.rejected(), c.skipped(), c.converted(), m.convertedFrom());
                System.err.printf("%d classes%s%n", m.classes().size(), m.classes().isEmpty() ? " (unlabelled)" : ": "
                        + String.join(", ", m.classes().subList(0, Math.min(10, m.classes().size())))
                        + (m.classes().size() > 10 ? ", …" : ""));
                List<ContactSheet.Tile> tiles = new ArrayList<>();
                for (Row r : ds.rows(s.session()).select(DatasetSchema.IMAGE, DatasetSchema.LABEL, DatasetSchema.CLASS_NAME)
                        .limit(samples).collectAsList()) {
                    int label = r.getInt(1);
                    String cap = label < 0 ? "unlabelled" : label + " " + (r.isNullAt(2) ? "" : r.getString(2));
                    tiles.add(new ContactSheet.Tile(r.getAs(0), cap));
                }
                Path out = sheet != null ? sheet : Path.of(new org.apache.hadoop.fs.Path(dir).getName() + "-contact.png");
                try {
                    if (out.toAbsolutePath().getParent() != null) Files.createDirectories(out.toAbsolutePath().getParent());
                    ImageIO.write(ContactSheet.render(tiles, Math.max(1, columns), 96), "png", out.toFile());
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot write contact sheet " + out, e);
                }
                System.err.println("contact sheet: " + out.toAbsolutePath() + " (" + tiles.size() + " images)");
                new Summary("dataset inspect").put("dir", dir).put("rows", m.rows()).put("shards", m.shards().size())
                        .put("classes", m.classes().size()).put("accepted", c.accepted()).put("rejected", c.rejected())
                        .put("skipped", c.skipped()).put("converted", c.converted()).put("verified", verify)
                        .put("contact_sheet", out.toAbsolutePath().toString()).print();
            }
            return ExitCodes.OK;
        }
    }
}
