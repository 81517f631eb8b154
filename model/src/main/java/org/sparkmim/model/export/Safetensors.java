package org.sparkmim.model.export;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The safetensors format (huggingface/safetensors), float32 tensors (and int64 counters, torch's batch-norm
 * {@code num_batches_tracked}): an 8-byte little-endian header length n, n bytes
 * of JSON {@code {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ..., "__metadata__":
 * {string: string}}} padded with spaces to a multiple of 8, then the tensors' raw little-endian bytes back to back,
 * row-major, at those offsets (relative to the end of the header).
 *
 * <p>Written here rather than taken from a library: no maintained JVM safetensors library is served here, and the
 * format is this small. Jackson writes the header. {@link #read} exists for round trips in tests and for tools.
 */
public final class Safetensors {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Safetensors() { }

    /** A row-major float32 tensor, or with {@code int64} non-null an int64 one (then {@code data} is empty). */
    public record Tensor(long[] shape, float[] data, long[] int64) {
        public Tensor {
            long n = 1;
            for (long d : shape) n *= d;
            long got = int64 != null ? int64.length : data.length;
            if (n != got || (int64 != null && data.length != 0)) {
                throw new IllegalArgumentException("tensor of shape " + java.util.Arrays.toString(shape) + " needs " + n
                        + " values, got " + got);
            }
        }

        public Tensor(long[] shape, float[] data) {
            this(shape, data, null);
        }

        /** A scalar int64 (shape []). */
        public static Tensor int64(long v) {
            return new Tensor(new long[0], new float[0], new long[]{v});
        }

        String dtype() {
            return int64 != null ? "I64" : "F32";
        }

        long bytes() {
            return int64 != null ? 8L * int64.length : 4L * data.length;
        }
    }

    /** Writes atomically: a temporary file beside {@code out}, then a rename, so a failed export leaves nothing half-written. */
    public static void write(Path out, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", e.getValue().dtype());
            var shape = t.putArray("shape");
            for (long d : e.getValue().shape()) shape.add(d);
            long bytes = e.getValue().bytes();
            t.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        Path dir = out.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + out.getFileName(), ".tmp");
        try {
            try (OutputStream os = Files.newOutputStream(tmp, StandardOpenOption.TRUNCATE_EXISTING)) {
                os.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
                os.write(json);
                for (int i = json.length; i < padded; i++) os.write(' ');
                for (Tensor t : tensors.values()) {
                    ByteBuffer b = ByteBuffer.allocate((int) t.bytes()).order(ByteOrder.LITTLE_ENDIAN);
                    if (t.int64() != null) b.asLongBuffer().put(t.int64());
                    else b.asFloatBuffer().put(t.data());
                    os.write(b.array());
                }
            }
            Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** The tensors of a safetensors file of float32 (and int64) tensors, in header order. */
    public static LinkedHashMap<String, Tensor> read(Path in) throws IOException {
        try (FileChannel ch = FileChannel.open(in, StandardOpenOption.READ)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(len, 0);
            long n = len.getLong(0);
            if (n <= 0 || n > 100_000_000 || n + 8 > ch.size()) {
                throw new IOException(in + " is not a safetensors file: header length " + n + " in a file of " + ch.size() + " bytes");
            }
            ByteBuffer h = ByteBuffer.allocate((int) n);
            ch.read(h, 8);
            JsonNode header = JSON.readTree(new String(h.array(), StandardCharsets.UTF_8).trim());
            LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("__metadata__")) continue;
                JsonNode t = e.getValue();
                String dtype = t.get("dtype").asText();
                if (!"F32".equals(dtype) && !"I64".equals(dtype)) {
                    throw new IOException(in + ": tensor " + e.getKey() + " is " + dtype + ", only F32 and I64 are read");
                }
                long[] shape = new long[t.get("shape").size()];
                for (int i = 0; i < shape.length; i++) shape[i] = t.get("shape").get(i).asLong();
                long b = t.get("data_offsets").get(0).asLong(), end = t.get("data_offsets").get(1).asLong();
                ByteBuffer data = ByteBuffer.allocate((int) (end - b)).order(ByteOrder.LITTLE_ENDIAN);
                ch.read(data, 8 + n + b);
                data.flip();
                if ("I64".equals(dtype)) {
                    long[] l = new long[(int) ((end - b) / 8)];
                    data.asLongBuffer().get(l);
                    out.put(e.getKey(), new Tensor(shape, new float[0], l));
                    continue;
                }
                float[] f = new float[(int) ((end - b) / 4)];
                data.asFloatBuffer().get(f);
                out.put(e.getKey(), new Tensor(shape, f));
            }
            return out;
        }
    }

    /** The "__metadata__" strings of a safetensors file. */
    public static Map<String, String> metadata(Path in) throws IOException {
        try (FileChannel ch = FileChannel.open(in, StandardOpenOption.READ)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(len, 0);
            ByteBuffer h = ByteBuffer.allocate((int) len.getLong(0));
            ch.read(h, 8);
            JsonNode meta = JSON.readTree(new String(h.array(), StandardCharsets.UTF_8).trim()).get("__metadata__");
            Map<String, String> out = new LinkedHashMap<>();
            if (meta != null) meta.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().asText()));
            return out;
        }
    }
}
