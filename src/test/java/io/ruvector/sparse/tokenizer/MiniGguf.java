package io.ruvector.sparse.tokenizer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Writes metadata-only GGUF v3 files for tokenizer tests (no tensors). */
final class MiniGguf {

    private final Map<String, Object> kv = new LinkedHashMap<>();

    MiniGguf put(String key, Object value) {
        kv.put(key, value);
        return this;
    }

    /** A SentencePiece vocabulary: the given pieces with scores, plus {@code <unk> <s> </s>} and 256 byte tokens. */
    static MiniGguf sentencePiece(List<String> pieces, List<Float> scores) {
        List<String> tokens = new java.util.ArrayList<>(List.of("<unk>", "<s>", "</s>"));
        List<Float> s = new java.util.ArrayList<>(List.of(0f, 0f, 0f));
        List<Integer> types = new java.util.ArrayList<>(List.of(2, 3, 3));
        for (int b = 0; b < 256; b++) {
            tokens.add(String.format("<0x%02X>", b));
            s.add(0f);
            types.add(6);
        }
        tokens.addAll(pieces);
        s.addAll(scores);
        for (int i = 0; i < pieces.size(); i++) types.add(1);
        return new MiniGguf().put("tokenizer.ggml.model", "llama").put("tokenizer.ggml.tokens", tokens)
                .put("tokenizer.ggml.scores", new FloatList(s)).put("tokenizer.ggml.token_type", new IntList32(types));
    }

    record FloatList(List<Float> values) {}

    record IntList32(List<Integer> values) {}

    Path write(Path dir, String name) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        u32(out, 0x46554747);
        u32(out, 3);
        u64(out, 0);
        u64(out, kv.size());
        for (Map.Entry<String, Object> e : kv.entrySet()) {
            str(out, e.getKey());
            value(out, e.getValue());
        }
        while (out.size() % 32 != 0) out.write(0);
        Path p = dir.resolve(name);
        Files.write(p, out.toByteArray());
        return p;
    }

    private static void value(ByteArrayOutputStream out, Object v) {
        switch (v) {
            case String s -> { u32(out, 8); str(out, s); }
            case Boolean b -> { u32(out, 7); out.write(b ? 1 : 0); }
            case Integer i -> { u32(out, 5); u32(out, i); }
            case Long l -> { u32(out, 4); u32(out, (int) (long) l); } // UINT32
            case FloatList f -> {
                u32(out, 9); u32(out, 6); u64(out, f.values().size());
                for (float x : f.values()) u32(out, Float.floatToIntBits(x));
            }
            case IntList32 f -> {
                u32(out, 9); u32(out, 5); u64(out, f.values().size());
                for (int x : f.values()) u32(out, x);
            }
            case List<?> list -> {
                u32(out, 9); u32(out, 8); u64(out, list.size());
                for (Object o : list) str(out, (String) o);
            }
            default -> throw new IllegalArgumentException("unsupported value " + v);
        }
    }

    private static void str(ByteArrayOutputStream out, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        u64(out, b.length);
        out.writeBytes(b);
    }

    private static void u32(ByteArrayOutputStream out, int v) {
        out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
    }

    private static void u64(ByteArrayOutputStream out, long v) {
        out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
    }
}
