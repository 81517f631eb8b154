package org.sparkmim.job.dataset;

import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.util.CollectionAccumulator;

import java.awt.image.BufferedImage;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * The executor side of preprocess: one Spark partition = one shard's worth of listed items → dataset rows.
 * Bad images go to the rejects accumulator with their reason (the driver de-duplicates by key, so a re-executed
 * task cannot double-count). I/O errors are not rejects: they fail the task, which Spark retries, because a
 * flaky datanode must not turn good images into "rejected".
 */
final class ConvertTask implements FlatMapFunction<Iterator<SourceItem>, Row> {
    private final PreprocessConfig cfg;
    private final Broadcast<HadoopConf> conf;
    private final CollectionAccumulator<Reject> rejects;

    ConvertTask(PreprocessConfig cfg, Broadcast<HadoopConf> conf, CollectionAccumulator<Reject> rejects) {
        this.cfg = cfg;
        this.conf = conf;
        this.rejects = rejects;
    }

    @Override
    public Iterator<Row> call(Iterator<SourceItem> items) {
        ImageConverter converter = new ImageConverter(cfg, Codecs.byName(cfg.codec()));
        return new Iterator<>() {
            Row next = advance();

            private Row advance() {
                while (items.hasNext()) {
                    SourceItem it = items.next();
                    try {
                        return it.gray() != null ? idxRow(it) : fileRow(it, converter);
                    } catch (BadImageException e) {
                        rejects.add(new Reject(it.key(), e.getMessage()));
                    }
                }
                return null;
            }

            @Override
            public boolean hasNext() {
                return next != null;
            }

            @Override
            public Row next() {
                if (next == null) throw new NoSuchElementException();
                Row r = next;
                next = advance();
                return r;
            }
        };
    }

    private Row fileRow(SourceItem it, ImageConverter converter) throws BadImageException {
        byte[] bytes = read(it);
        ImageConverter.Result r = converter.convert(bytes);
        return RowFactory.create(it.key(), it.label(), it.className(), r.width(), r.height(), r.image(), it.split(),
                r.convertedFrom());
    }

    /** IDX images are stored as lossless 8-bit grey PNG at their own size (28×28 for Fashion-MNIST). */
    private static Row idxRow(SourceItem it) {
        BufferedImage img = new BufferedImage(it.width(), it.height(), BufferedImage.TYPE_BYTE_GRAY);
        System.arraycopy(it.gray(), 0, Images.bytes(img), 0, it.gray().length);
        return RowFactory.create(it.key(), it.label(), it.className(), it.width(), it.height(), Images.png(img),
                it.split(), null);
    }

    private byte[] read(SourceItem it) throws BadImageException {
        if (it.size() > cfg.maxFileBytes()) {
            throw new BadImageException("file is " + it.size() + " bytes, over mim.preprocess.max-file-bytes = "
                    + cfg.maxFileBytes());
        }
        Path p = new Path(it.uri());
        try {
            FileSystem fs = p.getFileSystem(conf.value().get());
            byte[] b = new byte[(int) it.size()];
            try (FSDataInputStream in = fs.open(p)) {
                in.readFully(b);
                if (in.read() >= 0) throw new BadImageException("file grew after listing (was " + it.size() + " bytes)");
            }
            return b;
        } catch (FileNotFoundException e) {
            throw new BadImageException("file vanished between listing and conversion");
        } catch (java.io.EOFException e) {
            throw new BadImageException("file shrank after listing (was " + it.size() + " bytes)");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + it.uri() + ": " + e.getMessage(), e);
        }
    }
}
