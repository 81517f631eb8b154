package org.sparkmim.job;

import org.sparkmim.job.dataset.DatasetDir;
import org.sparkmim.job.dataset.DatasetException;
import org.sparkmim.job.dataset.PreprocessConfig;
import org.sparkmim.job.dataset.PreprocessJob;
import org.sparkmim.job.dataset.SourceKind;
import org.sparkmim.model.config.MimConfig;
import picocli.CommandLine.Command;

/**
 * The README's demo, the product's main path on local Spark: preprocess the bundled Fashion-MNIST sample into a
 * dataset directory (once; later runs reuse it), then pretrain MAE-small on it with DL4J gradient sharing for a
 * few minutes (conf/demo.conf).
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Preprocess the bundled Fashion-MNIST sample, then pretrain MAE-small on it on local Spark for a "
                + "few minutes (conf/demo.conf).")
public class DemoCommand extends PretrainCommand {
    @Override
    protected String commandName() {
        return "demo";
    }

    @Override
    protected String defaultPreset() {
        return "demo";
    }

    @Override
    protected boolean isDemo() {
        return true;
    }

    @Override
    protected int callSpark(MimConfig cfg) {
        if (dataUri == null) dataUri = bundledDataset(cfg);
        return super.callSpark(cfg);
    }

    /** runs/datasets/fashion-mnist-sample, written by the preprocess job unless a valid one is already there. */
    private String bundledDataset(MimConfig cfg) {
        String uri = Home.dir().resolve(cfg.run.dir()).resolve("datasets/fashion-mnist-sample").toAbsolutePath().toUri()
                .toString();
        try {
            DatasetDir.open(new org.apache.hadoop.conf.Configuration(), uri);
            System.err.println("demo: reusing dataset " + uri);
            return uri;
        } catch (DatasetException missing) {
            System.err.println("demo: preprocessing the bundled sample into " + uri);
        }
        try (LocalSpark s = LocalSpark.start("spark-mim demo preprocess", master)) {
            new PreprocessJob(s.session(), PreprocessConfig.from(cfg)).run(new PreprocessJob.Request(
                    Home.dir().resolve("data/fashion-mnist-sample").toString(), uri, SourceKind.IDX, null, null, null,
                    true, 10));
        }
        return uri;
    }
}
