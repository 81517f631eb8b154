package org.sparkmim.model.eval;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The raw-pixel floor: an image's H·W·C pixels in [0,1] are its feature ([B, H·W·C]). */
public final class PixelEncoder implements FeatureEncoder {
    public static final String NAME = "pixels";

    @Override
    public INDArray encode(float[] images01, int count, int h, int w, int c, String[] keys) {
        return Nd4j.create(images01.clone(), new long[]{count, (long) h * w * c});
    }

    @Override
    public String name() {
        return NAME;
    }
}
