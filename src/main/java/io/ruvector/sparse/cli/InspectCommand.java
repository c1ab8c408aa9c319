package io.ruvector.sparse.cli;

import io.ruvector.sparse.quant.GgmlType;
import io.ruvector.sparse.gguf.GgufArray;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.gguf.GgufValue;
import io.ruvector.sparse.gguf.GgufValueType;
import io.ruvector.sparse.gguf.TensorInfo;
import io.ruvector.sparse.quant.TensorType;
import io.ruvector.sparse.quant.TensorTypes;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code sparse-infer inspect MODEL}: prints a GGUF file's header (version, magic, alignment, metadata with
 * long values shortened, the tensor table, totals and bytes per type). With {@code --dump NAME --out FILE}
 * it writes that tensor dequantized as little-endian float32 instead.
 */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = {"Print the header of a GGUF file: metadata, tensor table, totals.",
                "With --dump NAME --out FILE: write tensor NAME dequantized as little-endian float32."})
public final class InspectCommand implements Callable<Integer> {

    /** Array elements shown before "..."; string characters shown before "...". */
    static final int ARRAY_PREVIEW = 6;
    static final int STRING_PREVIEW = 80;

    @Spec
    private CommandSpec spec;

    @Mixin
    private CommonOptions common;

    @Parameters(index = "0", paramLabel = "MODEL", description = "GGUF file")
    private Path model;

    @Option(names = "--dump", paramLabel = "NAME", description = "tensor to write dequantized (needs --out)")
    private String dump;

    @Option(names = {"-o", "--out"}, paramLabel = "FILE", description = "where --dump writes the float32 values")
    private Path out;

    @Option(names = "--full", description = "print arrays and strings in full")
    private boolean full;

    @Override
    public Integer call() throws IOException {
        if (dump != null && out == null) throw new CommandLine.ParameterException(spec.commandLine(), "--dump needs --out FILE");
        if (dump == null && out != null) throw new CommandLine.ParameterException(spec.commandLine(), "--out is only used with --dump NAME");
        if (!Files.exists(model)) throw new IllegalArgumentException("no such file: " + model);
        if (!Files.isRegularFile(model)) throw new IllegalArgumentException("not a regular file: " + model);
        PrintWriter w = spec.commandLine().getOut();
        try (GgufFile f = GgufFile.open(model)) {
            if (dump != null) {
                long values = dumpTensor(f, dump, out);
                w.printf("wrote %s: %d float32 values (%d bytes) to %s%n", dump, values, 4 * values, out);
            } else {
                print(f, w);
            }
        }
        w.flush();
        return 0;
    }

    /** Writes tensor {@code name} of {@code f} dequantized row by row; returns the number of values. */
    static long dumpTensor(GgufFile f, String name, Path out) throws IOException {
        TensorInfo t = f.tensor(name).orElseThrow(() -> new IllegalArgumentException("no tensor '" + name + "' in "
                + f.path().getFileName() + " (" + f.tensors().size() + " tensors; see 'inspect' for the list)"));
        TensorType type = TensorTypes.of(t.type());
        long rowLength = t.rowLength();
        long rows = t.rows();
        if (rowLength > Integer.MAX_VALUE / 4) throw new IllegalArgumentException("tensor '" + name + "' has rows too long to dump");
        MemorySegment data = f.tensorData(t);
        long rowBytes = t.rowBytes();
        float[] row = new float[(int) rowLength];
        ByteBuffer buf = ByteBuffer.allocate(4 * (int) rowLength).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(out, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            for (long r = 0; r < rows && rowLength > 0; r++) {
                type.dequantize(data, r * rowBytes, row, 0, (int) rowLength);
                buf.clear();
                buf.asFloatBuffer().put(row);
                buf.limit(4 * row.length);
                while (buf.hasRemaining()) ch.write(buf);
            }
        }
        return rows * rowLength;
    }

    private void print(GgufFile f, PrintWriter w) {
        w.printf("file        %s (%d bytes)%n", f.path(), f.fileSize());
        w.printf("format      GGUF v%d, magic %s%n", f.version(), f.isPowerInfer() ? "PWRI (PowerInfer)" : "GGUF");
        w.printf("alignment   %d%s%n", f.alignment(), f.has("general.alignment") ? "" : " (default)");
        w.printf("data        from byte %d, %d bytes%n", f.dataOffset(), f.fileSize() - f.dataOffset());

        Map<String, GgufValue> md = f.metadata();
        w.printf("%nmetadata (%d keys)%n", md.size());
        int keyWidth = Math.min(48, md.keySet().stream().mapToInt(String::length).max().orElse(0));
        for (Map.Entry<String, GgufValue> e : md.entrySet()) {
            GgufValue v = e.getValue();
            w.printf("  %-" + keyWidth + "s  %-16s %s%n", e.getKey(), typeLabel(v), render(v, full));
        }

        List<TensorInfo> tensors = f.tensors();
        w.printf("%ntensors (%d)%n", tensors.size());
        if (!tensors.isEmpty()) {
            int nameWidth = Math.max(4, Math.min(48, tensors.stream().mapToInt(t -> t.name().length()).max().orElse(0)));
            String fmt = "  %-" + nameWidth + "s  %-7s %-22s %14s %14s%n";
            w.printf(fmt, "name", "type", "shape", "offset", "bytes");
            for (TensorInfo t : tensors) {
                w.printf(fmt, t.name(), t.type(), Arrays.toString(t.dims()), t.offset(), t.byteSize());
            }
        }
        Map<GgmlType, long[]> byType = new EnumMap<>(GgmlType.class); // tensors, elements, bytes
        long elements = 0, bytes = 0;
        for (TensorInfo t : tensors) {
            long[] s = byType.computeIfAbsent(t.type(), k -> new long[3]);
            s[0]++;
            s[1] += t.elementCount();
            s[2] += t.byteSize();
            elements += t.elementCount();
            bytes += t.byteSize();
        }
        w.printf("%ntotal       %d tensors, %d parameters (%s), %d bytes (%s)%n", tensors.size(), elements,
                count(elements), bytes, size(bytes));
        if (!byType.isEmpty()) {
            w.printf("%nbytes per type%n");
            List<Map.Entry<GgmlType, long[]>> rows = new ArrayList<>(byType.entrySet());
            rows.sort((a, b) -> Long.compare(b.getValue()[2], a.getValue()[2]));
            for (Map.Entry<GgmlType, long[]> e : rows) {
                long[] s = e.getValue();
                w.printf("  %-7s %5d tensors %14d parameters %14d bytes %6.1f%%  (%.3f bits/weight)%n", e.getKey(), s[0], s[1],
                        s[2], bytes == 0 ? 0 : 100.0 * s[2] / bytes, s[1] == 0 ? 0 : 8.0 * s[2] / s[1]);
            }
        }
    }

    private static String typeLabel(GgufValue v) {
        if (v.type() != GgufValueType.ARRAY) return v.type().name().toLowerCase();
        GgufArray a = v.asArray();
        return "[" + a.elementType().name().toLowerCase() + "; " + a.size() + "]";
    }

    /** A value on one line: strings quoted and escaped, long strings and arrays shortened unless {@code full}. */
    static String render(GgufValue v, boolean full) {
        return switch (v.type()) {
            case STRING -> quote(v.asString(), full);
            case ARRAY -> {
                GgufArray a = v.asArray();
                int n = a.size();
                int shown = full ? n : Math.min(n, ARRAY_PREVIEW);
                StringBuilder sb = new StringBuilder("[");
                for (int i = 0; i < shown; i++) {
                    if (i > 0) sb.append(", ");
                    sb.append(render(a.get(i), full));
                }
                if (shown < n) sb.append(", ... ").append(n - shown).append(" more");
                yield sb.append(']').toString();
            }
            default -> v.toString();
        };
    }

    private static String quote(String s, boolean full) {
        StringBuilder sb = new StringBuilder("\"");
        int limit = full ? Integer.MAX_VALUE : STRING_PREVIEW;
        int i = 0;
        for (; i < s.length() && sb.length() <= limit; i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                default -> {
                    if (c < 0x20 || c == 0x7F) sb.append(String.format("\\x%02x", (int) c));
                    else sb.append(c);
                }
            }
        }
        sb.append('"');
        if (i < s.length()) sb.append("... (").append(s.length()).append(" chars)");
        return sb.toString();
    }

    private static String count(long n) {
        if (n >= 1_000_000_000L) return String.format("%.2f B", n / 1e9);
        if (n >= 1_000_000L) return String.format("%.2f M", n / 1e6);
        if (n >= 1_000L) return String.format("%.1f K", n / 1e3);
        return Long.toString(n);
    }

    static String size(long bytes) {
        if (bytes >= 1L << 30) return String.format("%.2f GiB", bytes / (double) (1L << 30));
        if (bytes >= 1L << 20) return String.format("%.1f MiB", bytes / (double) (1L << 20));
        if (bytes >= 1L << 10) return String.format("%.1f KiB", bytes / (double) (1L << 10));
        return bytes + " B";
    }
}
