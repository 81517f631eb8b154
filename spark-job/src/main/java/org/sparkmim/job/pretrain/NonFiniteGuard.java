package org.sparkmim.job.pretrain;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.optimize.api.BaseTrainingListener;

import java.io.IOException;
import java.io.Serializable;
import java.net.InetAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;

/**
 * Runs on every worker's model. A non-finite training loss must stop the run, but DL4J's gradient-sharing worker
 * catches exceptions from fit() and reports success, and NaN updates are not threshold-encoded (NaN &gt;= t is
 * false), so the driver may never see them. So the worker leaves a marker file in the run directory (any Hadoop
 * FS, reachable from executors) and throws to end its fit loop; the driver checks the marker after every chunk.
 */
public final class NonFiniteGuard extends BaseTrainingListener implements Serializable {
    private final String runDirUri;

    public NonFiniteGuard(String runDirUri) {
        this.runDirUri = runDirUri;
    }

    @Override
    public void iterationDone(Model model, int iteration, int epoch) {
        double score = model.score();
        if (Double.isFinite(score)) return;
        String msg = "loss " + score + " at worker iteration " + iteration + " on " + host();
        try {
            FileSystem fs = FileSystem.get(URI.create(runDirUri), new Configuration());
            try (FSDataOutputStream out = fs.create(new Path(runDirUri, RunDir.DIVERGED), true)) {
                out.write(msg.getBytes(StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            msg += " (and the divergence marker could not be written: " + e.getMessage() + ")";
        }
        throw new IllegalStateException("non-finite " + msg);
    }

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "?";
        }
    }
}
