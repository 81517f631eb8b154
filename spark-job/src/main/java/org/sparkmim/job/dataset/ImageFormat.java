package org.sparkmim.job.dataset;

/**
 * The real format of a file, from its magic bytes. Extensions lie: ILSVRC2012 holds a PNG named .JPEG, and a
 * web-crawled set holds HTML error pages named .jpg.
 */
public enum ImageFormat {
    JPEG, PNG, GIF, BMP, TIFF, WEBP, UNKNOWN;

    public static ImageFormat sniff(byte[] b) {
        if (b.length >= 3 && (b[0] & 0xFF) == 0xFF && (b[1] & 0xFF) == 0xD8 && (b[2] & 0xFF) == 0xFF) return JPEG;
        if (startsWith(b, 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A)) return PNG;
        if (startsWith(b, 'G', 'I', 'F', '8')) return GIF;
        if (startsWith(b, 'B', 'M') && b.length >= 26) return BMP;
        if (startsWith(b, 'I', 'I', 42, 0) || startsWith(b, 'M', 'M', 0, 42)) return TIFF;
        if (startsWith(b, 'R', 'I', 'F', 'F') && b.length >= 12 && b[8] == 'W' && b[9] == 'E' && b[10] == 'B' && b[11] == 'P') {
            return WEBP;
        }
        return UNKNOWN;
    }

    /** The first bytes as hex, for "not an image" reasons (enough to tell HTML, gzip, a zero-filled block...). */
    public static String head(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(8, b.length); i++) sb.append(i == 0 ? "" : " ").append(String.format("%02x", b[i] & 0xFF));
        return sb.toString();
    }

    private static boolean startsWith(byte[] b, int... magic) {
        if (b.length < magic.length) return false;
        for (int i = 0; i < magic.length; i++) if ((b[i] & 0xFF) != magic[i]) return false;
        return true;
    }
}
