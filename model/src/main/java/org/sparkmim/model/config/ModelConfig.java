package org.sparkmim.model.config;

import java.util.List;

/**
 * Backbone shape. {@code backbone} is vit (the default) or resnet. ViT presets: tiny (192×12, 3 heads, decoder
 * 128×2), small (128×6, 4 heads, decoder 64×2), base (ViT-B/16 768×12, 12 heads, decoder 512×8, 16 heads). Every
 * field can be overridden from config. The ResNet's shape is {@link #resnet}; image-size, channels and patch apply
 * to both (for the ResNet, patch is the side of one cell of its output grid: image-size / patch cells per side).
 */
public final class ModelConfig {
    public static final String VIT = "vit";
    public static final String RESNET = "resnet";

    /** vit | resnet (model.backbone). */
    public String backbone = VIT;
    public ResNetShape resnet = ResNetShape.DEFAULT;
    public int imageSize = 28;
    public int channels = 1;
    public int patch = 4;
    public int dim = 128;
    public int depth = 6;
    public int heads = 4;
    public int decoderDim = 64;
    public int decoderDepth = 2;
    public int decoderHeads = 4;

    public static ModelConfig preset(String name) {
        ModelConfig m = new ModelConfig();
        switch (name) {
            case "tiny" -> m.set(192, 12, 3, 128, 2, 4);
            case "small" -> m.set(128, 6, 4, 64, 2, 4);
            case "base" -> {
                m.set(768, 12, 12, 512, 8, 16);
                m.imageSize = 224;
                m.channels = 3;
                m.patch = 16;
            }
            default -> throw new IllegalArgumentException(
                    "model.size=" + name + " is not a preset; allowed: tiny, small, base (or set model.* keys)");
        }
        return m;
    }

    private void set(int dim, int depth, int heads, int decoderDim, int decoderDepth, int decoderHeads) {
        this.dim = dim;
        this.depth = depth;
        this.heads = heads;
        this.decoderDim = decoderDim;
        this.decoderDepth = decoderDepth;
        this.decoderHeads = decoderHeads;
    }

    /**
     * A ResNet (model.resnet.*): depth 18 or 34 (basic blocks) or 50 (bottleneck blocks); width = stage-1 channels
     * (stages w, 2w, 4w, 8w, times 4 at the output of a bottleneck); stem small (3×3 stride 1, no max-pool, for
     * 28–64 px) or imagenet (7×7 stride 2 + 3×3 max-pool stride 2); strides = the first block's stride per stage.
     */
    public record ResNetShape(int depth, int width, String stem, List<Integer> strides) {
        public static final ResNetShape DEFAULT = new ResNetShape(18, 64, "small", List.of(1, 2, 2, 1));

        public ResNetShape {
            strides = List.copyOf(strides);
        }

        /** Residual blocks per stage. */
        public int[] blocks() {
            return switch (depth) {
                case 18 -> new int[]{2, 2, 2, 2};
                case 34, 50 -> new int[]{3, 4, 6, 3};
                default -> throw new IllegalArgumentException("model.resnet.depth=" + depth + " is invalid: allowed 18, 34, 50");
            };
        }

        public boolean bottleneck() {
            return depth >= 50;
        }

        /** Output channels of stage i (0-based). */
        public int stageChannels(int i) {
            return (width << i) * (bottleneck() ? 4 : 1);
        }

        /** Downsampling of the stem: 1 (small) or 4 (imagenet: conv stride 2, max-pool stride 2). */
        public int stemStride() {
            return stem.equals("small") ? 1 : 4;
        }

        /** Side of the feature grid at the input of stage k (k = 4: the output of the last stage), for image side s. */
        public int gridBefore(int k, int s) {
            int g = stem.equals("small") ? s : conv(conv(s, 7, 2, 3), 3, 2, 1);
            for (int i = 0; i < k; i++) g = conv(g, 3, strides.get(i), 1);
            return g;
        }

        /** PyTorch's output side of a k×k window (conv or pool) with stride st and padding p (DL4J's Truncate mode). */
        public static int conv(int s, int k, int st, int p) {
            return (s + 2 * p - k) / st + 1;
        }

        @Override
        public String toString() {
            return "resnet" + depth + "(w" + width + "," + stem + " stem,strides " + strides + ")";
        }
    }

    public boolean isResNet() {
        return backbone.equals(RESNET);
    }

    public int gridSize() {
        return imageSize / patch;
    }

    public int tokens() {
        return gridSize() * gridSize();
    }

    /** P = p²·C values per patch. */
    public int patchDim() {
        return patch * patch * channels;
    }

    /** Checks cross-field rules; the message names the key and the allowed values. */
    public ModelConfig validate() {
        req(backbone.equals(VIT) || backbone.equals(RESNET), "model.backbone", backbone, "vit or resnet");
        req(imageSize > 0 && patch > 0 && imageSize % patch == 0, "model.image-size", imageSize,
                "a positive multiple of model.patch (" + patch + ")");
        req(channels == 1 || channels == 3, "model.channels", channels, "1 or 3");
        req(dim > 0 && heads > 0 && dim % heads == 0, "model.dim", dim, "divisible by model.heads (" + heads + ")");
        req(dim % 4 == 0, "model.dim", dim, "divisible by 4 (2-D sin-cos position code)");
        req(decoderDim > 0 && decoderHeads > 0 && decoderDim % decoderHeads == 0, "model.decoder-dim", decoderDim,
                "divisible by model.decoder-heads (" + decoderHeads + ")");
        req(decoderDim % 4 == 0, "model.decoder-dim", decoderDim, "divisible by 4 (2-D sin-cos position code)");
        req(depth >= 1, "model.depth", depth, ">= 1");
        req(decoderDepth >= 1, "model.decoder-depth", decoderDepth, ">= 1");
        if (isResNet()) validateResNet();
        return this;
    }

    private void validateResNet() {
        ResNetShape r = resnet;
        req(r.depth() == 18 || r.depth() == 34 || r.depth() == 50, "model.resnet.depth", r.depth(), "18, 34 or 50");
        req(r.width() >= 1, "model.resnet.width", r.width(), ">= 1");
        req(r.stem().equals("small") || r.stem().equals("imagenet"), "model.resnet.stem", r.stem(), "small or imagenet");
        req(r.strides().size() == 4 && r.strides().stream().allMatch(x -> x == 1 || x == 2), "model.resnet.strides",
                r.strides(), "4 values, each 1 or 2 (the first block's stride in each stage)");
        int out = r.gridBefore(4, imageSize);
        // the pixel head predicts one patch per cell of the last stage: its grid must be the token grid
        req(out == gridSize(), "model.resnet.strides", r.strides(), "strides whose output grid equals the token grid "
                + "model.image-size / model.patch = " + imageSize + " / " + patch + " = " + gridSize() + " per side; "
                + "these give " + out + " (the " + r.stem() + " stem divides by " + r.stemStride() + ", then each stride-2 "
                + "stage halves it)");
    }

    private static void req(boolean ok, String key, Object value, String allowed) {
        if (!ok) throw new IllegalArgumentException(key + "=" + value + " is invalid: must be " + allowed);
    }

    @Override
    public String toString() {
        if (isResNet()) return "ModelConfig{img=" + imageSize + "x" + channels + ",p=" + patch + "," + resnet + "}";
        return "ModelConfig{img=" + imageSize + "x" + channels + ",p=" + patch + ",D=" + dim + "x" + depth + "/h" + heads
                + ",dec=" + decoderDim + "x" + decoderDepth + "/h" + decoderHeads + "}";
    }
}
