package org.sparkmim.job.pretrain;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.train.Checkpoints;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checkpoints on any Hadoop filesystem (file://, hdfs://, s3a://) under {@code RUN/checkpoints/}.
 *
 * <p>Atomicity: the file is written locally, uploaded as {@code .ckpt-STEP.zip.tmp}, then renamed to
 * {@code ckpt-STEP.zip}. Readers only ever look at {@code ckpt-*.zip}, so a driver killed mid-write leaves at most
 * a stray temp file; the previous checkpoint is deleted only after the new one is in place (keep the last K).
 * Checkpoints are not trusted input: resume opens and validates them, skipping damaged ones, and refuses a
 * checkpoint whose architecture or method keys differ from the run's config (naming the keys).
 */
public final class FsCheckpoints {
    private static final Logger LOG = LoggerFactory.getLogger(FsCheckpoints.class);
    private static final Pattern NAME = Pattern.compile("ckpt-(\\d+)\\.zip");

    private final FileSystem fs;
    private final Path dir;
    private final long pauseBeforeRenameMs;

    public FsCheckpoints(String runDirUri, Configuration hadoop) {
        this(runDirUri, hadoop, 0);
    }

    /** @param pauseBeforeRenameMs fault injection (mim.debug.pause-in-checkpoint-ms): a window to kill the writer */
    public FsCheckpoints(String runDirUri, Configuration hadoop, long pauseBeforeRenameMs) {
        this.pauseBeforeRenameMs = pauseBeforeRenameMs;
        try {
            this.fs = FileSystem.get(URI.create(runDirUri), hadoop);
            this.dir = new Path(runDirUri, "checkpoints");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the filesystem of run directory " + runDirUri, e);
        }
    }

    public record Loaded(ComputationGraph graph, Map<String, Object> provenance, String uri) {
        long step() {
            return ((Number) provenance.get("step")).longValue();
        }

        int epoch() {
            return ((Number) provenance.get("epoch")).intValue();
        }

        int chunk() {
            return ((Number) provenance.getOrDefault("chunk", 0)).intValue();
        }
    }

    /** Write, then atomically publish, then prune to the newest {@code keep}. Returns the final URI. */
    public String save(ComputationGraph g, Checkpoints.Provenance p, Map<String, Object> extra, int keep) {
        java.nio.file.Path local = null;
        try {
            local = Files.createTempFile("mim-ckpt-", ".zip");
            Checkpoints.write(g, local, p, extra);
            fs.mkdirs(dir);
            Path tmp = new Path(dir, ".ckpt-" + p.step() + ".zip.tmp");
            Path fin = new Path(dir, "ckpt-" + p.step() + ".zip");
            fs.copyFromLocalFile(false, true, new Path(local.toUri()), tmp);
            if (pauseBeforeRenameMs > 0) pause(tmp);
            if (fs.exists(fin)) fs.delete(fin, false); // same step re-written after a resume: replace
            if (!fs.rename(tmp, fin)) throw new IOException("rename " + tmp + " -> " + fin + " failed");
            List<FileStatus> all = list();
            for (int i = keep; i < all.size(); i++) fs.delete(all.get(i).getPath(), false);
            return fin.toString();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write checkpoint under " + dir, e);
        } finally {
            if (local != null) local.toFile().delete();
        }
    }

    private void pause(Path tmp) {
        LOG.warn("mim.debug.pause-in-checkpoint-ms: pausing {} ms before publishing {}", pauseBeforeRenameMs, tmp);
        try {
            Thread.sleep(pauseBeforeRenameMs);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Published checkpoints, newest (highest step) first. */
    public List<FileStatus> list() throws IOException {
        if (!fs.exists(dir)) return List.of();
        List<FileStatus> out = new ArrayList<>();
        for (FileStatus f : fs.listStatus(dir)) if (NAME.matcher(f.getPath().getName()).matches()) out.add(f);
        out.sort(Comparator.comparingLong((FileStatus f) -> step(f.getPath())).reversed());
        return out;
    }

    static long step(Path p) {
        Matcher m = NAME.matcher(p.getName());
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    /**
     * The newest checkpoint that opens and belongs to this architecture + method, or null when there is none.
     *
     * @throws IllegalArgumentException when the newest readable checkpoint has different architecture/method keys
     */
    public Loaded latestValid(MimConfig cfg) {
        try {
            for (FileStatus f : list()) {
                java.nio.file.Path local = Files.createTempFile("mim-resume-", ".zip");
                try {
                    fs.copyToLocalFile(false, f.getPath(), new Path(local.toUri()), true);
                    Map<String, Object> prov;
                    try {
                        prov = Checkpoints.provenance(local);
                    } catch (IllegalArgumentException e) {
                        LOG.warn("skipping damaged checkpoint {}: {}", f.getPath(), e.getMessage());
                        continue;
                    }
                    String theirs = String.valueOf(prov.get("architecture_fingerprint"));
                    if (!theirs.equals(cfg.architectureFingerprint())) {
                        throw new IllegalArgumentException("checkpoint " + f.getPath() + " was made with different "
                                + "architecture/method keys; resume refused. Differing keys: "
                                + differingKeys(cfg, String.valueOf(prov.get("config")))
                                + ". Use a new run.name, or set mim.spark.resume = never with an empty run directory.");
                    }
                    ComputationGraph g;
                    try {
                        g = Checkpoints.load(local);
                    } catch (IllegalArgumentException e) {
                        LOG.warn("skipping damaged checkpoint {}: {}", f.getPath(), e.getMessage());
                        continue;
                    }
                    return new Loaded(g, prov, f.getPath().toString());
                } finally {
                    Files.deleteIfExists(local);
                }
            }
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read checkpoints under " + dir, e);
        }
    }

    /** "model.dim: 128 (checkpoint) vs 192 (this run)", over the keys that fix architecture and method. */
    static String differingKeys(MimConfig cfg, String theirConfigText) {
        Config theirs = ConfigFactory.parseString(theirConfigText);
        List<String> out = new ArrayList<>();
        for (String section : List.of("model", "method")) {
            Config a = cfg.tree().getConfig(section);
            Config b = theirs.hasPath(section) ? theirs.getConfig(section) : ConfigFactory.empty();
            TreeSet<String> keys = new TreeSet<>();
            a.entrySet().forEach(e -> keys.add(e.getKey()));
            b.entrySet().forEach(e -> keys.add(e.getKey()));
            for (String k : keys) {
                String va = a.hasPath(k) ? a.getValue(k).render() : "(absent)";
                String vb = b.hasPath(k) ? b.getValue(k).render() : "(absent)";
                if (!Objects.equals(va, vb)) out.add("mim." + section + "." + k + ": " + vb + " (checkpoint) vs " + va + " (this run)");
            }
        }
        return out.isEmpty() ? "(none found; the fingerprint scheme differs)" : String.join("; ", out);
    }
}
