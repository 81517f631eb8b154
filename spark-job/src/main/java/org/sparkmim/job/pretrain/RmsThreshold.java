package org.sparkmim.job.pretrain;

import org.deeplearning4j.optimize.solvers.accumulation.encoding.ThresholdAlgorithm;
import org.deeplearning4j.optimize.solvers.accumulation.encoding.ThresholdAlgorithmReducer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A gradient-sharing threshold chosen from each step's own message: τ = ratio · RMS(update + residual), never
 * below {@code floor} (spark.threshold = rms).
 *
 * <p>Why. DL4J's encoder sends an element as ±τ when |update + residual| reaches τ and keeps everything else in the
 * worker's residual; each element moves by at most one τ per message. With τ = the scheduled LR ({@link
 * LrThreshold}) measured |update + residual| / τ averaged 0.40 at the peak LR and only 2–4% of the elements reached
 * τ per step, so most of a worker's update reached the other workers several steps late. The bitmap encoding costs
 * 2 bits per element whatever the share sent, so a τ on the scale of the message itself moves several times more
 * of it per step for the same bytes (1/16 of the dense gradient), as long as enough elements cross τ for DL4J to
 * pick the bitmap form. With {@link LocalCatchUp} a worker's own model takes its exact step, so τ governs only
 * what the other workers and the driver see.
 */
public final class RmsThreshold implements ThresholdAlgorithm {
    private static final long serialVersionUID = 1L;
    private double ratio;
    private double floor;

    private RmsThreshold() { } // Kryo

    public RmsThreshold(double ratio, double floor) {
        if (!(ratio > 0)) throw new IllegalArgumentException("mim.spark.threshold-ratio=" + ratio + ": allowed > 0");
        this.ratio = ratio;
        this.floor = floor;
    }

    /** τ for a message x [params]: ratio · ‖x‖₂ / √n, at least the floor. */
    public double of(INDArray updatesPlusResidual) {
        long n = updatesPlusResidual.length();
        double rms = n == 0 ? 0 : updatesPlusResidual.norm2Number().doubleValue() / Math.sqrt(n);
        return Math.max(ratio * rms, floor);
    }

    @Override
    public double calculateThreshold(int iteration, int epoch, Double lastThreshold, Boolean lastWasDense,
                                     Double lastSparsityRatio, INDArray updatesPlusResidual) {
        return updatesPlusResidual == null ? Math.max(floor, lastThreshold == null ? floor : lastThreshold) : of(updatesPlusResidual);
    }

    @Override
    public ThresholdAlgorithmReducer newReducer() {
        return new LrThreshold.Reducer();
    }

    @Override
    public RmsThreshold clone() {
        return new RmsThreshold(ratio, floor);
    }

    @Override
    public String toString() {
        return "RmsThreshold(ratio=" + ratio + ", floor=" + floor + ")";
    }
}
