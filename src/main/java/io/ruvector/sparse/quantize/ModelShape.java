package io.ruvector.sparse.quantize;

import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.gguf.GgufValue;
import io.ruvector.sparse.gguf.GgufValueType;

/**
 * The hyperparameters llama-quantize's mixes look at, read from a model's metadata.
 *
 * @param architecture {@code general.architecture}
 * @param layers       {@code <arch>.block_count}
 * @param heads        attention heads (of layer 0 when stored per layer)
 * @param kvHeads      key/value heads (of layer 0), {@code heads} when absent
 * @param experts      {@code <arch>.expert_count}, 0 for dense models
 */
public record ModelShape(String architecture, int layers, int heads, int kvHeads, int experts) {

    /**
     * Reads the shape of {@code file}.
     *
     * @throws IllegalArgumentException when the file has no architecture or block count (not a model)
     */
    public static ModelShape of(GgufFile file) {
        String arch = file.get("general.architecture").map(GgufValue::asString).orElseThrow(() ->
                new IllegalArgumentException(file.name() + ": not a model (no general.architecture)"));
        int layers = file.get(arch + ".block_count").map(GgufValue::asInt).orElseThrow(() ->
                new IllegalArgumentException(file.name() + ": not a model (no " + arch + ".block_count)"));
        int heads = firstInt(file, arch + ".attention.head_count", 0);
        int kvHeads = firstInt(file, arch + ".attention.head_count_kv", heads);
        int experts = file.getInt(arch + ".expert_count", 0);
        return new ModelShape(arch, layers, heads, kvHeads, experts);
    }

    /** A scalar, or the first element of a per-layer array (llama.cpp's mixes look at layer 0). */
    private static int firstInt(GgufFile file, String key, int orElse) {
        GgufValue v = file.get(key).orElse(null);
        if (v == null) return orElse;
        if (v.type() == GgufValueType.ARRAY) return v.asArray().size() == 0 ? orElse : v.asArray().get(0).asInt();
        return v.asInt();
    }

    /** Query heads per key/value head (0 when there are no kv heads), as llama.cpp's {@code n_gqa()}. */
    public int gqa() { return kvHeads == 0 ? 0 : heads / kvHeads; }

    /**
     * Llama-2-70B's shape (llama, 80 layers, grouped-query attention), for which llama.cpp gives attn_v
     * more bits: its 8 query heads share one value head, so attn_v is small and cheap to widen.
     */
    public boolean isLlama70B() { return architecture.equals("llama") && layers == 80 && heads != kvHeads; }

    public boolean isFalcon() { return architecture.equals("falcon"); }
}
