package org.sparkmim.job.dataset;

import java.io.Serializable;

/** A file that is not in any shard, and why: an entry of _rejects.json ("rejected" or "skipped"). */
public record Reject(String key, String reason) implements Serializable, Comparable<Reject> {
    @Override
    public int compareTo(Reject o) {
        return key.compareTo(o.key);
    }
}
