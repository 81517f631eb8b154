package org.sparkmim.model.method;

import java.util.Locale;

/**
 * Which frozen-encoder feature evaluation reads (config key eval.feature):
 * <ul>
 *   <li>{@code mean}: the final-norm tokens, mean-pooled over the N patch tokens (CLS excluded) → [B, D];</li>
 *   <li>{@code cls}: the final-norm CLS token → [B, D]. MAE never trains CLS through a loss, so it is usually weaker;</li>
 *   <li>{@code lastk}: mean-pooled patch tokens of each of the last k blocks, concatenated → [B, k·D]. Earlier blocks
 *   of an MAE encoder often carry more linearly separable features than the last one, which specializes in
 *   what the decoder needs.</li>
 * </ul>
 * {@code grid} (eval.pool-grid) = g: mean and lastk pool the patch tokens within each cell of a g×g grid over the
 * image instead of over the whole image, concatenating the cells → [B, g²·k·D]. Global mean pooling (g = 1) throws
 * away where things are; on small centred images such as Fashion-MNIST the layout is much of the class signal
 * (raw-pixel kNN is strong there), and a coarse grid keeps it.
 */
public record FeatureSpec(Pooling pooling, int lastBlocks, int grid) {
    public enum Pooling { MEAN, CLS, LASTK }

    public static final FeatureSpec MEAN = new FeatureSpec(Pooling.MEAN, 1, 1);
    public static final FeatureSpec CLS = new FeatureSpec(Pooling.CLS, 1, 1);

    public FeatureSpec {
        if (lastBlocks < 1) throw new IllegalArgumentException("eval.last-k=" + lastBlocks + " is invalid: must be >= 1");
        if (grid < 1) throw new IllegalArgumentException("eval.pool-grid=" + grid + " is invalid: must be >= 1");
        if (pooling == Pooling.CLS && grid != 1) {
            throw new IllegalArgumentException("eval.pool-grid=" + grid + " is invalid with eval.feature = cls: the CLS token has "
                    + "no position; allowed 1, or use feature mean or lastk");
        }
        if (pooling != Pooling.LASTK) lastBlocks = 1;
    }

    public FeatureSpec(Pooling pooling, int lastBlocks) {
        this(pooling, lastBlocks, 1);
    }

    /** "mean" | "cls" | "lastk" (k from eval.last-k), pooled over a grid × grid partition of the image. */
    public static FeatureSpec parse(String name, int lastK, int grid) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "mean" -> new FeatureSpec(Pooling.MEAN, 1, grid);
            case "cls" -> new FeatureSpec(Pooling.CLS, 1, grid);
            case "lastk" -> new FeatureSpec(Pooling.LASTK, lastK, grid);
            default -> throw new IllegalArgumentException("eval.feature=" + name + " is invalid: allowed mean, cls, lastk");
        };
    }

    public static FeatureSpec parse(String name, int lastK) {
        return parse(name, lastK, 1);
    }

    /** Short label for reports: mean, cls, last4, last3-grid2. */
    public String label() {
        String base = pooling == Pooling.LASTK ? "last" + lastBlocks : pooling.name().toLowerCase(Locale.ROOT);
        return grid == 1 ? base : base + "-grid" + grid;
    }

    /**
     * The grid cell of token t in a side × side token grid (row-major), for this spec's grid: cells split the rows
     * and columns as evenly as integer division allows.
     */
    public int cellOf(int t, int side) {
        int r = t / side, c = t % side;
        return (r * grid / side) * grid + c * grid / side;
    }
}
