package io.ruvector.sparse.gguf;

import io.ruvector.sparse.quant.GgmlType;

import io.ruvector.sparse.Fixtures;
import org.junit.jupiter.api.Test;

import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

class GgufFileTest {

    @Test
    void readsStories260K() throws Exception {
        try (GgufFile f = GgufFile.open(Fixtures.require("models/stories260K.gguf"))) {
            assertEquals(3, f.version());
            assertFalse(f.isPowerInfer());
            assertEquals("llama", f.getString("general.architecture"));
            assertEquals(4294967295L, f.getLong("tokenizer.ggml.seperator_token_id"));
            assertEquals(512, f.getArray("tokenizer.ggml.tokens").size());
            TensorInfo emb = f.requireTensor("token_embd.weight");
            assertEquals(GgmlType.F32, emb.type());
            assertEquals(64, emb.rowLength());
            assertEquals(512, emb.rows());
            assertEquals(emb.byteSize(), f.tensorData(emb).byteSize());
        }
    }

    @Test
    void accessAfterCloseThrowsIllegalState() throws Exception {
        GgufFile f = GgufFile.open(Fixtures.require("models/stories260K.gguf"));
        TensorInfo emb = f.requireTensor("token_embd.weight");
        var seg = f.tensorData(emb);
        f.close();
        assertThrows(IllegalStateException.class, () -> f.tensorData(emb));
        assertThrows(IllegalStateException.class, () -> seg.get(ValueLayout.JAVA_BYTE, 0));
        assertThrows(IllegalStateException.class, () -> f.getArray("tokenizer.ggml.tokens").getString(3));
    }
}
