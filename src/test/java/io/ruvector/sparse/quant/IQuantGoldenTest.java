package io.ruvector.sparse.quant;

import io.ruvector.sparse.Fixtures;
import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.gguf.TensorInfo;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The i-quant, ternary and MXFP4 types against {@code reference/quant-golden-iq.gguf}: the 8 rows of 512 of
 * {@code quant-golden.gguf} quantized by ggml ({@code ggml_quantize_chunk}) and dequantized by ggml's
 * {@code to_float}. Decoding ggml's bytes must give ggml's floats bit for bit; the products of those bytes
 * with activations must match a double-precision sum over ggml's floats.
 */
class IQuantGoldenTest {

    private static GgufFile golden;

    @BeforeAll
    static void open() throws Exception { golden = GgufFile.open(Fixtures.require("reference/quant-golden-iq.gguf")); }

    @AfterAll
    static void close() { if (golden != null) golden.close(); }

    private static float[] floats(String name) {
        TensorInfo t = golden.requireTensor(name);
        assertEquals(GgmlType.F32, t.type(), name);
        MemorySegment s = golden.tensorData(t);
        float[] out = new float[(int) (t.rows() * t.rowLength())];
        for (int i = 0; i < out.length; i++) out[i] = s.get(Layouts.FLOAT_LE, 4L * i);
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"IQ4_XS", "TQ1_0", "TQ2_0", "MXFP4"})
    void dequantizeIsBitIdenticalToGgml(String name) {
        TensorType type = TensorTypes.of(GgmlType.valueOf(name));
        TensorInfo q = golden.requireTensor(name + ".q");
        assertEquals(type.ggmlType(), q.type());
        MemorySegment data = golden.tensorData(q);
        float[] expected = floats(name + ".dequant");
        int cols = (int) q.rowLength();
        long rowBytes = type.rowBytes(cols);
        for (int r = 0; r < q.rows(); r++) {
            for (boolean vector : new boolean[] {false, true}) {
                float[] got = new float[cols];
                if (vector) type.dequantizeVector(data, r * rowBytes, got, 0, cols);
                else type.dequantize(data, r * rowBytes, got, 0, cols);
                for (int i = 0; i < cols; i++) {
                    float e = expected[r * cols + i];
                    if (Float.floatToRawIntBits(e) != Float.floatToRawIntBits(got[i])) {
                        throw new AssertionError(name + (vector ? " vector" : " scalar") + " row " + r + " col " + i
                                + ": ggml " + e + ", ours " + got[i]);
                    }
                }
            }
        }
    }

    /** dot and axpy over ggml's bytes agree with double-precision arithmetic over ggml's dequantized floats. */
    @ParameterizedTest
    @ValueSource(strings = {"IQ4_XS", "TQ1_0", "TQ2_0", "MXFP4"})
    void productsOfGgmlBytesMatchGgmlValues(String name) {
        TensorType type = TensorTypes.of(GgmlType.valueOf(name));
        TensorInfo q = golden.requireTensor(name + ".q");
        MemorySegment data = golden.tensorData(q);
        float[] w = floats(name + ".dequant");
        float[] x = floats(name + ".source"); // some activation, with the rows' varied magnitudes
        int cols = (int) q.rowLength();
        long rowBytes = type.rowBytes(cols);
        for (int r = 0; r < q.rows(); r++) {
            int xr = (r + 3) % (int) q.rows();
            double ref = 0;
            double mag = 0;
            for (int i = 0; i < cols; i++) {
                double p = (double) w[r * cols + i] * x[xr * cols + i];
                ref += p;
                mag += Math.abs(p);
            }
            double tol = 1e-6 * (8 + Math.sqrt(cols)) * mag;
            float scalar = type.dotScalar(data, r * rowBytes, x, xr * cols, cols);
            float vector = type.dot(data, r * rowBytes, x, xr * cols, cols);
            assertTrue(Math.abs(scalar - ref) <= tol, name + " row " + r + ": scalar dot " + scalar + " vs " + ref);
            assertTrue(Math.abs(vector - ref) <= tol, name + " row " + r + ": vector dot " + vector + " vs " + ref);
            float a = 0.75f;
            float[] ys = new float[cols];
            float[] yv = new float[cols];
            type.axpyScalar(a, data, r * rowBytes, ys, 0, cols);
            type.axpy(a, data, r * rowBytes, yv, 0, cols);
            for (int i = 0; i < cols; i++) {
                double e = a * (double) w[r * cols + i];
                double t = 1e-6 * Math.abs(e);
                assertTrue(Math.abs(ys[i] - e) <= t, name + " row " + r + " col " + i + ": scalar axpy " + ys[i] + " vs " + e);
                assertTrue(Math.abs(yv[i] - e) <= t, name + " row " + r + " col " + i + ": vector axpy " + yv[i] + " vs " + e);
            }
        }
    }

    /** Quantizers that follow ggml's search step for step write ggml's bytes on these rows. */
    @ParameterizedTest
    @ValueSource(strings = {"IQ4_XS", "TQ1_0", "TQ2_0", "MXFP4"})
    void quantizerWritesTheSameBytesAsGgml(String name) {
        TensorType type = TensorTypes.of(GgmlType.valueOf(name));
        float[] source = floats(name + ".source");
        TensorInfo q = golden.requireTensor(name + ".q");
        MemorySegment expected = golden.tensorData(q);
        int cols = (int) q.rowLength();
        long rowBytes = type.rowBytes(cols);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(rowBytes);
            for (int r = 0; r < q.rows(); r++) {
                seg.fill((byte) 0x5A);
                type.quantize(source, r * cols, seg, 0, cols);
                long at = seg.mismatch(expected.asSlice(r * rowBytes, rowBytes));
                assertEquals(-1L, at, name + " row " + r + " differs from ggml first at byte " + at);
            }
        }
    }

    /** Every type in the golden file is either read by us or refused with an error that names it. */
    @Test
    void typesWeDoNotReadAreNamedInTheError() {
        List<GgmlType> unsupported = new ArrayList<>();
        for (TensorInfo t : golden.tensors()) {
            if (!t.name().endsWith(".q") || TensorTypes.isSupported(t.type())) continue;
            unsupported.add(t.type());
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> TensorTypes.of(t.type()));
            assertTrue(e.getMessage().contains(t.type().name()), e.getMessage());
        }
    }
}
