package org.sparkmim.job.dataset;

import com.drew.imaging.jpeg.JpegMetadataReader;
import com.drew.metadata.Metadata;
import com.drew.metadata.exif.ExifIFD0Directory;
import com.drew.metadata.exif.ExifReader;

import java.io.ByteArrayInputStream;
import java.util.List;

/** EXIF orientation of a JPEG, read by metadata-extractor from the APP1 segment (no pixel decoding). */
final class Exif {
    private Exif() { }

    /**
     * The orientation tag (1..8), or 1 when absent or unreadable: a broken EXIF block must not cost the image,
     * since the pixels themselves are fine.
     */
    static int orientation(byte[] jpeg) {
        if (!JpegMarkers.hasExif(jpeg)) return 1;   // cheap: most ImageNet JPEGs have no EXIF
        try {
            Metadata m = JpegMetadataReader.readMetadata(new ByteArrayInputStream(jpeg), List.of(new ExifReader()));
            ExifIFD0Directory d = m.getFirstDirectoryOfType(ExifIFD0Directory.class);
            if (d == null || !d.containsTag(ExifIFD0Directory.TAG_ORIENTATION)) return 1;
            int o = d.getInt(ExifIFD0Directory.TAG_ORIENTATION);
            return o >= 1 && o <= 8 ? o : 1;
        } catch (Exception e) {
            return 1;
        }
    }
}
