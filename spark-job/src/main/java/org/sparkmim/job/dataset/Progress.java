package org.sparkmim.job.dataset;

import org.apache.spark.Success$;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Driver-log progress of a stage whose partition i holds a known number of files: a SparkListener adds a
 * partition's files when its task succeeds (each partition counted once, so retries and speculative copies do
 * not inflate it), and a timer logs "done/total files, rate, ETA" every {@code periodSeconds}. When the partition
 * sizes are not known up front (tokenize's rows come from Parquet splits), it counts the records each successful
 * task of the writing stage wrote instead.
 */
public final class Progress implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Progress.class);

    private final SparkSession spark;
    private final long[] partitionFiles;
    private final long total;
    private final String what;
    private final String unit;
    private final AtomicLong done = new AtomicLong();
    private final ConcurrentHashMap<Integer, Boolean> finished = new ConcurrentHashMap<>();
    private final long start = System.nanoTime();
    private final ScheduledExecutorService timer;
    private final Listener listener = new Listener();
    private volatile int stageId = -1;

    Progress(SparkSession spark, String what, long[] partitionFiles, int periodSeconds) {
        this(spark, what, "files", partitionFiles, sum(partitionFiles), periodSeconds);
    }

    /** Progress of a stage that writes {@code total} records, counted from the tasks' output metrics. */
    public Progress(SparkSession spark, String what, String unit, long total, int periodSeconds) {
        this(spark, what, unit, null, total, periodSeconds);
    }

    private Progress(SparkSession spark, String what, String unit, long[] partitionFiles, long total, int periodSeconds) {
        this.spark = spark;
        this.what = what;
        this.unit = unit;
        this.partitionFiles = partitionFiles;
        this.total = total;
        spark.sparkContext().addSparkListener(listener);
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread th = new Thread(r, "preprocess-progress");
            th.setDaemon(true);
            return th;
        });
        timer.scheduleAtFixedRate(this::log, periodSeconds, periodSeconds, TimeUnit.SECONDS);
    }

    private static long sum(long[] a) {
        long t = 0;
        for (long n : a) t += n;
        return t;
    }

    void log() {
        long d = done.get();
        double secs = (System.nanoTime() - start) / 1e9;
        double rate = d / Math.max(secs, 1e-9);
        String eta = d == 0 ? "?" : formatSeconds((total - d) / Math.max(rate, 1e-9));
        LOG.info(String.format("%s: %d/%d %s (%.1f%%), %.1f %s/s, elapsed %s, ETA %s", what, d, total, unit,
                total == 0 ? 100.0 : 100.0 * d / total, rate, unit, formatSeconds(secs), eta));
    }

    static String formatSeconds(double s) {
        long t = Math.round(s);
        return t >= 3600 ? String.format("%dh%02dm%02ds", t / 3600, t / 60 % 60, t % 60)
                : String.format("%dm%02ds", t / 60, t % 60);
    }

    @Override
    public void close() {
        timer.shutdownNow();
        spark.sparkContext().removeSparkListener(listener);
        log();
    }

    private final class Listener extends SparkListener {
        @Override
        public void onTaskEnd(SparkListenerTaskEnd e) {
            if (partitionFiles == null) {                  // records written, by the first stage that writes any
                long w = e.taskMetrics() == null ? 0 : e.taskMetrics().outputMetrics().recordsWritten();
                if (e.reason() != Success$.MODULE$ || w == 0) return;
                if (stageId < 0) stageId = e.stageId();
                if (e.stageId() == stageId && finished.putIfAbsent(e.taskInfo().index(), Boolean.TRUE) == null) done.addAndGet(w);
                return;
            }
            // The write job's first stage is the conversion (there is no shuffle); lock onto it.
            if (stageId < 0) stageId = e.stageId();
            if (e.stageId() != stageId || e.reason() != Success$.MODULE$) return;
            int p = e.taskInfo().index();
            if (p < partitionFiles.length && finished.putIfAbsent(p, Boolean.TRUE) == null) done.addAndGet(partitionFiles[p]);
        }
    }
}
