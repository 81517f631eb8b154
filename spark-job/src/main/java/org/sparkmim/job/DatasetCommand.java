package org.sparkmim.job;

import org.apache.spark.sql.Row;
import org.sparkmim.job.dataset.ContactSheet;
import org.sparkmim.job.dataset.DatasetDir;
import org.sparkmim.job.dataset.DatasetSchema;
import org.sparkmim.job.dataset.Manifest;
import org.sparkmim.job.tokenize.ParquetTokenTable;
import org.sparkmim.job.tokenize.TokenizeJob;
import org.sparkmim.job.tokenize.TokensInspect;
import org.sparkmim.job.tokenize.TokensManifest;
import org.sparkmim.model.config.MimConfig;
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
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * bin/spark-mim dataset inspect DIR: for a dataset directory the manifest summary and a contact sheet; for a tokens
 * directory (written by tokenize) the row checks, code usage, and pictures of the codebook and of images rebuilt
 * from their tokens.
 */
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
                    + "print its summary and write a contact sheet PNG of sample images with their labels. On a tokens "
                    + "directory (from tokenize): check every row (one per image, N ids in [0, k)) and the codebook's "
                    + "SHA-256, print how the codes are used (dead codes, perplexity), and write the codebook (most used "
                    + "first, dead codes framed red) and source images beside their stored tokens.")
    public static class Inspect implements Callable<Integer> {
        @CommandLine.Mixin
        CommonOptions opts = new CommonOptions();

        @Parameters(index = "0", description = "Dataset directory URI.")
        String dir;

        @Option(names = "--sheet", description = "Contact sheet PNG to write (local path; default <dataset name>-contact.png "
                + "in the working directory). For a tokens directory: the codebook picture (default <name>-codebook.png; "
                + "the preview goes beside it as <name>-preview.png).")
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
                if (TokensInspect.isTokensDir(s.session().sparkContext().hadoopConfiguration(), dir)) return tokens(s);
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

        /** The tokens-directory counterpart of the contact sheet. Geometry and channels come from the tokens. */
        private int tokens(LocalSpark s) {
            var conf = s.session().sparkContext().hadoopConfiguration();
            TokensManifest m = ParquetTokenTable.manifest(conf, dir);
            int dim = TokenizeJob.readCodebook(conf, dir)[0].length, channels = dim / (m.patch() * m.patch());
            MimConfig cfg = opts.resolve(null, Map.of("method.name", "mapet", "model.image-size",
                    String.valueOf(m.imageSize()), "model.patch", String.valueOf(m.patch()), "model.channels",
                    String.valueOf(channels)));
            TokensInspect.Report r = TokensInspect.inspect(s.session(), dir, cfg, samples);
            int n = (m.imageSize() / m.patch()) * (m.imageSize() / m.patch());
            System.err.printf("tokens %s (from %s, created %s): k = %d, %d images x %d tokens (patch %d of %dx%d), "
                            + "fitted on %d patches in %.1f s, %d shards%n", dir, m.source(), m.created(), m.k(), m.images(),
                    n, m.patch(), m.imageSize(), m.imageSize(), m.sampledPatches(), m.fitSeconds(), m.shards().size());
            System.err.printf("rows %d (manifest %d), distinct keys %d, rows without %d ids %d; codebook SHA-256 %s%n",
                    r.rows(), m.images(), r.distinctKeys(), n, r.badLength(), r.codebookMatches() ? "matches" : "DIFFERS");
            System.err.printf("codes used %d of %d (dead %d); perplexity %.1f; the 10 most used carry %.1f%% of patches%n",
                    r.used(), m.k(), m.k() - r.used(), r.perplexity(), 100 * r.top10Share());
            String name = new org.apache.hadoop.fs.Path(dir).getName();
            Path codebook = sheet != null ? sheet : Path.of(name + "-codebook.png");
            Path abs = codebook.toAbsolutePath();
            Path preview = abs.resolveSibling(abs.getFileName().toString().replaceFirst("(-codebook)?\\.png$", "")
                    + "-preview.png");
            try {
                if (abs.getParent() != null) Files.createDirectories(abs.getParent());
                Files.write(abs, r.codebookPng());
                if (r.previewPng() != null) Files.write(preview, r.previewPng());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write " + codebook + ": " + e.getMessage(), e);
            }
            System.err.println("codebook: " + abs);
            if (r.previewPng() != null) {
                System.err.printf("preview: %s (%d images; stored tokens reproduced by the codebook for %d)%n", preview,
                        r.previewImages(), r.previewReproduced());
            } else {
                System.err.println(r.previewNote());
            }
            boolean ok = r.rows() == m.images() && r.distinctKeys() == m.images() && r.badLength() == 0
                    && r.codebookMatches();
            new Summary("dataset inspect").put("dir", dir).put("kind", "tokens").put("rows", r.rows())
                    .put("images", m.images()).put("distinct_keys", r.distinctKeys()).put("bad_length_rows", r.badLength())
                    .put("k", m.k()).put("codes_used", r.used()).put("perplexity", Math.round(r.perplexity() * 10) / 10.0)
                    .put("top10_share", Math.round(r.top10Share() * 1000) / 1000.0)
                    .put("codebook_sha256_matches", r.codebookMatches()).put("preview_images", r.previewImages())
                    .put("preview_reproduced", r.previewReproduced()).put("codebook_png", abs.toString())
                    .put("preview_png", r.previewPng() == null ? "" : preview.toString()).put("ok", ok).print();
            if (!ok) {
                throw new IllegalStateException("tokens " + dir + " fail the checks above (rows " + r.rows() + " for "
                        + m.images() + " images, " + r.distinctKeys() + " distinct keys, " + r.badLength()
                        + " rows of the wrong length, codebook " + (r.codebookMatches() ? "ok" : "differs from "
                        + TokensManifest.FILE + "'s SHA-256") + "): tokenize again");
            }
            return ExitCodes.OK;
        }
    }
}
