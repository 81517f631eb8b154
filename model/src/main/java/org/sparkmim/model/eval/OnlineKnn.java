package org.sparkmim.model.eval;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.data.ImageSet;
import org.sparkmim.model.method.MimMethod;
import org.sparkmim.model.train.EpochHook;

import java.util.Locale;

/**
 * kNN accuracy of the current encoder during pretraining (eval.online-knn-every epochs): a bank from the train
 * split and queries from the held-out test split, both un-augmented, scored exactly like evaluate's kNN (same
 * feature, standardization on the bank, k, temperature). Reports knn_top1 and knn_top5 into metrics.jsonl.
 */
public final class OnlineKnn implements EpochHook {
    private static final Logger LOG = LoggerFactory.getLogger(OnlineKnn.class);
    private final ImageSet bank;
    private final ImageSet queries;

    public OnlineKnn(ImageSet bank, ImageSet queries) {
        if (!bank.hasLabels() || !queries.hasLabels()) {
            throw new IllegalArgumentException("online kNN needs labelled images: " + bank + ", " + queries);
        }
        this.bank = bank;
        this.queries = queries;
    }

    @Override
    public void onEpochEnd(Context ctx) {
        var e = ctx.cfg().eval;
        if (!ctx.due(e.onlineKnnEvery())) return;
        long t0 = System.nanoTime();
        Knn.Result r = score(ctx.cfg(), ctx.method(), ctx.graph(), bank, queries);
        ctx.put("knn_top1", r.top1());
        ctx.put("knn_top5", r.top5());
        LOG.info(String.format(Locale.ROOT, "online kNN after epoch %d: top-1 %.2f%% top-5 %.2f%% (%d bank, %d queries, %.1f s)",
                ctx.epoch(), 100 * r.top1(), 100 * r.top5(), bank.count(), queries.count(), (System.nanoTime() - t0) / 1e9));
    }

    /**
     * kNN of the graph's frozen features (eval.feature) for the queries against the labelled bank, standardized with
     * the bank's statistics, with eval.knn-k and eval.knn-temperature.
     */
    public static Knn.Result score(MimConfig cfg, MimMethod method, ComputationGraph graph, ImageSet bank, ImageSet queries) {
        var e = cfg.eval;
        FeatureEncoder enc = new ModelEncoder("encoder", cfg, method, graph, e.featureSpec());
        INDArray fb = FeatureEncoder.extract(enc, bank, e.extractBatch());   // [Nb, F]
        INDArray fq = FeatureEncoder.extract(enc, queries, e.extractBatch()); // [Nq, F]
        Standardizer st = Standardizer.fit(fb);
        return Knn.classify(st.apply(fb), bank.labels(), st.apply(fq), queries.labels(), bank.classCount(), e.knnK(),
                e.knnTemperature());
    }

    @Override
    public String toString() {
        return "online-kNN";
    }
}
