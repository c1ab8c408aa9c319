package io.ruvector.sparse.spark;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RowSeedsTest {

    @Test
    void seedsDependOnBaseAndKeyOnlyAndFitTheClisRange() {
        Set<Long> seen = new HashSet<>();
        for (int key = 0; key < 10_000; key++) {
            long s = RowSeeds.derive(42, Integer.toString(key));
            assertEquals(s, RowSeeds.derive(42, Integer.toString(key)));
            assertTrue(s >= 0 && s <= 0xFFFF_FFFFL, "seed " + s);
            seen.add(s);
        }
        // 10,000 keys in 2^32 values: a collision or two is possible, many would mean a poor mix.
        assertTrue(seen.size() >= 9_990, seen.size() + " distinct seeds");
        assertNotEquals(RowSeeds.derive(1, "a"), RowSeeds.derive(2, "a"));
        assertNotEquals(RowSeeds.derive(1, "ab"), RowSeeds.derive(1, "ba"));
        assertNotEquals(RowSeeds.derive(0, ""), RowSeeds.derive(0, "\u00e9"));
    }

    @Test
    void localMastersGiveTheirThreadCount() {
        assertEquals(1, ExecutorModels.localThreads("local", 8));
        assertEquals(2, ExecutorModels.localThreads("local[2]", 8));
        assertEquals(8, ExecutorModels.localThreads("local[*]", 8));
        assertEquals(3, ExecutorModels.localThreads("local[3,2]", 8));
        assertEquals(8, ExecutorModels.localThreads("yarn", 8));
    }
}
