package org.sparkmim.job.dataset;

import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Columns of a dataset shard (docs/ARCHITECTURE.md, "Dataset directory"). Readers select by name, so columns may be
 * added later without breaking them.
 */
public final class DatasetSchema {
    /** Path relative to the source root ({@code n01440764/x.JPEG}) or {@code split/index} for IDX. Unique. */
    public static final String KEY = "key";
    /** Class index (position in the manifest's sorted class list), -1 when unlabelled. */
    public static final String LABEL = "label";
    /** Class name (the directory name / synset / IDX class name); null when unlabelled. */
    public static final String CLASS_NAME = "class_name";
    /** Stored image width and height in pixels (after resize and EXIF rotation). */
    public static final String WIDTH = "width";
    public static final String HEIGHT = "height";
    /** Encoded image: JPEG (photos) or PNG (IDX, lossless grey). Decode with {@link ImageDecode}. */
    public static final String IMAGE = "image";
    /** train, val or test. */
    public static final String SPLIT = "split";
    /** Null when the source was a colour JPEG; else what it was converted from ("jpeg/cmyk", "jpeg/gray", "png"...). */
    public static final String CONVERTED_FROM = "converted_from";

    public static final StructType SCHEMA = new StructType(new StructField[]{
            DataTypes.createStructField(KEY, DataTypes.StringType, false),
            DataTypes.createStructField(LABEL, DataTypes.IntegerType, false),
            DataTypes.createStructField(CLASS_NAME, DataTypes.StringType, true),
            DataTypes.createStructField(WIDTH, DataTypes.IntegerType, false),
            DataTypes.createStructField(HEIGHT, DataTypes.IntegerType, false),
            DataTypes.createStructField(IMAGE, DataTypes.BinaryType, false),
            DataTypes.createStructField(SPLIT, DataTypes.StringType, false),
            DataTypes.createStructField(CONVERTED_FROM, DataTypes.StringType, true),
    });

    private DatasetSchema() { }
}
