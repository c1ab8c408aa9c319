package io.ruvector.sparse.cli;

import io.ruvector.sparse.generation.Cancellation;
import io.ruvector.sparse.generation.GenerationOptions;
import io.ruvector.sparse.generation.GenerationResult;
import io.ruvector.sparse.generation.Generator;
import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.Session;
import io.ruvector.sparse.sampling.SamplerConfig;
import io.ruvector.sparse.sparse.SparseModel;
import io.ruvector.sparse.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code sparse-infer generate}: continues a prompt, streaming the text to stdout and a speed summary to
 * stderr. Without {@code --model} it runs the demo model.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Continue a prompt: the text streams to stdout, a speed summary goes to stderr.",
                "Without --model it runs the small demo model stories260K (found in the cache or the test fixtures, "
                        + "else downloaded once, 1.2 MB)."})
public final class GenerateCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @ParentCommand
    private Main main;

    @Mixin
    private ModelArgs modelArgs;

    @Mixin
    private SparseArgs sparseArgs;

    @Mixin
    private SamplingArgs samplingArgs;

    @Option(names = {"-p", "--prompt"}, paramLabel = "TEXT",
            description = "the prompt; '-' reads it from stdin (default: empty, i.e. only BOS)")
    private String prompt;

    @Option(names = {"-f", "--file"}, paramLabel = "FILE", description = "read the prompt from a file (UTF-8)")
    private Path promptFile;

    @Option(names = {"-n", "--n-predict"}, paramLabel = "N",
            description = "tokens to generate; -1 = until the end of text or a full context (default: ${DEFAULT-VALUE})")
    private int maxTokens = 200;

    @Option(names = "--stop", paramLabel = "TEXT", description = "stop when the text contains this (repeatable)")
    private List<String> stops = List.of();

    @Option(names = "--no-display-prompt", description = "print only the generated text, not the prompt")
    private boolean noDisplayPrompt;

    @Option(names = "--timings",
            description = "also print on stderr when the first token came (seconds after the process started, and as "
                    + "epoch microseconds for a parent that measures) and the time of each of the first "
                    + TokenTimes.SHOWN + " tokens in ms (what `bench --cold` reads)")
    private boolean timings;

    @Mixin
    private CommonOptions common;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        String text = promptText();
        if (maxTokens == 0 || maxTokens < -1) throw new IllegalArgumentException("-n must be >= 1 or -1, not " + maxTokens);
        SamplerConfig sampling = samplingArgs.config();
        GenerationOptions options = new GenerationOptions(sampling,
                maxTokens == -1 ? GenerationOptions.UNLIMITED : maxTokens, stops);

        java.nio.file.Path path = modelArgs.resolve(err);
        long loadStart = System.nanoTime();
        try (LanguageModel model = LanguageModel.open(path, modelArgs.options(ModelArgs.ONE_SHOT_WARM_UP_MILLIS));
             SparseModel sparse = sparseArgs.attach(model);
             Session session = SparseArgs.newSession(model, sparse)) {
            sparseArgs.reportLock(sparse, err);
            Tokenizer tokenizer = model.tokenizer();
            double loadSeconds = (System.nanoTime() - loadStart) / 1e9;
            Generator generator = Generator.of(session, tokenizer);
            if (samplingArgs.seedWorthPrinting(sampling)) err.println("seed: " + sampling.seed());
            err.flush();
            if (!noDisplayPrompt) out.print(text);
            TokenTimes times = new TokenTimes(System.nanoTime());
            GenerationResult r = generator.generate(text, options, (token, piece) -> {
                times.tokenChosen();
                out.print(piece);
                out.flush();
            }, new Cancellation());
            out.println();
            out.flush();
            err.printf(Locale.ROOT, "load: %.3f s | %s%n", loadSeconds, summary(r));
            if (timings) err.println(times.report());
            if (sparse != null && sparse.tiers() != null) {
                sparse.awaitRetiering();
                if (sparse.tiers().generation() > 0) sparseArgs.reportLock(sparse, err);
            }
            err.flush();
        }
        return Main.EXIT_OK;
    }

    private String promptText() throws IOException {
        if (prompt != null && promptFile != null) throw new IllegalArgumentException("give the prompt with --prompt or --file, not both");
        if (promptFile != null) return Files.readString(promptFile, StandardCharsets.UTF_8);
        if ("-".equals(prompt)) return new String(main.stdin().readAllBytes(), StandardCharsets.UTF_8);
        return prompt != null ? prompt : "";
    }

    /** One line: prompt and generation speed, and why it stopped. */
    static String summary(GenerationResult r) {
        return String.format(Locale.ROOT,
                "prompt: %d tokens in %.3f s (%.1f tokens/s) | generated: %d tokens in %.3f s (%.1f tokens/s) | stop: %s",
                r.promptTokens(), r.promptNanos() / 1e9, r.promptTokensPerSecond(),
                r.generatedTokens(), r.generationNanos() / 1e9, r.generationTokensPerSecond(),
                r.stopReason().name().toLowerCase(Locale.ROOT).replace('_', ' '));
    }
}
