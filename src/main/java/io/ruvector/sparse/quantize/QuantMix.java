package io.ruvector.sparse.quantize;

import io.ruvector.sparse.gguf.GgmlType;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The named quantization mixes of {@code llama-quantize} that we can write: each has a default tensor type
 * (what most 2-D weights get) and the {@code general.file_type} number llama.cpp calls its {@code llama_ftype}.
 * Which tensors deviate from the default is decided by {@link MixRules}.
 *
 * <p>Left out: the i-quant mixes other than IQ4_NL (we have no encoders for them), Q2_K_S (llama-quantize
 * refuses it without an importance matrix, which we do not compute) and MXFP4_MOE (no encoder).
 */
public enum QuantMix {
    F32(0, GgmlType.F32),
    F16(1, GgmlType.F16),
    Q4_0(2, GgmlType.Q4_0),
    Q4_1(3, GgmlType.Q4_1),
    Q8_0(7, GgmlType.Q8_0),
    Q5_0(8, GgmlType.Q5_0),
    Q5_1(9, GgmlType.Q5_1),
    Q2_K(10, GgmlType.Q2_K),
    Q3_K_S(11, GgmlType.Q3_K),
    Q3_K_M(12, GgmlType.Q3_K),
    Q3_K_L(13, GgmlType.Q3_K),
    Q4_K_S(14, GgmlType.Q4_K),
    Q4_K_M(15, GgmlType.Q4_K),
    Q5_K_S(16, GgmlType.Q5_K),
    Q5_K_M(17, GgmlType.Q5_K),
    Q6_K(18, GgmlType.Q6_K),
    IQ4_NL(25, GgmlType.IQ4_NL),
    BF16(32, GgmlType.BF16);

    private final int fileType;
    private final GgmlType defaultType;

    QuantMix(int fileType, GgmlType defaultType) {
        this.fileType = fileType;
        this.defaultType = defaultType;
    }

    /** llama.cpp's {@code llama_ftype} number, written as {@code general.file_type}. */
    public int fileType() { return fileType; }

    /** The type a weight gets unless the mix's rules (or a shape that does not fit it) say otherwise. */
    public GgmlType defaultType() { return defaultType; }

    /** True when the default type is a block-quantized one (not F32, F16 or BF16): only then do mix rules apply. */
    public boolean isQuantized() { return defaultType != GgmlType.F32 && defaultType != GgmlType.F16 && defaultType != GgmlType.BF16; }

    /**
     * The mix named {@code name}, case-insensitively, as llama-quantize spells it: a mix name, one of its
     * aliases (Q3_K for Q3_K_M, Q4_K for Q4_K_M, Q5_K for Q5_K_M), or a {@code llama_ftype} number.
     *
     * @throws IllegalArgumentException naming the valid names when {@code name} is none of them
     */
    public static QuantMix parse(String name) {
        String n = name.strip().toUpperCase(Locale.ROOT);
        switch (n) {
            case "Q3_K" -> { return Q3_K_M; }
            case "Q4_K" -> { return Q4_K_M; }
            case "Q5_K" -> { return Q5_K_M; }
            default -> { }
        }
        for (QuantMix m : values()) {
            if (m.name().equals(n) || String.valueOf(m.fileType).equals(n)) return m;
        }
        throw new IllegalArgumentException("unknown quantization type '" + name + "' (valid: " + String.join(", ", names()) + ")");
    }

    /** The names {@link #parse} accepts, in llama-quantize's order of increasing size, aliases included. */
    public static List<String> names() {
        List<String> names = new ArrayList<>();
        for (QuantMix m : List.of(Q2_K, Q3_K_S, Q3_K_M, Q3_K_L, Q4_0, Q4_1, IQ4_NL, Q4_K_S, Q4_K_M, Q5_0, Q5_1, Q5_K_S,
                Q5_K_M, Q6_K, Q8_0, F16, BF16, F32)) {
            names.add(m.name());
        }
        names.addAll(List.of("Q3_K", "Q4_K", "Q5_K"));
        assert names.size() == values().length + 3;
        return names;
    }
}
