package org.sparkmim.model.nn;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Fixed 2-D sin-cos positional embedding (MAE util/pos_embed.py; METHODS.md §0).
 * First D/2 dims encode the column index, last D/2 the row index; each half is [sin(t·ω), cos(t·ω)] with
 * ω_k = 10000^(−k/(D/4)). Token n = r·G + c. Never trained.
 */
public final class SinCosPosEmbed {
    private SinCosPosEmbed() { }

    /** [N, D] table for a gridH × gridW grid (no CLS row). D must be divisible by 4. */
    public static double[][] table(int gridH, int gridW, int dim) {
        if (dim % 4 != 0) throw new IllegalArgumentException("sin-cos position embedding needs width % 4 == 0, got " + dim);
        int half = dim / 2, quarter = dim / 4;
        double[][] t = new double[gridH * gridW][dim];
        for (int r = 0; r < gridH; r++) {
            for (int c = 0; c < gridW; c++) {
                double[] row = t[r * gridW + c];
                for (int k = 0; k < quarter; k++) {
                    double omega = Math.pow(10000.0, -(double) k / quarter);
                    row[k] = Math.sin(c * omega);
                    row[quarter + k] = Math.cos(c * omega);
                    row[half + k] = Math.sin(r * omega);
                    row[half + quarter + k] = Math.cos(r * omega);
                }
            }
        }
        return t;
    }

    /** The table as a detached ND4J array [N, D] of the given type. */
    public static INDArray array(int gridH, int gridW, int dim, DataType dt) {
        try (var ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            return Nd4j.create(table(gridH, gridW, dim)).castTo(dt);
        }
    }
}
