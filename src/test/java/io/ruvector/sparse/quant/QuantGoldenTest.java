package io.ruvector.sparse.quant;

import io.ruvector.sparse.Fixtures;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Our codecs against llama.cpp's on {@code reference/quant-golden.gguf}: 8 rows of 512 values (normal, tiny,
 * huge, outliers, zeros, mixed block scales, positive-only) quantized by ggml and dequantized by ggml.
 */
class QuantGoldenTest {

    private static final String GOLDEN = "reference/quant-golden.gguf";

    /** Decoding ggml's bytes must give ggml's floats bit for bit. */
    @ParameterizedTest
    @ValueSource(strings = {"F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "IQ4_NL"})
    void dequantizeEqualsGgml(String type) throws Exception {
        try (GgufFile f = GgufFile.open(Fixtures.require(GOLDEN))) {
            Tensor q = Tensor.of(f, type + ".q");
            assertEquals(type, q.ggmlType().name());
            float[] ours = q.toFloatArray();
            float[] ggml = Tensor.of(f, type + ".dequant").toFloatArray();
            assertEquals(ggml.length, ours.length);
            for (int i = 0; i < ours.length; i++) {
                if (Float.floatToRawIntBits(ours[i]) != Float.floatToRawIntBits(ggml[i])) {
                    fail(type + " row " + i / q.cols() + " col " + i % q.cols() + ": ours " + ours[i] + ", ggml " + ggml[i]);
                }
            }
        }
    }

    /** Our quantizers reproduce ggml's reference quantizers byte for byte. */
    @ParameterizedTest
    @ValueSource(strings = {"F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "IQ4_NL"})
    void quantizeEqualsGgmlBytes(String type) throws Exception {
        try (GgufFile f = GgufFile.open(Fixtures.require(GOLDEN)); Arena arena = Arena.ofConfined()) {
            Tensor q = Tensor.of(f, type + ".q");
            float[] source = Tensor.of(f, type + ".source").toFloatArray();
            MemorySegment ours = arena.allocate(q.rowBytes() * q.rows());
            for (int r = 0; r < q.rows(); r++) q.type().quantize(source, r * q.cols(), ours, q.rowOffset(r), q.cols());
            MemorySegment ggml = q.data().asSlice(0, ours.byteSize());
            long mismatch = ours.mismatch(ggml);
            if (mismatch >= 0) {
                long blockBytes = q.type().blockBytes();
                long row = mismatch / q.rowBytes();
                long block = mismatch % q.rowBytes() / blockBytes;
                fail(type + ": first differing byte " + mismatch + " (row " + row + ", block " + block + ", byte "
                        + mismatch % blockBytes + " of the block): ours " + ours.get(Layouts.BYTE, mismatch)
                        + ", ggml " + ggml.get(Layouts.BYTE, mismatch));
            }
        }
    }

    /** The activation quantizer reproduces ggml's quantize_row_q8_0_ref on the same rows. */
    @org.junit.jupiter.api.Test
    void q8ActivationEqualsGgmlQ8_0() throws Exception {
        try (GgufFile f = GgufFile.open(Fixtures.require(GOLDEN)); Arena arena = Arena.ofConfined()) {
            Tensor q = Tensor.of(f, "Q8_0.q");
            float[] source = Tensor.of(f, "Q8_0.source").toFloatArray();
            Q8Activation act = new Q8Activation(source.length);
            for (boolean vector : new boolean[] {true, false}) {
                if (vector) act.quantize(source, 0, source.length);
                else act.quantizeScalar(source, 0, source.length);
                MemorySegment ours = arena.allocate(q.rowBytes() * q.rows());
                act.writeQ8_0(ours, 0);
                assertEquals(-1, ours.mismatch(q.data().asSlice(0, ours.byteSize())), vector ? "vector" : "scalar");
            }
        }
    }
}
