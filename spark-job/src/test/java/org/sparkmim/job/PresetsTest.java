package org.sparkmim.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.method.Methods;

/** Every preset shipped in conf/ loads as --preset NAME does, passes the config checks and builds its method. */
class PresetsTest {

    @Test
    void everyShippedPresetLoadsAndBuildsItsMethod() throws IOException {
        List<String> names;
        try (Stream<Path> s = Files.list(Home.dir().resolve("conf"))) {
            names = s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".conf"))
                    .map(n -> n.substring(0, n.length() - ".conf".length())).sorted().toList();
        }
        assertThat(names).contains("demo", "fmnist-quality", "compare", "a2mim-resnet-fmnist");
        Map<String, MimConfig> loaded = new java.util.HashMap<>();
        for (String name : names) {
            MimConfig cfg = MimConfig.load(CommonOptions.presetPath(name), null, Map.of());
            assertThat(Methods.create(cfg).trainFlopsPerImage()).as(name).isPositive();
            loaded.put(name, cfg);
        }
        MimConfig rn = loaded.get("a2mim-resnet-fmnist");
        assertThat(rn.model.isResNet()).isTrue();
        assertThat(Methods.create(rn).name()).isEqualTo("a2mim");
        // the token grid of patch 4 on 28 px is the last stage's 7x7 grid
        assertThat(rn.model.gridSize()).isEqualTo(7);
    }
}
