package io.ruvector.sparse.quantize;

import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.gguf.TensorInfo;
import io.ruvector.sparse.quant.TensorTypes;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * The type every tensor of a model gets under a mix, decided before anything is written (so the output's
 * header, sizes included, is known up front and bad inputs fail before the first byte).
 *
 * @param mix       the mix (its {@code llama_ftype} goes into {@code general.file_type})
 * @param tensors   every input tensor with its output type, in llama-quantize's output order
 * @param fallbacks one line per tensor whose rows did not fit the chosen type's blocks and that got a
 *                  compatible type instead, as llama-quantize warns
 */
public record QuantizePlan(QuantMix mix, List<Entry> tensors, List<String> fallbacks) {

    public QuantizePlan {
        tensors = List.copyOf(tensors);
        fallbacks = List.copyOf(fallbacks);
    }

    /** One tensor: where it comes from and the type it is written in. */
    public record Entry(TensorInfo source, GgmlType target) {
        public String name() { return source.name(); }

        /** True when the bytes are re-encoded; false when they are copied as they are. */
        public boolean converts() { return source.type() != target; }

        /** Bytes of the tensor in the output. */
        public long targetBytes() { return target.bytesFor(source.elementCount()); }
    }

    /** The output type of tensor {@code name}, or null when the model has no such tensor. */
    public GgmlType typeOf(String name) {
        for (Entry e : tensors) if (e.name().equals(name)) return e.target();
        return null;
    }

    /** Bytes of all tensors in the output (without padding). */
    public long targetBytes() { return tensors.stream().mapToLong(Entry::targetBytes).sum(); }

    /**
     * Plans {@code in} under {@code options}.
     *
     * @throws IllegalArgumentException naming the tensor when the input cannot be made into the mix: a type we
     *                                  cannot read or write, an input quantized below 8 bits without
     *                                  {@code allowRequantize}, rows no type of the mix fits
     */
    public static QuantizePlan of(GgufFile in, QuantizeOptions options) {
        ModelShape shape = ModelShape.of(in);
        // llama-quantize walks (and writes) tensors by layer, then by name: the rules' counters depend on it.
        List<TensorInfo> ordered = new ArrayList<>(in.tensors());
        ordered.sort(LLAMA_ORDER);
        int attentionValues = 0;
        boolean hasOutput = false;
        for (TensorInfo t : ordered) {
            TensorCategory c = TensorCategory.of(t.name());
            if (c.isAttentionValue()) attentionValues++;
            if (c == TensorCategory.OUTPUT) hasOutput = true;
        }
        MixRules rules = new MixRules(options.mix(), shape, attentionValues, !hasOutput, options.outputType());
        List<Entry> entries = new ArrayList<>();
        List<String> fallbacks = new ArrayList<>();
        for (TensorInfo t : ordered) {
            GgmlType target = allowsQuantization(t, options) ? targetType(t, options, rules, fallbacks) : t.type();
            check(t, target, options);
            entries.add(new Entry(t, target));
        }
        return new QuantizePlan(options.mix(), entries, fallbacks);
    }

    private static GgmlType targetType(TensorInfo t, QuantizeOptions options, MixRules rules, List<String> fallbacks) {
        TensorCategory c = TensorCategory.of(t.name());
        if (options.tokenEmbdType() != null && c == TensorCategory.TOKEN_EMBD) return options.tokenEmbdType();
        if (options.outputType() != null && c == TensorCategory.OUTPUT) return options.outputType();
        QuantMix mix = options.mix();
        if (!mix.isQuantized()) return mix.defaultType();
        GgmlType type = options.pure() ? mix.defaultType() : rules.choose(t.name(), c, t.rowLength());
        return fallback(t, type, fallbacks);
    }

    /**
     * A block-quantized type whose blocks do not divide the rows is replaced, as llama-quantize does, by a
     * 32-value type of similar size (or F16 when even 32 does not divide them).
     */
    static GgmlType fallback(TensorInfo t, GgmlType type, List<String> fallbacks) {
        long n = t.rowLength();
        if (n % type.blockSize() == 0) return type;
        GgmlType compatible = switch (type) {
            case IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ4_XS -> GgmlType.IQ4_NL;
            case Q2_K, Q3_K, TQ1_0, TQ2_0 -> GgmlType.Q4_0;
            case Q4_K -> GgmlType.Q5_0;
            case Q5_K -> GgmlType.Q5_1;
            case Q6_K -> GgmlType.Q8_0;
            default -> throw new IllegalArgumentException("tensor '" + t.name() + "': row length " + n
                    + " is not a multiple of the " + type + " block size " + type.blockSize()
                    + ", and " + type + " has no fallback type");
        };
        if (n % compatible.blockSize() != 0) compatible = GgmlType.F16;
        fallbacks.add(t.name() + ": row length " + n + " is not a multiple of " + type.blockSize() + " (required by "
                + type + "), using " + compatible);
        return compatible;
    }

    /**
     * Whether llama-quantize would quantize the tensor at all: matrices named {@code *weight}, except norms,
     * small or lookup-only tensors that several architectures keep exact, and the output with --leave-output-tensor.
     */
    static boolean allowsQuantization(TensorInfo t, QuantizeOptions options) {
        if (effectiveDims(t) < 2) return false;
        String name = t.name();
        if (!name.endsWith("weight")) return false;
        if (name.contains("_norm.weight")) return false;
        if (options.leaveOutput() && name.equals("output.weight")) return false;
        if (name.equals("position_embd.weight") || name.equals("token_types.weight")) return false;
        for (String kept : KEPT_EXACT) if (name.contains(kept)) return false;
        return true;
    }

    /**
     * Name parts of 2-D weights that llama-quantize leaves as they are: MoE router gates, tiny per-layer
     * projections (Gemma 3n's altup/laurel), convolution kernels of state-space and short-conv models,
     * RWKV's small mixing weights, T5's relative position bias, vision/audio encoder parts.
     */
    private static final List<String> KEPT_EXACT = List.of(
            "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel", "per_layer_model_proj",
            "ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight", "indexer.q_proj.weight",
            "time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight",
            "time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight", "time_mix_a0.weight",
            "time_mix_a1.weight", "time_mix_a2.weight", "time_mix_g1.weight", "time_mix_g2.weight",
            "time_mix_decay_w1.weight", "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight",
            "attn_rel_b.weight", ".position_embd", "sam.pos_embd", "sam.neck.", "sam.net_", ".rel_pos",
            ".patch_embd", ".patch_merger", "a.rvq.codebook", "mm.a.code_embd");

    /** Dimensions up to the last one larger than 1, as ggml counts them (a [n, 1] tensor is a vector). */
    private static int effectiveDims(TensorInfo t) {
        long[] dims = t.dims();
        for (int i = dims.length - 1; i > 0; i--) if (dims[i] > 1) return i + 1;
        return 1;
    }

    private static void check(TensorInfo t, GgmlType target, QuantizeOptions options) {
        GgmlType source = t.type();
        if (source == target) return;
        if (!TensorTypes.isSupported(source)) {
            throw new IllegalArgumentException("tensor '" + t.name() + "' is " + source
                    + ", a type we cannot read, so it cannot become " + target);
        }
        if (!TensorTypes.isSupported(target)) {
            throw new IllegalArgumentException("tensor '" + t.name() + "': no encoder for " + target);
        }
        boolean wide = source == GgmlType.F32 || source == GgmlType.F16 || source == GgmlType.BF16 || source == GgmlType.Q8_0;
        if (!wide && !options.allowRequantize()) {
            throw new IllegalArgumentException("tensor '" + t.name() + "' is already quantized to " + source
                    + "; requantizing it to " + target + " compounds two roundings (allow it with --allow-requantize)");
        }
        if (t.rowLength() % target.blockSize() != 0) {
            throw new IllegalArgumentException("tensor '" + t.name() + "': row length " + t.rowLength()
                    + " is not a multiple of the " + target + " block size " + target.blockSize());
        }
    }

    /** The N of a name starting {@code blk.N.}, else -1 (tensors outside the blocks come first). */
    static int layerOf(String name) {
        if (!name.startsWith("blk.")) return -1;
        int i = 4;
        int end = i;
        while (end < name.length() && end - i < 9 && Character.isDigit(name.charAt(end))) end++;
        return end == i ? -1 : Integer.parseInt(name, i, end, 10);
    }

    /** llama.cpp's weight order: by layer (non-layer tensors first), then by name byte by byte. */
    static final Comparator<TensorInfo> LLAMA_ORDER = Comparator.<TensorInfo>comparingInt(t -> layerOf(t.name()))
            .thenComparing((a, b) -> Arrays.compareUnsigned(a.name().getBytes(StandardCharsets.UTF_8),
                    b.name().getBytes(StandardCharsets.UTF_8)));
}
