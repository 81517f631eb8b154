package org.sparkmim.model.train;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.method.MimMethod;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Work done when an epoch ends (online kNN, reconstruction pictures, ...). Any trainer (the single-JVM
 * {@link Trainer}, the Spark pretrain driver) calls {@link #runAll} with its current graph and appends the
 * returned values to metrics.jsonl as one record with step and epoch.
 */
@FunctionalInterface
public interface EpochHook {

    void onEpochEnd(Context ctx);

    /**
     * @param epoch   epochs completed (1 after the first)
     * @param progress epochs trained, fractional when the time budget ended an epoch early
     * @param last    training ends after this call (last epoch, or the time budget ran out mid-epoch)
     * @param results values this epoch's hooks report, in order (e.g. knn_top1); written to metrics.jsonl
     */
    record Context(MimConfig cfg, MimMethod method, ComputationGraph graph, Path runDir, int epoch, double progress,
                   long step, boolean last, Map<String, Object> results) {
        public void put(String key, Object value) {
            results.put(key, value);
        }

        /** Whether a hook scheduled every n epochs (0 = never) runs now: on schedule, and always at the end. */
        public boolean due(int every) {
            return every > 0 && (epoch % every == 0 || last);
        }
    }

    /**
     * Runs every hook; a hook that throws is logged and skipped, because a missing picture or metric must not end a
     * long training run. Returns the reported values (empty when none).
     */
    static Map<String, Object> runAll(List<EpochHook> hooks, MimConfig cfg, MimMethod method, ComputationGraph graph,
                                      Path runDir, int epoch, double progress, long step, boolean last) {
        Context ctx = new Context(cfg, method, graph, runDir, epoch, progress, step, last, new LinkedHashMap<>());
        for (EpochHook h : hooks) {
            try {
                h.onEpochEnd(ctx);
            } catch (RuntimeException e) {
                Logger log = LoggerFactory.getLogger(EpochHook.class);
                log.warn("epoch-end hook {} failed at epoch {} (training continues): {}", h, epoch, e.toString(), e);
            }
        }
        if (ctx.results().isEmpty()) return Map.of();
        Map<String, Object> rec = new LinkedHashMap<>(); // one metrics.jsonl record: {step, epoch, ...results}
        rec.put("step", step);
        rec.put("epoch", progress);
        rec.putAll(ctx.results());
        return rec;
    }
}
