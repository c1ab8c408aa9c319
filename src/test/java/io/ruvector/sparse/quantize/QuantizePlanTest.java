package io.ruvector.sparse.quantize;

import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.gguf.GgufFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static io.ruvector.sparse.gguf.GgmlType.F16;
import static io.ruvector.sparse.gguf.GgmlType.F32;
import static io.ruvector.sparse.gguf.GgmlType.IQ4_NL;
import static io.ruvector.sparse.gguf.GgmlType.Q2_K;
import static io.ruvector.sparse.gguf.GgmlType.Q3_K;
import static io.ruvector.sparse.gguf.GgmlType.Q4_0;
import static io.ruvector.sparse.gguf.GgmlType.Q4_K;
import static io.ruvector.sparse.gguf.GgmlType.Q5_0;
import static io.ruvector.sparse.gguf.GgmlType.Q5_K;
import static io.ruvector.sparse.gguf.GgmlType.Q6_K;
import static io.ruvector.sparse.gguf.GgmlType.Q8_0;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The per-tensor types of each mix, as llama-quantize chooses them. Expected layer sets are worked out by
 * hand from llama.cpp's rules (e.g. Q4_K_M widens attn_v and ffn_down in the first and last eighth of the
 * layers and in every third layer between), for layer counts that exercise each boundary.
 */
class QuantizePlanTest {

    @TempDir
    Path dir;

    private QuantizePlan plan(LayoutModel m, QuantizeOptions o) throws IOException {
        try (GgufFile f = GgufFile.open(m.write(dir.resolve("m" + System.nanoTime() + ".gguf")))) {
            return QuantizePlan.of(f, o);
        }
    }

    private QuantizePlan plan(LayoutModel m, QuantMix mix) throws IOException { return plan(m, QuantizeOptions.of(mix)); }

    /** The layers whose tensor {@code suffix} got {@code type}. */
    private static Set<Integer> layersWith(QuantizePlan p, String suffix, GgmlType type, int layers) {
        List<Integer> out = new ArrayList<>();
        for (int l = 0; l < layers; l++) if (p.typeOf("blk." + l + "." + suffix) == type) out.add(l);
        return Set.copyOf(out);
    }

    private static Set<Integer> range(int from, int to) {
        List<Integer> out = new ArrayList<>();
        for (int i = from; i < to; i++) out.add(i);
        return Set.copyOf(out);
    }

    private static Set<Integer> union(Set<Integer> a, Integer... more) {
        List<Integer> out = new ArrayList<>(a);
        out.addAll(List.of(more));
        return Set.copyOf(out);
    }

    @Test
    void q4KMWidensAttnVAndFfnDownOnLlamaCppsLayers() throws IOException {
        // n = 1: every layer is "last"; n = 2: layer 1; n = 8: {0, 7} plus (i-1)%3 == 2; n = 22 (TinyLlama):
        // i < 2, i >= 19, (i-2)%3 == 2; n = 32: i < 4, i >= 28, (i-4)%3 == 2.
        var expected = List.of(
                new Object[] {1, Set.of(0)},
                new Object[] {2, Set.of(1)},
                new Object[] {8, Set.of(0, 3, 6, 7)},
                new Object[] {22, Set.of(0, 1, 4, 7, 10, 13, 16, 19, 20, 21)},
                new Object[] {32, union(range(0, 4), 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31)});
        for (Object[] c : expected) {
            int n = (Integer) c[0];
            QuantizePlan p = plan(LayoutModel.llama(n), QuantMix.Q4_K_M);
            assertEquals(c[1], layersWith(p, "attn_v.weight", Q6_K, n), "attn_v, " + n + " layers");
            assertEquals(c[1], layersWith(p, "ffn_down.weight", Q6_K, n), "ffn_down, " + n + " layers");
            assertEquals(range(0, n), layersWith(p, "attn_q.weight", Q4_K, n));
            assertEquals(range(0, n), layersWith(p, "ffn_up.weight", Q4_K, n));
            assertEquals(Q6_K, p.typeOf("output.weight"));
            assertEquals(Q4_K, p.typeOf("token_embd.weight"), "an untied embedding keeps the default type");
            assertEquals(F32, p.typeOf("output_norm.weight"));
            assertEquals(F32, p.typeOf("blk.0.attn_norm.weight"));
        }
    }

    @Test
    void q5KMUsesTheSameSpreadWithQ6K() throws IOException {
        QuantizePlan p = plan(LayoutModel.llama(8), QuantMix.Q5_K_M);
        assertEquals(Set.of(0, 3, 6, 7), layersWith(p, "attn_v.weight", Q6_K, 8));
        assertEquals(Set.of(0, 3, 6, 7), layersWith(p, "ffn_down.weight", Q6_K, 8));
        assertEquals(Set.of(1, 2, 4, 5), layersWith(p, "ffn_down.weight", Q5_K, 8));
        assertEquals(Q5_K, p.typeOf("blk.3.ffn_gate.weight"));
    }

    @Test
    void q3KMixes() throws IOException {
        int n = 16; // n/16 = 1, n/8 = 2
        QuantizePlan m = plan(LayoutModel.llama(n), QuantMix.Q3_K_M);
        assertEquals(Set.of(0, 1), layersWith(m, "attn_v.weight", Q5_K, n), "the first two attn_v");
        assertEquals(range(2, n), layersWith(m, "attn_v.weight", Q4_K, n));
        assertEquals(Set.of(0), layersWith(m, "ffn_down.weight", Q5_K, n), "first sixteenth");
        assertEquals(range(1, n), layersWith(m, "ffn_down.weight", Q4_K, n));
        assertEquals(range(0, n), layersWith(m, "attn_output.weight", Q4_K, n));
        assertEquals(range(0, n), layersWith(m, "ffn_gate.weight", Q3_K, n));
        assertEquals(Q6_K, m.typeOf("output.weight"));
        assertEquals(Q3_K, m.typeOf("token_embd.weight"));

        QuantizePlan l = plan(LayoutModel.llama(n), QuantMix.Q3_K_L);
        for (String t : List.of("attn_v.weight", "ffn_down.weight", "attn_output.weight")) {
            assertEquals(range(0, n), layersWith(l, t, Q5_K, n), t);
        }
        assertEquals(range(0, n), layersWith(l, "attn_k.weight", Q3_K, n));

        QuantizePlan s = plan(LayoutModel.llama(n), QuantMix.Q3_K_S);
        for (String t : List.of("attn_v.weight", "ffn_down.weight", "attn_output.weight", "attn_q.weight")) {
            assertEquals(range(0, n), layersWith(s, t, Q3_K, n), t);
        }
        assertEquals(Q6_K, s.typeOf("output.weight"));
    }

    @Test
    void q4KSAndQ2K() throws IOException {
        int n = 16;
        QuantizePlan s = plan(LayoutModel.llama(n), QuantMix.Q4_K_S);
        assertEquals(range(0, 4), layersWith(s, "attn_v.weight", Q5_K, n), "the first four attn_v");
        assertEquals(range(0, 2), layersWith(s, "ffn_down.weight", Q5_K, n), "first eighth");
        assertEquals(range(0, n), layersWith(s, "attn_output.weight", Q4_K, n));

        // Q2_K: attn_v Q3_K, or Q4_K with 4+ query heads per kv head.
        QuantizePlan q2 = plan(LayoutModel.llama(n).withHeads(8, 4), QuantMix.Q2_K);
        assertEquals(range(0, n), layersWith(q2, "attn_v.weight", Q3_K, n));
        assertEquals(range(0, n), layersWith(q2, "ffn_down.weight", Q3_K, n));
        assertEquals(range(0, n), layersWith(q2, "attn_output.weight", Q3_K, n));
        assertEquals(range(0, n), layersWith(q2, "attn_q.weight", Q2_K, n));
        QuantizePlan gqa = plan(LayoutModel.llama(n).withHeads(8, 2), QuantMix.Q2_K);
        assertEquals(range(0, n), layersWith(gqa, "attn_v.weight", Q4_K, n));
        assertEquals(Q6_K, gqa.typeOf("output.weight"));
    }

    @Test
    void legacyAnd8BitAndFloatMixes() throws IOException {
        LayoutModel m = LayoutModel.llama(4);
        QuantizePlan q40 = plan(m, QuantMix.Q4_0);
        assertEquals(Q6_K, q40.typeOf("output.weight"), "even a Q4_0 file gets a Q6_K output");
        assertEquals(range(0, 4), layersWith(q40, "ffn_down.weight", Q4_0, 4));
        assertEquals(range(0, 4), layersWith(q40, "attn_v.weight", Q4_0, 4));
        QuantizePlan q80 = plan(m, QuantMix.Q8_0);
        assertEquals(Q8_0, q80.typeOf("output.weight"), "Q8_0 keeps its output Q8_0");
        assertEquals(Q8_0, q80.typeOf("token_embd.weight"));
        QuantizePlan f16 = plan(m, QuantMix.F16);
        assertEquals(F16, f16.typeOf("output.weight"));
        assertEquals(range(0, 4), layersWith(f16, "attn_v.weight", F16, 4));
        assertEquals(F32, f16.typeOf("blk.2.ffn_norm.weight"));
        QuantizePlan iq4 = plan(LayoutModel.llama(16).withHeads(8, 2), QuantMix.IQ4_NL);
        assertEquals(range(0, 16), layersWith(iq4, "attn_v.weight", Q5_K, 16), "n_gqa 4");
        assertEquals(range(0, 2), layersWith(iq4, "ffn_down.weight", Q5_K, 16));
        assertEquals(range(2, 16), layersWith(iq4, "ffn_down.weight", IQ4_NL, 16));
        assertEquals(Q6_K, iq4.typeOf("output.weight"));
    }

    @Test
    void tiedEmbeddingsAreTreatedAsTheOutput() throws IOException {
        QuantizePlan p = plan(LayoutModel.llama(2).withTied(true), QuantMix.Q4_K_M);
        assertEquals(Q6_K, p.typeOf("token_embd.weight"));
        QuantizePlan q8 = plan(LayoutModel.llama(2).withTied(true), QuantMix.Q8_0);
        assertEquals(Q8_0, q8.typeOf("token_embd.weight"));
        QuantizePlan asked = plan(LayoutModel.llama(2).withTied(true), QuantizeOptions.of(QuantMix.Q4_K_M).withOutputType(Q5_K));
        assertEquals(Q5_K, asked.typeOf("token_embd.weight"), "--output-tensor-type reaches a tied embedding");
    }

    @Test
    void pureGivesEveryMatrixTheDefaultType() throws IOException {
        QuantizePlan p = plan(LayoutModel.llama(8), QuantizeOptions.of(QuantMix.Q4_K_M).withPure(true));
        for (QuantizePlan.Entry e : p.tensors()) {
            assertEquals(e.source().nDims() == 2 ? Q4_K : F32, e.target(), e.name());
        }
        // ... except where the rows do not fit the blocks: the fallback still applies.
        QuantizePlan f = plan(LayoutModel.llama(2).withFfn(320), QuantizeOptions.of(QuantMix.Q4_K_M).withPure(true));
        assertEquals(Q5_0, f.typeOf("blk.0.ffn_down.weight"));
        assertEquals(Q5_0, f.typeOf("blk.1.ffn_down.weight"));
        assertEquals(Q4_K, f.typeOf("blk.1.ffn_up.weight"));
    }

    @Test
    void rowsThatDoNotFitKQuantBlocksFallBack() throws IOException {
        // ffn 320: ffn_down rows are 320 long, a multiple of 32 but not of 256.
        QuantizePlan p = plan(LayoutModel.llama(2).withFfn(320), QuantMix.Q4_K_M);
        assertEquals(Q5_0, p.typeOf("blk.0.ffn_down.weight"), "Q4_K -> Q5_0");
        assertEquals(Q8_0, p.typeOf("blk.1.ffn_down.weight"), "the widened Q6_K -> Q8_0");
        assertEquals(2, p.fallbacks().size(), p.fallbacks().toString());
        assertTrue(p.fallbacks().get(0).contains("blk.0.ffn_down.weight"), p.fallbacks().toString());
        QuantizePlan q2 = plan(LayoutModel.llama(2).withFfn(320), QuantMix.Q2_K);
        assertEquals(Q4_0, q2.typeOf("blk.0.ffn_down.weight"), "Q3_K -> Q4_0");
        QuantizePlan q5 = plan(LayoutModel.llama(2).withFfn(320), QuantMix.Q5_K_S);
        assertEquals(GgmlType.Q5_1, q5.typeOf("blk.0.ffn_down.weight"), "Q5_K -> Q5_1");
        // 200 is not even a multiple of 32: F16.
        QuantizePlan odd = plan(LayoutModel.llama(2).withFfn(200), QuantMix.Q4_K_M);
        assertEquals(F16, odd.typeOf("blk.0.ffn_down.weight"));
        // Legacy types have no fallback: llama-quantize stops, and so do we, naming the tensor.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> plan(LayoutModel.llama(2).withFfn(200), QuantMix.Q4_0));
        assertTrue(e.getMessage().contains("blk.0.ffn_down.weight") && e.getMessage().contains("200"), e.getMessage());
    }

    @Test
    void outputWhoseRowsDoNotFitGetsQ8_0() throws IOException {
        // dim 288 (a multiple of 32, not of 256): every matrix but ffn_down falls back; the output becomes Q8_0.
        LayoutModel m = new LayoutModel("llama", 2, 8, 2, 0, 288, 512, false);
        QuantizePlan p = plan(m, QuantMix.Q4_K_M);
        assertEquals(Q8_0, p.typeOf("output.weight"));
        assertEquals(Q5_0, p.typeOf("blk.0.attn_q.weight"));
        assertEquals(Q4_K, p.typeOf("blk.0.ffn_down.weight"));
    }

    @Test
    void llama70BAndEightExpertRules() throws IOException {
        // Llama-2-70B: 80 layers, 64 heads sharing 8 kv heads: attn_v of Q3_K/Q4_K mixes goes to Q5_K.
        QuantizePlan p = plan(new LayoutModel("llama", 80, 64, 8, 0, 256, 256, false), QuantMix.Q3_K_S);
        assertEquals(range(0, 80), layersWith(p, "attn_v.weight", Q5_K, 80));
        assertEquals(range(0, 80), layersWith(p, "attn_k.weight", Q3_K, 80));
        // Mixtral (8 experts): attn_v and attn_k Q8_0, attn_output Q5_K.
        QuantizePlan x = plan(LayoutModel.llama(4).withExperts(8), QuantMix.Q4_K_M);
        assertEquals(range(0, 4), layersWith(x, "attn_v.weight", Q8_0, 4));
        assertEquals(range(0, 4), layersWith(x, "attn_k.weight", Q8_0, 4));
        assertEquals(range(0, 4), layersWith(x, "attn_output.weight", Q5_K, 4));
    }

    @Test
    void falconRules() throws IOException {
        int n = 16;
        QuantizePlan p = plan(LayoutModel.llama(n).withArch("falcon"), QuantMix.Q4_K_M);
        assertEquals(Q8_0, p.typeOf("output.weight"), "Falcon's output is Q8_0");
        // ffn_down: first sixteenth Q6_K, the use-more-bits layers Q5_K, the rest Q4_K.
        assertEquals(Set.of(0), layersWith(p, "ffn_down.weight", Q6_K, n));
        assertEquals(Set.of(1, 4, 7, 10, 13, 14, 15), layersWith(p, "ffn_down.weight", Q5_K, n));
    }

    @Test
    void overridesAndLeaveOutput() throws IOException {
        LayoutModel m = LayoutModel.llama(2);
        QuantizePlan p = plan(m, QuantizeOptions.of(QuantMix.Q4_K_M).withOutputType(Q8_0).withTokenEmbdType(Q5_K));
        assertEquals(Q8_0, p.typeOf("output.weight"));
        assertEquals(Q5_K, p.typeOf("token_embd.weight"));
        QuantizePlan keep = plan(m, QuantizeOptions.of(QuantMix.Q4_K_M).withLeaveOutput(true));
        assertEquals(F32, keep.typeOf("output.weight"));
        assertEquals(Q4_K, keep.typeOf("blk.0.attn_q.weight"));
    }

    @Test
    void tensorsComeInLlamaCppsOrder() throws IOException {
        QuantizePlan p = plan(LayoutModel.llama(11), QuantMix.Q8_0);
        List<String> names = p.tensors().stream().map(QuantizePlan.Entry::name).toList();
        assertEquals(List.of("output.weight", "output_norm.weight", "token_embd.weight", "blk.0.attn_k.weight"),
                names.subList(0, 4));
        assertTrue(names.indexOf("blk.2.ffn_up.weight") < names.indexOf("blk.10.attn_k.weight"), "layers numerically");
    }

    @Test
    void mixNames() {
        assertEquals(QuantMix.Q4_K_M, QuantMix.parse("q4_k_m"));
        assertEquals(QuantMix.Q4_K_M, QuantMix.parse("Q4_K"));
        assertEquals(QuantMix.Q3_K_M, QuantMix.parse("Q3_K"));
        assertEquals(QuantMix.Q5_K_M, QuantMix.parse("Q5_K"));
        assertEquals(QuantMix.Q4_K_M, QuantMix.parse("15"), "llama_ftype numbers as llama-quantize accepts");
        assertEquals(QuantMix.BF16, QuantMix.parse("32"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> QuantMix.parse("Q9_K"));
        assertTrue(e.getMessage().contains("Q9_K") && e.getMessage().contains("Q4_K_M") && e.getMessage().contains("F32"));
    }
}
