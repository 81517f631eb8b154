package org.sparkmim.job.dataset;

/** Walks JPEG marker segments (no decoding): where the first scan starts, whether the file has an end. */
final class JpegMarkers {
    private JpegMarkers() { }

    /** Offset of the first SOS marker (0xFFDA), or -1 when the header ends before one. */
    static int firstScan(byte[] b) {
        int i = 2;
        while (i + 4 <= b.length && (b[i] & 0xFF) == 0xFF) {
            int marker = b[i + 1] & 0xFF;
            if (marker == 0xFF) {   // fill byte
                i++;
                continue;
            }
            if (marker == 0xDA) return i;
            if (marker == 0xD9) return -1;
            i += 2 + (((b[i + 2] & 0xFF) << 8) | (b[i + 3] & 0xFF));
        }
        return -1;
    }

    /**
     * True when an EOI marker (0xFFD9) follows the first scan. Inside entropy-coded data 0xFF is always stuffed
     * (FF 00) or a restart marker, so a file cut anywhere after its header has none. libjpeg decodes such a file
     * with a warning and grey fill, and TwelveMonkeys does not always surface that warning, so truncation is
     * checked here, the same way for every codec. Searching backwards finds the usual EOI-at-the-end at once.
     */
    static boolean complete(byte[] b) {
        int sos = firstScan(b);
        if (sos < 0) return false;
        for (int i = b.length - 2; i > sos; i--) {
            if ((b[i] & 0xFF) == 0xFF && (b[i + 1] & 0xFF) == 0xD9) return true;
        }
        return false;
    }

    /** True when an APP1 "Exif" segment precedes the first scan (most ImageNet JPEGs have none). */
    static boolean hasExif(byte[] b) {
        int i = 2;
        while (i + 4 <= b.length && (b[i] & 0xFF) == 0xFF) {
            int marker = b[i + 1] & 0xFF;
            if (marker == 0xDA || marker == 0xD9) return false;
            if (marker == 0xE1 && i + 10 <= b.length && b[i + 4] == 'E' && b[i + 5] == 'x' && b[i + 6] == 'i'
                    && b[i + 7] == 'f') {
                return true;
            }
            i += 2 + (((b[i + 2] & 0xFF) << 8) | (b[i + 3] & 0xFF));
        }
        return false;
    }
}
