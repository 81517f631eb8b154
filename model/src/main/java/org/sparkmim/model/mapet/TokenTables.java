package org.sparkmim.model.mapet;

import java.util.ServiceLoader;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Opens a tokens directory once per JVM. The readers are found with {@link ServiceLoader} because the format
 * (Parquet on a Hadoop file system) lives in the Spark job, while the method that looks tokens up lives here and
 * runs in every executor's data iterator.
 */
public final class TokenTables {
    /** A reader of one tokens-directory format. */
    public interface Reader {
        /** The table at path, or null if this reader does not recognise it. */
        TokenTable open(String path);
    }

    private static final ConcurrentHashMap<String, TokenTable> OPEN = new ConcurrentHashMap<>();

    private TokenTables() { }

    /** The table at path (cached per JVM: every partition of every epoch asks again). */
    public static TokenTable open(String path) {
        if (path == null || path.isBlank()) {
            throw new IllegalArgumentException("mim.method.mapet.tokens is not set: method mapet needs the directory that "
                    + "`bin/spark-mim tokenize --data DATASET --output TOKENS_DIR` wrote");
        }
        return OPEN.computeIfAbsent(path, p -> {
            for (Reader r : ServiceLoader.load(Reader.class)) {
                TokenTable t = r.open(p);
                if (t != null) return t;
            }
            throw new IllegalArgumentException("mim.method.mapet.tokens=" + p + ": no reader for it on the classpath "
                    + "(the Spark job's jar provides the Parquet reader)");
        });
    }

    /** Puts a table in the cache under a path (tests, and a driver that has already opened it). */
    public static void put(String path, TokenTable table) {
        OPEN.put(path, table);
    }
}
