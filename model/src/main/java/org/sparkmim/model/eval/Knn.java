package org.sparkmim.model.eval;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Weighted k-nearest-neighbour classifier on frozen features, as in DINO's eval_knn: cosine similarity, the k
 * most similar bank images vote for their class with weight exp(sim / T), and the classes are ranked by their
 * summed votes (top-1 and top-5).
 *
 * <p>Similarities are one gemm per chunk of queries ([c, F] × [F, Nbank]); the chunk keeps the similarity block
 * near 64 MB, so 10k queries against a 60k bank never hold a 2.4 GB matrix.
 */
public final class Knn {
    private static final long CHUNK_FLOATS = 16L << 20;

    private Knn() { }

    /**
     * @param top1Pred [Nq] the top-ranked class per query (for confusion matrices)
     */
    public record Result(double top1, double top5, int[] top1Pred) { }

    /**
     * @param bank    [Nb, F] features of labelled reference images
     * @param queries [Nq, F] features to classify
     */
    public static Result classify(INDArray bank, int[] bankLabels, INDArray queries, int[] queryLabels, int classes,
                                  int k, double temperature) {
        int nb = (int) bank.rows(), nq = (int) queries.rows();
        if (bankLabels.length != nb || queryLabels.length != nq) {
            throw new IllegalArgumentException("labels/rows mismatch: bank " + bankLabels.length + "/" + nb + ", queries "
                    + queryLabels.length + "/" + nq);
        }
        if (bank.columns() != queries.columns()) {
            throw new IllegalArgumentException("bank has " + bank.columns() + " features, queries " + queries.columns());
        }
        int kk = Math.min(k, nb);
        // the bank transposed once into [F, Nb] row-major: gemm with transB=true re-transposes the whole bank on
        // every call (measured 2-3x slower per chunk on a 60k x 784 bank)
        INDArray bt = unitRows(bank).transpose().dup('c');             // [F, Nb]
        INDArray q = unitRows(queries);                                // [Nq, F]
        int chunk = (int) Math.max(1, Math.min(nq, CHUNK_FLOATS / Math.max(1, nb)));
        INDArray simBuf = Nd4j.create(DataType.FLOAT, chunk, nb);      // reused: [chunk, Nb]
        float[] sv = new float[chunk * nb];
        int[] pred = new int[nq];
        int hit1 = 0, hit5 = 0;
        int[] idx = new int[kk];
        float[] sim = new float[kk];
        double[] votes = new double[classes];
        for (int from = 0; from < nq; from += chunk) {
            int to = Math.min(nq, from + chunk);
            INDArray s = to - from == chunk ? simBuf : Nd4j.create(DataType.FLOAT, to - from, nb);
            Nd4j.gemm(q.get(NDArrayIndex.interval(from, to), NDArrayIndex.all()).dup('c'), bt, s, false, false, 1.0, 0.0);
            s.data().asNioFloat().get(sv, 0, (to - from) * nb);       // [c, Nb] row-major, no per-chunk allocation
            for (int r = 0; r < to - from; r++) {
                topK(sv, r * nb, nb, kk, idx, sim);
                java.util.Arrays.fill(votes, 0);
                for (int j = 0; j < kk; j++) votes[bankLabels[idx[j]]] += Math.exp(sim[j] / temperature);
                int y = queryLabels[from + r];
                int[] rank = topClasses(votes, Math.min(5, classes));
                pred[from + r] = rank[0];
                if (rank[0] == y) hit1++;
                for (int c : rank) if (c == y) hit5++;
            }
        }
        return new Result(hit1 / (double) nq, hit5 / (double) nq, pred);
    }

    /** Rows scaled to unit L2 norm (a zero row stays zero: it is similar to nothing). */
    static INDArray unitRows(INDArray x) {
        INDArray f = x.castTo(DataType.FLOAT).dup('c');
        INDArray norms = f.norm2(1).reshape(f.rows(), 1);
        norms.addi(1e-12);
        return f.diviColumnVector(norms);
    }

    /** Indices and values of the k largest of v[off .. off+n), descending (ties: lower index first). */
    static void topK(float[] v, int off, int n, int k, int[] idx, float[] val) {
        int size = 0;
        for (int i = 0; i < n; i++) {
            float x = v[off + i];
            if (size == k && x <= val[k - 1]) continue;
            int p = size < k ? size++ : k - 1;
            while (p > 0 && val[p - 1] < x) {
                val[p] = val[p - 1];
                idx[p] = idx[p - 1];
                p--;
            }
            val[p] = x;
            idx[p] = i;
        }
    }

    /** The m classes with the most votes, best first (ties: lower class first). */
    static int[] topClasses(double[] votes, int m) {
        int[] best = new int[m];
        boolean[] used = new boolean[votes.length];
        for (int r = 0; r < m; r++) {
            int arg = -1;
            for (int c = 0; c < votes.length; c++) if (!used[c] && (arg < 0 || votes[c] > votes[arg])) arg = c;
            used[arg] = true;
            best[r] = arg;
        }
        return best;
    }
}
