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
 */
public record FeatureSpec(Pooling pooling, int lastBlocks) {
    public enum Pooling { MEAN, CLS, LASTK }

    public static final FeatureSpec MEAN = new FeatureSpec(Pooling.MEAN, 1);
    public static final FeatureSpec CLS = new FeatureSpec(Pooling.CLS, 1);

    public FeatureSpec {
        if (lastBlocks < 1) throw new IllegalArgumentException("eval.last-k=" + lastBlocks + " is invalid: must be >= 1");
        if (pooling != Pooling.LASTK) lastBlocks = 1;
    }

    /** "mean" | "cls" | "lastk" (k from eval.last-k). */
    public static FeatureSpec parse(String name, int lastK) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "mean" -> MEAN;
            case "cls" -> CLS;
            case "lastk" -> new FeatureSpec(Pooling.LASTK, lastK);
            default -> throw new IllegalArgumentException("eval.feature=" + name + " is invalid: allowed mean, cls, lastk");
        };
    }

    /** Short label for reports: mean, cls, last4. */
    public String label() {
        return pooling == Pooling.LASTK ? "last" + lastBlocks : pooling.name().toLowerCase(Locale.ROOT);
    }
}
