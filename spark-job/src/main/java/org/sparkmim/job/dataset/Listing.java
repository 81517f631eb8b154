package org.sparkmim.job.dataset;

import java.util.List;

/**
 * What the driver found under a source: the items to convert (sorted by key), files skipped by name and files
 * already rejected at listing time (e.g. a val image without a label), and the class list (index = label).
 */
public record Listing(SourceKind kind, String source, List<SourceItem> items, List<Reject> skipped,
                      List<Reject> rejected, List<String> classes) {
    public long listed() {
        return items.size() + skipped.size() + rejected.size();
    }
}
