package org.sparkmim.job.eval;

import java.io.Serializable;

/**
 * One decoded image as it travels through the evaluate job: its position in the split (features are put back in
 * this order on the driver), its class, and its pixels as unsigned bytes, HWC.
 */
public record LabelledImage(int index, int label, int height, int width, int channels, byte[] pixels) implements Serializable {
    public LabelledImage {
        if (pixels.length != height * width * channels) {
            throw new IllegalArgumentException("image " + index + ": " + pixels.length + " bytes for " + height + "x" + width
                    + "x" + channels);
        }
    }
}
