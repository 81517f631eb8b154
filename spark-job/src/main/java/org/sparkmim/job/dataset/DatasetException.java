package org.sparkmim.job.dataset;

/**
 * Input data or a dataset directory that cannot be used: missing source, invalid manifest, tampered shard,
 * accounting mismatch. The CLI maps it to exit code 3 (data); the message names the file.
 */
public class DatasetException extends RuntimeException {
    public DatasetException(String message) {
        super(message);
    }

    public DatasetException(String message, Throwable cause) {
        super(message, cause);
    }
}
