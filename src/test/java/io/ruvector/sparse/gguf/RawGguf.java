package io.ruvector.sparse.gguf;

import io.ruvector.sparse.quant.GgmlType;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

/**
 * Byte-level GGUF builder for tests: writes exactly what it is told (including what the writer refuses:
 * duplicate names, bad counts, odd versions) and says where each field landed.
 */
final class RawGguf {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    /** Offset the next field is written at. */
    long pos() { return out.size(); }

    RawGguf u8(int v) { out.write(v); return this; }

    RawGguf u32(long v) {
        for (int i = 0; i < 4; i++) out.write((int) (v >>> (8 * i)));
        return this;
    }

    RawGguf u64(long v) {
        for (int i = 0; i < 8; i++) out.write((int) (v >>> (8 * i)));
        return this;
    }

    RawGguf str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        u64(b.length);
        out.writeBytes(b);
        return this;
    }

    RawGguf bytes(byte[] b) { out.writeBytes(b); return this; }

    RawGguf zeros(int n) { out.writeBytes(new byte[n]); return this; }

    /** Pads with zeros to a multiple of {@code alignment}. */
    RawGguf pad(int alignment) {
        while (out.size() % alignment != 0) out.write(0);
        return this;
    }

    /** "GGUF", version, tensor count, kv count. */
    RawGguf header(int version, long tensors, long kvs) {
        return u32(GgufFile.MAGIC_GGUF).u32(version).u64(tensors).u64(kvs);
    }

    /** Key, type u32 and value. */
    RawGguf kvU32(String key, long v) { return str(key).u32(GgufValueType.UINT32.id()).u32(v); }

    RawGguf kvString(String key, String v) { return str(key).u32(GgufValueType.STRING.id()).str(v); }

    /** A tensor-table entry. */
    RawGguf tensor(String name, GgmlType type, long offset, long... dims) {
        str(name).u32(dims.length);
        for (long d : dims) u64(d);
        return u32(type.id()).u64(offset);
    }

    byte[] toBytes() { return out.toByteArray(); }

    static GgufHeader parse(byte[] bytes) throws GgufFormatException {
        return GgufHeader.parse(MemorySegment.ofArray(bytes));
    }
}
