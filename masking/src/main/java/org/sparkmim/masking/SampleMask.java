package org.sparkmim.masking;

import java.util.Arrays;
import java.util.Objects;

/**
 * One image's masking plan over N tokens, in MAE's representation (models_mae.py,
 * {@code random_masking}):
 * <ul>
 *   <li>{@code idsShuffle} [N]: a permutation of 0..N-1; its first {@code keep} entries are the
 *       visible tokens, in the order the encoder sees them;</li>
 *   <li>{@code idsRestore} [N]: the inverse permutation, used by the decoder to put
 *       [visible ++ mask tokens] back in grid order: {@code un[n] = seq[idsRestore[n]]};</li>
 *   <li>{@code keep}: K, the number of visible tokens.</li>
 * </ul>
 * Every operator produces this one type, so the model's batch preparer needs to know nothing about
 * how the plan was chosen. Immutable: array accessors return copies.
 */
public final class SampleMask {

    private final int[] idsShuffle; // [N]
    private final int[] idsRestore; // [N]
    private final int keep;

    private SampleMask(int[] idsShuffle, int[] idsRestore, int keep) {
        this.idsShuffle = idsShuffle;
        this.idsRestore = idsRestore;
        this.keep = keep;
    }

    /**
     * Builds a plan from a shuffle order and a visible count; computes the inverse permutation.
     *
     * @param idsShuffle [N] a permutation of 0..N-1 (copied)
     * @param keep       number of visible tokens, 0 <= keep <= N
     * @throws IllegalArgumentException if idsShuffle is not a permutation or keep is out of range
     */
    public static SampleMask fromShuffle(int[] idsShuffle, int keep) {
        Objects.requireNonNull(idsShuffle, "idsShuffle must not be null");
        int n = idsShuffle.length;
        if (keep < 0 || keep > n) {
            throw new IllegalArgumentException(
                    "keep=" + keep + " is out of range: need 0 <= keep <= N=" + n);
        }
        int[] shuffle = idsShuffle.clone();
        int[] restore = new int[n]; // [N]
        Arrays.fill(restore, -1);
        for (int i = 0; i < n; i++) {
            int token = shuffle[i];
            if (token < 0 || token >= n) {
                throw new IllegalArgumentException("idsShuffle is not a permutation of 0.." + (n - 1)
                        + ": idsShuffle[" + i + "]=" + token + " is out of range");
            }
            if (restore[token] != -1) {
                throw new IllegalArgumentException("idsShuffle is not a permutation of 0.." + (n - 1)
                        + ": token " + token + " appears at positions " + restore[token] + " and " + i);
            }
            restore[token] = i;
        }
        return new SampleMask(shuffle, restore, keep);
    }

    /**
     * Builds a plan from a per-token mask (true = masked). Visible tokens come first in ascending
     * index order, then masked tokens in ascending order: a canonical order for operators that
     * decide the set, not the sequence.
     *
     * @param masked [N] true where the token is removed
     */
    public static SampleMask fromMasked(boolean[] masked) {
        Objects.requireNonNull(masked, "masked must not be null");
        int n = masked.length;
        int[] shuffle = new int[n]; // [N]
        int v = 0;
        for (int t = 0; t < n; t++) {
            if (!masked[t]) {
                shuffle[v++] = t;
            }
        }
        int m = v;
        for (int t = 0; t < n; t++) {
            if (masked[t]) {
                shuffle[m++] = t;
            }
        }
        return fromShuffle(shuffle, v);
    }

    /** Number of tokens N. */
    public int n() {
        return idsShuffle.length;
    }

    /** Number of visible tokens K. */
    public int keep() {
        return keep;
    }

    /** Number of masked tokens, N - K. */
    public int maskedCount() {
        return idsShuffle.length - keep;
    }

    /** [N] shuffle order; the first K are visible. Copy. */
    public int[] idsShuffle() {
        return idsShuffle.clone();
    }

    /** [N] inverse of {@link #idsShuffle()}: position of token n in the shuffle. Copy. */
    public int[] idsRestore() {
        return idsRestore.clone();
    }

    /** [K] the visible tokens in encoder order, = idsShuffle[0..K). */
    public int[] idsKeep() {
        return Arrays.copyOf(idsShuffle, keep);
    }

    /**
     * [N] binary mask in grid order, 1 = removed (masked), 0 = visible: MAE's
     * {@code mask[n] = m[ids_restore[n]]} with {@code m = [0]*K ++ [1]*(N-K)}.
     */
    public float[] mask() {
        float[] mask = new float[idsRestore.length]; // [N]
        for (int t = 0; t < mask.length; t++) {
            mask[t] = idsRestore[t] >= keep ? 1f : 0f;
        }
        return mask;
    }

    /** Whether token n (grid order, n = r*G + c) is masked. */
    public boolean isMasked(int n) {
        if (n < 0 || n >= idsRestore.length) {
            throw new IndexOutOfBoundsException("token " + n + " out of range 0.." + (idsRestore.length - 1));
        }
        return idsRestore[n] >= keep;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SampleMask other
                && keep == other.keep
                && Arrays.equals(idsShuffle, other.idsShuffle);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(idsShuffle) + keep;
    }

    @Override
    public String toString() {
        return "SampleMask{n=" + n() + ", keep=" + keep + ", idsKeep=" + Arrays.toString(idsKeep()) + "}";
    }
}
