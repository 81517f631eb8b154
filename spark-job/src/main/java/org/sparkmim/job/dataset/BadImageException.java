package org.sparkmim.job.dataset;

/** A file that cannot become a dataset row; the message is the reject reason written to _rejects.json. */
public final class BadImageException extends Exception {
    public BadImageException(String reason) {
        super(reason);
    }

    public BadImageException(String reason, Throwable cause) {
        super(reason, cause);
    }
}
