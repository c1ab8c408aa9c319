package io.ruvector.sparse.cli;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.gguf.GgufWriter;
import io.ruvector.sparse.synth.SyntheticModel.FfnActivation;
import io.ruvector.sparse.synth.SyntheticModel.Options;
import io.ruvector.sparse.synth.SyntheticModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code sparse-infer synth}: writes a synthetic llama-architecture model (random weights, loads in
 * llama.cpp). A thin shell over {@link SyntheticModel}.
 */
@Command(name = "synth", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Write a synthetic llama-architecture GGUF model with random weights.",
                "Presets: tiny (dim 256, 2 layers), tl1b (TinyLlama-1.1B shape), 7b2l (two Llama-2-7B layers);",
                "flags override any dimension. 2-D weights use --type, norms stay F32."})
public final class SynthCommand implements Callable<Integer> {

    /** Files at least this large get a progress bar on stderr. */
    static final long PROGRESS_MIN_BYTES = 64L << 20;

    @Spec
    private CommandSpec spec;

    @Mixin
    private CommonOptions common;

    @Option(names = {"-o", "--out"}, required = true, paramLabel = "FILE", description = "output GGUF file")
    private Path out;

    @Option(names = "--preset", paramLabel = "NAME", defaultValue = "tiny", description = "tiny, tl1b or 7b2l (default: ${DEFAULT-VALUE})")
    private String preset;

    @Option(names = "--type", paramLabel = "TYPE", defaultValue = "F32",
            description = "type of the 2-D weights: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K..Q6_K (default: ${DEFAULT-VALUE})")
    private String type;

    @Option(names = "--seed", paramLabel = "N", description = "random seed (default: 42)")
    private Long seed;

    @Option(names = "--activation", paramLabel = "ACT", defaultValue = "silu",
            description = "silu, or relu with a planted sparse firing pattern (default: ${DEFAULT-VALUE})")
    private String activation;

    @Option(names = "--active-fraction", paramLabel = "F", defaultValue = "0.1",
            description = "relu: mean fraction of FFN neurons firing per token (default: ${DEFAULT-VALUE})")
    private double activeFraction;

    @Option(names = "--dim", paramLabel = "N", description = "embedding length") private Integer dim;
    @Option(names = "--layers", paramLabel = "N", description = "number of blocks") private Integer layers;
    @Option(names = "--ffn", paramLabel = "N", description = "feed-forward length") private Integer ffn;
    @Option(names = "--heads", paramLabel = "N", description = "attention heads") private Integer heads;
    @Option(names = "--kv-heads", paramLabel = "N", description = "key/value heads") private Integer kvHeads;
    @Option(names = "--vocab", paramLabel = "N", description = "vocabulary size") private Integer vocab;
    @Option(names = "--context", paramLabel = "N", description = "context length") private Integer context;

    @Option(names = "--tied-output", description = "write no output.weight (the output reuses token_embd)")
    private boolean tiedOutput;

    @Option(names = "--threads", paramLabel = "N", description = "generator threads (default: all cores)")
    private Integer threads;

    @Option(names = {"-q", "--quiet"}, description = "no progress bar")
    private boolean quiet;

    @Override
    public Integer call() throws IOException {
        Options o = options();
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter w = spec.commandLine().getOut();
        long start = System.nanoTime();
        long fileBytes;
        try (Parallel pool = threads != null ? new Parallel(threads) : Parallel.forMachine()) {
            GgufWriter writer = SyntheticModel.declare(o, pool);
            fileBytes = writer.fileBytes();
            if (!quiet && fileBytes >= PROGRESS_MIN_BYTES) writer.progress(new Bar(err, "synth " + o.name()));
            writer.write(out);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        w.printf(Locale.ROOT, "wrote %s: %s %s%s, %.1f M parameters, %s in %.1f s%n", out, o.name(), o.weightType(),
                o.activation() == FfnActivation.RELU ? " relu" : "", o.parameterCount() / 1e6,
                InspectCommand.size(fileBytes), seconds);
        w.flush();
        return 0;
    }

    private Options options() {
        Options o;
        try {
            o = Options.preset(preset);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        GgmlType t;
        try {
            t = GgmlType.valueOf(type.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "unknown tensor type '" + type + "'");
        }
        FfnActivation act = switch (activation.toLowerCase(Locale.ROOT)) {
            case "silu" -> FfnActivation.SILU;
            case "relu" -> FfnActivation.RELU;
            default -> throw new CommandLine.ParameterException(spec.commandLine(),
                    "unknown activation '" + activation + "' (silu or relu)");
        };
        boolean custom = dim != null || layers != null || ffn != null || heads != null || kvHeads != null
                || vocab != null || context != null;
        o = o.withShape(custom ? o.name() + "-custom" : o.name(), or(dim, o.dim()), or(layers, o.layers()),
                or(ffn, o.ffn()), or(heads, o.heads()), or(kvHeads, o.kvHeads()), or(vocab, o.vocab()),
                or(context, o.context()));
        o = o.withWeightType(t).withActivation(act, activeFraction).withTiedOutput(tiedOutput);
        if (seed != null) o = o.withSeed(seed);
        return o;
    }

    private static int or(Integer v, int orElse) { return v != null ? v : orElse; }

    /** One-line progress bar on stderr, redrawn in place at most every 200 ms and at the end. */
    private static final class Bar implements GgufWriter.Progress {
        private static final int WIDTH = 30;
        private final PrintWriter err;
        private final String label;
        private final long start = System.nanoTime();
        private long lastDraw;

        Bar(PrintWriter err, String label) {
            this.err = err;
            this.label = label;
        }

        @Override
        public void update(long done, long total) {
            long now = System.nanoTime();
            boolean finished = done >= total;
            if (!finished && now - lastDraw < 200_000_000L) return;
            lastDraw = now;
            int filled = total <= 0 ? WIDTH : (int) (WIDTH * done / total);
            err.printf(Locale.ROOT, "\r%s [%s%s] %3d%% %s / %s %.1f s", label, "=".repeat(filled), " ".repeat(WIDTH - filled),
                    total <= 0 ? 100 : 100 * done / total, InspectCommand.size(done), InspectCommand.size(total),
                    (now - start) / 1e9);
            if (finished) err.println();
            err.flush();
        }
    }
}
