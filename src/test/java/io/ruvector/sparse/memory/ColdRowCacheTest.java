package io.ruvector.sparse.memory;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ColdRowCacheTest {

    static final List<HotColdTiers.Layer> LAYERS = HotColdTiersTest.layers(2, 16, 8);
    static final long SLOT = 3 * 8 * 4;

    static LayerRows cold(int l) {
        HotColdTiers.Layer x = LAYERS.get(l);
        return LayerRows.inPlace(x.gate(), x.up(), x.downT());
    }

    @Test
    void lruKeepsTheMostRecentlyUsedAndServesExactRows() {
        ColdRowCache c = new ColdRowCache(new int[]{16, 16}, SLOT, 3, ColdRowCache.Policy.LRU);
        LayerRows base = cold(0);
        c.admit(0, base, new int[]{1, 2, 3}, 3);
        assertEquals(3, c.misses());
        c.admit(0, base, new int[]{1}, 1);     // 1 becomes most recent; 2 is now the oldest
        c.admit(0, base, new int[]{4}, 1);     // evicts 2
        assertTrue(c.contains(0, 1) && c.contains(0, 3) && c.contains(0, 4));
        assertFalse(c.contains(0, 2));
        assertEquals(1, c.hits());
        assertEquals(1, c.evictions());
        LayerRows v = c.view(0, base);
        assertSame(v, c.view(0, base));
        assertTrue(v.isCached(4) && !v.isCached(2));
        HotColdTiers.Layer l0 = LAYERS.get(0);
        for (int i : new int[]{1, 2, 3, 4}) {
            assertTrue(HotColdTiersTest.sameRow(v.gateSegment(i), v.gateOffset(i), l0.gate().data(), l0.gate().rowOffset(i), 32));
            assertTrue(HotColdTiersTest.sameRow(v.upSegment(i), v.upOffset(i), l0.up().data(), l0.up().rowOffset(i), 32));
            assertTrue(HotColdTiersTest.sameRow(v.downSegment(i), v.downOffset(i), l0.downT().data(), l0.downT().rowOffset(i), 32));
        }
        assertTrue(v.gateSegment(4) != l0.gate().data() && v.gateSegment(2) == l0.gate().data());
    }

    @Test
    void lfuKeepsTheFrequentlyUsedAcrossLayers() {
        ColdRowCache c = new ColdRowCache(new int[]{16, 16}, SLOT, 4, ColdRowCache.Policy.LFU);
        for (int round = 0; round < 5; round++) c.admit(1, cold(1), new int[]{7, 8}, 2); // popular
        for (int i = 0; i < 12; i++) c.admit(0, cold(0), new int[]{i}, 1);               // one-off traffic
        assertTrue(c.contains(1, 7) && c.contains(1, 8), "frequent neurons survive a scan");
        assertEquals(4, c.size());
    }

    @Test
    void hotNeuronsAreNeverCachedAndViewsFollowTheTier() {
        float[][] freq = new float[2][16];
        freq[0][5] = 1;
        try (HotColdTiers t = HotColdTiers.build(LAYERS, freq, SLOT); HotColdTiers.Snapshot s = t.acquire()) {
            ColdRowCache c = new ColdRowCache(new int[]{16, 16}, SLOT, 4, ColdRowCache.Policy.LRU);
            c.admit(0, s.layer(0), new int[]{5, 6}, 2);
            assertFalse(c.contains(0, 5));
            assertTrue(c.contains(0, 6));
            LayerRows v = c.view(0, s.layer(0));
            assertTrue(v.isHot(5) && !v.isCached(5) && v.isCached(6));
            assertNotSame(v, c.view(0, cold(0)));
            c.clear();
            assertEquals(0, c.size());
            assertFalse(c.contains(0, 6));
        }
    }

    @Test
    void closeFreesTheBufferAtOnceAndLaterUseThrows() {
        ColdRowCache c = new ColdRowCache(new int[]{16, 16}, SLOT, 3, ColdRowCache.Policy.LRU);
        LayerRows base = cold(0);
        c.admit(0, base, new int[]{1, 2}, 2);
        LayerRows v = c.view(0, base);
        assertTrue(c.isOpen());
        c.close();
        c.close();
        assertFalse(c.isOpen());
        assertFalse(v.gateSegment(1).scope().isAlive(), "the cached rows' memory is released, not left to the collector");
        org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, () -> c.admit(0, base, new int[]{3}, 1));
        org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, () -> c.view(1, cold(1)));
    }
}
