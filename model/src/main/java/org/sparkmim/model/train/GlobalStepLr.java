package org.sparkmim.model.train;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.api.TrainingConfig;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.nd4j.linalg.learning.config.IUpdater;

import java.io.Serializable;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Sets the learning rate of every parameter from the run's global step, on whichever JVM trains the model.
 *
 * <p>Why not the updater's own ISchedule: on Spark workers DL4J's iteration counter is not the global step.
 * Measured on 1.0.0-M2(.1): under ParameterAveragingTrainingMaster each worker model restarts its counter at 0
 * for every averaging split, so the schedule never left its first warmup steps; under SharedTrainingMaster the
 * counter the schedule sees advanced ~2 per step (15 after 8 steps, +14 per 8 after), so warmup and cosine
 * finished at half time and the LR sat at min-lr (0) for the second half — the run then stopped learning
 * (parameter change per chunk 1.01, 1.10, 0.12, 0.0). This listener counts steps itself: the driver ships the
 * global step at the start of each fit ({@link #setBase}), the listener adds the steps it has seen on the worker,
 * and writes the LR into each parameter's updater config before the update is applied.
 *
 * <p>The worker counts the steps it has seen on top of the base it was shipped with, and writes that step into
 * the model's iteration counter before the updater runs, so Adam's bias correction and the threshold encoder
 * ({@code LrThreshold}) see the global step too. Under gradient sharing the worker keeps this listener for the
 * whole run. Under parameter averaging every averaging split ships a fresh copy and a fresh model whose counter
 * DL4J resets to 0 ({@code ComputationGraphConfiguration.clone()} drops it), which restarted Adam's bias
 * correction and left the LR at the chunk's first step in every split (measured: the same parameter change in
 * every chunk whatever the schedule). So on the driver this listener follows DL4J's own split counter ({@link
 * #followDriver}): each copy is serialized with base = the driver's iteration count at that moment.
 */
public final class GlobalStepLr extends BaseTrainingListener implements Serializable {
    private static final long serialVersionUID = 1L;
    private final WarmupCosineSchedule schedule;
    private volatile long base;
    private transient org.deeplearning4j.nn.conf.ComputationGraphConfiguration driver;
    private transient long seen;
    private transient double applied = Double.NaN;

    public GlobalStepLr(WarmupCosineSchedule schedule, long base) {
        this.schedule = schedule;
        this.base = base;
    }

    /**
     * Parameter averaging: ship base = this (driver) configuration's iteration count, which DL4J advances by the
     * averaging frequency after every split and the driver sets to the global step before every chunk.
     */
    public GlobalStepLr followDriver(org.deeplearning4j.nn.conf.ComputationGraphConfiguration conf) {
        this.driver = conf;
        return this;
    }

    private void writeObject(java.io.ObjectOutputStream out) throws java.io.IOException {
        if (driver != null) base = driver.getIterationCount();
        out.defaultWriteObject();
    }

    /** The global step the next fit starts at (driver side, before each fit). */
    public void setBase(long base) {
        this.base = base;
    }

    public long step() {
        return base + seen;
    }

    @Override
    public void onGradientCalculation(Model model) {
        long step = step();
        ((ComputationGraph) model).getConfiguration().setIterationCount((int) step);
        double lr = schedule.lr(step);
        if (lr != applied) {
            set((ComputationGraph) model, lr);
            applied = lr;
        }
    }

    @Override
    public void iterationDone(Model model, int iteration, int epoch) {
        seen++;
    }

    /**
     * Fixed LR for every parameter of every layer and parameterized vertex. The updater objects are the ones the
     * updater blocks read each step (DL4J passes the config instance to its GradientUpdater), so this takes effect
     * on the next update.
     */
    public static void set(ComputationGraph g, double lr) {
        Map<IUpdater, Boolean> done = new IdentityHashMap<>();
        for (GraphVertex v : g.getVertices()) {
            if (v.numParams() == 0) continue;
            TrainingConfig tc = v.getConfig();
            if (tc == null) continue;
            for (String p : v.paramTable(false).keySet()) {
                IUpdater u = tc.getUpdaterByParam(p);
                if (u == null || done.put(u, Boolean.TRUE) != null) continue;
                if (u.hasLearningRate()) {
                    u.setLrAndSchedule(lr, null);
                }
            }
        }
    }
}
