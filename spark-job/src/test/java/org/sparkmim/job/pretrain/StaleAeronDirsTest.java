package org.sparkmim.job.pretrain;

import io.aeron.driver.MediaDriver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Preflight removes the Aeron directories that killed JVMs left in /dev/shm, and only those: a live media driver's
 * directory (a real embedded Aeron driver, as DL4J starts), a directory created within the last minute and
 * anything not named aeron-* stay.
 */
class StaleAeronDirsTest {

    @Test
    void removesDeadDriversDirectoriesAndKeepsLiveAndYoungOnes(@TempDir Path shm) throws Exception {
        // a driver that ran and stopped without removing its directory, as a killed JVM leaves it: real CnC file,
        // heartbeat no longer updated
        Path dead = shm.resolve("aeron-root-dead");
        MediaDriver.launchEmbedded(new MediaDriver.Context().aeronDirectoryName(dead.toString())
                .dirDeleteOnShutdown(false)).close();
        Files.createDirectories(dead.resolve("publications"));
        Files.write(dead.resolve("publications").resolve("1.logbuffer"), new byte[2 << 20]);
        // one killed while it started: CnC file never initialised
        Path broken = Files.createDirectories(shm.resolve("aeron-root-broken"));
        Files.write(broken.resolve("cnc.dat"), new byte[3 << 20]);
        Path young = Files.createDirectories(shm.resolve("aeron-root-starting"));
        Path other = Files.createDirectories(shm.resolve("spark-blocks"));
        Files.setLastModifiedTime(other, FileTime.fromMillis(0));

        MediaDriver.Context ctx = new MediaDriver.Context().aeronDirectoryName(shm.resolve("aeron-root-live").toString())
                .dirDeleteOnShutdown(true);
        try (MediaDriver live = MediaDriver.launchEmbedded(ctx)) {
            Path liveDir = Path.of(live.aeronDirectoryName());
            for (Path d : new Path[]{dead, broken, liveDir}) {
                Files.setLastModifiedTime(d, FileTime.fromMillis(System.currentTimeMillis() - 3_600_000));
            }
            Thread.sleep(1500); // the dead driver's last heartbeat is now older than the 1 s timeout below
            long freed = Preflight.removeStaleAeronDirs(shm, 1000);

            assertThat(freed).as("MiB freed").isGreaterThanOrEqualTo(5);
            assertThat(dead).doesNotExist();
            assertThat(broken).doesNotExist();
            assertThat(liveDir.resolve("cnc.dat")).as("a live driver's directory").exists();
            assertThat(young).as("changed within the last minute").exists();
            assertThat(other).as("not Aeron's").exists();
        }
    }
}
