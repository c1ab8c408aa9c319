package io.ruvector.sparse.gguf;

import io.ruvector.sparse.quant.GgmlType;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each named way a GGUF file can be wrong gives a GgufFormatException with the right offset and field. */
class GgufHeaderTest {

    /** Asserts parsing fails at {@code offset} with a message containing every one of {@code words}. */
    private static GgufFormatException fails(byte[] file, long offset, String... words) {
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> RawGguf.parse(file));
        assertEquals(offset, e.offset(), e.getMessage());
        assertTrue(e.getMessage().startsWith("at byte " + offset + ": "), e.getMessage());
        for (String w : words) assertTrue(e.getMessage().contains(w), "'" + w + "' missing from: " + e.getMessage());
        return e;
    }

    /** A valid file: two kvs and one F32 [4, 2] tensor. */
    private static byte[] valid() {
        RawGguf g = new RawGguf().header(3, 1, 2).kvString("general.architecture", "llama").kvU32("x.n", 7)
                .tensor("t", GgmlType.F32, 0, 4, 2).pad(32);
        return g.zeros(32).toBytes();
    }

    @Test
    void validFileParses() throws Exception {
        GgufHeader h = RawGguf.parse(valid());
        assertEquals(3, h.version());
        assertEquals(32, h.alignment());
        assertEquals("llama", h.metadata().get("general.architecture").asString());
        assertEquals(7, h.metadata().get("x.n").asLong());
        assertEquals(1, h.tensors().size());
        assertEquals(0, h.dataOffset() % 32);
    }

    @Test
    void everyTruncationOfTheHeaderFails() {
        byte[] file = valid();
        for (int len = 0; len < file.length; len++) {
            byte[] cut = Arrays.copyOf(file, len);
            GgufFormatException e = assertThrows(GgufFormatException.class, () -> RawGguf.parse(cut), "length " + len);
            assertTrue(e.offset() >= 0 && e.offset() <= len, e.getMessage());
            assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        }
    }

    @Test
    void badMagic() {
        byte[] f = valid();
        f[0] = 'X';
        fails(f, 0, "not a GGUF file", "magic");
    }

    @Test
    void versionOneIsRejectedByName() {
        fails(new RawGguf().header(1, 0, 0).toBytes(), 4, "version 1");
    }

    @Test
    void bigEndianIsRejectedByName() {
        fails(new RawGguf().u32(GgufFile.MAGIC_GGUF).u32(Integer.reverseBytes(3)).u64(0).u64(0).toBytes(), 4, "big-endian");
    }

    @Test
    void unknownVersion() {
        fails(new RawGguf().header(7, 0, 0).toBytes(), 4, "version 7");
    }

    @Test
    void powerInferMagicIsFlagged() throws Exception {
        byte[] f = new RawGguf().u32(GgufFile.MAGIC_PWRI).u32(3).u64(0).u64(0).toBytes();
        assertTrue(RawGguf.parse(f).powerInfer());
        assertFalse(RawGguf.parse(valid()).powerInfer());
    }

    @Test
    void hugeCounts() {
        fails(new RawGguf().header(3, 1L << 60, 0).zeros(64).toBytes(), 8, "tensor_count", "1152921504606846976");
        fails(new RawGguf().header(3, 0, 1L << 60).zeros(64).toBytes(), 16, "metadata_kv_count");
        fails(new RawGguf().header(3, -1, 0).toBytes(), 8, "tensor_count", "18446744073709551615");
    }

    @Test
    void stringLengthPastEnd() {
        RawGguf g = new RawGguf().header(3, 0, 1);
        long at = g.pos();
        g.u64(1L << 40).bytes("abc".getBytes()).zeros(16);
        fails(g.toBytes(), at, "metadata key #0", "string length 1099511627776", "past the end");
    }

    @Test
    void arrayCountTooLarge() {
        RawGguf g = new RawGguf().header(3, 0, 1).str("a").u32(GgufValueType.ARRAY.id()).u32(GgufValueType.UINT64.id());
        long at = g.pos();
        g.u64(1L << 60).zeros(16);
        fails(g.toBytes(), at, "metadata 'a'", "array length 1152921504606846976");
    }

    @Test
    void stringInArrayPastEnd() {
        RawGguf g = new RawGguf().header(3, 0, 1).str("toks").u32(GgufValueType.ARRAY.id())
                .u32(GgufValueType.STRING.id()).u64(2).str("ok");
        long at = g.pos();
        g.u64(100).bytes(new byte[10]);
        fails(g.toBytes(), at, "'toks'", "string #1", "past the end");
    }

    @Test
    void unknownValueType() {
        RawGguf g = new RawGguf().header(3, 0, 1).str("k");
        long at = g.pos();
        g.u32(77).u32(0);
        fails(g.toBytes(), at, "metadata 'k'", "unknown value type id 77");
    }

    @Test
    void badBool() {
        RawGguf g = new RawGguf().header(3, 0, 1).str("b").u32(GgufValueType.BOOL.id());
        long at = g.pos();
        g.u8(5);
        fails(g.toBytes(), at, "'b'", "bool");
    }

    @Test
    void duplicateKey() {
        RawGguf g = new RawGguf().header(3, 0, 2).kvU32("k", 1);
        long at = g.pos();
        g.kvU32("k", 2);
        fails(g.toBytes(), at, "duplicate metadata key 'k'");
    }

    @Test
    void arraysNestedTooDeep() {
        RawGguf g = new RawGguf().header(3, 0, 1).str("deep").u32(GgufValueType.ARRAY.id());
        for (int i = 0; i < GgufHeader.MAX_ARRAY_NESTING; i++) g.u32(GgufValueType.ARRAY.id()).u64(1);
        long at = g.pos();
        g.u32(GgufValueType.UINT8.id()).u64(0);
        fails(g.toBytes(), at, "nested deeper than 8");
    }

    @Test
    void alignmentNotAPowerOfTwo() {
        RawGguf g = new RawGguf().header(3, 0, 1).str("general.alignment").u32(GgufValueType.UINT32.id());
        long at = g.pos();
        g.u32(48);
        fails(g.toBytes(), at, "general.alignment", "power of two", "48");
    }

    @Test
    void alignmentDefaultsTo32AndIsHonoured() throws Exception {
        RawGguf g = new RawGguf().header(3, 1, 1).kvU32("general.alignment", 64).tensor("t", GgmlType.F32, 0, 8);
        byte[] f = g.pad(64).zeros(64).toBytes();
        GgufHeader h = RawGguf.parse(f);
        assertEquals(64, h.alignment());
        assertEquals(0, h.dataOffset() % 64);
    }

    @Test
    void unalignedTensorOffset() {
        RawGguf g = new RawGguf().header(3, 1, 0).str("t").u32(1).u64(8).u32(GgmlType.F32.id());
        long at = g.pos();
        g.u64(4).pad(32).zeros(64);
        fails(g.toBytes(), at, "tensor 't'", "offset 4", "alignment 32");
    }

    @Test
    void unknownTensorType() {
        RawGguf g = new RawGguf().header(3, 1, 0).str("t").u32(1).u64(8);
        long at = g.pos();
        g.u32(99).u64(0).pad(32).zeros(64);
        fails(g.toBytes(), at, "tensor 't'", "unknown ggml type id 99");
        RawGguf retired = new RawGguf().header(3, 1, 0).str("t").u32(1).u64(8);
        long at2 = retired.pos();
        retired.u32(4).u64(0).pad(32).zeros(64); // Q4_2, removed from ggml
        fails(retired.toBytes(), at2, "unknown ggml type id 4");
    }

    @Test
    void dimsWhoseProductOverflows() {
        RawGguf g = new RawGguf().header(3, 1, 0).str("t").u32(3).u64(1L << 30).u64(1L << 30);
        long at = g.pos();
        g.u64(1L << 30).u32(0).u64(0).zeros(64);
        fails(g.toBytes(), at, "tensor 't'", "overflows");
        // A zero first dim must not hide an overflowing product of the others (rows() multiplies them).
        RawGguf z = new RawGguf().header(3, 1, 0).str("z").u32(3).u64(0).u64(1L << 40);
        long at2 = z.pos();
        z.u64(1L << 40).u32(0).u64(0).zeros(64);
        fails(z.toBytes(), at2, "tensor 'z'", "overflows");
    }

    @Test
    void tooManyDims() {
        RawGguf g = new RawGguf().header(3, 1, 0).str("t");
        long at = g.pos();
        g.u32(5).zeros(80);
        fails(g.toBytes(), at, "tensor 't'", "5 dims");
    }

    @Test
    void rowNotWholeBlocks() {
        RawGguf g = new RawGguf().header(3, 1, 0).str("q").u32(2).u64(48).u64(2);
        long at = g.pos();
        g.u32(GgmlType.Q8_0.id()).u64(0).pad(32).zeros(256);
        fails(g.toBytes(), at, "tensor 'q'", "row length 48", "block size 32");
    }

    @Test
    void duplicateTensorName() {
        RawGguf g = new RawGguf().header(3, 2, 0).tensor("t", GgmlType.F32, 0, 8);
        long at = g.pos();
        g.tensor("t", GgmlType.F32, 32, 8).pad(32).zeros(64);
        fails(g.toBytes(), at, "duplicate tensor name 't'");
    }

    @Test
    void tensorDataPastEnd() {
        RawGguf g = new RawGguf().header(3, 2, 0).tensor("a", GgmlType.F32, 0, 8).str("b").u32(1).u64(8).u32(0);
        long offsetField = g.pos();
        g.u64(32).pad(32);
        long dataStart = g.pos();
        byte[] f = g.zeros(32 + 31).toBytes(); // b needs 32 bytes at data offset 32: one short
        fails(f, offsetField, "tensor 'b'", "past the end", "file byte " + (dataStart + 32), "truncated");
    }

    @Test
    void tensorOffsetPastEndDoesNotOverflow() {
        RawGguf g = new RawGguf().header(3, 1, 0).tensor("a", GgmlType.F32, Long.MAX_VALUE - 31, 8).pad(32);
        byte[] f = g.zeros(64).toBytes();
        GgufFormatException e = assertThrows(GgufFormatException.class, () -> RawGguf.parse(f));
        assertTrue(e.getMessage().contains("tensor 'a'"), e.getMessage());
    }

    @Test
    void fileEndingInHeaderPaddingWithTensors() {
        RawGguf g = new RawGguf().header(3, 1, 0).tensor("a", GgmlType.F32, 0, 0);
        long end = g.pos();
        fails(g.toBytes(), end, "padding");
    }

    @Test
    void vocabOnlyFileWithoutPaddingIsFine() throws Exception {
        byte[] f = new RawGguf().header(3, 0, 1).kvString("a", "b").toBytes();
        assertEquals(f.length, RawGguf.parse(f).dataOffset());
    }

    @Test
    void unsignedIntegersReadUnsigned() throws Exception {
        byte[] f = new RawGguf().header(3, 0, 4)
                .str("u8").u32(GgufValueType.UINT8.id()).u8(0xFF)
                .str("u16").u32(GgufValueType.UINT16.id()).u8(0xFF).u8(0xFF)
                .str("u32").u32(GgufValueType.UINT32.id()).u32(0xFFFFFFFFL)
                .str("i8").u32(GgufValueType.INT8.id()).u8(0xFF).toBytes();
        GgufHeader h = RawGguf.parse(f);
        assertEquals(255, h.metadata().get("u8").asLong());
        assertEquals(65535, h.metadata().get("u16").asLong());
        assertEquals(4294967295L, h.metadata().get("u32").asLong());
        assertEquals(-1, h.metadata().get("i8").asLong());
    }

    @Test
    void invalidUtf8IsKeptReplacedNotFatal() throws Exception {
        byte[] f = new RawGguf().header(3, 0, 1).str("s").u32(GgufValueType.STRING.id())
                .u64(3).u8('a').u8(0xC3).u8('b').toBytes();
        assertEquals("a\uFFFDb", RawGguf.parse(f).metadata().get("s").asString());
    }

    @Test
    void stringLongerThanTheLimit() {
        RawGguf g = new RawGguf().header(3, 0, 1).str("s").u32(GgufValueType.STRING.id());
        long at = g.pos();
        g.u64(GgufHeader.MAX_STRING_BYTES + 1L).zeros(GgufHeader.MAX_STRING_BYTES + 1);
        fails(g.toBytes(), at, "'s'", "exceeds the limit");
    }
}
