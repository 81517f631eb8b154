package org.sparkmim.job.pretrain;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Widens Linux's timer slack of the calling thread, which every thread it starts afterwards inherits.
 *
 * <p>Why: DL4J's gradient-sharing transport ({@code AeronUdpTransport}) polls its subscription in a loop that
 * sleeps 1 µs between polls (a hard-coded {@code SleepingIdleStrategy(1000)}), so with Linux's default 50 µs slack
 * its thread wakes about 17,000 times a second whether or not a message came. Measured on a 2-core executor
 * (MAE-small, fmnist-quality, 150 steps): that thread took 19% of a core, the machine spent half its CPU time in
 * the kernel, and the training thread's forward and backward ran 40–60% slower than in the JVM engine. With a
 * 1 ms slack the chunk ran at 1004.5 img/s instead of 739.8, with the same probe loss to 4 decimals. A message
 * then waits up to 1 ms longer, against steps of about 250 ms.
 *
 * <p>The transport's threads are created by the thread that calls fit on the driver and by the executor's task
 * thread, so the pretrain job calls this on both before training. The file is {@code /proc/TID/timerslack_ns}
 * (Linux ≥ 4.6 has it only under the thread's own id, not under {@code /proc/thread-self}); writing one's own
 * needs no privilege. Elsewhere this does nothing.
 */
public final class TimerSlack {
    private static final Logger LOG = LoggerFactory.getLogger(TimerSlack.class);
    private static volatile boolean logged;

    private TimerSlack() { }

    /** Sets the calling thread's slack to micros µs (0: leave it alone). Returns the slack now in force, ns, or −1. */
    public static long apply(double micros) {
        Path self = self();
        if (micros <= 0 || self == null || !Files.isWritable(self)) return read();
        long before = read(), want = Math.round(micros * 1000);
        if (before == want) return before;
        try {
            Files.writeString(self, Long.toString(want), StandardCharsets.US_ASCII);
        } catch (IOException | SecurityException e) {
            if (!logged) {
                logged = true;
                LOG.info("timer slack not set ({}): DL4J's transport thread will poll every ~{} µs", e.getMessage(), before / 1000);
            }
            return before;
        }
        if (!logged) {
            logged = true;
            LOG.info("timer slack {} µs (was {} µs) for the threads DL4J's gradient-sharing transport starts "
                    + "(spark.timer-slack-us)", want / 1000, before / 1000);
        }
        return read();
    }

    /** The calling thread's timer slack in ns, or −1 where it cannot be read. */
    public static long read() {
        Path self = self();
        return self == null ? -1 : read(self);
    }

    /** A timerslack_ns file's value, or −1. */
    public static long read(Path file) {
        try {
            return Long.parseLong(Files.readString(file, StandardCharsets.US_ASCII).trim());
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** /proc/TID/timerslack_ns of the calling thread (TID from the /proc/thread-self link), or null. */
    private static Path self() {
        try {
            Path link = Files.readSymbolicLink(Path.of("/proc/thread-self"));          // "PID/task/TID"
            return Path.of("/proc", link.getFileName().toString(), "timerslack_ns");
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return null;
        }
    }
}
