package org.sparkmim.job.eval;

import java.util.Map;

/**
 * What the image sources share: evaluate's two splits by name (the per-split state T stays on the driver), the
 * class names and the description.
 */
abstract class SplitSource<T> implements ImageSource {
    private final transient Map<String, T> splits;
    private final String[] classes;
    private final String description;

    SplitSource(T train, T test, String[] classes, String description) {
        this.splits = Map.of("train", train, "test", test);
        this.classes = classes.clone();
        this.description = description;
    }

    /** A split's state; anything but train and test is refused. */
    protected T split(String name) {
        T s = splits.get(name);
        if (s == null) throw new IllegalArgumentException("split must be train or test, got " + name);
        return s;
    }

    @Override
    public String[] classNames() {
        return classes.clone();
    }

    @Override
    public String describe() {
        return description;
    }
}
