package io.ruvector.sparse.cli;

import io.ruvector.sparse.Fixtures;
import io.ruvector.sparse.bench.WarmUp;
import io.ruvector.sparse.gguf.GgufFile;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BenchCommandTest {

    private static double field(String json, String key) {
        Matcher m = Pattern.compile("\"" + key + "\":([-0-9.e+]+)").matcher(json);
        assertTrue(m.find(), key + " missing in " + json);
        return Double.parseDouble(m.group(1));
    }

    @Test
    void jsonHasOneLinePerTestWithSpeedSpreadAndBytesPerToken() throws Exception {
        var path = Fixtures.require("models/stories260K.gguf");
        CliRun run = CliRun.of("", "bench", "-m", path.toString(), "-p", "16", "-n", "8", "-r", "3", "-t", "1", "--json");
        assertEquals(0, run.exitCode(), run.err());
        List<String> lines = run.out().lines().toList();
        assertEquals(2, lines.size(), run.out());
        assertTrue(lines.get(0).contains("\"test\":\"pp16\"") && lines.get(1).contains("\"test\":\"tg8\""), run.out());
        long weights;
        long embeddingExtra;
        try (GgufFile f = GgufFile.open(path)) {
            weights = f.tensors().stream().mapToLong(t -> t.byteSize()).sum();
            var e = f.requireTensor("token_embd.weight");
            embeddingExtra = e.byteSize() - e.rowBytes(); // stories260K has output.weight: one embedding row is read
        }
        for (String l : lines) {
            double median = field(l, "tps_median");
            assertTrue(median > 0 && field(l, "tps_min") <= median && median <= field(l, "tps_max"), l);
            assertTrue(field(l, "tps_stddev") >= 0 && field(l, "allocated_bytes_per_token") >= 0, l);
            assertEquals(3, l.split("samples_tps\":\\[")[1].split("]")[0].split(",").length, l);
            double warmups = field(l, "warmup_runs"); // auto by default
            assertTrue(warmups >= WarmUp.MIN_AUTO_RUNS, l);
            // Linux /proc figures: page faults taken during the test and the resident set after it.
            assertTrue(field(l, "page_faults") >= 0, l);
            assertTrue(field(l, "rss_bytes") > 1 << 20, l);
        }
        assertEquals(weights - embeddingExtra, field(lines.get(1), "weight_bytes_per_token"), 1);
        // 16 prompt tokens fit one batch: the weights are read once for all of them.
        assertEquals((weights - embeddingExtra) / 16.0, field(lines.get(0), "weight_bytes_per_token"), 1);

        // --batch-size 8: two passes over the weights for the same 16 tokens.
        CliRun batches = CliRun.of("", "bench", "-m", path.toString(), "-p", "16", "-n", "0", "-r", "1", "-t", "1",
                "-w", "1", "-b", "8", "--json");
        assertEquals(0, batches.exitCode(), batches.err());
        assertEquals(2 * (weights - embeddingExtra) / 16.0, field(batches.out().strip(), "weight_bytes_per_token"), 1);
    }

    @Test
    void q4_0DecodesWithAndWithoutRepacking() {
        String model = Fixtures.require("reference/syn-llama-gqa.Q4_0.gguf").toString();
        for (String repack : new String[] {"--activations=auto", "--no-repack"}) {
            CliRun run = CliRun.of("", "bench", "-m", model, "-p", "0", "-n", "4", "-r", "1", "-t", "2", repack);
            assertEquals(0, run.exitCode(), repack + ": " + run.err());
            assertTrue(run.out().contains("| tg4 |"), run.out());
        }
    }

    @Test
    void tableByDefaultAndBadCountsRejected() {
        String model = Fixtures.require("models/stories260K.gguf").toString();
        CliRun run = CliRun.of("", "bench", "-m", model, "-p", "0", "-n", "4", "-r", "1", "-t", "1");
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.out().contains("| tg4 |") && !run.out().contains("pp"), run.out());
        assertEquals(Main.EXIT_BAD_INPUT, CliRun.of("", "bench", "-m", model, "-p", "0", "-n", "0").exitCode());
        assertEquals(Main.EXIT_BAD_INPUT, CliRun.of("", "bench", "-m", model, "-n", "100000").exitCode());
        CliRun badBatch = CliRun.of("", "bench", "-m", model, "-p", "0", "-n", "4", "-b", "0");
        assertEquals(Main.EXIT_BAD_INPUT, badBatch.exitCode());
        assertTrue(badBatch.err().contains("--batch-size"), badBatch.err());
        CliRun badWarmup = CliRun.of("", "bench", "-m", model, "-p", "0", "-n", "4", "-w", "some");
        assertEquals(Main.EXIT_BAD_INPUT, badWarmup.exitCode());
        assertTrue(badWarmup.err().contains("--warmup"), badWarmup.err());
    }

    @Test
    void warmUpRunsAFixedCountOrUntilTwoRunsInARowAgree() {
        assertEquals(WarmUp.auto(), WarmUp.parse("auto"));
        assertEquals(WarmUp.runs(0), WarmUp.parse("0"));
        assertEquals(WarmUp.runs(3), WarmUp.parse("3"));
        for (String bad : new String[] {"-1", "two", ""}) {
            IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> WarmUp.parse(bad));
            assertTrue(e.getMessage().contains("--warmup"), e.getMessage());
        }
        assertEquals(3, warmUps(3, 100, 100, 100, 100));
        assertEquals(0, warmUps(0, 100));
        // auto (times in ms): the cold run, then runs until one is within 5% of the one before ...
        assertEquals(2, warmUps(-1, 600, 618));
        assertEquals(4, warmUps(-1, 3000, 1600, 1200, 1180, 1170));
        assertEquals(5, warmUps(-1, 3000, 1000, 1200, 1000, 1040));
        // ... and 1 s has passed: a tiny model's runs of 3 ms go on for 1 s
        assertEquals(334, warmUps(-1, filled(400, 3)));
        // unsettled: 8 runs once 1 s has passed, or 10 s
        assertEquals(WarmUp.MAX_AUTO_RUNS, warmUps(-1, 100, 200, 100, 200, 100, 200, 100, 200, 100, 200));
        assertEquals(2, warmUps(-1, 6000, 5000, 4000));
    }

    private static long[] filled(int n, long ms) {
        long[] a = new long[n];
        java.util.Arrays.fill(a, ms);
        return a;
    }

    /** How many of {@code times} (milliseconds per run) {@link WarmUp#run} runs, checking it runs no more. */
    private static int warmUps(int fixed, long... times) {
        int[] calls = {0};
        int runs = new WarmUp(fixed).run(() -> times[calls[0]++] * 1_000_000L);
        assertEquals(runs, calls[0]);
        return runs;
    }

    @Test
    void statsAreMedianMeanAndSampleStandardDeviation() {
        Stats s = Stats.of(new double[]{4, 1, 3, 2});
        assertEquals(2.5, s.median());
        assertEquals(2.5, s.mean());
        assertEquals(Math.sqrt(5.0 / 3), s.stddev(), 1e-12);
        assertEquals(1, s.min());
        assertEquals(4, s.max());
        assertEquals(new Stats(7, 7, 0, 7, 7), Stats.of(new double[]{7}));
    }
}
