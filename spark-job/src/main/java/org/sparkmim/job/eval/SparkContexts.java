package org.sparkmim.job.eval;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * The job's Spark context: under spark-submit the master and settings come from spark-submit; run directly
 * (bin/spark-mim), the --master option applies, and a local master binds to 127.0.0.1 with the UI off, so a
 * laptop or CI box without a resolvable host name works.
 */
public final class SparkContexts {
    private SparkContexts() { }

    public static JavaSparkContext open(String appName, String master) {
        SparkConf conf = new SparkConf().setAppName(appName);
        if (!conf.contains("spark.master")) conf.setMaster(master);
        if (conf.get("spark.master").startsWith("local")) {
            conf.setIfMissing("spark.driver.host", "127.0.0.1");
            conf.setIfMissing("spark.driver.bindAddress", "127.0.0.1");
            conf.setIfMissing("spark.ui.enabled", "false");
        }
        // features are collected to the driver: 70k x 784 pixel floats are ~220 MB
        conf.setIfMissing("spark.driver.maxResultSize", "2g");
        return new JavaSparkContext(conf);
    }
}
