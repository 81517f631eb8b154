package org.sparkmim.job;

import org.sparkmim.model.config.MimConfig;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** --preset, --conf, --set shared by the commands; resolves to a validated {@link MimConfig}. */
public final class CommonOptions {
    @Option(names = "--preset", description = "Preset name from conf/ (e.g. demo, mae-small-fmnist) or a path to a .conf file.")
    String preset;

    @Option(names = "--conf", description = "HOCON file with overrides (keys under mim.* or relative).")
    Path conf;

    @Option(names = "--set", description = "key=value override, repeatable (e.g. --set optim.epochs=5).")
    Map<String, String> set = new LinkedHashMap<>();

    public MimConfig resolve(String defaultPreset, Map<String, String> extra) {
        Map<String, String> all = new LinkedHashMap<>(extra);
        all.putAll(set);
        return MimConfig.load(presetPath(preset != null ? preset : defaultPreset), conf, all);
    }

    static Path presetPath(String name) {
        if (name == null) return null;
        Path p = Path.of(name);
        if (Files.isRegularFile(p)) return p;
        Path inConf = Home.dir().resolve("conf").resolve(name + ".conf");
        if (Files.isRegularFile(inConf)) return inConf;
        throw new IllegalArgumentException("--preset " + name + ": neither a file nor conf/" + name + ".conf");
    }
}
