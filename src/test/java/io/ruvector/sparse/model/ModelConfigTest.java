package io.ruvector.sparse.model;

import io.ruvector.sparse.Fixtures;
import io.ruvector.sparse.gguf.GgufFile;
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
            assertEquals(Activation.SILU, c.activation());
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
    void activationNamesAndErf() {
        assertEquals(Activation.RELU, Activation.fromName("relu"));
        assertEquals(Activation.SILU, Activation.fromName("SiLU"));
        assertEquals(Activation.GELU_TANH, Activation.fromName("gelu_pytorch_tanh"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Activation.fromName("mish"));
        assertTrue(e.getMessage().contains("mish"));
        // erf values from tables (Abramowitz & Stegun 7.1), both branches of the implementation
        double[][] erf = {{0.1, 0.1124629160182849}, {0.5, 0.5204998778130465}, {1.0, 0.8427007929497149},
                {2.0, 0.9953222650189527}, {2.6, 0.9997639655834707}, {3.5, 0.9999992569016276}, {7, 1.0}};
        for (double[] p : erf) {
            assertEquals(p[1], Activation.Erf.erf(p[0]), 1e-15, "erf(" + p[0] + ")");
            assertEquals(-p[1], Activation.Erf.erf(-p[0]), 1e-15, "erf(-" + p[0] + ")");
        }
        assertEquals(0.8413447460685429f, Activation.GELU.apply(1f), 1e-7f);
        assertEquals(0.8411919906082768f, Activation.GELU_TANH.apply(1f), 1e-7f);
        assertEquals(0.7310585786300049f, Activation.SILU.apply(1f), 1e-7f);
        assertEquals(0f, Activation.RELU.apply(-2f));
        assertEquals(9f, Activation.RELU_SQUARED.apply(3f));
    }
}
