package org.sparkmim.model.train;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.BaseTrainingListener;

import java.io.Serializable;

/**
 * Makes the model's iteration counter the run's global step, on whichever JVM trains it, before every update:
 * the updater's LR schedule ({@link Trainer#schedule}, inside every Adam config of the graph), Adam's bias
 * correction and the gradient-sharing threshold ({@code LrThreshold}) all read that counter.
 *
 * <p>Why: on Spark workers DL4J's counter is not the global step. Measured on 1.0.0-M2(.1): under
 * ParameterAveragingTrainingMaster each worker model restarts its counter at 0 for every averaging split
 * ({@code ComputationGraphConfiguration.clone()} drops it), so the schedule never left its first warmup steps and
 * Adam's bias correction restarted; under SharedTrainingMaster the counter advanced ~2 per step (15 after 8
 * steps), so warmup and cosine finished at half time and the run then stopped learning (parameter change per
 * chunk 1.01, 1.10, 0.12, 0.0). The driver ships the global step at the start of each fit ({@link #setBase}); the
 * listener adds the steps it has seen on the worker. Under parameter averaging every split ships a fresh copy, so
 * on the driver the listener follows DL4J's own split counter ({@link #followDriver}).
 *
 * <p>It never touches the updater configs. An earlier version wrote the LR into them each step; DL4J groups
 * parameters into updater blocks by comparing those configs when it builds an updater, so a worker that built
 * its updater before the first write (parameter averaging with saved updater state) grouped them differently
 * from the one that had saved the state: Adam's moments were read at the wrong offsets (negative second
 * moments) and the first update of the second split was NaN.
 */
public final class GlobalStepLr extends BaseTrainingListener implements Serializable {
    private static final long serialVersionUID = 2L;
    private volatile long base;
    private transient org.deeplearning4j.nn.conf.ComputationGraphConfiguration driver;
    private transient long seen;

    public GlobalStepLr(long base) {
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
        ((ComputationGraph) model).getConfiguration().setIterationCount((int) step());
    }

    @Override
    public void iterationDone(Model model, int iteration, int epoch) {
        seen++;
    }
}
