package org.sparkmim.job.pretrain;

import org.apache.spark.Partition;
import org.apache.spark.TaskContext;
import org.apache.spark.rdd.RDD;
import scala.reflect.ClassTag;

/**
 * A chunk's minibatch RDD that knows its own size. Before Direct training, DL4J's SharedTrainingMaster calls
 * {@code count()} on the RDD, and it uses the result only for statistics. A real count builds every minibatch of the
 * chunk once just to count it. Caching those minibatches is no way out either: it held a whole chunk of off-heap
 * batches at once (see TrainingMasters). Here {@code count()} is workers × steps, which EpochData guarantees, so
 * each minibatch is built once, in the training task.
 */
final class KnownCountRDD<T> extends RDD<T> {
    private final RDD<T> prev;
    private final long count;

    KnownCountRDD(RDD<T> prev, long count, ClassTag<T> tag) {
        super(prev, tag);
        this.prev = prev;
        this.count = count;
    }

    @Override
    public scala.collection.Iterator<T> compute(Partition split, TaskContext context) {
        return prev.iterator(split, context);
    }

    @Override
    public Partition[] getPartitions() {
        return prev.partitions();
    }

    @Override
    public long count() {
        return count;
    }
}
