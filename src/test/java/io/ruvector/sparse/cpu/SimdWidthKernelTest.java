package io.ruvector.sparse.cpu;

import jdk.incubator.vector.VectorShape;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The width the kernels run at is the one asked for: the pom's forced-width executions (kernels-128/256/512) set
 * {@link Simd#BITS_PROPERTY}, and every species follows it; without it, the machine's preferred width. A
 * *KernelTest, so it runs in each of those executions and proves each one really ran at its width.
 */
class SimdWidthKernelTest {

    @Test
    void everySpeciesHasTheForcedOrPreferredWidth() {
        String forced = System.getProperty(Simd.BITS_PROPERTY);
        int bits = forced == null || forced.isBlank()
                ? VectorShape.preferredShape().vectorBitSize() : Integer.parseInt(forced.trim());
        System.out.println("vector width " + Simd.bits() + " bits" + (forced == null ? " (preferred)" : " (forced)"));
        assertEquals(bits, Simd.bits());
        assertEquals(bits, Simd.F.vectorBitSize());
        assertEquals(bits / Float.SIZE, Simd.F.length());
        assertEquals(bits / Integer.SIZE, Simd.I.length());
        assertEquals(bits / Short.SIZE, Simd.S.length());
        assertEquals(bits / Byte.SIZE, Simd.B.length());
        assertEquals(Simd.I.length(), Simd.S_HALF.length(), "S_HALF: shorts with as many lanes as ints");
        assertEquals(16 / Simd.F.length(), Simd.PARTS16);
    }
}
