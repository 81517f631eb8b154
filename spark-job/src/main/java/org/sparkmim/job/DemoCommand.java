package org.sparkmim.job;

import picocli.CommandLine.Command;

/** The README's demo: MAE-small on the bundled Fashion-MNIST sample for a few minutes (conf/demo.conf). */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Pretrain MAE-small on the bundled Fashion-MNIST sample for a few minutes (conf/demo.conf).")
public class DemoCommand extends PretrainCommand {
    @Override
    protected String commandName() {
        return "demo";
    }

    /** The demo stays on the single-JVM trainer until the Spark path matches its speed on one host. */
    @Override
    protected String defaultEngine() {
        return "jvm";
    }

    @Override
    protected String defaultPreset() {
        return "demo";
    }
}
