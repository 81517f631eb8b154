package org.sparkmim.job;

import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/**
 * The SparkSession of a command. Under spark-submit the master and settings come from spark-submit (the
 * {@code spark.*} system properties) and nothing here overrides them. Started by {@code bin/spark-mim} or a test,
 * the master is {@code --master} (default {@code local[*]}), bound to 127.0.0.1 so it needs no network name.
 *
 * <p>An already-running session (a test's, or an enclosing command's) is reused and left running by
 * {@link #close()}; a session this object created is stopped by it.
 */
public final class LocalSpark implements AutoCloseable {
    private final SparkSession spark;
    private final boolean owned;

    private LocalSpark(SparkSession spark, boolean owned) {
        this.spark = spark;
        this.owned = owned;
    }

    /** @param master e.g. local[*], local[2], spark://host:7077; null = spark-submit's, else local[*] */
    public static LocalSpark start(String appName, String master) {
        return start(appName, master, "local[*]");
    }

    /** @param localDefault the master when neither --master nor spark-submit gives one (pretrain: local[workers]) */
    public static LocalSpark start(String appName, String master, String localDefault) {
        for (scala.Option<SparkSession> o : java.util.List.of(SparkSession.getActiveSession(), SparkSession.getDefaultSession())) {
            // stop() leaves a thread's active session (and briefly the default one) pointing at the dead context
            if (o.isDefined() && !o.get().sparkContext().isStopped()) return new LocalSpark(o.get(), false);
        }
        SparkSession.clearActiveSession();
        SparkSession.clearDefaultSession();
        SparkConf conf = new SparkConf();   // picks up spark-submit's spark.* system properties
        String m = master != null ? master : conf.get("spark.master", localDefault);
        conf.setMaster(m).setAppName(conf.get("spark.app.name", appName))
                .setIfMissing("spark.serializer", "org.apache.spark.serializer.KryoSerializer")
                // ND4J arrays in RDDs (training, features) need ND4J's Kryo registrations
                .setIfMissing("spark.kryo.registrator", "org.nd4j.kryo.Nd4jRegistrator")
                // DL4J keeps its arrays off-heap; Spark's own defaults are sized for on-heap data
                .setIfMissing("spark.kryoserializer.buffer.max", "512m")
                // evaluate collects features to the driver: 70k x 784 pixel floats are ~220 MB
                .setIfMissing("spark.driver.maxResultSize", "2g");
        if (m.startsWith("local")) {
            conf.setIfMissing("spark.driver.host", "127.0.0.1").setIfMissing("spark.driver.bindAddress", "127.0.0.1")
                    .setIfMissing("spark.ui.enabled", "false").setIfMissing("spark.sql.shuffle.partitions", "8");
        }
        return new LocalSpark(SparkSession.builder().config(conf).getOrCreate(), true);
    }

    public SparkSession session() {
        return spark;
    }

    /** The same context for RDD code (DL4J's Spark training); closing this LocalSpark is what stops it. */
    public org.apache.spark.api.java.JavaSparkContext javaContext() {
        return org.apache.spark.api.java.JavaSparkContext.fromSparkContext(spark.sparkContext());
    }

    @Override
    public void close() {
        if (owned) spark.stop();
    }
}
