package io.ruvector.sparse.cli;

import io.ruvector.sparse.cpu.Parallel;
import io.ruvector.sparse.gguf.GgmlType;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.quantize.ModelQuantizer;
import io.ruvector.sparse.quantize.QuantMix;
import io.ruvector.sparse.quantize.QuantizeOptions;
import io.ruvector.sparse.quantize.QuantizePlan;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/**
 * {@code sparse-infer quantize IN OUT TYPE}: llama-quantize's job with our encoders. A thin shell over
 * {@link ModelQuantizer}.
 */
@Command(name = "quantize", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Requantize a GGUF model (F32, F16, BF16 or Q8_0) into a tensor type or one of",
                "llama-quantize's mixes, with the same per-tensor choices. TYPE: Q2_K, Q3_K_S,",
                "Q3_K_M, Q3_K_L, Q4_0, Q4_1, IQ4_NL, Q4_K_S, Q4_K_M, Q5_0, Q5_1, Q5_K_S, Q5_K_M,",
                "Q6_K, Q8_0, F16, BF16, F32 (Q3_K, Q4_K, Q5_K: the _M mixes), or its llama_ftype",
                "number. The output is written atomically (replacing OUT)."})
public final class QuantizeCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Mixin
    private CommonOptions common;

    @Parameters(index = "0", paramLabel = "IN", description = "input GGUF model")
    private Path input;

    @Parameters(index = "1", paramLabel = "OUT", description = "output GGUF file")
    private Path output;

    @Parameters(index = "2", paramLabel = "TYPE", description = "mix or type, e.g. Q4_K_M")
    private String type;

    @Option(names = "--pure", description = "every weight in TYPE's default type: no per-tensor mix rules")
    private boolean pure;

    @Option(names = "--output-tensor-type", paramLabel = "TYPE", description = "type of output.weight")
    private String outputType;

    @Option(names = "--token-embedding-type", paramLabel = "TYPE", description = "type of token_embd.weight")
    private String tokenEmbdType;

    @Option(names = "--leave-output-tensor", description = "keep output.weight as it is in the input")
    private boolean leaveOutput;

    @Option(names = "--allow-requantize", description = "accept inputs quantized below 8 bits (loses quality)")
    private boolean allowRequantize;

    @Option(names = "--dry-run", description = "print each tensor's type and the sizes; write nothing")
    private boolean dryRun;

    @Option(names = {"-t", "--threads"}, paramLabel = "N", description = "threads (default: all processors)")
    private Integer threads;

    @Option(names = {"-q", "--quiet"}, description = "no progress bar")
    private boolean quiet;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        QuantizeOptions options = QuantizeOptions.of(QuantMix.parse(type)).withPure(pure)
                .withOutputType(tensorType("--output-tensor-type", outputType))
                .withTokenEmbdType(tensorType("--token-embedding-type", tokenEmbdType))
                .withLeaveOutput(leaveOutput).withAllowRequantize(allowRequantize);
        if (threads != null && threads < 1) throw new IllegalArgumentException("--threads must be >= 1, not " + threads);
        if (!Files.isRegularFile(input)) throw new IllegalArgumentException("no such file: " + input);
        long inputBytes = Files.size(input);
        if (dryRun) {
            try (GgufFile in = GgufFile.open(input)) {
                QuantizePlan plan = QuantizePlan.of(in, options);
                plan.fallbacks().forEach(f -> err.println("warning: " + f));
                for (QuantizePlan.Entry e : plan.tensors()) {
                    out.printf(Locale.ROOT, "%-40s %-22s %-6s -> %-6s %s%n", e.name(), Arrays.toString(e.source().dims()),
                            e.source().type(), e.target(), InspectCommand.size(e.targetBytes()));
                }
                out.printf(Locale.ROOT, "%s: %s -> %s (%s)%n", options.mix(), InspectCommand.size(inputBytes),
                        InspectCommand.size(plan.targetBytes()), typeCounts(plan));
            }
            out.flush();
            return Main.EXIT_OK;
        }
        long start = System.nanoTime();
        QuantizePlan plan;
        try (Parallel pool = threads != null ? new Parallel(threads) : Parallel.forMachine()) {
            ProgressBar bar = quiet ? null : new ProgressBar(err, "quantize " + options.mix());
            plan = ModelQuantizer.quantize(input, output, options, pool, bar);
        }
        plan.fallbacks().forEach(f -> err.println("warning: " + f));
        err.flush();
        double seconds = (System.nanoTime() - start) / 1e9;
        out.printf(Locale.ROOT, "wrote %s: %s%s (general.file_type %d), %d tensors (%s), %s -> %s in %.1f s%n", output,
                options.mix(), pure ? " --pure" : "", options.mix().fileType(), plan.tensors().size(), typeCounts(plan),
                InspectCommand.size(inputBytes), InspectCommand.size(Files.size(output)), seconds);
        out.flush();
        return Main.EXIT_OK;
    }

    /** "Q4_K x13, Q6_K x3, F32 x5": how many tensors of each type, most common first. */
    private static String typeCounts(QuantizePlan plan) {
        Map<GgmlType, Long> counts = new TreeMap<>(plan.tensors().stream()
                .collect(Collectors.groupingBy(QuantizePlan.Entry::target, Collectors.counting())));
        return counts.entrySet().stream()
                .sorted((a, b) -> Long.compare(b.getValue(), a.getValue()))
                .map(e -> e.getKey() + " x" + e.getValue()).collect(Collectors.joining(", "));
    }

    private static GgmlType tensorType(String option, String name) {
        if (name == null) return null;
        try {
            return GgmlType.valueOf(name.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(option + ": unknown tensor type '" + name + "' (valid: "
                    + Arrays.stream(GgmlType.values()).map(Enum::name).collect(Collectors.joining(", ")) + ")");
        }
    }
}
