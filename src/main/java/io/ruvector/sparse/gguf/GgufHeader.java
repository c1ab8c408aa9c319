package io.ruvector.sparse.gguf;

import io.ruvector.sparse.quant.GgmlType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
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
 * out-of-memory error, a hang or an index exception from deep inside. Heap use is bounded by a small
 * fraction of the header size: nothing is allocated from a count before the bytes it implies were seen
 * to exist, and string and nested-array elements are located through sparse checkpoints, not one
 * offset per element.
 */
record GgufHeader(int version, boolean powerInfer, Map<String, GgufValue> metadata, List<TensorInfo> tensors,
                  long alignment, long dataOffset) {

    static final int MAX_DIMS = 4;
    static final int MAX_ARRAY_NESTING = 8;
    /** GGUF's own limit for keys (spec: at most 65535 bytes); we apply it to tensor names as well. */
    static final int MAX_NAME_BYTES = 65_535;
    /** Largest single string value we decode; real ones (chat templates) are kilobytes. */
    static final int MAX_STRING_BYTES = 16 << 20;
    /** Sanity limits far above any real file; they bound the heap a corrupt count can claim. */
    static final long MAX_KV_COUNT = 1 << 20;
    static final long MAX_TENSOR_COUNT = 1 << 20;
    /** Largest general.alignment accepted (1 MiB). */
    static final long MAX_ALIGNMENT = 1 << 20;
    /** One remembered element offset per this many string / array elements. */
    static final int CHECKPOINT_STRIDE = 16;

    static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    static GgufHeader parse(MemorySegment file) throws GgufFormatException {
        Cursor c = new Cursor(file);
        int magic = c.i32("magic");
        boolean pwri;
        if (magic == GgufFile.MAGIC_GGUF) {
            pwri = false;
        } else if (magic == GgufFile.MAGIC_PWRI) {
            pwri = true;
        } else {
            throw new GgufFormatException(0, "not a GGUF file: magic is " + describeMagic(magic)
                    + ", expected \"GGUF\" (or PowerInfer's \"PWRI\")");
        }
        long versionAt = c.pos;
        int version = c.i32("version");
        if (version != 2 && version != 3) {
            int swapped = Integer.reverseBytes(version);
            if (version != 0 && (version & 0xFFFF) == 0 && swapped >= 1 && swapped <= 3) {
                throw new GgufFormatException(versionAt, "version field reads 0x" + Integer.toHexString(version)
                        + ": this is a big-endian GGUF file (version " + swapped + "), only little-endian files are supported");
            }
            if (version == 1) {
                throw new GgufFormatException(versionAt, "GGUF version 1 is not supported (only versions 2 and 3)");
            }
            throw new GgufFormatException(versionAt, "unsupported GGUF version " + Integer.toUnsignedString(version)
                    + " (only versions 2 and 3)");
        }
        long tensorCountAt = c.pos;
        long tensorCount = c.u64("tensor_count");
        long kvCountAt = c.pos;
        long kvCount = c.u64("metadata_kv_count");
        // Each key/value takes at least 8 (key length) + 4 (type) + 1 bytes, each tensor info 8+4+8+4+8.
        if (kvCount < 0 || kvCount > c.remaining() / 13 || kvCount > MAX_KV_COUNT) {
            throw new GgufFormatException(kvCountAt, "metadata_kv_count " + Long.toUnsignedString(kvCount)
                    + " is impossible: the " + c.remaining() + " bytes that remain hold at most "
                    + Math.min(c.remaining() / 13, MAX_KV_COUNT) + " (truncated or corrupt file)");
        }
        if (tensorCount < 0 || tensorCount > c.remaining() / 32 || tensorCount > MAX_TENSOR_COUNT) {
            throw new GgufFormatException(tensorCountAt, "tensor_count " + Long.toUnsignedString(tensorCount)
                    + " is impossible: the " + c.remaining() + " bytes that remain hold at most "
                    + Math.min(c.remaining() / 32, MAX_TENSOR_COUNT) + " (truncated or corrupt file)");
        }

        Map<String, GgufValue> metadata = new LinkedHashMap<>();
        Map<String, Long> valueOffsets = new HashMap<>();
        for (long i = 0; i < kvCount; i++) {
            long keyAt = c.pos;
            String key = c.string("metadata key #" + i, MAX_NAME_BYTES);
            if (metadata.containsKey(key)) throw new GgufFormatException(keyAt, "duplicate metadata key '" + key + "'");
            long typeAt = c.pos;
            GgufValueType type = valueType(c.i32("value type of '" + key + "'"), typeAt, "metadata '" + key + "'");
            valueOffsets.put(key, c.pos);
            metadata.put(key, c.value(type, key));
        }

        long alignment = GgufFile.DEFAULT_ALIGNMENT;
        GgufValue align = metadata.get("general.alignment");
        if (align != null) {
            long at = valueOffsets.get("general.alignment");
            if (!align.type().isInteger()) {
                throw new GgufFormatException(at, "general.alignment must be an integer, not a " + align.type());
            }
            long a = align.asLong();
            if (a <= 0 || Long.bitCount(a) != 1 || a > MAX_ALIGNMENT) {
                throw new GgufFormatException(at, "general.alignment must be a power of two from 1 to "
                        + MAX_ALIGNMENT + ", not " + align);
            }
            alignment = a;
        }

        List<TensorInfo> tensors = new ArrayList<>();
        long[] offsetFieldAt = new long[(int) tensorCount]; // bounded above: at most MAX_TENSOR_COUNT
        Set<String> names = new HashSet<>();
        for (int i = 0; i < tensorCount; i++) {
            long infoAt = c.pos;
            String name = c.string("name of tensor #" + i, MAX_NAME_BYTES);
            if (!names.add(name)) throw new GgufFormatException(infoAt, "duplicate tensor name '" + name + "'");
            long nDimsAt = c.pos;
            int nDims = c.i32("n_dims of tensor '" + name + "'");
            if (nDims < 0 || nDims > MAX_DIMS) {
                throw new GgufFormatException(nDimsAt, "tensor '" + name + "' has " + Integer.toUnsignedString(nDims)
                        + " dims (0 to " + MAX_DIMS + " allowed)");
            }
            long[] dims = new long[nDims];
            long elements = 1;
            long nonZeroProduct = 1; // rows() multiplies every dim but the first: it must not overflow either
            for (int d = 0; d < nDims; d++) {
                long dimAt = c.pos;
                dims[d] = c.u64("dim " + d + " of tensor '" + name + "'");
                if (dims[d] < 0) {
                    throw new GgufFormatException(dimAt, "tensor '" + name + "' dim " + d + " is "
                            + Long.toUnsignedString(dims[d]) + " (more than 2^63-1)");
                }
                if (dims[d] != 0) {
                    if (nonZeroProduct > Long.MAX_VALUE / dims[d]) {
                        throw new GgufFormatException(dimAt, "tensor '" + name + "' dims " + dimsText(dims, d)
                                + ": the element count overflows a 64-bit integer");
                    }
                    nonZeroProduct *= dims[d];
                }
                elements *= dims[d];
            }
            long typeAt = c.pos;
            int typeId = c.i32("type of tensor '" + name + "'");
            GgmlType type = GgmlType.fromId(Integer.toUnsignedLong(typeId));
            if (type == null) {
                throw new GgufFormatException(typeAt, "tensor '" + name + "' has unknown ggml type id "
                        + Integer.toUnsignedString(typeId));
            }
            long rowLength = nDims == 0 ? 1 : dims[0];
            if (rowLength % type.blockSize() != 0) {
                throw new GgufFormatException(typeAt, "tensor '" + name + "' row length " + rowLength
                        + " is not a multiple of the " + type + " block size " + type.blockSize());
            }
            if (type.bytesFor(elements) < 0) {
                throw new GgufFormatException(typeAt, "tensor '" + name + "' byte size overflows ("
                        + elements + " elements of " + type + ")");
            }
            long offAt = c.pos;
            long offset = c.u64("data offset of tensor '" + name + "'");
            if (offset < 0 || offset % alignment != 0) {
                throw new GgufFormatException(offAt, "tensor '" + name + "' data offset " + Long.toUnsignedString(offset)
                        + " is not a multiple of the alignment " + alignment);
            }
            offsetFieldAt[i] = offAt;
            tensors.add(new TensorInfo(name, dims, type, offset));
        }

        long headerEnd = c.pos;
        long dataOffset = alignUp(headerEnd, alignment);
        long dataSize = file.byteSize() - dataOffset;
        if (dataSize < 0) {
            if (!tensors.isEmpty()) {
                throw new GgufFormatException(headerEnd, "truncated: the file ends inside the padding before the "
                        + "tensor-data region (which starts at byte " + dataOffset + ")");
            }
            dataOffset = file.byteSize();
            dataSize = 0;
        }
        for (int i = 0; i < tensors.size(); i++) {
            TensorInfo t = tensors.get(i);
            long end = t.offset() + t.byteSize();
            if (end < 0 || end > dataSize) {
                // Named at the tensor's offset field: either it is wrong or the file was cut short.
                throw new GgufFormatException(offsetFieldAt[i], "data of tensor '" + t.name() + "' (" + t.byteSize()
                        + " bytes at data offset " + t.offset() + ", file byte " + (dataOffset + t.offset())
                        + ") runs past the end of the file: the data region holds " + dataSize
                        + " bytes (truncated file or corrupt offset)");
            }
        }
        return new GgufHeader(version, pwri, metadata, tensors, alignment, dataOffset);
    }

    static long alignUp(long x, long alignment) {
        return (x + alignment - 1) / alignment * alignment;
    }

    private static String dimsText(long[] dims, int upTo) {
        StringBuilder sb = new StringBuilder("[");
        for (int d = 0; d <= upTo; d++) sb.append(d > 0 ? ", " : "").append(dims[d]);
        return sb.append(upTo < dims.length - 1 ? ", ...]" : "]").toString();
    }

    private static String describeMagic(int magic) {
        StringBuilder sb = new StringBuilder(String.format("0x%08x", magic));
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 4; i++) {
            int ch = (magic >>> (8 * i)) & 0xFF;
            if (ch < 0x20 || ch > 0x7E) return sb.toString();
            text.append((char) ch);
        }
        return sb.append(" (\"").append(text).append("\")").toString();
    }

    static GgufValueType valueType(int id, long at, String what) throws GgufFormatException {
        GgufValueType t = GgufValueType.fromId(Integer.toUnsignedLong(id));
        if (t == null) {
            throw new GgufFormatException(at, what + " has unknown value type id " + Integer.toUnsignedString(id));
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

        Cursor(MemorySegment seg, long pos) {
            this.seg = seg;
            this.pos = pos;
        }

        long remaining() { return seg.byteSize() - pos; }

        void need(long n, String field) throws GgufFormatException {
            if (n < 0 || n > remaining()) {
                throw new GgufFormatException(pos, "truncated: " + field + " needs "
                        + (n < 0 ? Long.toUnsignedString(n) : n) + " bytes, " + remaining() + " remain");
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

        /** Reads a string's length and checks it; leaves {@code pos} at the first byte of the text. */
        long stringLength(String field, long limit) throws GgufFormatException {
            long at = pos;
            long len = u64(field + " length");
            if (len < 0 || len > remaining()) {
                throw new GgufFormatException(at, field + ": string length " + Long.toUnsignedString(len)
                        + " runs past the end of the file (" + remaining() + " bytes remain; truncated or corrupt file)");
            }
            if (len > limit) {
                throw new GgufFormatException(at, field + ": string length " + len + " exceeds the limit of "
                        + limit + " bytes");
            }
            return len;
        }

        String string(String field, long limit) throws GgufFormatException {
            long len = stringLength(field, limit);
            String s = decodeUtf8(seg, pos, (int) len);
            pos += len;
            return s;
        }

        GgufValue value(GgufValueType type, String key) throws GgufFormatException {
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
                case STRING -> GgufValue.of(type, string(field, MAX_STRING_BYTES));
                case ARRAY -> GgufValue.of(type, array("metadata '" + key + "'", 0));
            };
        }

        /** Parses (and validates) an array: element type, count, elements; leaves {@code pos} after it. */
        GgufArray array(String what, int depth) throws GgufFormatException {
            long typeAt = pos;
            if (depth >= MAX_ARRAY_NESTING) {
                throw new GgufFormatException(typeAt, what + ": arrays nested deeper than " + MAX_ARRAY_NESTING);
            }
            GgufValueType elem = valueType(i32(what + " element type"), typeAt, what + " array");
            long countAt = pos;
            long count = u64(what + " array length");
            long minElem = elem.size() > 0 ? elem.size() : (elem == GgufValueType.STRING ? 8 : 12);
            if (count < 0 || count > remaining() / minElem || count > Integer.MAX_VALUE - 8) {
                throw new GgufFormatException(countAt, what + ": array length " + Long.toUnsignedString(count)
                        + " of " + elem + " cannot fit in the " + remaining() + " bytes that remain (truncated or corrupt file)");
            }
            int n = (int) count;
            long start = pos;
            if (elem.size() > 0) {
                if (elem == GgufValueType.BOOL) {
                    for (long i = 0; i < n; i++) {
                        byte b = seg.get(ValueLayout.JAVA_BYTE, pos + i);
                        if (b != 0 && b != 1) {
                            throw new GgufFormatException(pos + i, what + ": bool element #" + i + " is " + b + ", not 0 or 1");
                        }
                    }
                }
                pos += count * elem.size();
                return new MappedArray(seg, elem, n, start, null);
            }
            // Strings and nested arrays: walk once to validate, remembering every CHECKPOINT_STRIDE-th start.
            long[] checkpoints = new long[(n + CHECKPOINT_STRIDE - 1) / CHECKPOINT_STRIDE];
            for (int i = 0; i < n; i++) {
                if (i % CHECKPOINT_STRIDE == 0) checkpoints[i / CHECKPOINT_STRIDE] = pos;
                if (elem == GgufValueType.STRING) {
                    // Hot loop (150k-entry vocabularies): no message is built unless the check fails.
                    long len = remaining() >= 8 ? seg.get(I64, pos) : -1;
                    if (len < 0 || len > remaining() - 8 || len > MAX_STRING_BYTES) {
                        stringLength(what + " string #" + i, MAX_STRING_BYTES); // throws, naming the problem
                    }
                    pos += 8 + len;
                } else {
                    array(what + "[" + i + "]", depth + 1);
                }
            }
            return new MappedArray(seg, elem, n, start, checkpoints);
        }

        /** Skips one element of a validated string or nested array. */
        void skipValidated(GgufValueType elem) {
            if (elem == GgufValueType.STRING) {
                pos += 8 + seg.get(I64, pos);
                return;
            }
            GgufValueType inner = GgufValueType.fromId(Integer.toUnsignedLong(seg.get(I32, pos)));
            long count = seg.get(I64, pos + 4);
            pos += 12;
            if (inner.size() > 0) {
                pos += count * inner.size();
            } else {
                for (long i = 0; i < count; i++) skipValidated(inner);
            }
        }
    }

    /**
     * Decodes UTF-8. Byte sequences that are not valid UTF-8 (real vocabularies have some, e.g. half of a
     * multi-byte character) become U+FFFD instead of failing: the token ids stay right either way.
     */
    static String decodeUtf8(MemorySegment seg, long at, int len) {
        byte[] bytes = new byte[len];
        MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, at, bytes, 0, len);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /**
     * Array view over the mapped header: elements decode on access. Fixed-size elements are found by
     * arithmetic; strings and nested arrays from the nearest checkpoint (at most CHECKPOINT_STRIDE-1 skips).
     * The bytes were validated when the header was parsed.
     */
    private static final class MappedArray extends GgufArray {
        private final MemorySegment seg;
        private final GgufValueType type;
        private final int size;
        private final long start;
        private final long[] checkpoints;

        MappedArray(MemorySegment seg, GgufValueType type, int size, long start, long[] checkpoints) {
            this.seg = seg;
            this.type = type;
            this.size = size;
            this.start = start;
            this.checkpoints = checkpoints;
        }

        @Override public GgufValueType elementType() { return type; }

        @Override public int size() { return size; }

        /** Byte offset of variable-size element {@code i}. */
        private long elementOffset(int i) {
            Cursor c = new Cursor(seg, checkpoints[i / CHECKPOINT_STRIDE]);
            for (int k = i % CHECKPOINT_STRIDE; k > 0; k--) c.skipValidated(type);
            return c.pos;
        }

        @Override
        public GgufValue get(int i) {
            checkIndex(i);
            if (type == GgufValueType.STRING) return GgufValue.ofString(getString(i));
            if (type == GgufValueType.ARRAY) return GgufValue.ofArray(getArray(i));
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

        private void checkIndex(int i) {
            if (i < 0 || i >= size) throw new IndexOutOfBoundsException("index " + i + " of an array of " + size);
        }

        @Override
        public String getString(int i) {
            if (type != GgufValueType.STRING) return super.getString(i);
            checkIndex(i);
            long at = elementOffset(i);
            return decodeUtf8(seg, at + 8, (int) seg.get(I64, at));
        }

        @Override
        public GgufArray getArray(int i) {
            if (type != GgufValueType.ARRAY) return super.getArray(i);
            checkIndex(i);
            try {
                return new Cursor(seg, elementOffset(i)).array("nested array", 1);
            } catch (GgufFormatException e) {
                throw new IllegalStateException("validated array no longer parses", e);
            }
        }

        @Override
        public String[] toStringArray() {
            if (type != GgufValueType.STRING) return super.toStringArray();
            String[] out = new String[size];
            long at = size == 0 ? 0 : checkpoints[0];
            for (int i = 0; i < size; i++) {
                int len = (int) seg.get(I64, at);
                out[i] = decodeUtf8(seg, at + 8, len);
                at += 8 + len;
            }
            return out;
        }

        @Override
        public int[] toIntArray() {
            if (type == GgufValueType.INT32 || type == GgufValueType.UINT32) {
                int[] out = new int[size];
                MemorySegment.copy(seg, I32, start, out, 0, size);
                if (type == GgufValueType.UINT32) {
                    for (int v : out) if (v < 0) return super.toIntArray(); // throws naming the value
                }
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
