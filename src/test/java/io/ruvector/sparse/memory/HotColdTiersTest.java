package io.ruvector.sparse.memory;

import io.ruvector.sparse.quant.GgmlType;
import io.ruvector.sparse.quant.TensorTypes;
import io.ruvector.sparse.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HotColdTiersTest {

    static Tensor tensor(String name, int rows, int cols, long seed) {
        Random r = new Random(seed);
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
        MemorySegment seg = MemorySegment.ofArray(new byte[v.length * 4]);
        TensorTypes.of(GgmlType.F32).quantize(v, 0, seg, 0, v.length);
        return new Tensor(name, TensorTypes.of(GgmlType.F32), rows, cols, seg);
    }

    static List<HotColdTiers.Layer> layers(int count, int n, int d) {
        return java.util.stream.IntStream.range(0, count).mapToObj(l -> new HotColdTiers.Layer(
                tensor("g" + l, n, d, l), tensor("u" + l, n, d, 100 + l), tensor("dt" + l, n, d, 200 + l))).toList();
    }

    static boolean sameRow(MemorySegment a, long ao, MemorySegment b, long bo, long bytes) {
        return MemorySegment.mismatch(a, ao, ao + bytes, b, bo, bo + bytes) == -1;
    }

    @Test
    void hottestNeuronsAcrossLayersFillTheBudgetWithTheirRowsSideBySide() {
        List<HotColdTiers.Layer> ls = layers(2, 16, 8);
        long slot = 3 * 8 * 4;
        float[][] freq = new float[2][16];
        for (int i = 0; i < 16; i++) {
            freq[0][i] = i;          // neuron 15 of layer 0 is the hottest of its layer
            freq[1][i] = 100 - i;    // layer 1 is hotter overall
        }
        try (HotColdTiers t = HotColdTiers.build(ls, freq, 20 * slot + 5)) {
            assertEquals(20, t.hotNeurons());
            assertEquals(16, t.hotNeurons(1));
            assertEquals(4, t.hotNeurons(0));
            assertEquals(20 * slot, t.hotBytes());
            try (HotColdTiers.Snapshot s = t.acquire()) {
                LayerRows r0 = s.layer(0);
                assertTrue(r0.isHot(15) && r0.isHot(12) && !r0.isHot(11));
                for (int i = 0; i < 16; i++) {
                    HotColdTiers.Layer l = ls.get(0);
                    assertTrue(sameRow(r0.gateSegment(i), r0.gateOffset(i), l.gate().data(), l.gate().rowOffset(i), 32));
                    assertTrue(sameRow(r0.upSegment(i), r0.upOffset(i), l.up().data(), l.up().rowOffset(i), 32));
                    assertTrue(sameRow(r0.downSegment(i), r0.downOffset(i), l.downT().data(), l.downT().rowOffset(i), 32));
                }
                // Packed side by side: up follows gate, down_t follows up, in one slot.
                assertEquals(r0.gateOffset(15) + 32, r0.upOffset(15));
                assertEquals(r0.gateOffset(15) + 64, r0.downOffset(15));
                assertEquals(0, r0.gateOffset(15)); // the hottest neuron takes slot 0
            }
        }
    }

    @Test
    void retieringSwapsArenasWithoutPullingMemoryFromUnderAReader() {
        List<HotColdTiers.Layer> ls = layers(1, 32, 8);
        float[][] a = {new float[32]}, b = {new float[32]};
        for (int i = 0; i < 32; i++) {
            a[0][i] = i;
            b[0][i] = 32 - i;
        }
        HotColdTiers t = HotColdTiers.build(ls, a, 8 * 96);
        HotColdTiers.Snapshot old = t.acquire();
        LayerRows oldRows = old.layer(0);
        assertTrue(oldRows.isHot(31));
        assertTrue(t.retier(b));
        assertFalse(t.retier(b), "same hot set: no swap");
        assertEquals(1, t.generation());
        // The old snapshot still reads its (old) arena.
        MemorySegment oldHot = oldRows.gateSegment(31);
        assertTrue(oldHot.scope().isAlive());
        assertTrue(sameRow(oldHot, oldRows.gateOffset(31), ls.get(0).gate().data(), ls.get(0).gate().rowOffset(31), 32));
        try (HotColdTiers.Snapshot now = t.acquire()) {
            assertTrue(now.layer(0).isHot(0) && !now.layer(0).isHot(31));
        }
        old.close();
        assertFalse(oldHot.scope().isAlive(), "the replaced arena closes with its last reader");
        old.close(); // idempotent
        assertThrows(IllegalStateException.class, () -> old.layer(0));
        t.close();
        assertThrows(IllegalStateException.class, t::acquire);
    }

    @Test
    void concurrentReadersAndRetiersNeverSeeAClosedArena() throws Exception {
        // A reader touching a closed arena would throw IllegalStateException out of Future.get.
        List<HotColdTiers.Layer> ls = layers(2, 64, 16);
        float[][] f0 = {new float[64], new float[64]};
        Random r = new Random(9);
        for (float[] f : f0) for (int i = 0; i < 64; i++) f[i] = r.nextFloat();
        HotColdTiers t = HotColdTiers.build(ls, f0, 40L * 3 * 16 * 4);
        AtomicBoolean stop = new AtomicBoolean();
        ExecutorService ex = Executors.newFixedThreadPool(3);
        try {
            List<Future<Long>> readers = List.of(ex.submit(() -> read(t, stop)), ex.submit(() -> read(t, stop)));
            Future<?> writer = ex.submit(() -> {
                Random w = new Random(10);
                for (int k = 0; k < 200; k++) {
                    float[][] f = {new float[64], new float[64]};
                    for (float[] row : f) for (int i = 0; i < 64; i++) row[i] = w.nextFloat();
                    t.retier(f);
                }
                return null;
            });
            writer.get();
            stop.set(true);
            for (Future<Long> fr : readers) assertTrue(fr.get() > 0);
        } finally {
            ex.shutdownNow();
            t.close();
        }
    }

    private static long read(HotColdTiers t, AtomicBoolean stop) {
        long sum = 0, reads = 0;
        while (!stop.get() || reads == 0) {
            try (HotColdTiers.Snapshot s = t.acquire()) {
                for (int l = 0; l < 2; l++) {
                    LayerRows rows = s.layer(l);
                    for (int i = 0; i < 64; i++) {
                        sum += rows.downSegment(i).get(java.lang.foreign.ValueLayout.JAVA_BYTE, rows.downOffset(i));
                    }
                }
            }
            reads++;
        }
        return reads + (sum & 0);
    }

    @Test
    void hotArenaCanBeLockedInRamAndIsUnlockedWithItsTier() {
        List<HotColdTiers.Layer> ls = layers(1, 16, 8);
        float[][] a = {new float[16]}, b = {new float[16]};
        for (int i = 0; i < 16; i++) {
            a[0][i] = i + 1;
            b[0][i] = 16 - i;
        }
        try (HotColdTiers t = HotColdTiers.build(ls, a, 4 * 96, true)) {
            String first = t.lockMessage();
            assertTrue(first.startsWith("locked") || first.contains("not locked"), first);
            assertTrue(t.retier(b));
            assertTrue(t.lockMessage().startsWith("locked") || t.lockMessage().contains("not locked"));
        }
        try (HotColdTiers t = HotColdTiers.build(ls, a, 4 * 96)) {
            assertEquals("not requested", t.lockMessage());
        }
    }

    @Test
    void badInputIsNamed() {
        List<HotColdTiers.Layer> ls = layers(1, 8, 8);
        assertThrows(IllegalArgumentException.class, () -> HotColdTiers.build(ls, new float[2][8], 100));
        assertThrows(IllegalArgumentException.class, () -> HotColdTiers.build(ls, new float[1][7], 100));
        assertThrows(IllegalArgumentException.class, () -> HotColdTiers.build(ls, new float[1][8], -1));
        try (HotColdTiers t = HotColdTiers.build(ls, new float[1][8], 1000)) {
            assertEquals(0, t.hotNeurons(), "neurons that never fire are never hot");
        }
    }

    @Test
    void coldRowsOfMappedFilesAreAdvisedRandom(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path smaps = java.nio.file.Path.of("/proc/self/smaps");
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isReadable(smaps), "needs Linux /proc/self/smaps");
        int n = 64, d = 256;                         // 64 KiB per tensor: whole pages, several of them
        long bytes = (long) n * d * 4;
        java.nio.file.Path file = dir.resolve("ffn.bin");
        java.nio.file.Files.write(file, new byte[(int) (3 * bytes)]);
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared();
             java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file)) {
            MemorySegment all = ch.map(java.nio.channels.FileChannel.MapMode.READ_ONLY, 0, 3 * bytes, arena);
            var f32 = TensorTypes.of(GgmlType.F32);
            HotColdTiers.Layer layer = new HotColdTiers.Layer(new Tensor("g", f32, n, d, all.asSlice(0, bytes)),
                    new Tensor("u", f32, n, d, all.asSlice(bytes, bytes)), new Tensor("dt", f32, n, d, all.asSlice(2 * bytes, bytes)));
            assertFalse(randomReadFlag(smaps, all.address()), "a fresh mapping has no random-read advice");
            try (HotColdTiers t = HotColdTiers.build(List.of(layer), new float[1][n], 0)) {
                assertEquals(0, t.hotNeurons(), "a zero budget leaves every row cold");
                assertTrue(randomReadFlag(smaps, all.address()), "MADV_RANDOM shows as 'rr' in the mapping's VmFlags");
            }
        }
    }

    /** The VmFlags of the mapping that holds {@code address} include "rr" (MADV_RANDOM). */
    private static boolean randomReadFlag(java.nio.file.Path smaps, long address) throws java.io.IOException {
        boolean inside = false;
        for (String line : java.nio.file.Files.readAllLines(smaps)) {
            if (line.matches("^[0-9a-f]+-[0-9a-f]+ .*")) {
                String[] range = line.substring(0, line.indexOf(' ')).split("-");
                inside = Long.compareUnsigned(Long.parseUnsignedLong(range[0], 16), address) <= 0
                        && Long.compareUnsigned(address, Long.parseUnsignedLong(range[1], 16)) < 0;
            } else if (inside && line.startsWith("VmFlags:")) {
                return java.util.Arrays.asList(line.substring(8).trim().split("\\s+")).contains("rr");
            }
        }
        throw new AssertionError("no mapping holds address " + Long.toHexString(address));
    }
}
