package io.ruvector.sparse.quant;

import io.ruvector.sparse.Fixtures;
import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.gguf.TensorInfo;
import io.ruvector.sparse.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Our K-quant types against rows that llama.cpp quantized and dequantized ({@code quant-golden.gguf}, 8 rows
 * of 512 with small, large, mixed, outlier and all-zero data): dequantization must be bit-identical to
 * ggml's {@code to_float}, and our quantizers must write ggml's bytes.
 */
class KQuantGoldenTest {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static GgufFile golden;

    @BeforeAll
    static void open() throws Exception { golden = GgufFile.open(Fixtures.require("reference/quant-golden.gguf")); }

    @AfterAll
    static void close() { if (golden != null) golden.close(); }

    private static float[][] rowsOf(String name) {
        TensorInfo t = golden.requireTensor(name);
        assertEquals(GgmlType.F32, t.type(), name);
        MemorySegment s = golden.tensorData(t);
        int cols = (int) t.rowLength();
        float[][] out = new float[(int) t.rows()][cols];
        for (int r = 0; r < out.length; r++) {
            for (int i = 0; i < cols; i++) out[r][i] = s.get(F32, 4L * ((long) r * cols + i));
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K"})
    void dequantizeIsBitIdenticalToGgml(String name) {
        TensorType type = TensorTypes.of(GgmlType.valueOf(name));
        TensorInfo q = golden.requireTensor(name + ".q");
        assertEquals(type.ggmlType(), q.type());
        MemorySegment data = golden.tensorData(q);
        float[][] expected = rowsOf(name + ".dequant");
        int cols = (int) q.rowLength();
        long rowBytes = type.rowBytes(cols);
        for (int r = 0; r < expected.length; r++) {
            float[] got = new float[cols];
            type.dequantize(data, r * rowBytes, got, 0, cols);
            for (int i = 0; i < cols; i++) {
                int row = r, col = i;
                assertEquals(Float.floatToRawIntBits(expected[r][i]), Float.floatToRawIntBits(got[i]),
                        () -> name + " row " + row + " col " + col + ": ggml " + expected[row][col] + ", ours " + got[col]);
            }
        }
    }

    /**
     * Our encoders run the same searches as ggml's reference quantizers ({@code quantize_row_*_ref}, the path
     * llama-quantize takes without an importance matrix), so on these rows they must write the same bytes.
     */
    @ParameterizedTest
    @ValueSource(strings = {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K"})
    void quantizerWritesTheSameBytesAsGgml(String name) {
        TensorType type = TensorTypes.of(GgmlType.valueOf(name));
        float[][] source = rowsOf(name + ".source");
        MemorySegment expected = golden.tensorData(golden.requireTensor(name + ".q"));
        int cols = source[0].length;
        long rowBytes = type.rowBytes(cols);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(rowBytes);
            for (int r = 0; r < source.length; r++) {
                seg.fill((byte) 0x5A);
                type.quantize(source[r], 0, seg, 0, cols);
                long at = seg.mismatch(expected.asSlice(r * rowBytes, rowBytes));
                assertEquals(-1L, at, name + " row " + r + " differs from ggml first at byte " + at);
            }
        }
    }

    /**
     * A model llama-quantize wrote (Q4_K_M: Q4_K with some Q6_K tensors): every K-quant weight reads through
     * the registry, and each row's vector dot product agrees with its scalar twin.
     */
    @Test
    void readsTheKQuantTensorsOfALlamaQuantizeModel() throws Exception {
        try (GgufFile model = GgufFile.open(Fixtures.require("reference/syn-llama-gqa.Q4_K_M.gguf"))) {
            Random rnd = new Random(5);
            int kQuantTensors = 0;
            for (TensorInfo info : model.tensors()) {
                if (info.type() != GgmlType.Q4_K && info.type() != GgmlType.Q6_K) continue;
                kQuantTensors++;
                Tensor t = Tensor.of(model, info);
                float[] x = new float[t.cols()];
                for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
                for (int r = 0; r < t.rows(); r += 1 + t.rows() / 8) {
                    float scalar = t.type().dotScalar(t.data(), t.rowOffset(r), x, 0, t.cols());
                    float[] w = new float[t.cols()];
                    t.dequantizeRow(r, w, 0);
                    double magnitude = 0;
                    for (int i = 0; i < w.length; i++) magnitude += Math.abs((double) w[i] * x[i]);
                    assertEquals(scalar, t.dotRow(r, x), 1e-5 * magnitude, info.name() + " row " + r);
                }
            }
            assertTrue(kQuantTensors >= 16, "expected the model's Q4_K and Q6_K weights, found " + kQuantTensors);
        }
    }
}
