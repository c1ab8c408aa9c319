package io.ruvector.sparse.gguf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parser of the GGUF header (magic, version, metadata, tensor table) over an untrusted mapped file.
 *
 * <p>Every count, length and offset is checked against the bytes that remain before it is used, so a
 * corrupt file fails with a {@link GgufFormatException} naming the offset and the field, never with an
 * out-of-memory error or an index exception from deep inside.
 */
record GgufHeader(int version, boolean powerInfer, Map<String, GgufValue> metadata, List<TensorInfo> tensors,
                  long alignment, long dataOffset) {

    static final int MAX_DIMS = 4;
    static final int MAX_ARRAY_NESTING = 8;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    static GgufHeader parse(MemorySegment file) throws GgufFormatException {
        Cursor c = new Cursor(file);
        int magic = c.i32("magic");
        boolean pwri;
        if (magic == GgufFile.MAGIC_GGUF) {
            pwri = false;
        } else if (magic == GgufFile.MAGIC_PWRI) {
            pwri = true;
        } else {
            throw new GgufFormatException(0, String.format("not a GGUF file: magic is 0x%08x, expected \"GGUF\"", magic));
        }
        long versionAt = c.pos;
        int version = c.i32("version");
        if (version == 1) throw new GgufFormatException(versionAt, "GGUF version 1 is not supported (only 2 and 3)");
        if (version != 2 && version != 3) {
            if (Integer.reverseBytes(version) == 2 || Integer.reverseBytes(version) == 3) {
                throw new GgufFormatException(versionAt, "big-endian GGUF files are not supported");
            }
            throw new GgufFormatException(versionAt, "unsupported GGUF version " + Integer.toUnsignedString(version));
        }
        long tensorCountAt = c.pos;
        long tensorCount = c.u64("tensor_count");
        long kvCountAt = c.pos;
        long kvCount = c.u64("metadata_kv_count");
        // Each key/value needs at least 8 (key length) + 4 (type) bytes, each tensor info at least 8+4+4+8.
        if (kvCount < 0 || kvCount > c.remaining() / 12) {
            throw new GgufFormatException(kvCountAt, "metadata_kv_count " + Long.toUnsignedString(kvCount)
                    + " cannot fit in the " + c.remaining() + " bytes that remain");
        }
        if (tensorCount < 0 || tensorCount > c.remaining() / 24) {
            throw new GgufFormatException(tensorCountAt, "tensor_count " + Long.toUnsignedString(tensorCount)
                    + " cannot fit in the " + c.remaining() + " bytes that remain");
        }

        Map<String, GgufValue> metadata = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            long keyAt = c.pos;
            String key = c.string("metadata key #" + i);
            if (metadata.containsKey(key)) throw new GgufFormatException(keyAt, "duplicate metadata key '" + key + "'");
            long typeAt = c.pos;
            GgufValueType type = valueType(c.i32("type of '" + key + "'"), typeAt, key);
            metadata.put(key, c.value(type, key, 0));
        }

        long alignment = GgufFile.DEFAULT_ALIGNMENT;
        GgufValue align = metadata.get("general.alignment");
        if (align != null) {
            if (!align.type().isInteger() || align.asLong() <= 0 || Long.bitCount(align.asLong()) != 1
                    || align.asLong() > (1 << 20)) {
                throw new GgufFormatException(-1, "general.alignment must be a power of two, not " + align);
            }
            alignment = align.asLong();
        }

        List<TensorInfo> tensors = new ArrayList<>((int) Math.min(tensorCount, 1 << 16));
        Set<String> names = new HashSet<>();
        long[] infoOffsets = new long[(int) tensorCount];
        for (int i = 0; i < tensorCount; i++) {
            infoOffsets[i] = c.pos;
            String name = c.string("tensor #" + i + " name");
            if (!names.add(name)) throw new GgufFormatException(infoOffsets[i], "duplicate tensor name '" + name + "'");
            long nDimsAt = c.pos;
            int nDims = c.i32("n_dims of tensor '" + name + "'");
            if (nDims < 1 || nDims > MAX_DIMS) {
                throw new GgufFormatException(nDimsAt, "tensor '" + name + "' has " + Integer.toUnsignedString(nDims)
                        + " dims (1 to " + MAX_DIMS + " allowed)");
            }
            long[] dims = new long[nDims];
            long elements = 1;
            for (int d = 0; d < nDims; d++) {
                long dimAt = c.pos;
                dims[d] = c.u64("dim " + d + " of tensor '" + name + "'");
                if (dims[d] < 0) {
                    throw new GgufFormatException(dimAt, "tensor '" + name + "' dim " + d + " is "
                            + Long.toUnsignedString(dims[d]));
                }
                if (dims[d] != 0 && elements > Long.MAX_VALUE / dims[d]) {
                    throw new GgufFormatException(dimAt, "tensor '" + name + "' element count overflows");
                }
                elements *= dims[d];
            }
            long typeAt = c.pos;
            int typeId = c.i32("type of tensor '" + name + "'");
            GgmlType type = GgmlType.fromId(Integer.toUnsignedLong(typeId));
            if (type == null) {
                throw new GgufFormatException(typeAt, "tensor '" + name + "' has unknown type id "
                        + Integer.toUnsignedString(typeId));
            }
            if (dims[0] % type.blockSize() != 0) {
                throw new GgufFormatException(typeAt, "tensor '" + name + "' row length " + dims[0]
                        + " is not a multiple of the " + type + " block size " + type.blockSize());
            }
            if (type.bytesFor(elements) < 0) {
                throw new GgufFormatException(typeAt, "tensor '" + name + "' byte size overflows");
            }
            long offAt = c.pos;
            long offset = c.u64("offset of tensor '" + name + "'");
            if (offset < 0 || offset % alignment != 0) {
                throw new GgufFormatException(offAt, "tensor '" + name + "' offset " + Long.toUnsignedString(offset)
                        + " is not a multiple of the alignment " + alignment);
            }
            tensors.add(new TensorInfo(name, dims, type, offset));
        }

        long dataOffset = alignUp(c.pos, alignment);
        long dataSize = file.byteSize() - dataOffset;
        if (dataSize < 0) {
            if (!tensors.isEmpty()) {
                throw new GgufFormatException(c.pos, "file ends before the tensor-data region (truncated header padding)");
            }
            dataOffset = file.byteSize();
            dataSize = 0;
        }
        for (int i = 0; i < tensors.size(); i++) {
            TensorInfo t = tensors.get(i);
            long end = t.offset() + t.byteSize();
            if (end < 0 || end > dataSize) {
                throw new GgufFormatException(dataOffset + t.offset(), "data of tensor '" + t.name() + "' ("
                        + t.byteSize() + " bytes at data offset " + t.offset() + ") runs past the end of the file ("
                        + dataSize + " data bytes; truncated?)");
            }
        }
        return new GgufHeader(version, pwri, metadata, tensors, alignment, dataOffset);
    }

    static long alignUp(long x, long alignment) {
        return (x + alignment - 1) / alignment * alignment;
    }

    private static GgufValueType valueType(int id, long at, String key) throws GgufFormatException {
        GgufValueType t = GgufValueType.fromId(Integer.toUnsignedLong(id));
        if (t == null) {
            throw new GgufFormatException(at, "metadata '" + key + "' has unknown value type " + Integer.toUnsignedString(id));
        }
        return t;
    }

    /** Bounds-checked little-endian reader over the mapped file. */
    static final class Cursor {
        final MemorySegment seg;
        long pos;

        Cursor(MemorySegment seg) {
            this.seg = seg;
        }

        long remaining() { return seg.byteSize() - pos; }

        void need(long n, String field) throws GgufFormatException {
            if (n < 0 || n > remaining()) {
                throw new GgufFormatException(pos, "truncated: " + field + " needs " + (n < 0 ? Long.toUnsignedString(n) : n)
                        + " bytes, " + remaining() + " remain");
            }
        }

        int i32(String field) throws GgufFormatException {
            need(4, field);
            int v = seg.get(I32, pos);
            pos += 4;
            return v;
        }

        long u64(String field) throws GgufFormatException {
            need(8, field);
            long v = seg.get(I64, pos);
            pos += 8;
            return v;
        }

        String string(String field) throws GgufFormatException {
            long at = pos;
            long len = u64(field + " length");
            if (len < 0 || len > remaining()) {
                throw new GgufFormatException(at, field + ": string length " + Long.toUnsignedString(len)
                        + " runs past the end of the file (" + remaining() + " bytes remain)");
            }
            if (len > Integer.MAX_VALUE - 8) throw new GgufFormatException(at, field + ": string too long");
            String s = decodeUtf8(seg, pos, (int) len, at, field);
            pos += len;
            return s;
        }

        GgufValue value(GgufValueType type, String key, int depth) throws GgufFormatException {
            String field = "value of '" + key + "'";
            return switch (type) {
                case UINT8 -> { need(1, field); long v = Byte.toUnsignedLong(seg.get(ValueLayout.JAVA_BYTE, pos)); pos += 1; yield GgufValue.of(type, v); }
                case INT8 -> { need(1, field); long v = seg.get(ValueLayout.JAVA_BYTE, pos); pos += 1; yield GgufValue.of(type, v); }
                case UINT16 -> { need(2, field); long v = Short.toUnsignedLong(seg.get(I16, pos)); pos += 2; yield GgufValue.of(type, v); }
                case INT16 -> { need(2, field); long v = seg.get(I16, pos); pos += 2; yield GgufValue.of(type, v); }
                case UINT32 -> GgufValue.of(type, Integer.toUnsignedLong(i32(field)));
                case INT32 -> GgufValue.of(type, (long) i32(field));
                case UINT64, INT64 -> GgufValue.of(type, u64(field));
                case FLOAT32 -> { need(4, field); float v = seg.get(F32, pos); pos += 4; yield GgufValue.of(type, v); }
                case FLOAT64 -> { need(8, field); double v = seg.get(F64, pos); pos += 8; yield GgufValue.of(type, v); }
                case BOOL -> {
                    need(1, field);
                    byte b = seg.get(ValueLayout.JAVA_BYTE, pos);
                    if (b != 0 && b != 1) throw new GgufFormatException(pos, field + ": bool byte is " + b + ", not 0 or 1");
                    pos += 1;
                    yield GgufValue.of(type, b == 1);
                }
                case STRING -> GgufValue.of(type, string(field));
                case ARRAY -> GgufValue.of(type, array(key, depth));
            };
        }

        private GgufArray array(String key, int depth) throws GgufFormatException {
            long typeAt = pos;
            if (depth >= MAX_ARRAY_NESTING) {
                throw new GgufFormatException(typeAt, "metadata '" + key + "': arrays nested deeper than " + MAX_ARRAY_NESTING);
            }
            GgufValueType elem = valueType(i32("array element type of '" + key + "'"), typeAt, key);
            long countAt = pos;
            long count = u64("array length of '" + key + "'");
            long minElem = elem.size() > 0 ? elem.size() : (elem == GgufValueType.STRING ? 8 : 12);
            if (count < 0 || count > remaining() / minElem || count > Integer.MAX_VALUE - 8) {
                throw new GgufFormatException(countAt, "metadata '" + key + "': array length " + Long.toUnsignedString(count)
                        + " of " + elem + " cannot fit in the " + remaining() + " bytes that remain");
            }
            long start = pos;
            if (elem.size() > 0) {
                need(count * elem.size(), "array '" + key + "'");
                if (elem == GgufValueType.BOOL) {
                    for (long i = 0; i < count; i++) {
                        byte b = seg.get(ValueLayout.JAVA_BYTE, pos + i);
                        if (b != 0 && b != 1) throw new GgufFormatException(pos + i, "metadata '" + key + "': bool byte is " + b);
                    }
                }
                pos += count * elem.size();
                return new MappedArray(seg, elem, (int) count, start, null, null);
            }
            // Strings and nested arrays: walk once to validate and remember where each element starts.
            long[] offsets = new long[(int) count];
            GgufArray[] nested = elem == GgufValueType.ARRAY ? new GgufArray[(int) count] : null;
            for (int i = 0; i < count; i++) {
                offsets[i] = pos;
                if (elem == GgufValueType.STRING) {
                    long at = pos;
                    long len = u64("string #" + i + " of '" + key + "'");
                    if (len < 0 || len > remaining()) {
                        throw new GgufFormatException(at, "metadata '" + key + "': string #" + i + " length "
                                + Long.toUnsignedString(len) + " runs past the end of the file");
                    }
                    pos += len;
                } else {
                    nested[i] = array(key + "[" + i + "]", depth + 1);
                }
            }
            return new MappedArray(seg, elem, (int) count, start, offsets, nested);
        }
    }

    static String decodeUtf8(MemorySegment seg, long at, int len, long fieldAt, String field) throws GgufFormatException {
        byte[] bytes = new byte[len];
        MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, at, bytes, 0, len);
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            // Real vocabularies hold byte pieces that are not valid UTF-8 on their own: keep them, replaced.
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }

    /** Array view over the mapped header: elements decode on access. */
    private static final class MappedArray extends GgufArray {
        private final MemorySegment seg;
        private final GgufValueType type;
        private final int size;
        private final long start;
        private final long[] offsets;
        private final GgufArray[] nested;

        MappedArray(MemorySegment seg, GgufValueType type, int size, long start, long[] offsets, GgufArray[] nested) {
            this.seg = seg;
            this.type = type;
            this.size = size;
            this.start = start;
            this.offsets = offsets;
            this.nested = nested;
        }

        @Override public GgufValueType elementType() { return type; }

        @Override public int size() { return size; }

        @Override
        public GgufValue get(int i) {
            if (i < 0 || i >= size) throw new IndexOutOfBoundsException("index " + i + " of array of " + size);
            if (nested != null) return GgufValue.ofArray(nested[i]);
            if (type == GgufValueType.STRING) return GgufValue.ofString(getString(i));
            long at = start + (long) i * type.size();
            return switch (type) {
                case UINT8 -> GgufValue.of(type, Byte.toUnsignedLong(seg.get(ValueLayout.JAVA_BYTE, at)));
                case INT8 -> GgufValue.of(type, (long) seg.get(ValueLayout.JAVA_BYTE, at));
                case UINT16 -> GgufValue.of(type, Short.toUnsignedLong(seg.get(I16, at)));
                case INT16 -> GgufValue.of(type, (long) seg.get(I16, at));
                case UINT32 -> GgufValue.of(type, Integer.toUnsignedLong(seg.get(I32, at)));
                case INT32 -> GgufValue.of(type, (long) seg.get(I32, at));
                case UINT64, INT64 -> GgufValue.of(type, seg.get(I64, at));
                case FLOAT32 -> GgufValue.of(type, seg.get(F32, at));
                case FLOAT64 -> GgufValue.of(type, seg.get(F64, at));
                case BOOL -> GgufValue.of(type, seg.get(ValueLayout.JAVA_BYTE, at) != 0);
                default -> throw new IllegalStateException("unreachable: " + type);
            };
        }

        @Override
        public String getString(int i) {
            if (type != GgufValueType.STRING) return super.getString(i);
            long at = offsets[i];
            int len = (int) seg.get(I64, at);
            try {
                return decodeUtf8(seg, at + 8, len, at, "string");
            } catch (GgufFormatException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public int[] toIntArray() {
            if (type == GgufValueType.INT32 || type == GgufValueType.UINT32) {
                int[] out = new int[size];
                MemorySegment.copy(seg, I32, start, out, 0, size);
                if (type == GgufValueType.UINT32) for (int v : out) if (v < 0) return super.toIntArray();
                return out;
            }
            return super.toIntArray();
        }

        @Override
        public float[] toFloatArray() {
            if (type == GgufValueType.FLOAT32) {
                float[] out = new float[size];
                MemorySegment.copy(seg, F32, start, out, 0, size);
                return out;
            }
            return super.toFloatArray();
        }
    }
}
