package io.ruvector.sparse.cli;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** bench --cold reads what generate --timings and llama.cpp print, and starts each the way a user would. */
class ColdBenchTest {

    @Test
    void readsOurSummaryAndTimings() {
        String err = "load: 0.412 s | prompt: 14 tokens in 1.250 s (11.2 tokens/s) | generated: 16 tokens in 0.800 s"
                + " (20.0 tokens/s) | stop: max tokens\n"
                + "first token: 2.100 s after process start (epoch-us 1000002500000) | token ms: 60.0 55.5 50.0\n";
        Instant spawned = Instant.ofEpochSecond(1_000_000, 0);
        ColdBench.Run r = ColdBench.parseOurs("ours", "text\n" + err, 3.5, spawned, 0);
        assertEquals(0.412, r.load(), 0);
        assertEquals(1.25, r.prompt(), 0);
        assertEquals(20.0, r.generationTps(), 0);
        assertEquals(2.5, r.firstToken(), 1e-9);   // from the spawn, not from the JVM's own start
        assertArrayEquals(new double[] {60.0, 55.5, 50.0}, r.tokenMs(), 0);
        assertEquals(3.5, r.wall(), 0);
    }

    @Test
    void readsLlamaCppPerformanceLines() {
        String err = """
                llama_perf_sampler_print:    sampling time =       1.05 ms /    30 runs   (    0.04 ms per token, 28571.43 tokens per second)
                llama_perf_context_print:        load time =     512.00 ms
                llama_perf_context_print: prompt eval time =     140.00 ms /    14 tokens (   10.00 ms per token,   100.00 tokens per second)
                llama_perf_context_print:        eval time =     500.00 ms /    15 runs   (   33.33 ms per token,    30.00 tokens per second)
                llama_perf_context_print:       total time =    1200.00 ms /    29 tokens
                """;
        ColdBench.Run r = ColdBench.parseLlama("llama-simple", err, 1.5, 0);
        assertEquals(0.512, r.load(), 1e-9);
        assertEquals(0.140, r.prompt(), 1e-9);
        assertEquals(0.652, r.firstToken(), 1e-9);
        assertEquals(30.0, r.generationTps(), 1e-9);
    }

    @Test
    void llamaToolsGetTheSameRun() {
        Path m = Path.of("m.gguf");
        assertEquals(List.of("/x/llama-simple", "-m", "m.gguf", "-n", "16", "Once"),
                ColdBench.llamaCommand(Path.of("/x/llama-simple"), m, "Once", 16, 2));
        List<String> completion = ColdBench.llamaCommand(Path.of("/x/llama-completion"), m, "Once", 16, 2);
        assertTrue(completion.containsAll(List.of("-t", "2", "-p", "Once", "--temp", "0")), completion.toString());
    }

    @Test
    void childrenStartWithThisJvmsFlagsAndRunGenerate() {
        List<String> cmd = ColdBench.sameJvm(List.of(), List.of("-XX:+UseSerialGC"), List.of("generate", "-n", "4"));
        assertTrue(cmd.get(0).endsWith("java"), cmd.toString());
        assertTrue(cmd.contains("-XX:+UseSerialGC"), cmd.toString());
        assertEquals(List.of("generate", "-n", "4"), cmd.subList(cmd.size() - 3, cmd.size()));
    }

    @Test
    void mediansIgnoreMissingValues() {
        assertEquals(2.0, ColdBench.median(new double[] {3, Double.NaN, 1, 2}), 0);
        assertEquals(2.5, ColdBench.median(new double[] {1, 2, 3, 4}), 0);
    }
}
