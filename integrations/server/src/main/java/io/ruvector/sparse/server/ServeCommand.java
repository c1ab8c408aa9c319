package io.ruvector.sparse.server;

import io.ruvector.sparse.embedding.EmbeddingModel;
import io.ruvector.sparse.embedding.EmbeddingOptions;
import io.ruvector.sparse.generation.ChatTemplate;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.sparse.SparseModel;
import io.ruvector.sparse.tokenizer.Tokenizer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/**
 * {@code sparse-infer serve}: an OpenAI-compatible HTTP server (and chat page) over one model, with continuous
 * batching of up to {@code --parallel} requests. It listens at once and loads the model meanwhile ({@code /health}
 * says 503 until then), and runs until the process is stopped (Ctrl-C, SIGTERM).
 *
 * <p>Exit codes as the engine's CLI: 1 usage error, 2 bad input (a model that cannot be read, a port in use), 3 an
 * error of the JVM; one line on stderr each time, the stack trace only with {@code --verbose}.
 */
@Command(name = "sparse-infer serve", mixinStandardHelpOptions = true, version = "sparse-infer 0.1.0",
        description = {"Serve a model over an OpenAI-compatible HTTP API: POST /v1/chat/completions, /v1/completions, "
                + "GET /v1/models, /health, /metrics, POST /tokenize, /detokenize, and a chat page at /; "
                + "with an embedding model (bert, nomic-bert) POST /v1/embeddings instead of the generating endpoints."})
public final class ServeCommand implements Callable<Integer> {

    @Spec
    private CommandLine.Model.CommandSpec spec;

    @Mixin
    private EngineArgs engine;

    @Option(names = "--host", paramLabel = "ADDR", description = "address to listen on (default: ${DEFAULT-VALUE})")
    private String host = "127.0.0.1";

    @Option(names = "--port", paramLabel = "N", description = "port to listen on; 0 = any free one (default: ${DEFAULT-VALUE})")
    private int port = 8080;

    @Option(names = {"-np", "--parallel"}, paramLabel = "N",
            description = "requests decoded together, each in its own slot with its own KV cache (default: ${DEFAULT-VALUE})")
    private int parallel = 4;

    @Option(names = "--queue", paramLabel = "N",
            description = "requests that may wait for a free slot; more are answered 503 (default: ${DEFAULT-VALUE})")
    private int queue = 64;

    @Option(names = "--api-key", paramLabel = "KEY",
            description = "require 'Authorization: Bearer KEY' on every endpoint but /health and the chat page "
                    + "(default: $SPARSE_INFER_API_KEY when set, else none)")
    private String apiKey = System.getenv("SPARSE_INFER_API_KEY");

    @Option(names = {"-a", "--alias"}, paramLabel = "NAME", description = "the model's name in the API (default: the file name without .gguf)")
    private String alias;

    @Option(names = "--chat-template", paramLabel = "FILE", description = "a Jinja chat template to use instead of the model's")
    private Path templateFile;

    @Option(names = "--verbose", description = "show stack traces on errors")
    private boolean verbose;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command; returns its exit code (ends only on a startup error, else runs until the JVM stops). */
    static int run(String... args) {
        return run(null, args);
    }

    /** As {@link #run(String...)}, with messages to {@code err} (null: the process's stderr). */
    static int run(PrintWriter err, String... args) {
        CommandLine cl = new CommandLine(new ServeCommand());
        if (err != null) cl.setErr(err);
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("sparse-infer serve: " + (ex.getMessage() != null ? ex.getMessage() : ex.getClass().getSimpleName()));
            if (parsed.hasMatchedOption("--verbose")) ex.printStackTrace(cmd.getErr());
            return 2;
        });
        cl.setParameterExceptionHandler((ex, a) -> {
            ex.getCommandLine().getErr().println("sparse-infer serve: " + ex.getMessage());
            ex.getCommandLine().usage(ex.getCommandLine().getErr());
            return 1;
        });
        try {
            return cl.execute(args);
        } catch (Error e) {
            cl.getErr().println("sparse-infer serve: " + (e instanceof OutOfMemoryError ? "out of memory" : e.toString()));
            cl.getErr().flush();
            return 3;
        }
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter err = spec.commandLine().getErr();
        if (parallel < 1) throw new IllegalArgumentException("--parallel must be >= 1, not " + parallel);
        if (queue < 0) throw new IllegalArgumentException("--queue must be >= 0, not " + queue);
        if (port < 0 || port > 65535) throw new IllegalArgumentException("--port must be in [0, 65535], not " + port);
        if (apiKey != null && apiKey.isBlank()) throw new IllegalArgumentException("--api-key is empty");
        if (templateFile != null && !Files.isRegularFile(templateFile)) {
            throw new IllegalArgumentException("chat template file not found: " + templateFile);
        }
        engine.validate();
        boolean embedding = isEmbeddingModel(engine.model);
        if (embedding && engine.sidecar != null) throw new IllegalArgumentException("--sparse does not apply to an embedding model");
        if (embedding && templateFile != null) throw new IllegalArgumentException("--chat-template does not apply to an embedding model");

        OpenAiServer server;
        try {
            server = new OpenAiServer(new InetSocketAddress(host, port), apiKey, err);
        } catch (BindException e) {
            throw new IllegalArgumentException("cannot listen on " + host + ":" + port + ": " + e.getMessage());
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Thread shutdown = new Thread(() -> {
            server.close();
            stopped.countDown();
        }, "serve-shutdown");
        Runtime.getRuntime().addShutdownHook(shutdown);
        server.start();
        err.println("sparse-infer serve: listening on http://" + hostForUrl(server.host()) + ":" + server.port()
                + "/ (loading " + engine.model.getFileName() + " ...)");
        err.flush();

        String id = alias != null ? alias : engine.model.getFileName().toString().replaceFirst("(?i)\\.gguf$", "");
        ServedModel model;
        try {
            if (embedding) {
                ServedEmbedder embedder = loadEmbedder(id);
                server.ready(embedder);
                err.println("sparse-infer serve: " + id + " ready: embedding model, " + embedder.dimension() + " dimensions, "
                        + embedder.maxTokens() + " tokens per input at most; POST /v1/embeddings"
                        + (apiKey != null ? "; API key required" : ""));
                err.flush();
                stopped.await();
                return 0;
            }
            model = load(id);
        } catch (IOException | RuntimeException e) {
            Runtime.getRuntime().removeShutdownHook(shutdown);
            server.close();
            throw e;
        }
        server.ready(model);
        err.println("sparse-infer serve: " + model.id() + " ready: " + model.slots() + " slots of " + model.contextLength()
                + " tokens, queue " + queue + (model.hasChatTemplate() ? "" : "; no chat template: a plain 'User:/Assistant:' transcript")
                + (apiKey != null ? "; API key required" : ""));
        err.flush();
        stopped.await();
        return 0;
    }

    /** Whether {@code gguf} is an encoder the engine's {@link EmbeddingModel} runs rather than a generating model. */
    static boolean isEmbeddingModel(Path gguf) throws IOException {
        try (GgufFile f = GgufFile.open(gguf)) {
            return EmbeddingModel.supportsArchitecture(f.getString("general.architecture", ""));
        }
    }

    /** The embedding model: threads as for generation, {@code -c} caps the tokens of an input, {@code -b} of a pass. */
    private ServedEmbedder loadEmbedder(String id) throws IOException {
        EmbeddingOptions o = EmbeddingOptions.defaults().withThreads(engine.options().threads());
        if (engine.contextLength > 0) o = o.withMaxTokens(engine.contextLength);
        if (engine.batchSize != null) o = o.withBatchTokens(engine.batchSize);
        return new ServedEmbedder(EmbeddingModel.open(engine.model, o), id);
    }

    private ServedModel load(String id) throws IOException {
        LanguageModel model = engine.open();
        SparseModel sparse = null;
        try {
            sparse = engine.attachSparse(model);
            ChatTemplate template = template(model);
            return new ServedModel(model, sparse, template, id, parallel, queue);
        } catch (IOException | RuntimeException e) {
            if (sparse != null) sparse.close();
            model.close();
            throw e;
        }
    }

    private ChatTemplate template(LanguageModel model) throws IOException {
        Tokenizer tokenizer = model.tokenizer();
        if (templateFile != null) {
            String bos = tokenizer.bosId() == Tokenizer.NO_TOKEN ? "" : tokenizer.tokenText(tokenizer.bosId());
            String eos = tokenizer.eosId() == Tokenizer.NO_TOKEN ? "" : tokenizer.tokenText(tokenizer.eosId());
            return ChatTemplate.of(Files.readString(templateFile, StandardCharsets.UTF_8), bos, eos);
        }
        return ChatTemplate.fromGguf(model.gguf(), tokenizer).orElseGet(ChatTemplate::fallback);
    }

    private static String hostForUrl(String host) {
        return host.contains(":") ? "[" + host + "]" : host;
    }
}
