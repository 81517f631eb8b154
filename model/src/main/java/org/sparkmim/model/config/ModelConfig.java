package org.sparkmim.model.config;

/**
 * Backbone shape. Presets: tiny (ViT 192×12, 3 heads, decoder 128×2), small (128×6, 4 heads, decoder 64×2),
 * base (ViT-B/16 768×12, 12 heads, decoder 512×8, 16 heads). Every field can be overridden from config.
 */
public final class ModelConfig {
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
        return this;
    }

    private static void req(boolean ok, String key, Object value, String allowed) {
        if (!ok) throw new IllegalArgumentException(key + "=" + value + " is invalid: must be " + allowed);
    }

    @Override
    public String toString() {
        return "ModelConfig{img=" + imageSize + "x" + channels + ",p=" + patch + ",D=" + dim + "x" + depth + "/h" + heads
                + ",dec=" + decoderDim + "x" + decoderDepth + "/h" + decoderHeads + "}";
    }
}
