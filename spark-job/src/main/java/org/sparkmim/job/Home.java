package org.sparkmim.job;

import java.nio.file.Files;
import java.nio.file.Path;

/** The project directory (conf/, data/): -Dmim.home, else the nearest parent of the working dir holding conf/. */
public final class Home {
    private Home() { }

    public static Path dir() {
        String h = System.getProperty("mim.home");
        if (h != null && !h.isEmpty()) return Path.of(h);
        Path p = Path.of("").toAbsolutePath();
        while (p != null) {
            if (Files.isDirectory(p.resolve("conf")) && Files.isDirectory(p.resolve("data"))) return p;
            p = p.getParent();
        }
        return Path.of("").toAbsolutePath();
    }
}
