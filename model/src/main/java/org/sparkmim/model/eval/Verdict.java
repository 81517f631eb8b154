package org.sparkmim.model.eval;

import java.util.Locale;

/**
 * Whether pretraining did anything useful. The bar is the same architecture at its initialization: a random
 * transformer is already a decent feature extractor on small images, so "better than chance" proves nothing.
 * A pretrained encoder that does not beat its random-init twin on both kNN and the linear probe is a FAILED run.
 * The raw-pixel floor is reported alongside, as the bar a useful representation should clear.
 */
public record Verdict(boolean passed, boolean beatsPixels, String message) {

    public static Verdict judge(Scores encoder, Scores randomInit, Scores pixels) {
        double dk = encoder.knnTop1() - randomInit.knnTop1(), dp = encoder.probeTop1() - randomInit.probeTop1();
        boolean passed = dk > 0 && dp > 0;
        boolean beatsPixels = pixels != null && encoder.knnTop1() > pixels.knnTop1() && encoder.probeTop1() > pixels.probeTop1();
        String vsRandom = String.format(Locale.ROOT, "kNN %+.2f, probe %+.2f points vs random init", 100 * dk, 100 * dp);
        String vsPixels = pixels == null ? "" : String.format(Locale.ROOT, "; kNN %+.2f, probe %+.2f points vs raw pixels",
                100 * (encoder.knnTop1() - pixels.knnTop1()), 100 * (encoder.probeTop1() - pixels.probeTop1()));
        String head = passed ? "PASS: the pretrained encoder beats its random-init floor"
                : "FAILED: the pretrained encoder does not beat its random-init floor on "
                + (dk <= 0 && dp <= 0 ? "kNN or the linear probe" : dk <= 0 ? "kNN" : "the linear probe");
        return new Verdict(passed, beatsPixels, head + " (" + vsRandom + vsPixels + ")");
    }

    public String label() {
        return passed ? "PASS" : "FAILED";
    }
}
