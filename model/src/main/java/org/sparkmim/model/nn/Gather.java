package org.sparkmim.model.nn;

import org.nd4j.linalg.api.ndarray.INDArray;

/** Index bookkeeping for token gathers; index arrays arrive as float graph inputs. */
final class Gather {
    private Gather() { }

    /** ids [B,K] (float-coded ints) → flat row indices b·N + ids[b,k] into a [B·N, ·] matrix. */
    static int[] flatRows(INDArray ids, long n) {
        int b = (int) ids.size(0), k = (int) ids.size(1);
        int[] out = new int[b * k];
        double[] v = ids.dup('c').data().asDouble();
        for (int i = 0; i < b; i++) {
            for (int j = 0; j < k; j++) {
                int id = (int) v[i * k + j];
                if (id < 0 || id >= n) throw new IllegalArgumentException("token index " + id + " outside [0," + n + ")");
                out[i * k + j] = (int) (i * n + id);
            }
        }
        return out;
    }

    static int[] ints(INDArray a) {
        double[] v = a.dup('c').data().asDouble();
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) out[i] = (int) Math.round(v[i]);
        return out;
    }
}
