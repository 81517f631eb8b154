package org.sparkmim.model.nn;

import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

/**
 * One field of a packed masking plan computed inside the graph (SBAM). A plan row for N tokens and Kmax encoder
 * slots is laid out as
 * <pre>
 *   [ slot (N) | mask (N) | key_bias (1+Kmax) | ids_keep (Kmax) ]      width W = 2N + 1 + 2·Kmax
 * </pre>
 * slot[n] = encoder slot of token n or −1 (masked); mask[n] = 1 if token n is masked; key_bias = 0 for CLS and
 * real tokens, −1e9 for padded encoder slots; ids_keep[j] = token in encoder slot j, −1 for padding.
 * Plans carry no gradient: backward returns zeros.
 */
public class PlanSlice extends FreeVertexConf {
    public static final String SLOT = "slot";
    public static final String MASK = "mask";
    public static final String KEY_BIAS = "key_bias";
    public static final String IDS_KEEP = "ids_keep";

    public int tokens;
    public String field;

    public PlanSlice() { }

    public PlanSlice(int tokens, String field) {
        if (!java.util.List.of(SLOT, MASK, KEY_BIAS, IDS_KEEP).contains(field)) {
            throw new IllegalArgumentException("plan field " + field);
        }
        this.tokens = tokens;
        this.field = field;
    }

    /** Kmax of a packed plan of width w. */
    public static int maxKeep(long width, int tokens) {
        return (int) ((width - 2L * tokens - 1) / 2);
    }

    /** Column range [from, to) of a field in a plan row of width w. */
    static long[] range(String field, long width, int n) {
        int k = maxKeep(width, n);
        return switch (field) {
            case SLOT -> new long[]{0, n};
            case MASK -> new long[]{n, 2L * n};
            case KEY_BIAS -> new long[]{2L * n, 2L * n + 1 + k};
            default -> new long[]{2L * n + 1 + k, width};
        };
    }

    @Override
    public PlanSlice clone() {
        return new PlanSlice(tokens, field);
    }

    @Override
    public int minVertexInputs() {
        return 1;
    }

    @Override
    public int maxVertexInputs() {
        return 1;
    }

    @Override
    public String toString() {
        return "PlanSlice(N=" + tokens + "," + field + ")";
    }

    @Override
    protected Runtime createRuntime(ComputationGraph graph, String name, int idx, DataType dt) {
        return new Impl(this, graph, name, idx, dt);
    }

    static final class Impl extends Runtime {
        private final PlanSlice c;
        private long[] planShape;

        Impl(PlanSlice c, ComputationGraph graph, String name, int idx, DataType dt) {
            super(graph, name, idx, dt);
            this.c = c;
        }

        @Override
        public INDArray doForward(boolean training, LayerWorkspaceMgr ws) {
            INDArray plan = inputs[0];
            planShape = plan.shape();
            long[] r = range(c.field, planShape[1], c.tokens);
            INDArray out = act(ws, planShape[0], r[1] - r[0]);
            out.assign(plan.get(all(), interval(r[0], r[1])));
            return out;
        }

        @Override
        public Pair<Gradient, INDArray[]> doBackward(boolean tbptt, LayerWorkspaceMgr ws) {
            return new Pair<>(null, new INDArray[]{zeroGrad(ws, planShape)});
        }
    }
}
