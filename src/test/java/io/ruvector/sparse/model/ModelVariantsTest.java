package io.ruvector.sparse.model;

import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.gguf.GgufWriter;
import io.ruvector.sparse.kernels.ActivationType;
import io.ruvector.sparse.quant.TensorTypes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Configurations no reference file covers, built as tiny random GGUF models and checked against the plain
 * float64 forward ({@link NaiveForward}): MQA, partial RoPE, linear scaling, Llama 3 frequency factors, head
 * size from key_length, every activation, ungated blocks, qwen2 biases with partial NeoX RoPE, gemma's windows,
 * local RoPE and soft caps other than the references'. And the errors a bad model file must give.
 */
class ModelVariantsTest {

    @TempDir
    Path dir;

    /** A tiny model description; tests change what they exercise. */
    static final class Spec {
        String arch = "llama";
        int dim = 32;
        int layers = 2;
        int ffn = 48;
        int heads = 4;
        int kvHeads = 1;
        int keyLength = 0;          // 0: not written (dim / heads)
        int ropeDims = 0;           // 0: not written (head size)
        float ropeBase = 0;         // 0: not written (10000)
        String scalingType = null;
        float scalingFactor = 0;
        boolean ropeFreqs = false;
        String activation = null;   // null: not written (SiLU)
        boolean gated = true;
        boolean tied = false;
        boolean biases = false;
        boolean qkNorm = false;     // qwen3: attn_q_norm / attn_k_norm per layer
        int valueLength = 0;        // 0: the key length
        boolean fused = false;      // phi3: attn_qkv and ffn_up = [gate | up]
        boolean postNorms = false;  // gemma: post_attention_norm / post_ffw_norm per layer
        int window = -1;            // gemma: attention.sliding_window (-1: not written)
        int windowPattern = -1;     // attention.sliding_window_pattern (-1: not written)
        float localRopeBase = 0;    // rope.freq_base_swa (0: not written)
        float attnSoftCap = 0;      // attn_logit_softcapping (0: not written)
        float finalSoftCap = 0;     // final_logit_softcapping (0: not written)
        int originalContext = 0;    // > 0: LongRoPE factors and rope.scaling.original_context_length / attn_factor
        float attnFactor = 1.2f;
        int vocab = 40;
        String extraTensor = null;
        int experts = 0;
        int context = 64;
        String skipTensor = null;
        long seed = 5;

        int headDim() { return keyLength > 0 ? keyLength : dim / heads; }
    }

    static Path write(Path file, Spec s) throws Exception {
        Random r = new Random(s.seed);
        String a = s.arch;
        GgufWriter w = new GgufWriter()
                .putString("general.architecture", a)
                .putU32(a + ".embedding_length", s.dim)
                .putU32(a + ".block_count", s.layers)
                .putU32(a + ".feed_forward_length", s.ffn)
                .putU32(a + ".attention.head_count", s.heads)
                .putU32(a + ".attention.head_count_kv", s.kvHeads)
                .putU32(a + ".context_length", s.context)
                .putF32(a + ".attention.layer_norm_rms_epsilon", 1e-5f);
        if (s.keyLength > 0) {
            w.putU32(a + ".attention.key_length", s.keyLength)
                    .putU32(a + ".attention.value_length", s.valueLength > 0 ? s.valueLength : s.keyLength);
        }
        if (s.ropeDims > 0) w.putU32(a + ".rope.dimension_count", s.ropeDims);
        if (s.ropeBase > 0) w.putF32(a + ".rope.freq_base", s.ropeBase);
        if (s.scalingType != null) w.putString(a + ".rope.scaling.type", s.scalingType).putF32(a + ".rope.scaling.factor", s.scalingFactor);
        if (s.activation != null) w.putString(a + ".feed_forward_activation", s.activation);
        if (s.experts > 0) w.putU32(a + ".expert_count", s.experts);
        if (s.window >= 0) w.putU32(a + ".attention.sliding_window", s.window);
        if (s.windowPattern >= 0) w.putU32(a + ".attention.sliding_window_pattern", s.windowPattern);
        if (s.localRopeBase > 0) w.putF32(a + ".rope.freq_base_swa", s.localRopeBase);
        if (s.attnSoftCap > 0) w.putF32(a + ".attn_logit_softcapping", s.attnSoftCap);
        if (s.finalSoftCap > 0) w.putF32(a + ".final_logit_softcapping", s.finalSoftCap);
        if (s.originalContext > 0) {
            w.putU32(a + ".rope.scaling.original_context_length", s.originalContext)
                    .putF32(a + ".rope.scaling.attn_factor", s.attnFactor);
        }
        int hd = s.headDim();
        int q = s.heads * hd;
        int kv = s.kvHeads * hd;
        matrix(w, r, "token_embd.weight", s.vocab, s.dim, 1.0, s);
        vector(w, r, "output_norm.weight", s.dim, true, s);
        if (!s.tied) matrix(w, r, "output.weight", s.vocab, s.dim, 1 / Math.sqrt(s.dim), s);
        if (s.ropeFreqs) {
            float[] f = new float[(s.ropeDims > 0 ? s.ropeDims : hd) / 2];
            for (int i = 0; i < f.length; i++) f[i] = 1 + 7f * i / f.length;   // like Llama 3.1: low frequencies slowed
            add(w, "rope_freqs.weight", new long[]{f.length}, f, s);
        }
        if (s.originalContext > 0) {
            int pairs = (s.ropeDims > 0 ? s.ropeDims : hd) / 2;
            float[] longFactors = new float[pairs];
            float[] shortFactors = new float[pairs];
            for (int i = 0; i < pairs; i++) {
                longFactors[i] = 1 + 20f * i / pairs;
                shortFactors[i] = 1 + 0.5f * i / pairs;
            }
            add(w, "rope_factors_long.weight", new long[]{pairs}, longFactors, s);
            add(w, "rope_factors_short.weight", new long[]{pairs}, shortFactors, s);
        }
        for (int l = 0; l < s.layers; l++) {
            String p = "blk." + l + ".";
            vector(w, r, p + "attn_norm.weight", s.dim, true, s);
            if (s.fused) {
                matrix(w, r, p + "attn_qkv.weight", q + 2 * kv, s.dim, 1 / Math.sqrt(s.dim), s);
            } else {
                matrix(w, r, p + "attn_q.weight", q, s.dim, 1 / Math.sqrt(s.dim), s);
                matrix(w, r, p + "attn_k.weight", kv, s.dim, 1 / Math.sqrt(s.dim), s);
                matrix(w, r, p + "attn_v.weight", kv, s.dim, 1 / Math.sqrt(s.dim), s);
            }
            matrix(w, r, p + "attn_output.weight", s.dim, q, 1 / Math.sqrt(q), s);
            if (s.postNorms) vector(w, r, p + "post_attention_norm.weight", s.dim, true, s);
            if (s.biases) {
                vector(w, r, p + "attn_q.bias", q, false, s);
                vector(w, r, p + "attn_k.bias", kv, false, s);
                vector(w, r, p + "attn_v.bias", kv, false, s);
            }
            if (s.qkNorm) {
                vector(w, r, p + "attn_q_norm.weight", hd, true, s);
                vector(w, r, p + "attn_k_norm.weight", hd, true, s);
            }
            vector(w, r, p + "ffn_norm.weight", s.dim, true, s);
            if (s.gated && !s.fused) matrix(w, r, p + "ffn_gate.weight", s.ffn, s.dim, 1 / Math.sqrt(s.dim), s);
            matrix(w, r, p + "ffn_up.weight", s.fused ? 2 * s.ffn : s.ffn, s.dim, 1 / Math.sqrt(s.dim), s);
            matrix(w, r, p + "ffn_down.weight", s.dim, s.ffn, 1 / Math.sqrt(s.ffn), s);
            if (s.postNorms) vector(w, r, p + "post_ffw_norm.weight", s.dim, true, s);
        }
        if (s.extraTensor != null) vector(w, r, s.extraTensor, s.dim, false, s);
        w.write(file);
        return file;
    }

    private static void matrix(GgufWriter w, Random r, String name, int rows, int cols, double scale, Spec s) {
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextGaussian() * scale);
        add(w, name, new long[]{cols, rows}, v, s);
    }

    private static void vector(GgufWriter w, Random r, String name, int n, boolean norm, Spec s) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (norm ? 1 + 0.1 * r.nextGaussian() : 0.1 * r.nextGaussian());
        add(w, name, new long[]{n}, v, s);
    }

    private static void add(GgufWriter w, String name, long[] dims, float[] v, Spec s) {
        if (!name.equals(s.skipTensor)) w.addTensor(name, GgmlType.F32, dims, TensorTypes.encoded(GgmlType.F32, dims, v));
    }

    private void assertMatchesNaive(Spec s) throws Exception {
        Path file = write(dir.resolve("m.gguf"), s);
        int[] prompt = {1, 7, 30, 2, 39, 11, 5, 0, 23, 17, 8, 3, 33, 12};
        for (int batch : new int[]{1, 5}) {
            try (LanguageModel m = LanguageModel.open(file, ModelOptions.defaults().withThreads(2).withBatchSize(batch));
                 Session session = m.newSession()) {
                float[] ours = session.evaluateAll(prompt);
                double[][] exact = new NaiveForward(m).run(prompt);
                double max = 0;
                for (int t = 0; t < prompt.length; t++) {
                    for (int v = 0; v < s.vocab; v++) max = Math.max(max, Math.abs(ours[t * s.vocab + v] - exact[t][v]));
                }
                assertTrue(max < 1e-4, "batch " + batch + ": max |ours - float64| = " + max);
            }
        }
    }

    @Test
    void mqaPartialRopeScalingAndFrequencyFactors() throws Exception {
        Spec s = new Spec();
        s.ropeDims = 4;
        s.ropeBase = 500;
        s.scalingType = "linear";
        s.scalingFactor = 2;
        s.ropeFreqs = true;
        assertMatchesNaive(s);
        try (LanguageModel m = LanguageModel.open(dir.resolve("m.gguf"), ModelOptions.defaults())) {
            assertEquals(2.0, m.config().ropeScale());
            assertTrue(m.config().hasRopeFreqs());
            assertEquals(4, m.config().ropeDims());
        }
    }

    @Test
    void headSizeFromKeyLength() throws Exception {
        Spec s = new Spec();
        s.keyLength = 16;   // 4 heads of 16 on a 32-wide model
        s.kvHeads = 2;
        assertMatchesNaive(s);
    }

    @ParameterizedTest
    @ValueSource(strings = {"relu", "gelu", "gelu_tanh", "silu", "relu2"})
    void activations(String activation) throws Exception {
        Spec s = new Spec();
        s.activation = activation;
        assertMatchesNaive(s);
    }

    @Test
    void ungatedFeedForward() throws Exception {
        Spec s = new Spec();
        s.gated = false;
        s.activation = "gelu";
        assertMatchesNaive(s);
    }

    @Test
    void qwen2WithBiasesTiedOutputAndPartialNeoxRope() throws Exception {
        Spec s = new Spec();
        s.arch = "qwen2";
        s.biases = true;
        s.tied = true;
        s.ropeDims = 6;
        s.kvHeads = 2;
        assertMatchesNaive(s);
    }

    /** qwen3: per-head q/k norms before NeoX RoPE, 4 heads of 12 on a 32-wide model (q is 48 wide), tied output. */
    @Test
    void qwen3WithHeadNormsAndHeadSizeDecoupledFromTheWidth() throws Exception {
        Spec s = qwen3();
        s.tied = true;
        assertMatchesNaive(s);
        try (LanguageModel m = LanguageModel.open(dir.resolve("m.gguf"), ModelOptions.defaults())) {
            assertEquals(48, m.config().qDim());
            assertEquals(24, m.config().kvDim());
            assertTrue(m.config().block().qkNorm());
        }
    }

    static Spec qwen3() {
        Spec s = new Spec();
        s.arch = "qwen3";
        s.qkNorm = true;
        s.keyLength = 12;
        s.kvHeads = 2;
        return s;
    }

    /**
     * phi3 with fused projections and LongRoPE factors: the short factors for sessions within the original
     * context, the long ones beyond it, cos and sin scaled by the attention factor either way.
     */
    @Test
    void phi3WithFusedProjectionsAndLongRope() throws Exception {
        Spec s = new Spec();
        s.arch = "phi3";
        s.fused = true;
        s.kvHeads = 2;
        s.originalContext = 16;
        Path file = write(dir.resolve("phi3.gguf"), s);
        int[] prompt = {1, 7, 30, 2, 39, 11, 5, 0, 23, 17, 8, 3, 33, 12};
        for (int context : new int[]{16, 64}) {
            try (LanguageModel m = LanguageModel.open(file, ModelOptions.defaults().withThreads(2).withContextLength(context));
                 Session session = m.newSession()) {
                float[] ours = session.evaluateAll(prompt);
                double[][] exact = new NaiveForward(m, context).run(prompt);
                double[][] otherFactors = new NaiveForward(m, context == 16 ? 64 : 16).run(prompt);
                double max = 0, other = 0;
                for (int t = 0; t < prompt.length; t++) {
                    for (int v = 0; v < s.vocab; v++) {
                        max = Math.max(max, Math.abs(ours[t * s.vocab + v] - exact[t][v]));
                        other = Math.max(other, Math.abs(ours[t * s.vocab + v] - otherFactors[t][v]));
                    }
                }
                assertTrue(max < 1e-4, "context " + context + ": max |ours - float64| = " + max);
                assertTrue(other > 1e-2, "context " + context + ": the other factors give the same logits (" + other + ")");
            }
        }
        Spec oneFactor = new Spec();
        oneFactor.arch = "phi3";
        oneFactor.originalContext = 16;
        oneFactor.skipTensor = "rope_factors_short.weight";
        assertMessage(oneFactor, IllegalArgumentException.class, "rope_factors_short.weight");
    }

    static Spec gemma(String arch) {
        Spec s = new Spec();
        s.arch = arch;
        s.postNorms = true;
        s.qkNorm = arch.equals("gemma3");
        s.keyLength = 12;   // 4 heads of 12 on a 32-wide model
        s.kvHeads = 2;
        s.tied = true;
        s.layers = 4;
        return s;
    }

    /**
     * gemma3 with settings the references do not use: a window of 3 on two layers of three (pattern 3), its own
     * RoPE base for them, linear scaling on the global layers only, MQA, and final soft-capping (gemma3 reads it
     * when present). The 14-token prompt is longer than the window, at batch 1 and 5.
     */
    @Test
    void gemma3WithAnotherWindowPatternLocalRopeAndFinalSoftCap() throws Exception {
        Spec s = gemma("gemma3");
        s.kvHeads = 1;
        s.window = 3;
        s.windowPattern = 3;
        s.localRopeBase = 50;
        s.ropeBase = 5000;
        s.scalingType = "linear";
        s.scalingFactor = 4;
        s.finalSoftCap = 1.5f;
        assertMatchesNaive(s);
        try (LanguageModel m = LanguageModel.open(dir.resolve("m.gguf"), ModelOptions.defaults())) {
            AttentionSettings a = m.config().attention();
            assertEquals(3, a.window());
            assertTrue(a.local(0) && a.local(1) && !a.local(2) && a.local(3));
            assertEquals(50.0, a.localRopeBase());
            assertEquals(1.0, a.localRopeScale());
            assertEquals(4.0, m.config().ropeScale());
            assertEquals(0f, a.softCap());
            assertEquals(1.5f, a.finalSoftCap());
            assertEquals(ActivationType.GELU_TANH, m.config().activation());
        }
    }

    /** gemma2 with a window of 4 on the even layers, attention and final logits soft-capped hard enough to matter. */
    @Test
    void gemma2WithWindowAndSoftCaps() throws Exception {
        Spec s = gemma("gemma2");
        s.window = 4;
        s.attnSoftCap = 0.5f;
        s.finalSoftCap = 2f;
        s.ropeBase = 300;
        assertMatchesNaive(s);
        try (LanguageModel m = LanguageModel.open(dir.resolve("m.gguf"), ModelOptions.defaults())) {
            AttentionSettings a = m.config().attention();
            assertTrue(a.local(0) && !a.local(1) && a.local(2) && !a.local(3));
            assertEquals(300.0, a.localRopeBase(), "gemma2's local layers share the global base without rope.freq_base_swa");
        }
    }

    /**
     * llama.cpp's defaults when the keys are absent: gemma2 a 4096 window on even layers, soft caps 50 and 30;
     * gemma3 no window (then every layer is global) and no final soft-capping; both 1/sqrt(headDim) queries.
     */
    @Test
    void gemmaDefaultsAreLlamaCppDefaults() throws Exception {
        try (LanguageModel m = LanguageModel.open(write(dir.resolve("g2.gguf"), gemma("gemma2")), ModelOptions.defaults())) {
            AttentionSettings a = m.config().attention();
            assertEquals(4096, a.window());
            assertTrue(a.local(0) && !a.local(1));
            assertEquals(50f, a.softCap());
            assertEquals(30f, a.finalSoftCap());
            assertEquals((float) (1 / Math.sqrt(12)), a.queryScale());
            assertTrue(m.config().tiedOutput());
        }
        try (LanguageModel m = LanguageModel.open(write(dir.resolve("g3.gguf"), gemma("gemma3")), ModelOptions.defaults())) {
            AttentionSettings a = m.config().attention();
            assertEquals(0, a.window());
            for (int l = 0; l < 4; l++) assertTrue(!a.local(l));
            assertEquals(0f, a.softCap());
            assertEquals(0f, a.finalSoftCap());
        }
        Spec window = gemma("gemma3");
        window.window = 5;
        try (LanguageModel m = LanguageModel.open(write(dir.resolve("g3w.gguf"), window), ModelOptions.defaults())) {
            AttentionSettings a = m.config().attention();
            assertTrue(a.local(0) && a.local(3), "pattern 6: layers 0-4 of each 6 are local");
            assertEquals(10000.0, a.localRopeBase());
        }
    }

    /** The window changes the result once the prompt is longer than it (and only then). */
    @Test
    void theWindowMattersOnlyBeyondItsLength() throws Exception {
        int[] prompt = {1, 7, 30, 2, 39, 11, 5, 0, 23, 17};
        float[][] logits = new float[2][];
        for (int i = 0; i < 2; i++) {
            Spec s = gemma("gemma2");
            s.window = i == 0 ? 4 : 64;
            try (LanguageModel m = LanguageModel.open(write(dir.resolve("w" + i + ".gguf"), s), ModelOptions.defaults().withThreads(1));
                 Session session = m.newSession()) {
                logits[i] = session.evaluateAll(prompt);
            }
        }
        int vocab = new Spec().vocab;
        for (int t = 0; t < prompt.length; t++) {
            double d = 0;
            for (int v = 0; v < vocab; v++) d = Math.max(d, Math.abs(logits[0][t * vocab + v] - logits[1][t * vocab + v]));
            if (t < 4) assertEquals(0.0, d, "position " + t + " is within the window");
            else assertTrue(d > 1e-3, "position " + t + " sees beyond the window of 4, yet the logits agree (" + d + ")");
        }
    }

    @Test
    void badGemmaModelsAreNamed() throws Exception {
        Spec output = gemma("gemma2");
        output.tied = false;   // llama.cpp's gemma2 always reads token_embd: an output.weight would be ignored
        assertMessage(output, UnsupportedOperationException.class, "output.weight");
        Spec post = gemma("gemma3");
        post.skipTensor = "blk.2.post_ffw_norm.weight";
        assertMessage(post, IllegalArgumentException.class, "blk.2.post_ffw_norm.weight");
        Spec noPost = gemma("gemma2");
        noPost.postNorms = false;
        assertMessage(noPost, IllegalArgumentException.class, "post_attention_norm");
        Spec qk = gemma("gemma2");
        qk.qkNorm = true;   // gemma2 has no q/k norms
        assertMessage(qk, UnsupportedOperationException.class, "attn_q_norm");
    }

    @Test
    void badQwen3ModelsAreNamed() throws Exception {
        Spec noNorm = qwen3();
        noNorm.skipTensor = "blk.1.attn_k_norm.weight";
        assertMessage(noNorm, IllegalArgumentException.class, "blk.1.attn_k_norm.weight");
        Spec value = qwen3();
        value.valueLength = 8;
        assertMessage(value, IllegalArgumentException.class, "value_length");
        Spec rope = qwen3();
        rope.ropeDims = 8;
        assertMessage(rope, IllegalArgumentException.class, "rope.dimension_count");
        Spec llamaWithNorms = new Spec();
        llamaWithNorms.qkNorm = true;   // llama has no q/k norms: ignoring them would be wrong
        assertMessage(llamaWithNorms, UnsupportedOperationException.class, "attn_q_norm");
    }

    @Test
    void sessionContextIsTheTrainedOneCappedUnlessAskedFor() throws Exception {
        Spec s = new Spec();
        s.context = 131072;
        Path file = write(dir.resolve("long.gguf"), s);
        try (LanguageModel m = LanguageModel.open(file, ModelOptions.defaults().withThreads(1));
             Session session = m.newSession()) {
            assertEquals(131072, m.config().contextLength());
            assertEquals(ModelOptions.DEFAULT_MAX_CONTEXT, session.contextLength());
        }
        try (LanguageModel m = LanguageModel.open(file, ModelOptions.defaults().withThreads(1).withContextLength(5000));
             Session session = m.newSession()) {
            assertEquals(5000, session.contextLength());
        }
        Path small = write(dir.resolve("short.gguf"), new Spec());
        try (LanguageModel m = LanguageModel.open(small, ModelOptions.defaults().withThreads(1));
             Session session = m.newSession()) {
            assertEquals(64, session.contextLength());
        }
    }

    @Test
    void badModelsAreNamed() throws Exception {
        Spec arch = new Spec();
        arch.arch = "gpt2";
        assertMessage(arch, IllegalArgumentException.class, "gpt2");
        Spec missing = new Spec();
        missing.skipTensor = "blk.1.ffn_down.weight";
        assertMessage(missing, IllegalArgumentException.class, "blk.1.ffn_down.weight");
        Spec extra = new Spec();
        extra.extraTensor = "blk.0.attn_output.bias";
        assertMessage(extra, UnsupportedOperationException.class, "blk.0.attn_output.bias");
        Spec yarn = new Spec();
        yarn.scalingType = "yarn";
        yarn.scalingFactor = 4;
        assertMessage(yarn, IllegalArgumentException.class, "yarn");
        Spec moe = new Spec();
        moe.experts = 8;
        assertMessage(moe, IllegalArgumentException.class, "expert_count");
        Spec act = new Spec();
        act.activation = "mish";
        assertMessage(act, IllegalArgumentException.class, "mish");
        Spec heads = new Spec();
        heads.kvHeads = 3;
        assertMessage(heads, IllegalArgumentException.class, "head_count_kv");
    }

    private void assertMessage(Spec s, Class<? extends Exception> type, String needle) throws Exception {
        Path file = write(dir.resolve("bad-" + needle.replace('.', '_') + ".gguf"), s);
        Exception e = assertThrows(type, () -> LanguageModel.open(file, ModelOptions.defaults()).close());
        assertTrue(e.getMessage().contains(needle), e.getMessage());
    }
}
