package org.sparkmim.model.eval;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.method.Methods;
import org.sparkmim.model.method.MimMethod;
import org.sparkmim.model.train.Checkpoints;
import org.sparkmim.model.train.Trainer;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * Loads the encoder to evaluate from a checkpoint, and builds its random-init twin. A checkpoint is not trusted
 * input: its provenance must parse, its config must validate, and its parameters must fit the architecture that
 * config describes.
 */
public final class Encoders {
    private Encoders() { }

    /** A checkpoint opened for evaluation. cfg = the checkpoint's config ← --conf ← --set (eval.* keys only). */
    public record Loaded(Path checkpoint, Path runDir, MimConfig cfg, MimMethod method, ComputationGraph graph,
                         Map<String, Object> provenance, String sha256) { }

    /**
     * A checkpoint file, or a run directory (its newest checkpoint). Overrides may change eval.* and data.* keys,
     * never the architecture: features of a graph rebuilt with different model.* keys would be meaningless.
     */
    public static Loaded open(Path checkpointOrRunDir, Path confOrNull, Map<String, String> overrides) {
        Path ckpt = resolve(checkpointOrRunDir);
        Map<String, Object> prov = Checkpoints.provenance(ckpt);
        Object stored = prov.get("config");
        if (!(stored instanceof String s) || s.isBlank()) {
            throw new IllegalArgumentException("checkpoint " + ckpt + " has no stored config in its provenance entry");
        }
        String origin = "config stored in " + ckpt;
        MimConfig asTrained = MimConfig.fromRendered(s, origin, null, Map.of());
        MimConfig cfg = MimConfig.fromRendered(s, origin, confOrNull, overrides);
        if (!cfg.architectureFingerprint().equals(asTrained.architectureFingerprint())) {
            throw new IllegalArgumentException("evaluate cannot change model.* or method.* keys of checkpoint " + ckpt
                    + " (the encoder's architecture is fixed by training); remove them from --set/--conf");
        }
        MimMethod method = Methods.create(cfg);
        ComputationGraph g = Checkpoints.load(ckpt);
        // params().length(), not numParams(): DL4J's numParams() counts only Layers (here just the pixel head)
        long expect = randomInit(cfg, method).params().length();
        if (g.params().length() != expect) {
            throw new IllegalArgumentException("checkpoint " + ckpt + " holds " + g.params().length() + " parameters but its config "
                    + cfg.model + " needs " + expect + ": damaged or not written by this method");
        }
        return new Loaded(ckpt, runDirOf(ckpt), cfg, method, g, prov, sha256(ckpt));
    }

    /**
     * The same architecture, initialized exactly as pretraining initializes it (same graph builder, same run seed),
     * i.e. this run's step-0 encoder. The updater does not enter the initial parameters.
     */
    public static ComputationGraph randomInit(MimConfig cfg, MimMethod method) {
        return Trainer.initialized(method.graph(new Adam(1e-3), cfg.optim.weightDecay(), cfg.run.seed(), DataType.FLOAT),
                cfg.run.seed());
    }

    /** A checkpoint file as is; a directory → its newest checkpoints/ckpt-STEP.zip. */
    public static Path resolve(Path p) {
        if (Files.isRegularFile(p)) return p;
        if (Files.isDirectory(p)) {
            List<Path> all = Checkpoints.list(p);
            if (all.isEmpty()) {
                throw new IllegalArgumentException("--checkpoint " + p + ": a directory without checkpoints/ckpt-STEP.zip "
                        + "(give a checkpoint file or a run directory)");
            }
            return all.get(0);
        }
        throw new IllegalArgumentException("--checkpoint " + p + ": no such file or directory");
    }

    /** RUN/checkpoints/ckpt-N.zip → RUN; a checkpoint elsewhere → its own directory. */
    public static Path runDirOf(Path ckpt) {
        Path parent = ckpt.toAbsolutePath().getParent();
        return parent.getFileName() != null && parent.getFileName().toString().equals("checkpoints")
                ? parent.getParent() : parent;
    }

    public static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int r; (r = in.read(buf)) > 0; ) md.update(buf, 0, r);
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
