package io.ruvector.sparse.gguf;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

/**
 * The ids and block geometry of the i-quant, ternary and MXFP4 types, from ggml's {@code ggml_type} enum and
 * block structs (fp16 scales of 2 bytes, QK_K = 256): a wrong size would misplace every later tensor of a file.
 */
class GgmlTypeTest {

    @ParameterizedTest
    @CsvSource({
            // type, id, values per block, bytes per block (the sum of the block struct's fields)
            "IQ2_XXS, 16, 256, 66",  // d + qs[32] uint16
            "IQ2_XS,  17, 256, 74",  // d + qs[32] uint16 + scales[8]
            "IQ3_XXS, 18, 256, 98",  // d + qs[96]
            "IQ1_S,   19, 256, 50",  // d + qs[32] + qh[8] uint16
            "IQ4_NL,  20, 32,  18",  // d + qs[16]
            "IQ3_S,   21, 256, 110", // d + qs[64] + qh[8] + signs[32] + scales[4]
            "IQ2_S,   22, 256, 82",  // d + qs[64] + qh[8] + scales[8]
            "IQ4_XS,  23, 256, 136", // d + scales_h uint16 + scales_l[4] + qs[128]
            "IQ1_M,   29, 256, 56",  // qs[32] + qh[16] + scales[8]
            "TQ1_0,   34, 256, 54",  // qs[48] + qh[4] + d
            "TQ2_0,   35, 256, 66",  // qs[64] + d
            "MXFP4,   39, 32,  17",  // e + qs[16]
    })
    void iQuantGeometryIsGgmls(String name, int id, int blockSize, int blockBytes) {
        GgmlType t = GgmlType.valueOf(name);
        assertEquals(id, t.id(), name);
        assertEquals(blockSize, t.blockSize(), name);
        assertEquals(blockBytes, t.blockBytes(), name);
        assertSame(t, GgmlType.fromId(id));
        assertEquals(2L * blockBytes, t.bytesFor(2L * blockSize));
        assertEquals(-1L, t.bytesFor(blockSize + 1L));
    }
}
