package io.ruvector.sparse.cli;

import io.ruvector.sparse.generation.Cancellation;
import io.ruvector.sparse.generation.Chat;
import io.ruvector.sparse.generation.ChatMessage;
import io.ruvector.sparse.generation.ChatTemplate;
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

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code sparse-infer chat}: an interactive conversation on stdin/stdout, the prompt built with the
 * model's own chat template ({@code tokenizer.chat_template}, rendered as Jinja).
 */
@Command(name = "chat", mixinStandardHelpOptions = true,
        description = {"Chat with a model: type a message per line; /reset starts over, /exit (or end of input) quits.",
                "The conversation is rendered with the model's chat template (tokenizer.chat_template); a model "
                        + "without one gets a plain 'User:/Assistant:' transcript."})
public final class ChatCommand implements Callable<Integer> {

    /** Stops a reply in the plain transcript where the model would start writing the user's part. */
    private static final List<String> FALLBACK_STOPS = List.of("\nUser:");

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

    @Option(names = "--system", paramLabel = "TEXT", description = "a system prompt at the start of the conversation")
    private String systemPrompt;

    @Option(names = "--chat-template", paramLabel = "FILE", description = "a Jinja chat template to use instead of the model's")
    private Path templateFile;

    @Option(names = {"-n", "--n-predict"}, paramLabel = "N",
            description = "most tokens per reply; -1 = until the end of the turn (default: ${DEFAULT-VALUE})")
    private int maxTokens = -1;

    @Mixin
    private CommonOptions common;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (maxTokens == 0 || maxTokens < -1) throw new IllegalArgumentException("-n must be >= 1 or -1, not " + maxTokens);
        try (LanguageModel model = LanguageModel.open(modelArgs.resolve(err), modelArgs.options(ModelArgs.ONE_SHOT_WARM_UP_MILLIS));
             SparseModel sparse = sparseArgs.attach(model);
             Session session = SparseArgs.newSession(model, sparse)) {
            sparseArgs.reportLock(sparse, err);
            Tokenizer tokenizer = model.tokenizer();
            ChatTemplate template = template(model, tokenizer, err);
            SamplerConfig sampling = samplingArgs.config();
            GenerationOptions options = new GenerationOptions(sampling,
                    maxTokens == -1 ? GenerationOptions.UNLIMITED : maxTokens,
                    template.isFallback() ? FALLBACK_STOPS : List.of());
            if (samplingArgs.seedWorthPrinting(sampling)) err.println("seed: " + sampling.seed());
            err.println("chat with " + model.gguf().path().getFileName() + ": one message per line; /reset starts over, /exit quits");
            err.flush();

            Generator generator = Generator.of(session, tokenizer);
            Chat chat = newChat(generator, template);
            BufferedReader in = new BufferedReader(new InputStreamReader(main.stdin(), StandardCharsets.UTF_8));
            while (true) {
                out.print("> ");
                out.flush();
                String line = in.readLine();
                if (line == null || line.strip().equals("/exit")) break;
                line = line.strip();
                if (line.isEmpty()) continue;
                if (line.equals("/reset")) {
                    session.reset();
                    chat = newChat(generator, template);
                    continue;
                }
                try {
                    GenerationResult r = chat.send(line, options, new ReplyPrinter(out), new Cancellation());
                    out.println();
                    out.flush();
                    err.println(String.format(Locale.ROOT, "[%d tokens, %.1f tokens/s]",
                            r.generatedTokens(), r.generationTokensPerSecond()));
                    err.flush();
                } catch (IllegalArgumentException e) {
                    // A rejected or too-long conversation ends the turn, not the chat.
                    err.println("sparse-infer: " + e.getMessage() + " (/reset starts over)");
                    err.flush();
                }
            }
            out.println();
            out.flush();
        }
        return Main.EXIT_OK;
    }

    private Chat newChat(Generator generator, ChatTemplate template) {
        Chat chat = new Chat(generator, template);
        if (systemPrompt != null && !systemPrompt.isBlank()) chat.add(ChatMessage.system(systemPrompt));
        return chat;
    }

    private ChatTemplate template(LanguageModel model, Tokenizer tokenizer, PrintWriter err) throws IOException {
        if (templateFile != null) {
            String source = Files.readString(templateFile, StandardCharsets.UTF_8);
            String bos = tokenizer.bosId() == Tokenizer.NO_TOKEN ? "" : tokenizer.tokenText(tokenizer.bosId());
            String eos = tokenizer.eosId() == Tokenizer.NO_TOKEN ? "" : tokenizer.tokenText(tokenizer.eosId());
            return ChatTemplate.of(source, bos, eos);
        }
        return ChatTemplate.fromGguf(model.gguf(), tokenizer).orElseGet(() -> {
            err.println("note: " + model.gguf().path().getFileName() + " has no chat template (tokenizer.chat_template): "
                    + "using a plain 'User: / Assistant:' transcript; give a template with --chat-template FILE");
            return ChatTemplate.fallback();
        });
    }

    /** Streams a reply, without the whitespace it starts with. */
    private static final class ReplyPrinter implements io.ruvector.sparse.generation.TokenListener {
        private final PrintWriter out;
        private boolean started;

        ReplyPrinter(PrintWriter out) { this.out = out; }

        @Override
        public void onToken(int token, String text) {
            if (!started) {
                text = text.stripLeading();
                started = !text.isEmpty();
            }
            out.print(text);
            out.flush();
        }
    }
}
