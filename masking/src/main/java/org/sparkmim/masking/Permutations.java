package org.sparkmim.masking;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Small permutation helpers shared by the operators. Package-private: not part of the API. */
final class Permutations {

    private Permutations() {
    }

    /**
     * Indices that sort {@code keys} ascending; ties keep index order (stable), as
     * torch.argsort would on distinct noise. [N] -> [N]
     */
    static int[] argsort(double[] keys) {
        Integer[] idx = new Integer[keys.length];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        // Arrays.sort on objects is a stable merge sort (TimSort).
        Arrays.sort(idx, (a, b) -> Double.compare(keys[a], keys[b]));
        int[] out = new int[idx.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = idx[i];
        }
        return out;
    }

    /**
     * MAE's way to draw a uniform permutation: argsort of i.i.d. uniform noise. [N]
     * Kept (rather than Fisher-Yates) so that the "noise" step is the same one SBAM perturbs.
     */
    static int[] noiseArgsort(int n, SplittableRandom rng) {
        double[] noise = new double[n]; // [N]
        for (int i = 0; i < n; i++) {
            noise[i] = rng.nextDouble();
        }
        return argsort(noise);
    }

    /** In-place Fisher-Yates shuffle of a[from, to). */
    static void shuffle(int[] a, int from, int to, SplittableRandom rng) {
        for (int i = to - 1; i > from; i--) {
            int j = from + rng.nextInt(i - from + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    /**
     * Moves a uniformly chosen subset of size m of a[0, len) to a[0, m) (partial Fisher-Yates),
     * so picking m of len costs O(m) draws.
     */
    static void chooseFront(int[] a, int len, int m, SplittableRandom rng) {
        for (int i = 0; i < m; i++) {
            int j = i + rng.nextInt(len - i);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }
}
