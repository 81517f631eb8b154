package org.sparkmim.job.pretrain;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * The SparkContext for a job. Under spark-submit every setting comes from the submit line (deploy/); run from
 * bin/spark-mim without a master, it is local mode with the settings gradient sharing needs on one host.
 */
public final class SparkContexts {
    private SparkContexts() { }

    public static JavaSparkContext create(String appName, String masterOrNull, int localThreads) {
        SparkConf conf = new SparkConf().setAppName(appName);
        if (masterOrNull != null) conf.setMaster(masterOrNull);
        conf.setIfMissing("spark.master", "local[" + localThreads + "]");
        conf.setIfMissing("spark.serializer", Preflight.KRYO);
        conf.setIfMissing("spark.kryo.registrator", Preflight.REGISTRATOR);
        if (conf.get("spark.master").startsWith("local")) {
            conf.setIfMissing("spark.driver.host", "127.0.0.1");
            conf.setIfMissing("spark.driver.bindAddress", "127.0.0.1");
            conf.setIfMissing("spark.ui.enabled", "false");
        }
        // DL4J keeps its arrays off-heap; Spark's own defaults are sized for on-heap data.
        conf.setIfMissing("spark.kryoserializer.buffer.max", "512m");
        return new JavaSparkContext(conf);
    }
}
