package io.ruvector.sparse.gguf;

import io.ruvector.sparse.Fixtures;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GgufFileFromSegmentTest {

    private static MemorySegment map(Path p, Arena arena) throws Exception {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            return ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
        }
    }

    @Test
    void readsTheSameModelAsOpenWithoutOwningTheMemory() throws Exception {
        Path model = Fixtures.require("models/stories260K.gguf");
        try (Arena host = Arena.ofConfined(); GgufFile fromFile = GgufFile.open(model)) {
            MemorySegment bytes = map(model, host);
            GgufFile inMemory = GgufFile.fromSegment(bytes, "host-model");
            assertNull(inMemory.path());
            assertEquals("host-model", inMemory.name());
            assertEquals(fromFile.tensors(), inMemory.tensors());
            assertEquals(fromFile.metadata().keySet(), inMemory.metadata().keySet());
            TensorInfo emb = inMemory.requireTensor("token_embd.weight");
            assertEquals(-1, fromFile.tensorData(emb).mismatch(inMemory.tensorData(emb)));
            var e = assertThrows(IllegalArgumentException.class, () -> inMemory.requireTensor("nope"));
            assertTrue(e.getMessage().startsWith("host-model"), e.getMessage());

            inMemory.close();
            assertFalse(inMemory.isOpen());
            assertThrows(IllegalStateException.class, () -> inMemory.tensorData(emb));
            assertEquals(bytes.get(ValueLayout.JAVA_INT, 0), GgufFile.MAGIC_GGUF, "the host's memory stays usable");
        }
    }

    @Test
    void theHostClosingItsMemoryClosesTheFile() throws Exception {
        Path model = Fixtures.require("models/stories260K.gguf");
        Arena host = Arena.ofShared();
        GgufFile inMemory = GgufFile.fromSegment(map(model, host), "host-model");
        TensorInfo emb = inMemory.requireTensor("token_embd.weight");
        MemorySegment slice = inMemory.tensorData(emb);
        host.close();
        assertFalse(inMemory.isOpen());
        assertThrows(IllegalStateException.class, () -> slice.get(ValueLayout.JAVA_FLOAT, 0));
        assertThrows(IllegalStateException.class, () -> inMemory.tensorData(emb));
    }

    @Test
    void badBytesAreAFormatError() {
        MemorySegment junk = MemorySegment.ofArray(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
        assertThrows(GgufFormatException.class, () -> GgufFile.fromSegment(junk, "junk"));
    }
}
