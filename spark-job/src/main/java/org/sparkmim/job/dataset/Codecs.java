package org.sparkmim.job.dataset;

/** Chooses the JPEG codec named by {@code mim.preprocess.codec}: auto, turbo or jvm. */
public final class Codecs {
    private static final JvmCodec JVM = new JvmCodec();
    private static final TurboCodec TURBO = new TurboCodec();

    private Codecs() { }

    /** The TwelveMonkeys codec: always present; handles CMYK/YCCK and is the final word on damaged files. */
    public static JpegCodec jvm() {
        return JVM;
    }

    /**
     * @param name auto (turbo when libturbojpeg loads, else jvm), turbo (fails when it does not load), or jvm
     */
    public static JpegCodec byName(String name) {
        switch (name) {
            case "jvm":
                return JVM;
            case "turbo":
                if (!TurboCodec.available()) {
                    throw new IllegalArgumentException("mim.preprocess.codec = turbo, but libturbojpeg cannot be loaded ("
                            + TurboCodec.unavailableReason() + "). Install it (Debian/Ubuntu: apt-get install libturbojpeg0)"
                            + " on every executor, or set mim.preprocess.codec = auto or jvm");
                }
                return TURBO;
            case "auto":
                return TurboCodec.available() ? TURBO : JVM;
            default:
                throw new IllegalArgumentException("mim.preprocess.codec = " + name + ": allowed auto, turbo, jvm");
        }
    }
}
