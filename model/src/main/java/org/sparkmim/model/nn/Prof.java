package org.sparkmim.model.nn;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Wall-time per named section of the hand-written passes, for `bench --profile`. Off unless -Dmim.profile=true;
 * when off, {@link #t()} returns 0 and {@link #add} returns at once, so the hot path pays one branch.
 * ND4J executes ops synchronously on CPU, so section times are the ops' own times.
 */
public final class Prof {
    private static volatile boolean on = Boolean.getBoolean("mim.profile");
    private static final Map<String, LongAdder> NANOS = new ConcurrentHashMap<>();
    private static final Map<String, LongAdder> CALLS = new ConcurrentHashMap<>();

    private Prof() { }

    public static void enable(boolean enabled) {
        on = enabled;
    }

    public static long t() {
        return on ? System.nanoTime() : 0;
    }

    /** Adds the time since start to section and returns now (so sections can be chained). */
    public static long add(String section, long start) {
        if (!on) return 0;
        long now = System.nanoTime();
        NANOS.computeIfAbsent(section, k -> new LongAdder()).add(now - start);
        CALLS.computeIfAbsent(section, k -> new LongAdder()).increment();
        return now;
    }

    public static void reset() {
        NANOS.clear();
        CALLS.clear();
    }

    /** Sections sorted by total time: "section  ms  %  calls". */
    public static String report() {
        long total = NANOS.values().stream().mapToLong(LongAdder::sum).sum();
        StringBuilder sb = new StringBuilder(String.format("%-28s %10s %6s %8s%n", "section", "ms", "%", "calls"));
        new TreeMap<>(NANOS).entrySet().stream()
                .sorted((a, b) -> Long.compare(b.getValue().sum(), a.getValue().sum()))
                .forEach(e -> sb.append(String.format("%-28s %10.1f %5.1f%% %8d%n", e.getKey(), e.getValue().sum() / 1e6,
                        100.0 * e.getValue().sum() / Math.max(1, total), CALLS.get(e.getKey()).sum())));
        sb.append(String.format("%-28s %10.1f%n", "total (profiled sections)", total / 1e6));
        return sb.toString();
    }
}
