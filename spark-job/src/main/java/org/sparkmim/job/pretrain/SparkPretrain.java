package org.sparkmim.job.pretrain;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sparkmim.model.config.MimConfig;
import org.sparkmim.model.method.Methods;
import org.sparkmim.model.method.MimMethod;
import org.sparkmim.model.train.Checkpoints;
import org.sparkmim.model.train.EpochPlan;
import org.sparkmim.model.train.GlobalStepLr;
import org.sparkmim.model.train.PreciseBatchNorm;
import org.sparkmim.model.train.Trainer;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The pretrain job's driver. Per epoch and chunk: plan the data from the seeds ({@link EpochData}), let DL4J train
 * it on the executors ({@code SparkComputationGraph.fitMultiDataSet} with the configured TrainingMaster), then on
 * the driver: check for divergence, measure the probe loss on a fixed held-out batch (gradient sharing's
 * driver-side score is always 0), log progress and metrics, and write an atomic checkpoint. Resume continues at
 * the chunk after the newest valid checkpoint, with the same data order, masks and LR position.
 */
public final class SparkPretrain {
    private static final Logger LOG = LoggerFactory.getLogger(SparkPretrain.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    public record Result(String runDir, long steps, int epochs, double firstProbe, double lastProbe,
                         double imgPerSec, String checkpoint, long resumedFromStep, boolean stoppedByBudget) { }

    private SparkPretrain() { }

    /** An executor was lost while a chunk trained with gradient sharing (see {@link ExecutorWatch}). */
    public static final class WorkerLostException extends IllegalStateException {
        WorkerLostException(String msg) {
            super(msg);
        }
    }

    public static <T> Result run(JavaSparkContext sc, MimConfig cfg, SparkSettings s, TrainSource<T> source,
                                 String runDirUri) {
        return run(sc, cfg, s, source, runDirUri, List.of());
    }

    /**
     * @param hooks epoch-end hooks (reconstruction pictures, online kNN) run on the driver's copy of the model;
     *              their results become metrics records. Only for a run directory on the driver's local disk.
     */
    public static <T> Result run(JavaSparkContext sc, MimConfig cfg, SparkSettings s, TrainSource<T> source,
                                 String runDirUri, List<org.sparkmim.model.train.EpochHook> hooks) {
        Preflight.check(sc, s);
        TimerSlack.apply(s.timerSlackUs());   // this thread starts the driver's transport threads in its first fit
        MimMethod method = Methods.create(cfg);
        int bpw = s.batchPerWorker(cfg);
        RunDir run = new RunDir(runDirUri, sc.hadoopConfiguration());
        FsCheckpoints ckpts = new FsCheckpoints(runDirUri, sc.hadoopConfiguration(), s.pauseInCheckpointMs());
        run.clearDivergence();

        JavaRDD<T> records = source.records(sc, Math.max(2, s.workers())).persist(StorageLevel.MEMORY_AND_DISK());
        long n = records.count();
        long spe = n / cfg.optim.batch();
        if (spe < 1) {
            throw new IllegalArgumentException("mim.optim.batch = " + cfg.optim.batch() + " is larger than the training set ("
                    + source.describe() + ")");
        }
        long total = cfg.optim.totalSteps(spe);
        int epochs = cfg.optim.epochsToRun(spe);

        FsCheckpoints.Loaded resumed = "auto".equals(s.resume()) ? ckpts.latestValid(cfg) : null;
        if ("never".equals(s.resume()) && hasCheckpoints(ckpts)) {
            throw new IllegalArgumentException("run directory " + runDirUri + " already holds checkpoints and "
                    + "mim.spark.resume = never; use a new run.name or resume = auto");
        }
        ComputationGraph graph = resumed != null ? resumed.graph() : Trainer.newGraph(cfg, method, spe, s.workerLrScale());
        long step = resumed != null ? resumed.step() : 0;
        int epoch0 = resumed != null ? resumed.epoch() : 0, chunk0 = resumed != null ? resumed.chunk() : 0;
        // Recorded in checkpoints; the LR itself follows GlobalStepLr, not DL4J's counters.
        graph.getConfiguration().setIterationCount((int) step);
        graph.getConfiguration().setEpochCount(epoch0);
        run.write("config.conf", cfg.render() + "\n");

        String master = sc.getConf().get("spark.master", "local");
        String controller = s.controllerAddress().isEmpty() ? sc.getConf().get("spark.driver.host", "127.0.0.1")
                : s.controllerAddress();
        var sched = Trainer.schedule(cfg, spe);
        // the threshold follows each worker's own LR (spark.shared-lr); sched (the configured LR) is what is logged
        var tm = TrainingMasters.build(s, bpw, s.thresholdAlgorithm(Trainer.schedule(cfg, spe, s.workerLrScale())),
                controller, master.startsWith("local"));
        SparkComputationGraph sg = new SparkComputationGraph(sc, graph, tm);
        if ("shared".equals(s.sync())) {
            if (master.startsWith("local") && "in-jvm".equals(s.localTransport())) {
                InJvmTransport.install((org.deeplearning4j.spark.parameterserver.training.SharedTrainingMaster) tm, graph);
            } else {
                // A parameter server left running by an earlier run in this JVM: DL4J shuts it down in this master's
                // first fit, which also drops the DriverUpdates subscribed to it just before, and the first chunk's
                // updates went uncounted (settle then waited its full 10 s). Stopped here, before the subscription.
                releaseDriverTransport(s);
            }
        }
        // Workers' own iteration counters are not the global step (see GlobalStepLr): the LR follows ours.
        GlobalStepLr lrClock = new GlobalStepLr(step);
        if (!"shared".equals(s.sync())) lrClock.followDriver(graph.getConfiguration());
        WorkerProgress inChunk = new WorkerProgress(total, bpw, s.progressSeconds(), "shared".equals(s.sync()) ? s.workers() : 1);
        List<org.deeplearning4j.optimize.api.TrainingListener> listeners =
                new java.util.ArrayList<>(List.of(new NonFiniteGuard(runDirUri), lrClock, inChunk));
        if ("shared".equals(s.sync()) && s.localCatchUp()) listeners.add(LocalCatchUp.listener());
        if ("shared".equals(s.sync()) && "java".equals(s.encoder())) listeners.add(BitmapSharing.installer(s.localCatchUp()));
        if (s.stepSynced() || s.stepSleepMs() > 0) {  // after the step's own work
            listeners.add(new StepSync(s.stepSynced() ? s.stepSync() : 0, s.workers(), s.stepSleepMs(), 60_000));
        }
        sg.setListeners(listeners);

        MultiDataSet probe = method.prepare(Trainer.batch(source.probe(s.probeImages()), 0, cfg));
        // precise batch norm (PreciseBatchNorm): the running statistics do not survive threshold encoding
        MultiDataSet calibration = PreciseBatchNorm.hasBatchNorm(sg.getNetwork())
                ? method.prepare(Trainer.batch(source.calibration(PreciseBatchNorm.IMAGES), 0, cfg)) : null;
        double probe0 = probeLoss(sg.getNetwork(), probe), last = probe0;
        EpochData<T> data = new EpochData<>(cfg.run.seed(), s.chunksPerEpoch(), s.workers(), cfg.optim.batch(),
                source.key(), source.decode());
        LOG.info("train {}: method {} model {} | {} | {} sync, {} workers x batch {} = global batch {}, {} steps/epoch, "
                        + "{} epochs, {} chunk(s)/epoch{}", runDirUri, method.name(), cfg.model, source.describe(), s.sync(),
                s.workers(), bpw, cfg.optim.batch(), spe, epochs, s.chunksPerEpoch(),
                resumed != null ? ", resumed from " + resumed.uri() + " (step " + step + ")" : "");
        LOG.info("probe loss before training: {}", String.format("%.4f", probe0));

        boolean shared = "shared".equals(s.sync());
        long denseBytes = 4L * graph.params().length(); // one fp32 gradient (numParams() omits SameDiff vertices)
        DriverUpdates updates = null;
        ExecutorWatch watch = new ExecutorWatch(s.stepSynced() ? sc.sc() : null);
        if (s.stepSynced()) StepSync.startCoordinator();
        sc.sc().addSparkListener(watch);
        int lost0 = 0; // executors lost before the current chunk (with gradient sharing, any loss ends the run)
        long t0 = System.nanoTime(), stepsRun = 0, resumedFrom = step;
        String lastCkpt = resumed != null ? resumed.uri() : null;
        int epochsDone = epoch0;
        long budgetNanos = (long) (cfg.run.timeBudgetMinutes() * 60e9);
        boolean budgetHit = false;
        outer:
        for (int epoch = epoch0; epoch < epochs; epoch++) {
            EpochPlan plan = data.plan(records, epoch);
            Broadcast<EpochPlan> planB = sc.broadcast(plan);
            long epochStart = epoch * spe, epochSteps = Math.min(spe, total - epochStart); // optim.steps may cut it
            for (int c = epoch == epoch0 ? chunk0 : 0; c < s.chunksPerEpoch(); c++) {
                long from = plan.chunkStart(c), to = Math.min(plan.chunkStart(c + 1), epochSteps);
                if (from >= to) break; // optim.steps ended the run before this chunk
                boolean poison = s.nanAtChunk() == epoch * s.chunksPerEpoch() + c;
                lrClock.setBase(step);
                long tc = System.nanoTime();
                org.nd4j.linalg.api.ndarray.INDArray before = sg.getNetwork().params().dup();
                if (shared) updates = DriverUpdates.attach(updates);
                long msgs0 = updates == null ? 0 : updates.messages(), bytes0 = updates == null ? 0 : updates.bytes();
                long sent0 = StepSync.sentHere(), expected = -1;   // messages the driver will receive, where known
                // An executor lost between chunks leaves DL4J's mesh as broken as one lost during a chunk, and no job
                // was running for the watch to cancel: the next chunk waited forever (its replacement executor in
                // DL4J's rejoin handshake, the others at StepSync's barrier; seen in StandaloneClusterTest).
                if (shared && watch.removed().size() > lost0) throw workerLost(watch, lost0, epoch, c, lastCkpt, "before");
                lost0 = watch.removed().size();
                CollectionAccumulator<String> served = sc.sc().collectionAccumulator("minibatches per executor");
                try {
                    sg.fitMultiDataSet(data.chunk(records, planB, cfg.render(), epoch, from, to, poison, served));
                } catch (Exception e) { // SparkException is checked in Java's eyes but thrown undeclared by Scala
                    // parameter averaging propagates the guard's exception as a failed Spark job
                    String why = run.divergence();
                    if (why != null) throw diverged(epoch, c, why, lastCkpt);
                    // with step-sync the watch cancelled the chunk when an executor was lost
                    if (watch.removed().size() > lost0) throw workerLost(watch, lost0, epoch, c, lastCkpt, "while");
                    throw e;
                } finally {
                    // in local mode the worker counts its messages in this JVM; on a cluster the coordinator knew
                    // every worker's count at the chunk's last step
                    if (shared) expected = master.startsWith("local") ? StepSync.sentHere() - sent0
                            : s.stepSynced() ? StepSync.lastTotal() : -1;
                    if (s.stepSynced()) StepSync.release(); // no task of a failed chunk waits on for the others
                }
                double secs = (System.nanoTime() - tc) / 1e9;
                long ts = System.nanoTime();
                if (updates != null) updates.settle(msgs0, expected, 300, 10_000); // the driver's model = every update
                double settleSecs = (System.nanoTime() - ts) / 1e9;
                if (shared && watch.removed().size() > lost0) throw workerLost(watch, lost0, epoch, c, lastCkpt, "while");
                step = epochStart + to;
                stepsRun += to - from;
                graph.getConfiguration().setIterationCount((int) step);

                double progress = epoch + to / (double) spe; // fractional epochs done
                double change = sg.getNetwork().params().sub(before).norm2Number().doubleValue();
                String diverged = run.divergence();
                long tp = System.nanoTime();
                if (calibration != null) PreciseBatchNorm.recalibrate(sg.getNetwork(), calibration);
                double loss = probeLoss(sg.getNetwork(), probe);
                double probeSecs = (System.nanoTime() - tp) / 1e9;
                if (diverged != null || !Double.isFinite(loss)) {
                    throw diverged(epoch, c, diverged != null ? diverged : "probe loss " + loss, lastCkpt);
                }
                last = loss;
                double rate = (to - from) * cfg.optim.batch() / secs;
                double elapsed = (System.nanoTime() - t0) / 1e9;
                double eta = (total - step) * elapsed / Math.max(1, stepsRun);
                double lr = sched.lr(Math.max(0, step - 1));
                Map<String, Object> rec = new LinkedHashMap<>();
                rec.put("step", step);
                rec.put("epoch", progress);
                rec.put("probe_loss", loss);
                rec.put("lr", lr);
                rec.put("img_per_s", rate);
                rec.put("elapsed_s", elapsed);
                rec.put("param_change", change); // L2 norm of the driver's parameter change in this chunk
                Map<String, Integer> perExecutor = new java.util.TreeMap<>();
                for (String e : served.value()) {
                    int eq = e.lastIndexOf('=');
                    perExecutor.merge(e.substring(0, eq), Integer.parseInt(e.substring(eq + 1)), Integer::sum);
                }
                rec.put("minibatches_per_executor", perExecutor);
                String sharing = "";
                if (updates != null) {
                    long m = updates.messages() - msgs0, b = updates.bytes() - bytes0;
                    rec.put("update_msgs", m);
                    rec.put("update_bytes", b);
                    // encoded bytes of one worker's update per step, relative to a dense fp32 gradient
                    double vsDense = m == 0 ? 0.0 : b / (double) m / denseBytes;
                    rec.put("update_vs_dense", vsDense);
                    sharing = String.format(" | %d updates x %.1f KiB = %.4f x dense", m, m == 0 ? 0 : b / 1024.0 / m, vsDense);
                }
                boolean epochEnd = to == spe;
                Map<String, Object> extra = Map.of("chunk", epochEnd ? 0 : c + 1, "chunks_per_epoch", s.chunksPerEpoch(),
                        "probe_loss", loss);
                long tk = System.nanoTime();
                lastCkpt = ckpts.save(graph, new Checkpoints.Provenance(step, epochEnd ? epoch + 1 : epoch,
                        cfg.run.seed(), cfg.render(), cfg.fingerprint(), cfg.architectureFingerprint(), method.name()),
                        extra, cfg.run.keepCheckpoints());
                // where a chunk's wall time went: the Spark job that trains it, then the driver's own steps
                rec.put("seconds", Map.of("fit", round3(secs), "settle", round3(settleSecs), "probe", round3(probeSecs),
                        "checkpoint", round3((System.nanoTime() - tk) / 1e9)));
                run.appendMetrics(json(rec));
                // the one line per chunk (DL4J's own loggers are at WARN: log4j2.properties)
                LOG.info(String.format("step %d/%d (%.0f%%) epoch %d/%d chunk %d/%d probe loss %.4f lr %.3g %.1f img/s "
                                + "ETA %s | param change %.3g | minibatches %s%s | checkpoint %s",
                        step, total, 100.0 * step / total, epoch + 1, epochs, c + 1, s.chunksPerEpoch(),
                        loss, lr, rate, Trainer.human(eta), change, perExecutor, sharing, lastCkpt));
                boolean budgetNow = budgetNanos > 0 && System.nanoTime() - t0 >= budgetNanos;
                boolean stepsDone = cfg.optim.steps() > 0 && step >= total; // the chunk was cut at optim.steps
                boolean stopNow = budgetNow || stepsDone;
                if (!hooks.isEmpty() && (epochEnd || stopNow)) {
                    boolean lastOne = stopNow || (epochEnd && epoch + 1 == epochs);
                    Map<String, Object> res = org.sparkmim.model.train.EpochHook.runAll(hooks, cfg, method, graph,
                            java.nio.file.Path.of(java.net.URI.create(runDirUri)), epochEnd ? epoch + 1 : epoch,
                            progress, step, lastOne);
                    if (!res.isEmpty()) run.appendMetrics(json(res));
                }
                if (stepsDone && !budgetNow) {
                    LOG.info("optim.steps = {} reached at step {} (epoch {})", total, step, epoch + 1);
                    if (epochEnd) epochsDone = epoch + 1;
                    break outer;
                }
                if (stopNow) {
                    budgetHit = true;
                    LOG.info("time budget of {} min reached at step {} (epoch {}); a later run with resume = auto "
                            + "continues from {}", cfg.run.timeBudgetMinutes(), step, epoch + 1, lastCkpt);
                    if (epochEnd) epochsDone = epoch + 1;
                    break outer;
                }
            }
            planB.destroy();
            epochsDone = epoch + 1;
        }
        records.unpersist();
        sc.sc().removeSparkListener(watch);
        double rate = stepsRun * (double) cfg.optim.batch() / Math.max(1e-9, (System.nanoTime() - t0) / 1e9);
        return new Result(runDirUri, step, epochsDone, probe0, last, rate, lastCkpt, resumedFrom, budgetHit);
    }

    /** @param when "while" the chunk trained, or "before" it started (the chunk is then not run) */
    private static WorkerLostException workerLost(ExecutorWatch watch, int lost0, int epoch, int c, String lastCkpt,
                                                  String when) {
        List<String> lost = watch.removed();
        return new WorkerLostException("lost " + lost.subList(lost0, lost.size()) + " " + when + " epoch " + (epoch + 1)
                + " chunk " + (c + 1) + " trained with gradient sharing; this chunk is discarded, the last complete "
                + "checkpoint is " + (lastCkpt == null ? "none" : lastCkpt));
    }

    /**
     * Whether the driver may retry after this failure: a failed Spark job (lost executors, tasks failing beyond
     * spark.task.maxFailures), not a diverged run or a configuration/data error, which would fail the same way again.
     */
    public static boolean isRestartable(Throwable e) {
        if (e instanceof Trainer.NonFiniteLossException || e instanceof IllegalArgumentException) return false;
        if (e instanceof WorkerLostException) return true;
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof org.apache.spark.SparkException) return true;
        }
        return false;
    }

    /**
     * Before a restart in this JVM: stop the driver's gradient-sharing server (a JVM singleton that still holds
     * the Aeron UDP port, which preflight would then find taken) and wait until the port is free again.
     */
    public static void releaseDriverTransport(SparkSettings s) {
        var mps = org.nd4j.parameterserver.distributed.v2.ModelParameterServer.getInstance();
        if (mps.isInitialized()) mps.shutdown();
        long deadline = System.currentTimeMillis() + 30_000;
        while (Preflight.portProblem(s.port()) != null && System.currentTimeMillis() < deadline) {
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static Trainer.NonFiniteLossException diverged(int epoch, int chunk, String why, String lastCkpt) {
        return new Trainer.NonFiniteLossException("training diverged in epoch " + (epoch + 1) + " chunk " + (chunk + 1)
                + ": " + why + "; last good checkpoint: " + (lastCkpt == null ? "none" : lastCkpt)
                + ". Lower mim.optim.base-lr or check the data.");
    }

    private static double round3(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    /** The method's loss on the fixed probe batch with the driver's current parameters (no regularization term). */
    static double probeLoss(ComputationGraph g, MultiDataSet probe) {
        double loss = g.score(probe, false) - g.calcRegularizationScore(true);
        // score() leaves the probe's label masks set on the output layer; a later output() on another batch size
        // (the epoch-end pictures) would then fail with mismatched mask shapes
        g.clearLayerMaskArrays();
        g.clear();
        return loss;
    }

    private static boolean hasCheckpoints(FsCheckpoints c) {
        try {
            return !c.list().isEmpty();
        } catch (IOException e) {
            return false;
        }
    }

    private static String json(Map<String, Object> m) {
        try {
            return JSON.writeValueAsString(m);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
