package org.sparkmim.model.eval;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** INDArray → Java arrays in row-major order, whatever the array's view, order or type. */
final class Arrays2 {
    private Arrays2() { }

    static float[] floats(INDArray x) {
        return x.castTo(DataType.FLOAT).dup('c').data().asFloat();
    }
}
