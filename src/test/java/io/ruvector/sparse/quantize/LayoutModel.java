package io.ruvector.sparse.quantize;

import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.gguf.GgufWriter;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A model's tensor table and the metadata the mixes read, with next to no data: every matrix has only two
 * rows (of the real row length), all zero. Enough to plan any mix for any layer count in milliseconds.
 */
record LayoutModel(String arch, int layers, int heads, int kvHeads, int experts, int dim, int ffn, boolean tied) {

    static LayoutModel llama(int layers) { return new LayoutModel("llama", layers, 8, 2, 0, 256, 512, false); }

    LayoutModel withHeads(int h, int kv) { return new LayoutModel(arch, layers, h, kv, experts, dim, ffn, tied); }

    LayoutModel withFfn(int f) { return new LayoutModel(arch, layers, heads, kvHeads, experts, dim, f, tied); }

    LayoutModel withExperts(int e) { return new LayoutModel(arch, layers, heads, kvHeads, e, dim, ffn, tied); }

    LayoutModel withTied(boolean t) { return new LayoutModel(arch, layers, heads, kvHeads, experts, dim, ffn, t); }

    LayoutModel withArch(String a) { return new LayoutModel(a, layers, heads, kvHeads, experts, dim, ffn, tied); }

    /** Writes it in the order converters write models (embedding, blocks, output), not llama.cpp's. */
    Path write(Path path) throws IOException {
        GgufWriter w = new GgufWriter();
        w.putString("general.architecture", arch);
        w.putU32(arch + ".block_count", layers);
        w.putU32(arch + ".attention.head_count", heads);
        w.putU32(arch + ".attention.head_count_kv", kvHeads);
        if (experts > 0) w.putU32(arch + ".expert_count", experts);
        w.putU32("general.file_type", 0);
        matrix(w, "token_embd.weight", dim);
        for (int l = 0; l < layers; l++) {
            String p = "blk." + l + ".";
            w.addTensor(p + "attn_norm.weight", GgmlType.F32, new long[] {dim}, dst -> { });
            for (String m : new String[] {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up"}) matrix(w, p + m + ".weight", dim);
            matrix(w, p + "ffn_down.weight", ffn);
            w.addTensor(p + "ffn_norm.weight", GgmlType.F32, new long[] {dim}, dst -> { });
        }
        w.addTensor("output_norm.weight", GgmlType.F32, new long[] {dim}, dst -> { });
        if (!tied) matrix(w, "output.weight", dim);
        w.write(path);
        return path;
    }

    private static void matrix(GgufWriter w, String name, int rowLength) {
        w.addTensor(name, GgmlType.F32, new long[] {rowLength, 2}, dst -> { });
    }
}
