package io.ruvector.sparse.model;

import io.ruvector.sparse.Fixtures;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.kernels.ActivationType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelConfigTest {

    @Test
    void readsStories260K() throws Exception {
        try (GgufFile f = GgufFile.open(Fixtures.require("models/stories260K.gguf"))) {
            ModelConfig c = ModelConfig.fromGguf(f);
            assertEquals("llama", c.architecture());
            assertEquals(64, c.dim());
            assertEquals(5, c.layers());
            assertEquals(172, c.ffnDim());
            assertEquals(8, c.heads());
            assertEquals(4, c.kvHeads());
            assertEquals(8, c.headDim());
            assertEquals(8, c.ropeDims());
            assertEquals(10000.0, c.ropeBase());   // no rope.freq_base in the file: the default applies
            assertEquals(1.0, c.ropeScale());
            assertEquals(RopeStyle.INTERLEAVED, c.ropeStyle());
            assertEquals(2048, c.contextLength());
            assertEquals(512, c.vocabSize());
            assertFalse(c.tiedOutput());
            assertFalse(c.qkvBias());
            assertFalse(c.hasRopeFreqs());
            assertEquals(ActivationType.SILU, c.activation());
            assertTrue(c.gatedFfn());
            assertEquals(2, c.groupSize());
        }
    }

    @Test
    void readsQwen2WithTiedOutputBiasesAndNeoxRope() throws Exception {
        try (GgufFile f = GgufFile.open(Fixtures.require("reference/syn-qwen2.F32.gguf"))) {
            ModelConfig c = ModelConfig.fromGguf(f);
            assertEquals("qwen2", c.architecture());
            assertEquals(RopeStyle.NEOX, c.ropeStyle());
            assertEquals(1_000_000.0, c.ropeBase());
            assertEquals(4, c.heads());
            assertEquals(2, c.kvHeads());
            assertEquals(64, c.headDim());
            assertEquals(1024, c.vocabSize());
            assertTrue(c.tiedOutput());
            assertTrue(c.qkvBias());
            assertEquals(1e-5f, c.rmsEps());
        }
    }

    @Test
    void readsQwen3WithHeadSizeFromKeyLengthAndHeadNorms() throws Exception {
        try (GgufFile f = GgufFile.open(Fixtures.require("reference/syn-qwen3.F32.gguf"))) {
            ModelConfig c = ModelConfig.fromGguf(f);
            assertEquals("qwen3", c.architecture());
            assertEquals(Architecture.QWEN3, c.block());
            assertEquals(RopeStyle.NEOX, c.ropeStyle());
            assertTrue(c.block().qkNorm());
            assertEquals(128, c.dim());
            assertEquals(3, c.layers());
            assertEquals(320, c.ffnDim());
            assertEquals(4, c.heads());
            assertEquals(2, c.kvHeads());
            assertEquals(48, c.headDim());   // key_length: 4 x 48 = 192 query rows on a 128-wide model
            assertEquals(192, c.qDim());
            assertEquals(96, c.kvDim());
            assertEquals(48, c.ropeDims());
            assertEquals(1_000_000.0, c.ropeBase());
            assertEquals(1e-6f, c.rmsEps());
            assertEquals(64, c.contextLength());
            assertEquals(600, c.vocabSize());
            assertFalse(c.tiedOutput());
            assertFalse(c.qkvBias());
            assertTrue(c.gatedFfn());
        }
    }

    @Test
    void readsPhi3WithFusedProjections() throws Exception {
        try (GgufFile f = GgufFile.open(Fixtures.require("reference/syn-phi3.F32.gguf"))) {
            ModelConfig c = ModelConfig.fromGguf(f);
            assertEquals(Architecture.PHI3, c.block());
            assertEquals(RopeStyle.NEOX, c.ropeStyle());
            assertEquals(32, c.headDim());
            assertEquals(4, c.kvHeads());
            assertEquals(320, c.ffnDim());
            assertEquals(64, c.ropeOriginalContext());
            assertEquals(1.0, c.ropeAttnFactor());
            assertTrue(c.gatedFfn());   // gate = first half of the fused ffn_up
            ModelWeights w = ModelWeights.load(f, c);
            LayerWeights l = w.layers().get(0);
            assertEquals(128, l.wq().rows());
            assertEquals(128, l.wk().rows());
            assertEquals(320, l.gate().rows());
            assertEquals(320, l.up().rows());
            // the slices are consecutive views of the one fused matrix: [q | k | v] and [gate | up]
            assertEquals(l.wq().data().byteSize(), l.wk().data().address() - l.wq().data().address());
            assertEquals(l.gate().data().byteSize(), l.up().data().address() - l.gate().data().address());
            assertEquals(null, w.ropeFactorsLong());
        }
    }

    /** gemma3: q/k norms, post norms, GeGLU, windows of 8 on layers 0-4 of 6 with their own RoPE base, tied output. */
    @Test
    void readsGemma3() throws Exception {
        try (GgufFile f = GgufFile.open(Fixtures.require("reference/syn-gemma3.F32.gguf"))) {
            ModelConfig c = ModelConfig.fromGguf(f);
            assertEquals(Architecture.GEMMA3, c.block());
            assertEquals(RopeStyle.NEOX, c.ropeStyle());
            assertEquals(ActivationType.GELU_TANH, c.activation());
            assertEquals(48, c.headDim());
            assertEquals(1, c.kvHeads());
            assertEquals(1_000_000.0, c.ropeBase());
            assertTrue(c.tiedOutput());
            AttentionSettings a = c.attention();
            assertEquals(8, a.window());
            for (int l = 0; l < 5; l++) assertTrue(a.local(l), "layer " + l);
            assertFalse(a.local(5));
            assertEquals(10_000.0, a.localRopeBase());
            assertEquals((float) (1 / Math.sqrt(48)), a.queryScale());
            assertEquals(0f, a.softCap());
            assertEquals(0f, a.finalSoftCap());
            LayerWeights l = ModelWeights.load(f, c).layers().get(5);
            assertEquals(128, l.postAttnNorm().cols());
            assertEquals(128, l.postFfnNorm().cols());
            assertEquals(48, l.qNorm().cols());
        }
    }

    /** gemma2: soft caps 8 and 12, windows of 8 on the even layers, the global RoPE base on all. */
    @Test
    void readsGemma2() throws Exception {
        try (GgufFile f = GgufFile.open(Fixtures.require("reference/syn-gemma2.F32.gguf"))) {
            ModelConfig c = ModelConfig.fromGguf(f);
            assertEquals(Architecture.GEMMA2, c.block());
            assertFalse(c.block().qkNorm());
            assertEquals(10_000.0, c.ropeBase());
            AttentionSettings a = c.attention();
            assertEquals(8f, a.softCap());
            assertEquals(12f, a.finalSoftCap());
            assertTrue(a.local(0) && !a.local(1) && a.local(2) && !a.local(3));
            assertEquals(10_000.0, a.localRopeBase());
            assertTrue(c.tiedOutput());
        }
    }

    /** Shapes that contradict each other are refused with one line naming the key or tensor at fault. */
    @Test
    void refusesInconsistentQwen3Shapes(@TempDir Path dir) throws Exception {
        ModelVariantsTest.Spec value = ModelVariantsTest.qwen3();
        value.valueLength = 8;
        assertRefused(dir.resolve("v.gguf"), value, "attention.value_length");
        ModelVariantsTest.Spec rope = ModelVariantsTest.qwen3();
        rope.ropeDims = 8;
        assertRefused(dir.resolve("r.gguf"), rope, "rope.dimension_count");
        ModelVariantsTest.Spec kv = ModelVariantsTest.qwen3();
        kv.kvHeads = 3;
        assertRefused(dir.resolve("k.gguf"), kv, "head_count_kv");
        // key_length says 12 but the file's attn_q has 4 x 16 rows: the tensor is named
        ModelVariantsTest.Spec q = ModelVariantsTest.qwen3();
        Path file = ModelVariantsTest.write(dir.resolve("q.gguf"), q);
        try (GgufFile f = GgufFile.open(file)) {
            ModelConfig c = ModelConfig.fromGguf(f);
            ModelConfig wrong = new ModelConfig(c.architecture(), c.dim(), c.layers(), c.ffnDim(), c.heads(), c.kvHeads(),
                    16, 16, c.ropeBase(), c.ropeScale(), c.block(), c.hasRopeFreqs(), c.rmsEps(), c.contextLength(),
                    c.vocabSize(), c.tiedOutput(), c.qkvBias(), c.activation(), c.gatedFfn());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelWeights.load(f, wrong));
            assertTrue(e.getMessage().contains("blk.0.attn_q.weight") && !e.getMessage().contains("\n"), e.getMessage());
        }
    }

    @Test
    void unsupportedArchitecturesAreRefusedByName(@TempDir Path dir) throws Exception {
        ModelVariantsTest.Spec gpt2 = new ModelVariantsTest.Spec();
        gpt2.arch = "qwen3moe";
        assertRefused(dir.resolve("moe.gguf"), gpt2, "unsupported architecture 'qwen3moe'");
    }

    private static void assertRefused(Path path, ModelVariantsTest.Spec spec, String needle) throws Exception {
        Path file = ModelVariantsTest.write(path, spec);
        try (GgufFile f = GgufFile.open(file)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelConfig.fromGguf(f));
            assertTrue(e.getMessage().contains(needle), e.getMessage());
            assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        }
    }

    @Test
    void activationNamesComeFromTheSharedActivationType() {
        assertEquals(ActivationType.RELU, ActivationType.fromName("relu"));
        assertEquals(ActivationType.SILU, ActivationType.fromName("SiLU"));
        assertEquals(ActivationType.GELU_TANH, ActivationType.fromName("gelu_pytorch_tanh"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ActivationType.fromName("mish"));
        assertTrue(e.getMessage().contains("mish"));
        assertEquals(0.8413447460685429f, ActivationType.GELU.apply(1f), 1e-7f);
        assertEquals(0.8411919906082768f, ActivationType.GELU_TANH.apply(1f), 1e-7f);
        assertEquals(0.7310585786300049f, ActivationType.SILU.apply(1f), 1e-7f);
        assertEquals(0f, ActivationType.RELU.apply(-2f));
        assertEquals(9f, ActivationType.RELU_SQUARED.apply(3f));
    }
}
