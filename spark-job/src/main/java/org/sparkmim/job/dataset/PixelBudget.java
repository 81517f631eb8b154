package org.sparkmim.job.dataset;

/** The pixel budget (mim.preprocess.max-pixels), applied to header dimensions before any pixel is decoded. */
final class PixelBudget {
    private PixelBudget() { }

    static void check(int w, int h, long maxPixels) throws BadImageException {
        if (w <= 0 || h <= 0) throw new BadImageException("header declares an empty image (" + w + "x" + h + ")");
        long px = (long) w * h;
        if (px > maxPixels) {
            throw new BadImageException("header declares " + w + "x" + h + " = " + px + " pixels, over the budget "
                    + "mim.preprocess.max-pixels = " + maxPixels + " (rejected before decoding)");
        }
    }
}
