package io.ruvector.sparse.model;

import io.ruvector.sparse.Fixtures;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.kernels.ActivationType;
import org.junit.jupiter.api.Test;

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
