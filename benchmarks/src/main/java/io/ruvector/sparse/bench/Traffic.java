package io.ruvector.sparse.bench;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Bytes streamed by a benchmark: JMH reports this counter as a secondary result named {@code bytes} in
 * "ops/s", which here means bytes per second.
 */
@State(Scope.Thread)
@AuxCounters(AuxCounters.Type.OPERATIONS)
public class Traffic {

    public long bytes;

    @Setup(Level.Iteration)
    public void reset() { bytes = 0; }
}
