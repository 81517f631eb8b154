package org.sparkmim.model.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The resolved, validated configuration of one run: typed, immutable views of the {@code mim} HOCON tree.
 *
 * <p>Resolution order: module reference.conf ← preset (conf/NAME.conf) ← --conf file ← --set key=value.
 * Every error names the key, the value, where it came from and what is allowed.
 */
public final class MimConfig {
    private final Config root;      // the resolved "mim" subtree
    public final ModelConfig model;
    public final MethodConfig method;
    public final OptimConfig optim;
    public final DataConfig data;
    public final RunConfig run;
    public final EvalConfig eval;
    public final FinetuneConfig finetune;

    /**
     * @param block block-masking shape (masking = block)
     * @param emae  EMAE parallel masks and self-consistency (name = emae)
     * @param sbam  SBAM saliency masking and AMR (name = sbam)
     * @param ropim ROPIM's count-sketch projection (name = ropim)
     * @param a2mim A2MIM's input block mask, mask token and losses (name = a2mim)
     */
    public record MethodConfig(String name, double maskRatio, String masking, boolean normPix, BlockConfig block,
                               EmaeConfig emae, SbamConfig sbam, RopimConfig ropim, A2mimConfig a2mim,
                               MapetConfig mapet) {
        /** MAE-only view with the reference defaults for the other methods' keys (tests, tools). */
        public MethodConfig(String name, double maskRatio, String masking, boolean normPix) {
            this(name, maskRatio, masking, normPix, BlockConfig.DEFAULT, EmaeConfig.DEFAULT, SbamConfig.DEFAULT,
                    RopimConfig.DEFAULT, A2mimConfig.DEFAULT, MapetConfig.DEFAULT);
        }

        public MethodConfig withName(String n) {
            return new MethodConfig(n, maskRatio, masking, normPix, block, emae, sbam, ropim, a2mim, mapet);
        }

        public MethodConfig withMaskRatio(double r) {
            return new MethodConfig(name, r, masking, normPix, block, emae, sbam, ropim, a2mim, mapet);
        }

        public MethodConfig withEmae(EmaeConfig e) {
            return new MethodConfig(name, maskRatio, masking, normPix, block, e, sbam, ropim, a2mim, mapet);
        }

        public MethodConfig withSbam(SbamConfig s) {
            return new MethodConfig(name, maskRatio, masking, normPix, block, emae, s, ropim, a2mim, mapet);
        }

        public MethodConfig withRopim(RopimConfig r) {
            return new MethodConfig(name, maskRatio, masking, normPix, block, emae, sbam, r, a2mim, mapet);
        }

        public MethodConfig withMapet(MapetConfig m) {
            return new MethodConfig(name, maskRatio, masking, normPix, block, emae, sbam, ropim, a2mim, m);
        }

        public MethodConfig withA2mim(A2mimConfig a) {
            return new MethodConfig(name, maskRatio, masking, normPix, block, emae, sbam, ropim, a, mapet);
        }
    }

    /**
     * A2MIM: fraction of input blocks masked, block side in pixels (0 = the default for the model, see
     * {@link #blockSize(ModelConfig)}), the frequency loss weight λ and focal exponent α, the unmasked pixels' share
     * w_u of the frequency-loss gradient, the spatial loss (l1 or focal-l1), the encoder block the mask token is
     * added before, and the mask token's γ init (0 = no γ: x + t·m).
     */
    public record A2mimConfig(double maskRatio, int blockSizePx, double freqWeight, double alpha, double unmaskWeight,
                              String spatialLoss, int maskLayer, double gammaInit) {
        /** The released ViT recipe. */
        public static final A2mimConfig DEFAULT = new A2mimConfig(0.6, 0, 0.1, 1.0, 0.0, "l1", 0, 0.0);
        /** The released ResNet-50 recipe: focal L1, λ 0.5, w_u 1e-3, mask token before the last stage, γ init 1e-6. */
        public static final A2mimConfig RESNET_DEFAULT = new A2mimConfig(0.6, 0, 0.5, 1.0, 1e-3, "focal-l1", 3, 1e-6);

        /**
         * The block side in pixels: the configured one, or the smallest multiple of model.patch that divides
         * model.image-size and is at least image-size / 7 (the released 32-px blocks on 224 px, a 7×7 block grid;
         * 4 px on 28 px at patch 4; 8 px on 32 px at patch 4).
         */
        public int blockSize(ModelConfig m) {
            if (blockSizePx > 0) return blockSizePx;
            for (int s = m.patch; s <= m.imageSize; s += m.patch) {
                if (m.imageSize % s == 0 && s * 7 >= m.imageSize) return s;
            }
            return m.imageSize;
        }
    }

    /**
     * MaPeT: the context's share of the patches (L = 1 + round(contextRatio·N)), the tokens directory that
     * {@code tokenize} wrote (empty = not set), and LayerScale's initial γ.
     */
    public record MapetConfig(double contextRatio, String tokens, double layerScale) {
        public static final MapetConfig DEFAULT = new MapetConfig(0.25, "", 0.1);
    }

    /**
     * ROPIM: sketch ratio d'/N of the count sketch along the token axis; projector exact (S(SᵀS)⁻¹Sᵀ, an orthogonal
     * projector) or released (the official code's 0.14·SSᵀ, not idempotent).
     */
    public record RopimConfig(double sketchRatio, String projector) {
        public static final RopimConfig DEFAULT = new RopimConfig(1.0 / 7, "exact");

        public boolean exact() {
            return projector.equals("exact");
        }
    }

    /** Block masking: block area in patches [minPatches, maxPatches] (−1 = N), aspect h/w in [minAspect, 1/minAspect]. */
    public record BlockConfig(int minPatches, int maxPatches, double minAspect) {
        public static final BlockConfig DEFAULT = new BlockConfig(4, -1, 0.3);
    }

    /**
     * EMAE: K parts, loss = L_rec + lambda · L_sc; distance mse (squared L2 per patch, / P) or cosine (1 − cos);
     * stopGradient puts sg() on the partner prediction.
     */
    public record EmaeConfig(int parts, double lambda, String distance, boolean stopGradient) {
        public static final EmaeConfig DEFAULT = new EmaeConfig(4, 1.0, "mse", true);
    }

    /**
     * SBAM + AMR: random masking for the first warmupEpochs; noise ~ U(0, noise); AMR on/off, mode per-sample
     * (padded, key-padding mask) or batch (one ratio per batch, released code); r_b = r_base − rVar + 2·rVar·share(s > delta).
     */
    public record SbamConfig(int warmupEpochs, double noise, boolean amr, String amrMode, double rVar, double delta) {
        public static final SbamConfig DEFAULT = new SbamConfig(0, 0.5, true, "per-sample", 0.1, 0.5);

        public boolean perSample() {
            return amr && amrMode.equals("per-sample");
        }
    }

    public record OptimConfig(double baseLr, double minLr, int batch, int epochs, double warmupEpochs,
                              double weightDecay, double beta1, double beta2, long steps) {
        /** MAE's rule: peak LR = base-lr · global batch / 256. */
        public double peakLr() {
            return baseLr * batch / 256.0;
        }

        /** Optimizer steps of the run (and of its cosine schedule): optim.steps when set, else epochs · steps/epoch. */
        public long totalSteps(long stepsPerEpoch) {
            return steps > 0 ? steps : (long) epochs * stepsPerEpoch;
        }

        /** Epochs the run enters: the last may be partial when optim.steps is not a multiple of steps/epoch. */
        public int epochsToRun(long stepsPerEpoch) {
            return (int) ((totalSteps(stepsPerEpoch) + stepsPerEpoch - 1) / stepsPerEpoch);
        }
    }

    public record DataConfig(String path, int trainLimit, double[] mean, double[] std, double cropScaleMin,
                             double flipProb) { }

    public record RunConfig(String dir, String name, long seed, int logEvery, double timeBudgetMinutes,
                            int checkpointEvery, int keepCheckpoints) { }

    /**
     * Frozen-feature evaluation (the evaluate job, online kNN during pretraining) and the run report's pictures.
     * onlineKnnEvery and reconEvery are in epochs; 0 turns them off.
     */
    public record EvalConfig(String feature, int lastK, int poolGrid, int knnK, double knnTemperature, int probeEpochs,
                             List<Double> probeLrs, int probeBatch, double probeWeightDecay, int extractBatch,
                             int onlineKnnEvery, int onlineBank, int onlineQueries, int reconEvery, int reconImages) {
        public org.sparkmim.model.method.FeatureSpec featureSpec() {
            return org.sparkmim.model.method.FeatureSpec.parse(feature, lastK, poolGrid);
        }
    }

    /**
     * The finetune job (method.name = finetune): where the encoder comes from, and MAE's fine-tuning recipe knobs.
     *
     * @param source      the pretraining checkpoint whose encoder initializes the model ("" = none)
     * @param fromScratch train from the random init of run.seed instead (the baseline)
     * @param layerDecay  layer-wise LR decay factor in (0, 1]
     * @param classes     classifier outputs (0 = not set; required >= 2 for method.name = finetune)
     * @param evalEvery   test-split top-1 every this many epochs (and at the end)
     */
    public record FinetuneConfig(String source, boolean fromScratch, double layerDecay, double labelSmoothing,
                                 String pool, int classes, int evalEvery) {
        public boolean cls() {
            return "cls".equals(pool);
        }
    }

    private MimConfig(Config full) {
        this.root = full.getConfig("mim");
        Config m = root.getConfig("model");
        ModelConfig mc = ModelConfig.preset(str(m, "size", List.of("tiny", "small", "base")));
        mc.imageSize = m.getInt("image-size");
        mc.channels = m.getInt("channels");
        mc.patch = m.getInt("patch");
        mc.dim = optInt(m, "dim", mc.dim);
        mc.depth = optInt(m, "depth", mc.depth);
        mc.heads = optInt(m, "heads", mc.heads);
        mc.decoderDim = optInt(m, "decoder-dim", mc.decoderDim);
        mc.decoderDepth = optInt(m, "decoder-depth", mc.decoderDepth);
        mc.decoderHeads = optInt(m, "decoder-heads", mc.decoderHeads);
        mc.backbone = str(m, "backbone", List.of(ModelConfig.VIT, ModelConfig.RESNET));
        Config rn = m.getConfig("resnet");
        List<Integer> strides;
        try {
            strides = rn.getIntList("strides");
        } catch (ConfigException.WrongType ex) {
            throw err(rn, "strides", rn.getValue("strides").render(), "a list of 4 strides, each 1 or 2, e.g. [1, 2, 2, 1]");
        }
        mc.resnet = new ModelConfig.ResNetShape(rn.getInt("depth"), rn.getInt("width"), rn.getString("stem"), strides);
        this.model = withOrigin(m, mc);
        boolean res = mc.isResNet();

        Config me = root.getConfig("method");
        BlockConfig block = new BlockConfig((int) range(me, "block.min-patches", 1, 1 << 20, ">= 1"),
                (int) range(me, "block.max-patches", -1, 1 << 20, "-1 (= N) or >= block.min-patches"),
                range(me, "block.min-aspect", 1e-6, 1, "in (0, 1]"));
        if (block.maxPatches() != -1 && block.maxPatches() < block.minPatches()) {
            throw err(me, "block.max-patches", block.maxPatches(), "-1 (= N) or >= mim.method.block.min-patches ("
                    + block.minPatches() + ")");
        }
        EmaeConfig emae = new EmaeConfig((int) range(me, "emae.parts", 2, 1 << 20, ">= 2"),
                range(me, "emae.lambda", 0, 1e6, ">= 0"), str(me, "emae.distance", List.of("mse", "cosine")),
                me.getBoolean("emae.stop-gradient"));
        SbamConfig sbam = new SbamConfig((int) range(me, "sbam.warmup-epochs", 0, 1e6, ">= 0"),
                range(me, "sbam.noise", 0, 1e6, ">= 0"), me.getBoolean("sbam.amr"),
                str(me, "sbam.amr-mode", List.of("per-sample", "batch")), range(me, "sbam.r-var", 0, 0.999, "in [0, 1)"),
                range(me, "sbam.delta", -1e6, 1e6, "a finite number (compared with saliency in [0, 1])"));
        RopimConfig ropim = new RopimConfig(range(me, "ropim.sketch-ratio", 1e-9, 1, "in (0, 1]"),
                str(me, "ropim.projector", List.of("exact", "released")));
        // null a2mim keys take the released recipe of the backbone: A2mimConfig.DEFAULT (ViT) or RESNET_DEFAULT
        A2mimConfig a2d = res ? A2mimConfig.RESNET_DEFAULT : A2mimConfig.DEFAULT;
        int lastLayer = res ? 3 : mc.depth - 1;
        A2mimConfig a2mim = new A2mimConfig(range(me, "a2mim.mask-ratio", 0.0, 0.999, "0 <= a2mim.mask-ratio < 1"),
                me.getIsNull("a2mim.block-size") ? 0 : (int) range(me, "a2mim.block-size", 1, 1 << 16,
                        "null or a positive multiple of model.patch that divides model.image-size"),
                me.getIsNull("a2mim.freq-weight") ? a2d.freqWeight() : range(me, "a2mim.freq-weight", 0, 1e6, ">= 0"),
                range(me, "a2mim.alpha", 0, 100, "in [0, 100]"),
                me.getIsNull("a2mim.unmask-weight") ? a2d.unmaskWeight() : range(me, "a2mim.unmask-weight", 0, 1, "in [0, 1]"),
                me.getIsNull("a2mim.spatial-loss") ? a2d.spatialLoss() : str(me, "a2mim.spatial-loss", List.of("l1", "focal-l1")),
                me.getIsNull("a2mim.mask-layer") ? a2d.maskLayer() : (int) range(me, "a2mim.mask-layer", 0, lastLayer,
                        res ? "in [0, 3] (the ResNet stage the mask token is added before; 3 = before the last stage)"
                                : "in [0, model.depth - 1 = " + lastLayer + "] (the encoder block the mask token is added before)"),
                me.getIsNull("a2mim.gamma-init") ? a2d.gammaInit() : range(me, "a2mim.gamma-init", 0, 1e6, ">= 0 (0 = no gamma)"));
        MapetConfig mapet = new MapetConfig(range(me, "mapet.context-ratio", 1e-6, 0.999999, "in (0, 1)"),
                me.getIsNull("mapet.tokens") ? "" : me.getString("mapet.tokens"),
                range(me, "mapet.layer-scale", 0, 1e6, ">= 0 (0 = no LayerScale)"));
        this.method = new MethodConfig(str(me, "name", List.of("mae", "emae", "sbam", "ropim", "a2mim", "mapet", "finetune")),
                range(me, "mask-ratio", 0.0, 0.999, "0 <= mask-ratio < 1"),
                str(me, "masking", List.of("random", "block")), me.getBoolean("norm-pix"), block, emae, sbam, ropim, a2mim, mapet);
        checkMethodFitsModel(me, method, mc);

        Config o = root.getConfig("optim");
        this.optim = new OptimConfig(range(o, "base-lr", 1e-12, 10, "> 0"), range(o, "min-lr", 0, 10, ">= 0"),
                (int) range(o, "batch", 1, 1 << 20, ">= 1"), (int) range(o, "epochs", 1, 1e6, ">= 1"),
                range(o, "warmup-epochs", 0, 1e6, ">= 0"), range(o, "weight-decay", 0, 10, ">= 0"),
                range(o, "beta1", 0, 0.999999, "in [0,1)"), range(o, "beta2", 0, 0.999999, "in [0,1)"),
                (long) range(o, "steps", 0, 1e12, ">= 0 (0 = optim.epochs decides)"));

        Config d = root.getConfig("data");
        double[] mean = d.getDoubleList("mean").stream().mapToDouble(Double::doubleValue).toArray();
        double[] std = d.getDoubleList("std").stream().mapToDouble(Double::doubleValue).toArray();
        if (mean.length != mc.channels || std.length != mc.channels) {
            throw err(d, "mean", mean.length + " values", "one value per channel (model.channels=" + mc.channels + ")");
        }
        this.data = new DataConfig(d.getString("path"), (int) range(d, "train-limit", 0, Integer.MAX_VALUE, ">= 0"),
                mean, std, d.getIsNull("crop-scale-min") ? defaultCropScaleMin(method.name(), mc.backbone)
                        : range(d, "crop-scale-min", 0.01, 1, "in [0.01, 1]"),
                d.getIsNull("flip-prob") ? (method.name().equals("mapet") ? 0.0 : 0.5) : range(d, "flip-prob", 0, 1, "in [0,1]"));
        if (method.name().equals("mapet") && (data.cropScaleMin() < 1 || data.flipProb() > 0)) {
            // the token ids were computed once per unaugmented image: a crop or a flip would move the pixels away
            // from their targets
            throw err(d, data.cropScaleMin() < 1 ? "crop-scale-min" : "flip-prob",
                    data.cropScaleMin() < 1 ? data.cropScaleMin() : data.flipProb(),
                    (data.cropScaleMin() < 1 ? "1 (or null)" : "0 (or null)") + " for method.name = mapet: its targets are "
                            + "token ids fixed per unaugmented image, so geometric augmentation is off");
        }

        Config r = root.getConfig("run");
        this.run = new RunConfig(r.getString("dir"), r.getString("name"), r.getLong("seed"),
                (int) range(r, "log-every", 1, 1e9, ">= 1"), range(r, "time-budget-minutes", 0, 1e7, ">= 0"),
                (int) range(r, "checkpoint-every", 0, 1e9, ">= 0"), (int) range(r, "keep-checkpoints", 1, 1000, ">= 1"));

        Config e = root.getConfig("eval");
        String feature = str(e, "feature", List.of("mean", "cls", "lastk"));
        // last-k only matters for feature = lastk; a shallow test model with the default 4 must still load
        int lastK = feature.equals("lastk") ? (int) range(e, "last-k", 1, mc.depth, "in [1, model.depth=" + mc.depth
                + "] for eval.feature = lastk") : (int) range(e, "last-k", 1, 1 << 20, ">= 1");
        int side = mc.gridSize();
        int poolGrid = (int) range(e, "pool-grid", 1, side, "in [1, " + side + "] (the token grid is model.image-size / model.patch = "
                + side + " per side)");
        if (res && !feature.equals("mean")) {
            throw err(e, "feature", feature, "mean with model.backbone = resnet (its feature is the global-average-pooled "
                    + "last stage, per pool-grid cell; a ResNet has no CLS token and no blocks of equal width for lastk)");
        }
        if (feature.equals("cls") && poolGrid != 1) {
            throw err(e, "pool-grid", poolGrid, "1 with eval.feature = cls (the CLS token has no position)");
        }
        this.eval = new EvalConfig(feature, lastK, poolGrid,
                (int) range(e, "knn-k", 1, 10000, "in [1, 10000]"), range(e, "knn-temperature", 1e-4, 100, "in [1e-4, 100]"),
                (int) range(e, "probe-epochs", 1, 10000, "in [1, 10000]"), lrs(e),
                (int) range(e, "probe-batch", 1, 1 << 20, ">= 1"), range(e, "probe-weight-decay", 0, 10, "in [0, 10]"),
                (int) range(e, "extract-batch", 1, 1 << 16, "in [1, 65536]"),
                (int) range(e, "online-knn-every", 0, 1e6, ">= 0 (0 = off)"),
                (int) range(e, "online-bank", 1, Integer.MAX_VALUE, ">= 1"),
                (int) range(e, "online-queries", 1, Integer.MAX_VALUE, ">= 1"),
                (int) range(e, "recon-every", 0, 1e6, ">= 0 (0 = off)"), (int) range(e, "recon-images", 1, 64, "in [1, 64]"));

        Config f = root.getConfig("finetune");
        this.finetune = new FinetuneConfig(f.getString("source"), f.getBoolean("from-scratch"),
                range(f, "layer-decay", 1e-6, 1, "in (0, 1] (1 = no layer-wise decay)"),
                range(f, "label-smoothing", 0, 0.999999, "in [0, 1)"), str(f, "pool", List.of("mean", "cls")),
                (int) range(f, "classes", 0, 1 << 20, "0 (not set) or >= 2"),
                (int) range(f, "eval-every", 1, 1e6, ">= 1"));
        if (method.name().equals("finetune")) {
            if (res && finetune.cls()) {
                throw err(f, "pool", finetune.pool(), "mean with model.backbone = resnet (a CNN has no CLS token; its "
                        + "classifier reads the global-average-pooled last stage)");
            }
            if (finetune.classes() < 2) {
                throw err(f, "classes", finetune.classes(), ">= 2 with method.name = finetune (the finetune job sets "
                        + "it from the dataset's classes)");
            }
            if (finetune.source().isEmpty() && !finetune.fromScratch()) {
                throw err(f, "source", "\"\"", "a pretraining checkpoint with method.name = finetune, unless "
                        + "mim.finetune.from-scratch = true");
            }
        }
    }

    /** eval.probe-lrs: a non-empty list of learning rates in [1e-8, 10]. */
    private static List<Double> lrs(Config e) {
        List<Double> v;
        try {
            v = List.copyOf(e.getDoubleList("probe-lrs"));
        } catch (ConfigException.WrongType ex) {
            throw err(e, "probe-lrs", e.getValue("probe-lrs").render(), "a list of numbers, e.g. [1e-3, 3e-3, 1e-2]");
        }
        if (v.isEmpty() || v.stream().anyMatch(x -> !(x >= 1e-8 && x <= 10))) {
            throw err(e, "probe-lrs", v, "a non-empty list of learning rates in [1e-8, 10]");
        }
        return v;
    }

    /** Methods that run on any backbone (model.backbone); the others need a ViT. */
    public static final List<String> BACKBONE_AGNOSTIC = List.of("a2mim", "finetune");

    /**
     * The recipe's RandomResizedCrop lower scale: ROPIM's and A2MIM-ViT's released configs use 0.67, A2MIM-ResNet's
     * 0.8, MAE and its relatives 0.2.
     */
    public static double defaultCropScaleMin(String method, String backbone) {
        if (method.equals("a2mim") && backbone.equals(ModelConfig.RESNET)) return 0.8;
        if (method.equals("mapet")) return 1.0;     // targets are fixed per image: no geometric augmentation
        return method.equals("ropim") || method.equals("a2mim") ? 0.67 : 0.2;
    }

    /** Cross-section rules between method and model: fail at load, naming the key, not mid-run. */
    private static void checkMethodFitsModel(Config me, MethodConfig m, ModelConfig mc) {
        int n = mc.tokens();
        if (mc.isResNet() && !BACKBONE_AGNOSTIC.contains(m.name())) {
            throw err(me, "name", m.name(), "a method that runs on model.backbone = resnet: one of " + BACKBONE_AGNOSTIC
                    + ". " + m.name() + " needs a ViT (it drops, sketches or pairs tokens of a Transformer encoder); "
                    + "set mim.model.backbone = vit, or mim.method.name = a2mim");
        }
        if (mc.isResNet() && m.name().equals("a2mim")) {
            int g = mc.resnet.gridBefore(m.a2mim().maskLayer(), mc.imageSize);
            if (g != mc.gridSize()) {
                throw err(me, "a2mim.mask-layer", m.a2mim().maskLayer(), "a stage whose input grid is the mask's token grid "
                        + "(model.image-size / model.patch = " + mc.gridSize() + " per side); before stage "
                        + m.a2mim().maskLayer() + " the grid is " + g + " with model.resnet.stem = " + mc.resnet.stem()
                        + " and model.resnet.strides = " + mc.resnet.strides() + " (stages from the mask token on must have stride 1)");
            }
        }
        if (m.name().equals("emae") && n % m.emae().parts() != 0) {
            List<Integer> ok = new java.util.ArrayList<>();
            for (int k = 2; k <= n; k++) if (n % k == 0) ok.add(k);
            throw err(me, "emae.parts", m.emae().parts(), "a divisor of the token count N = " + n + " (model.image-size "
                    + mc.imageSize + " / model.patch " + mc.patch + ", squared) so that every part keeps N/K tokens: one of "
                    + ok + "; or change model.patch (28 px: patch 7 gives N = 16, patch 2 gives N = 196)");
        }
        if (m.name().equals("a2mim")) {
            int s = m.a2mim().blockSize(mc);
            if (s % mc.patch != 0 || mc.imageSize % s != 0) {
                throw err(me, "a2mim.block-size", s, "a multiple of model.patch (" + mc.patch + ") that divides "
                        + "model.image-size (" + mc.imageSize + "), so the block mask is a token mask");
            }
            int blocks = (mc.imageSize / s) * (mc.imageSize / s);
            if (org.sparkmim.masking.BlockwiseMasking.maskedBlocks(blocks, m.a2mim().maskRatio()) >= blocks) {
                throw err(me, "a2mim.mask-ratio", m.a2mim().maskRatio(), "a ratio that leaves at least one of the "
                        + blocks + " blocks visible");
            }
        }
        if (m.name().equals("sbam") && m.sbam().amr()) {
            double lo = m.maskRatio() - m.sbam().rVar(), hi = m.maskRatio() + m.sbam().rVar();
            int keepHi = (int) Math.floor(n * (1 - lo) + 1e-9), keepLo = (int) Math.floor(n * (1 - hi) + 1e-9);
            if (lo < 0 || hi >= 1 || keepLo < 1 || keepHi >= n) {
                throw err(me, "sbam.r-var", m.sbam().rVar(), "a value such that mask-ratio ± r-var (" + m.maskRatio()
                        + " ± r-var) keeps between 1 and N−1 of N = " + n + " tokens; here it spans [" + lo + ", " + hi + "]");
            }
        }
    }

    /** Load: reference ← preset file (optional) ← conf file (optional) ← overrides ("key=value", keys under mim.). */
    public static MimConfig load(Path presetOrNull, Path confFileOrNull, Map<String, String> overrides) {
        Config c = userLayers(confFileOrNull, overrides);
        if (presetOrNull != null) c = c.withFallback(ConfigFactory.parseFile(presetOrNull.toFile()));
        c = c.withFallback(reference()).resolve();
        checkUnknownKeys(c);
        return new MimConfig(c);
    }

    /** --set overrides ← --conf file: the layers the user supplies on top of a preset or a stored config. */
    private static Config userLayers(Path confFileOrNull, Map<String, String> overrides) {
        Config c = ConfigFactory.empty();
        for (Map.Entry<String, String> e : overrides.entrySet()) {
            String key = e.getKey().startsWith("mim.") ? e.getKey() : "mim." + e.getKey();
            c = c.withFallback(ConfigFactory.parseString(key + " = " + quoteIfNeeded(e.getValue()),
                    com.typesafe.config.ConfigParseOptions.defaults().setOriginDescription("--set " + key)));
        }
        if (confFileOrNull != null) {
            if (!Files.isRegularFile(confFileOrNull)) {
                throw new IllegalArgumentException("--conf " + confFileOrNull + ": no such file");
            }
            // keys under mim { } or relative to it (a rendered config, like a run's config.conf, is relative);
            // relative keys used to be read at the root and so silently ignored
            Config f = ConfigFactory.parseFile(confFileOrNull.toFile());
            c = c.withFallback(f.hasPath("mim") ? f : f.atPath("mim"));
        }
        return c;
    }

    /**
     * The config stored in a checkpoint (the rendered mim tree, see {@link #render}) ← conf file (optional) ←
     * overrides. Keys missing from an older checkpoint fall back to this build's reference.conf.
     */
    public static MimConfig fromRendered(String rendered, String originDescription, Path confFileOrNull,
                                         Map<String, String> overrides) {
        return fromRendered(rendered, originDescription, null, confFileOrNull, overrides);
    }

    /** The same with a preset between the stored config and the user's layers (the finetune job's recipe). */
    public static MimConfig fromRendered(String rendered, String originDescription, Path presetOrNull, Path confFileOrNull,
                                         Map<String, String> overrides) {
        Config stored = ConfigFactory.parseString(rendered,
                com.typesafe.config.ConfigParseOptions.defaults().setOriginDescription(originDescription)).atPath("mim");
        Config c = userLayers(confFileOrNull, overrides);
        if (presetOrNull != null) c = c.withFallback(ConfigFactory.parseFile(presetOrNull.toFile()));
        c = c.withFallback(stored).withFallback(reference()).resolve();
        checkUnknownKeys(c);
        return new MimConfig(c);
    }

    /**
     * reference.conf under the JVM's system properties (Typesafe's defaultReference), without mim.home: bin/spark-mim
     * passes the install directory as -Dmim.home, which is where the tool lives, not a setting of the run. Kept, it
     * entered every rendered config and fingerprint (so they depended on the checkout's path) and a rendered config
     * failed to load in a JVM started without it (spark-submit: "unknown config key mim.home").
     */
    private static Config reference() {
        return ConfigFactory.defaultReference().withoutPath("mim.home");
    }

    public static MimConfig load(Map<String, String> overrides) {
        return load(null, null, overrides);
    }

    private static String quoteIfNeeded(String v) {
        if (v.matches("-?[0-9.eE+-]+|true|false|null|\\[.*\\]")) return v;
        return ConfigValueQuote.quote(v);
    }

    /** A typo in a key must not silently fall back to a default. */
    private static void checkUnknownKeys(Config c) {
        Config ref = reference();
        for (Map.Entry<String, ConfigValue> e : c.getConfig("mim").entrySet()) {
            String k = "mim." + e.getKey();
            if (!ref.hasPathOrNull(k)) {
                throw new IllegalArgumentException("unknown config key " + k + " (from " + e.getValue().origin().description()
                        + "); see model/src/main/resources/reference.conf for the allowed keys");
            }
        }
    }

    private ModelConfig withOrigin(Config m, ModelConfig mc) {
        try {
            return mc.validate();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage() + " (config origin: " + m.origin().description() + ")", e);
        }
    }

    private static int optInt(Config c, String key, int dflt) {
        return c.getIsNull(key) ? dflt : (int) range(c, key, 1, 1 << 20, ">= 1");
    }

    private static String str(Config c, String key, List<String> allowed) {
        String v = c.getString(key);
        if (!allowed.contains(v)) throw err(c, key, v, "one of " + allowed);
        return v;
    }

    private static double range(Config c, String key, double lo, double hi, String allowed) {
        double v;
        try {
            v = c.getDouble(key);
        } catch (ConfigException.WrongType e) {
            throw err(c, key, c.getValue(key).render(), "a number " + allowed);
        }
        if (!(v >= lo && v <= hi)) throw err(c, key, v, allowed);
        return v;
    }

    private static IllegalArgumentException err(Config c, String key, Object value, String allowed) {
        String where = c.hasPath(key) ? c.getValue(key).origin().description() : "?";
        String full = c.origin().description();
        return new IllegalArgumentException("config key " + keyPath(c, key) + " = " + value + " is invalid (from " + where
                + "): allowed " + allowed + (full.isEmpty() ? "" : ""));
    }

    private static String keyPath(Config c, String key) {
        // Config subtrees do not know their path; every caller passes a subtree of mim.<section>
        for (String s : List.of("model", "method", "optim", "data", "run", "eval", "finetune")) {
            // find which section holds this exact key (names are unique across sections)
            if (reference().hasPathOrNull("mim." + s + "." + key)) return "mim." + s + "." + key;
        }
        return key;
    }

    /** The resolved tree as HOCON/JSON text (stored in run dirs and checkpoints). */
    public String render() {
        return root.root().render(ConfigRenderOptions.concise().setFormatted(true));
    }

    /** SHA-256 over the canonical (sorted-key) resolved tree. */
    public String fingerprint() {
        return sha256(canonical(root, ""));
    }

    /** Fingerprint of the keys that fix the architecture and method; resume refuses a mismatch. */
    public String architectureFingerprint() {
        String a = canonical(root.getConfig("model"), "model.") + canonical(root.getConfig("method"), "method.");
        // a fine-tuned model's head (classes, pooling) and starting point are part of what it is; other methods'
        // fingerprints stay as they were, so their checkpoints still resume and evaluate
        if (method.name().equals("finetune")) a += canonical(root.getConfig("finetune").withoutPath("eval-every"), "finetune.");
        return sha256(a);
    }

    /** Sorted key=value lines for a subtree (used for fingerprints and for naming differing keys). */
    public static String canonical(Config c, String prefix) {
        TreeMap<String, String> m = new TreeMap<>();
        for (Map.Entry<String, ConfigValue> e : c.entrySet()) m.put(prefix + e.getKey(), e.getValue().render(ConfigRenderOptions.concise()));
        StringBuilder sb = new StringBuilder();
        m.forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
        return sb.toString();
    }

    public Config tree() {
        return root;
    }

    /** Hex SHA-256 of the UTF-8 text: config fingerprints (also preprocess's). */
    public static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Minimal HOCON string quoting for --set values. */
    static final class ConfigValueQuote {
        static String quote(String s) {
            return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
        }
    }
}
