package io.ruvector.sparse.cli;

import io.ruvector.sparse.bench.DenseSparseBenchmark;
import io.ruvector.sparse.bench.ParallelDecodeBenchmark;
import io.ruvector.sparse.bench.WarmUp;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.gguf.TensorInfo;
import io.ruvector.sparse.memory.ProcessMemory;
import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.Session;
import io.ruvector.sparse.sparse.SparseModel;
import io.ruvector.sparse.sparse.SparseStats;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * {@code sparse-infer bench}: prompt processing and token generation speed, llama-bench style.
 *
 * <p>{@code ppN} evaluates N prompt tokens in one call; {@code tgN} generates N tokens one at a time
 * (each the most likely after the last), both from an empty context. Each test first runs untimed to warm up
 * the JIT ({@code --warmup}), then R timed times. Reported: tokens/s (median, mean, standard deviation, min,
 * max), the bytes of weights read per token, and the bytes the JVM allocated per token (all threads).
 *
 * <p>By default the warm-up repeats until two runs in a row take times within {@link WarmUp#SETTLED} of each other
 * (see {@link WarmUp#run} for the bounds). One warm-up run, as llama-bench does, leaves C2
 * compiling and recompiling into the timed runs: on a 2-core machine the first one or two prompt runs after it
 * were 5-45% slower than the rest. {@code -w N} fixes the count ({@code -w 1} is llama-bench's protocol).
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measure prompt processing (ppN) and generation (tgN) speed, like llama-bench.",
                "Prints a table, or one JSON object per result with --json."})
public final class BenchCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Mixin
    private ModelArgs modelArgs;

    @Option(names = {"-p", "--n-prompt"}, paramLabel = "N", description = "prompt tokens; 0 skips the test (default: ${DEFAULT-VALUE})")
    private int promptTokens = 512;

    @Option(names = {"-n", "--n-gen"}, paramLabel = "N", description = "generated tokens; 0 skips the test (default: ${DEFAULT-VALUE})")
    private int genTokens = 128;

    @Option(names = {"-r", "--repetitions"}, paramLabel = "R", description = "timed repetitions (default: ${DEFAULT-VALUE})")
    private int repetitions = 5;

    @Option(names = {"-w", "--warmup"}, paramLabel = "N|auto",
            description = "untimed runs first, for the JIT: a count, or auto (default: ${DEFAULT-VALUE}): "
                    + "until two runs in a row are within 5%% of each other and 1 s has passed (at least 2 runs; "
                    + "at most 8 once 1 s has passed, or 10 s)")
    private String warmup = "auto";

    private WarmUp warmUp;

    @Option(names = "--json", description = "one JSON object per result, one per line")
    private boolean json;

    @Option(names = "--bandwidth", description = "also measure memory read bandwidth (1 GiB buffer) and report decode as a fraction of it")
    private boolean bandwidth;

    @Option(names = "--parallel", paramLabel = "N[,N...]", split = ",",
            description = "instead of pp/tg: aggregate generation speed of N concurrent requests decoded together "
                    + "(continuous batching, one pass over the weights per step), e.g. 1,2,4,8; the levels alternate "
                    + "round by round, -n tokens per request")
    private int[] parallel;

    @Option(names = "--cold",
            description = "one-shot runs instead: each R times `generate -n N --temp 0 --timings` in a fresh JVM started "
                    + "with this one's command line (the launcher's flags and AOT cache), alternating with the variants "
                    + "below; reports wall time, load, prompt, time to first token and the first tokens' times (-p is "
                    + "not used: the prompt is --prompt)")
    private boolean cold;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "with --cold: the prompt (default: ${DEFAULT-VALUE})")
    private String coldPrompt = "Once upon a time there was a little girl";

    @Option(names = "--llama", paramLabel = "TOOL",
            description = "with --cold: also run llama.cpp's llama-simple (it takes no thread count), llama-completion or "
                    + "llama-cli on the same file, prompt and tokens, alternating")
    private Path llamaTool;

    @Option(names = "--b-arg", paramLabel = "ARG",
            description = "with --cold: add a variant 'ours-b' whose generate gets this option too, written without its "
                    + "leading dashes (repeatable): --b-arg no-repack, --b-arg warm-up=0")
    private List<String> variantArgs = new ArrayList<>();

    @Option(names = "--b-jvm", paramLabel = "FLAG",
            description = "with --cold: add a variant 'ours-b' whose JVM gets this flag too (repeatable; "
                    + "write --b-jvm=-XX:CompileThresholdScaling=0.5)")
    private List<String> variantJvmFlags = new ArrayList<>();

    @Option(names = "--b-no-aot", description = "with --cold: add a variant 'ours-b' without the launcher's AOT cache")
    private boolean variantNoAot;

    @Mixin
    private SparseArgs sparseArgs;

    @Mixin
    private CommonOptions common;

    /** {@code --cold}: fresh-JVM one-shot runs of generate, alternating with the variants asked for. */
    private int coldRuns(PrintWriter out, PrintWriter err) throws IOException {
        if (modelArgs.model == null) throw new IllegalArgumentException("--cold needs --model");
        Path model = modelArgs.resolve(err);
        int threads = modelArgs.threads != null ? modelArgs.threads : Runtime.getRuntime().availableProcessors();
        List<String> generate = new ArrayList<>(List.of("generate", "-m", model.toString(), "-p", coldPrompt,
                "-n", Integer.toString(genTokens), "-t", Integer.toString(threads), "--temp", "0", "--timings"));
        if (modelArgs.noRepack) generate.add("--no-repack");
        if (modelArgs.noRepackCache) generate.add("--no-repack-cache");
        if (modelArgs.warmUpMillis != null) generate.add("--warm-up=" + modelArgs.warmUpMillis);
        List<ColdBench.Variant> variants = new ArrayList<>();
        variants.add(new ColdBench.Variant("ours", ColdBench.sameJvm(List.of(), List.of(), generate), true));
        if (!variantArgs.isEmpty() || !variantJvmFlags.isEmpty() || variantNoAot) {
            List<String> b = new ArrayList<>(generate);
            for (String a : variantArgs) {
                String arg = a.startsWith("-") ? a : "--" + a;   // picocli takes no "--x" as a value
                String name = arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg;
                b.removeIf(x -> x.equals(name) || x.startsWith(name + "="));   // B's value replaces A's
                b.add(arg);
            }
            List<String> drop = variantNoAot ? List.of("-XX:AOTCache=") : List.of();
            variants.add(new ColdBench.Variant("ours-b", ColdBench.sameJvm(drop, variantJvmFlags, b), true));
        }
        if (llamaTool != null) {
            if (!Files.isExecutable(llamaTool)) throw new IllegalArgumentException("not an executable: " + llamaTool);
            variants.add(new ColdBench.Variant(llamaTool.getFileName().toString(),
                    ColdBench.llamaCommand(llamaTool, model, coldPrompt, genTokens, threads), false));
        }
        for (ColdBench.Variant v : variants) err.println(v.name() + ": " + String.join(" ", v.command()));
        err.flush();
        try {
            ColdBench.measure(variants, repetitions, out, err);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        }
        return Main.EXIT_OK;
    }

    /** What one test measured. */
    record Result(String model, long modelBytes, int threads, String test, int nPrompt, int nGen, int repetitions,
                  Stats tokensPerSecond, double[] samples, double weightBytesPerToken, double allocatedBytesPerToken,
                  double bandwidthBytesPerSecond, String extraJson, int warmups, long pageFaults, long residentBytes) {

        Result(String model, long modelBytes, int threads, String test, int nPrompt, int nGen, int repetitions,
               Stats tokensPerSecond, double[] samples, double weightBytesPerToken, double allocatedBytesPerToken,
               double bandwidthBytesPerSecond, String extraJson, int warmups) {
            this(model, modelBytes, threads, test, nPrompt, nGen, repetitions, tokensPerSecond, samples,
                    weightBytesPerToken, allocatedBytesPerToken, bandwidthBytesPerSecond, extraJson, warmups, -1, -1);
        }

        /**
         * This result with the page faults taken while it ran (warm-up included: first touches of mapped weights
         * show there) and the resident set after it, from {@link ProcessMemory}.
         */
        Result withMemory(ProcessMemory before, ProcessMemory after) {
            ProcessMemory d = after.minus(before);
            long faults = d.minorFaults() < 0 || d.majorFaults() < 0 ? -1 : d.minorFaults() + d.majorFaults();
            return new Result(model, modelBytes, threads, test, nPrompt, nGen, repetitions, tokensPerSecond, samples,
                    weightBytesPerToken, allocatedBytesPerToken, bandwidthBytesPerSecond, extraJson, warmups, faults,
                    after.residentBytes());
        }

        /** Decode's share of the measured bandwidth: tokens/s x bytes per token / bytes per second. */
        double bandwidthFraction() {
            return bandwidthBytesPerSecond > 0 ? tokensPerSecond.median() * weightBytesPerToken / bandwidthBytesPerSecond : 0;
        }

        String toJson() {
            StringBuilder s = new StringBuilder("{");
            s.append("\"model\":\"").append(model.replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
            s.append(",\"model_bytes\":").append(modelBytes);
            s.append(",\"threads\":").append(threads);
            s.append(",\"test\":\"").append(test).append('"');
            s.append(",\"n_prompt\":").append(nPrompt).append(",\"n_gen\":").append(nGen);
            s.append(",\"repetitions\":").append(repetitions);
            s.append(",\"warmup_runs\":").append(warmups);
            s.append(",\"tps_median\":").append(num(tokensPerSecond.median()));
            s.append(",\"tps_mean\":").append(num(tokensPerSecond.mean()));
            s.append(",\"tps_stddev\":").append(num(tokensPerSecond.stddev()));
            s.append(",\"tps_min\":").append(num(tokensPerSecond.min()));
            s.append(",\"tps_max\":").append(num(tokensPerSecond.max()));
            s.append(",\"samples_tps\":[");
            for (int i = 0; i < samples.length; i++) s.append(i > 0 ? "," : "").append(num(samples[i]));
            s.append("]");
            s.append(",\"weight_bytes_per_token\":").append(num(weightBytesPerToken));
            s.append(",\"allocated_bytes_per_token\":").append(num(allocatedBytesPerToken));
            if (bandwidthBytesPerSecond > 0) {
                s.append(",\"bandwidth_bytes_per_second\":").append(num(bandwidthBytesPerSecond));
                s.append(",\"bandwidth_fraction\":").append(num(bandwidthFraction()));
            }
            if (pageFaults >= 0) s.append(",\"page_faults\":").append(pageFaults);
            if (residentBytes >= 0) s.append(",\"rss_bytes\":").append(residentBytes);
            if (extraJson != null) s.append(',').append(extraJson);
            return s.append('}').toString();
        }

        /** A JSON number: integers exactly, others to 8 significant digits. */
        static String num(double v) {
            if (v == Math.rint(v) && Math.abs(v) < 1e15) return Long.toString((long) v);
            return new java.math.BigDecimal(v).round(new java.math.MathContext(8)).stripTrailingZeros().toPlainString();
        }
    }

    @Override
    public Integer call() throws IOException {
        if (promptTokens < 0 || genTokens < 0 || (promptTokens == 0 && genTokens == 0)) {
            throw new IllegalArgumentException("-p and -n must be >= 0, and not both 0");
        }
        if (repetitions < 1) throw new IllegalArgumentException("-r must be >= 1, not " + repetitions);
        warmUp = WarmUp.parse(warmup);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (cold) return coldRuns(out, err);
        List<Result> results = new ArrayList<>();
        SparseRun sparseRun = null;
        try (LanguageModel model = modelArgs.open(err); SparseModel sparse = sparseArgs.attach(model);
             Session session = model.newSession(); Session sparseSession = sparse == null ? null : sparse.newSession()) {
            int context = session.contextLength();
            if ((parallel == null && promptTokens > context) || genTokens > context) {
                throw new IllegalArgumentException("-p " + promptTokens + " / -n " + genTokens
                        + " exceed the context length " + context + " (raise it with --ctx-size)");
            }
            GgufFile gguf = model.gguf();
            String name = gguf.path().getFileName().toString();
            long weightBytes = weightBytesPerPass(gguf);
            int threads = model.options().threads();
            int batch = model.options().batchSize();
            double bw = 0;
            if (bandwidth) {
                err.println("measuring memory bandwidth (" + threads + " threads) ...");
                err.flush();
                bw = MemoryBandwidth.measure(1L << 30, threads, 5);
            }
            if (parallel != null) {
                if (sparse != null) throw new IllegalArgumentException("--parallel runs dense sessions only; drop --sparse");
                if (genTokens < 1) throw new IllegalArgumentException("--parallel needs -n >= 1");
                results.addAll(runParallel(model, name, gguf.fileSize(), threads, weightBytes, bw, err));
                print(results, out);
                return Main.EXIT_OK;
            }
            if (promptTokens > 0) {
                int[] prompt = promptTokens(promptTokens, model.config().vocabSize(), bos(model));
                long passes = (promptTokens + batch - 1) / batch;
                ProcessMemory before = ProcessMemory.read();
                results.add(run(name, gguf.fileSize(), threads, "pp" + promptTokens, promptTokens, 0,
                        weightBytes * (double) passes / promptTokens, bw, err, () -> {
                            session.reset();
                            session.evaluate(prompt);
                        }).withMemory(before, ProcessMemory.read()));
            }
            if (genTokens > 0 && sparse == null) {
                int first = bos(model);
                ProcessMemory before = ProcessMemory.read();
                results.add(run(name, gguf.fileSize(), threads, "tg" + genTokens, 0, genTokens, weightBytes, bw, err, () -> {
                    session.reset();
                    int token = first;
                    for (int i = 0; i < genTokens; i++) token = session.evaluate(token).argmax();
                }).withMemory(before, ProcessMemory.read()));
            } else if (genTokens > 0) {
                sparseRun = runDenseAndSparse(model, sparse, session, sparseSession, name, gguf.fileSize(), threads,
                        weightBytes, bw, err);
                results.add(sparseRun.dense());
                results.add(sparseRun.sparse());
            }
        }
        print(results, out);
        if (sparseRun != null && !json) printSparse(sparseRun, out);
        return Main.EXIT_OK;
    }

    private Result run(String name, long modelBytes, int threads, String test, int nPrompt, int nGen, double weightBytesPerToken,
                       double bandwidthBytesPerSecond, PrintWriter err, Runnable body) {
        int tokens = nPrompt + nGen;
        err.println("running " + test + " (" + warmUp.label() + " + " + repetitions + " repetitions) ...");
        err.flush();
        int warmups = warmUp.run(() -> {
            long start = System.nanoTime();
            body.run();
            return System.nanoTime() - start;
        });
        if (warmUp.isAuto()) err.println("  settled after " + warmups + " warm-up runs");
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        double[] tps = new double[repetitions];
        long allocated = 0;
        for (int r = 0; r < repetitions; r++) {
            long bytesBefore = mx.getTotalThreadAllocatedBytes();
            long start = System.nanoTime();
            body.run();
            long nanos = System.nanoTime() - start;
            allocated += mx.getTotalThreadAllocatedBytes() - bytesBefore;
            tps[r] = tokens * 1e9 / nanos;
        }
        return new Result(name, modelBytes, threads, test, nPrompt, nGen, repetitions, Stats.of(tps), tps,
                weightBytesPerToken, allocated / (double) (tokens * (long) repetitions), bandwidthBytesPerSecond, null,
                warmups);
    }

    /** {@code --parallel}: one result per level, each with its median's ratio to the first level's. */
    private List<Result> runParallel(LanguageModel model, String name, long modelBytes, int threads, long weightBytes,
                                     double bw, PrintWriter err) {
        err.println("running tg" + genTokens + " with " + java.util.Arrays.toString(parallel) + " concurrent requests, levels "
                + "alternating (" + warmUp.label() + " + " + repetitions + " rounds) ...");
        err.flush();
        ParallelDecodeBenchmark.Result r = ParallelDecodeBenchmark.run(model, parallel, genTokens, repetitions, warmUp, bos(model));
        if (warmUp.isAuto()) err.println("  settled after " + r.warmups() + " warm-up rounds");
        List<Result> list = new ArrayList<>();
        double base = Stats.of(r.tokensPerSecond()[0]).median();
        for (int l = 0; l < parallel.length; l++) {
            Stats s = Stats.of(r.tokensPerSecond()[l]);
            String extra = "\"parallel\":" + parallel[l] + ",\"ratio_to_first_level\":" + Result.num(s.median() / base);
            // One pass over the weights serves every request of a step: weights read per generated token shrink with N.
            list.add(new Result(name, modelBytes, threads, "tg" + genTokens + " x" + parallel[l]
                    + String.format(Locale.ROOT, " (%.2fx)", s.median() / base), 0, genTokens, repetitions, s,
                    r.tokensPerSecond()[l], weightBytes / (double) parallel[l], r.allocatedBytesPerToken()[l], bw, extra, r.warmups()));
        }
        return list;
    }

    /** Dense and sparse token generation in the same run, alternating ({@link DenseSparseBenchmark}). */
    private SparseRun runDenseAndSparse(LanguageModel model, SparseModel sparse, Session dense, Session sparseSession,
                                        String name, long modelBytes, int threads, long weightBytes, double bw, PrintWriter err) {
        err.println("running tg" + genTokens + " dense and sparse, alternating (" + warmUp.label() + " + " + repetitions
                + " repetitions each), then recall with every neuron computed too (untimed) ...");
        err.flush();
        DenseSparseBenchmark.Result r = DenseSparseBenchmark.run(model, sparse, dense, sparseSession, bos(model),
                genTokens, repetitions, warmUp, weightBytes);
        if (warmUp.isAuto()) err.println("  settled after " + r.warmups() + " warm-up pairs");
        String sidecar = sparse.sidecar().file().path().getFileName().toString();
        SparseRun run = new SparseRun(null, null, r, sidecar);
        Result d = new Result(name, modelBytes, threads, "tg" + genTokens, 0, genTokens, repetitions,
                Stats.of(r.denseTps()), r.denseTps(), weightBytes, r.denseAllocatedPerToken(), bw, null, r.warmups());
        Result s = new Result(name, modelBytes, threads, "tg" + genTokens + " sparse", 0, genTokens, repetitions,
                Stats.of(r.sparseTps()), r.sparseTps(), r.sparseBytesPerToken(), r.sparseAllocatedPerToken(), bw,
                run.json(), r.warmups());
        return new SparseRun(d, s, r, sidecar);
    }

    /** The two results of a dense-and-sparse bench and what the sparse half measured beyond speed. */
    record SparseRun(Result dense, Result sparse, DenseSparseBenchmark.Result run, String sidecar) {

        /** The sparse figures as JSON fields (without braces). */
        String json() {
            SparseStats stats = run.stats();
            int neurons = run.neurons();
            StringBuilder s = new StringBuilder();
            s.append("\"sparse_sidecar\":\"").append(sidecar.replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
            s.append(",\"speedup_vs_dense\":").append(Result.num(run.speedup()));
            s.append(",\"greedy_tokens_equal_to_dense\":").append(run.agreeingTokens());
            s.append(",\"top1_on_dense_tokens\":").append(run.forcedAgreement());
            s.append(",\"density\":").append(Result.num(run.meanDensity()));
            s.append(",\"firing_density\":").append(Result.num(run.meanFiring()));
            s.append(",\"recall\":").append(Result.num(stats.recall()));
            s.append(",\"predictor_bytes_per_token\":").append(Result.num(stats.predictorBytesPerToken()));
            s.append(",\"layers\":[");
            for (int l = 0; l < stats.layers(); l++) {
                if (l > 0) s.append(',');
                s.append("{\"layer\":").append(l)
                        .append(",\"density\":").append(Result.num(stats.density(l, neurons)))
                        .append(",\"firing_density\":").append(Result.num(stats.firingDensity(l, neurons)))
                        .append(",\"recall\":").append(Result.num(stats.recall(l)))
                        .append(",\"down_rows\":").append(Result.num(stats.meanDownRows(l)))
                        .append('}');
            }
            return s.append(']').toString();
        }
    }

    private void printSparse(SparseRun sr, PrintWriter out) {
        DenseSparseBenchmark.Result r = sr.run();
        SparseStats st = r.stats();
        int steps = r.denseTokens().length;
        out.println();
        out.printf(Locale.ROOT, "sparse (%s): tg%d %.2fx dense in the same run; greedy tokens equal to dense: %d / %d; "
                        + "top-1 equal to dense's when fed dense's tokens: %d / %d%n",
                sr.sidecar(), steps, r.speedup(), r.agreeingTokens(), steps, r.forcedAgreement(), steps);
        out.printf(Locale.ROOT, "weights read per token: dense %s, sparse %s (predictors %s = %.1f%% of sparse)%n",
                bytes(r.denseBytesPerToken()), bytes((long) r.sparseBytesPerToken()), bytes((long) st.predictorBytesPerToken()),
                100 * st.predictorBytesPerToken() / r.sparseBytesPerToken());
        out.println("| layer | neurons computed | neurons firing | recall | down_t rows read |");
        out.println("|---:|---:|---:|---:|---:|");
        for (int l = 0; l < st.layers(); l++) {
            out.printf(Locale.ROOT, "| %d | %.2f%% | %.2f%% | %.4f | %.0f |%n", l, 100 * st.density(l, r.neurons()),
                    100 * st.firingDensity(l, r.neurons()), st.recall(l), st.meanDownRows(l));
        }
        out.printf(Locale.ROOT, "| all | %.2f%% | %.2f%% | %.4f | |%n", 100 * r.meanDensity(), 100 * r.meanFiring(), st.recall());
    }

    private void print(List<Result> results, PrintWriter out) {
        if (json) {
            for (Result r : results) out.println(r.toJson());
        } else {
            out.println("| model | size | threads | test | t/s median | ± stddev | min .. max | weights/token | alloc/token |"
                    + " page faults | RSS |" + (bandwidth ? " % of bandwidth |" : ""));
            out.println("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|" + (bandwidth ? "---:|" : ""));
            for (Result r : results) {
                Stats s = r.tokensPerSecond();
                out.printf(Locale.ROOT, "| %s | %s | %d | %s | %.2f | %.2f | %.2f .. %.2f | %s | %s | %s | %s |%s%n",
                        r.model(), bytes(r.modelBytes()), r.threads(), r.test(), s.median(), s.stddev(), s.min(), s.max(),
                        bytes((long) r.weightBytesPerToken()), bytes((long) r.allocatedBytesPerToken()),
                        r.pageFaults() < 0 ? "-" : Long.toString(r.pageFaults()),
                        r.residentBytes() < 0 ? "-" : bytes(r.residentBytes()),
                        bandwidth ? String.format(Locale.ROOT, " %.0f%% of %.1f GB/s |", 100 * r.bandwidthFraction(),
                                r.bandwidthBytesPerSecond() / 1e9) : "");
            }
        }
        out.flush();
    }

    private static String bytes(long b) {
        if (b >= 1L << 30) return String.format(Locale.ROOT, "%.2f GiB", b / (double) (1L << 30));
        if (b >= 1L << 20) return String.format(Locale.ROOT, "%.2f MiB", b / (double) (1L << 20));
        if (b >= 1L << 10) return String.format(Locale.ROOT, "%.1f KiB", b / 1024.0);
        return b + " B";
    }

    /**
     * Bytes of weights one forward pass reads: every tensor, except that only one row of the token
     * embedding is read when a separate output matrix exists (a tied output reads all of it).
     */
    static long weightBytesPerPass(GgufFile gguf) {
        long total = 0;
        for (TensorInfo t : gguf.tensors()) total += t.byteSize();
        var embedding = gguf.tensor("token_embd.weight");
        if (embedding.isPresent() && gguf.tensor("output.weight").isPresent()) {
            total -= embedding.get().byteSize() - embedding.get().rowBytes();
        }
        return total;
    }

    private static int bos(LanguageModel model) {
        long bos = model.gguf().getLong("tokenizer.ggml.bos_token_id", 1);
        return bos >= 0 && bos < model.config().vocabSize() ? (int) bos : 0;
    }

    /** BOS, then pseudo-random tokens (fixed seed): speed does not depend on which tokens they are. */
    private static int[] promptTokens(int n, int vocab, int bos) {
        SplittableRandom r = new SplittableRandom(1);
        int[] t = new int[n];
        t[0] = bos;
        for (int i = 1; i < n; i++) t[i] = r.nextInt(vocab);
        return t;
    }
}
