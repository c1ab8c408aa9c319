package io.ruvector.sparse.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine;

import java.io.InputStream;
import java.io.PrintWriter;

/**
 * The {@code sparse-infer} command line: a thin shell over the library API.
 *
 * <p>Exit codes: 0 ok, 1 usage error, 2 bad input, 3 an error of the JVM or the engine (out of memory, a fault
 * in native memory): one line on stderr in each case, the stack trace only with {@code --verbose}.
 */
@Command(name = "sparse-infer", mixinStandardHelpOptions = true, version = "sparse-infer 0.1.0",
        description = "LLM inference from GGUF files on the JVM, with activation sparsity.",
        subcommands = {CommandLine.HelpCommand.class, InspectCommand.class, SynthCommand.class, TokenizeCommand.class,
                GenerateCommand.class, ChatCommand.class, BenchCommand.class, LogitsCommand.class,
                CalibrateCommand.class, SparseEvalCommand.class, QuantizeCommand.class, EmbedCommand.class,
                AotTrainingCommand.class})
public final class Main {

    public static final int EXIT_OK = 0;
    public static final int EXIT_USAGE = 1;
    public static final int EXIT_BAD_INPUT = 2;
    public static final int EXIT_INTERNAL_ERROR = 3;

    private final InputStream stdin;

    private Main(InputStream stdin) { this.stdin = stdin; }

    /** Standard input of this run: commands read prompts and chat input from here. */
    InputStream stdin() { return stdin; }

    public static void main(String[] args) {
        // The library's warnings (System.Logger, to java.util.logging) as one line each, not JUL's two.
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
            System.setProperty("java.util.logging.SimpleFormatter.format", "sparse-infer: %4$s: %5$s%6$s%n");
        }
        System.exit(run(args));
    }

    /** Runs the CLI and returns its exit code (the library never calls {@code System.exit}). */
    public static int run(String... args) {
        return run(System.in, null, null, args);
    }

    /**
     * Runs the CLI with these streams instead of the process's (for embedding and tests).
     *
     * @param out standard output, or null for the process's
     * @param err standard error, or null for the process's
     */
    public static int run(InputStream in, PrintWriter out, PrintWriter err, String... args) {
        CommandLine cl = new CommandLine(new Main(in));
        if (out != null) cl.setOut(out);
        if (err != null) cl.setErr(err);
        return execute(cl, args);
    }

    /** Runs {@code cl} with the CLI's handling of usage errors, exceptions and Errors. */
    static int execute(CommandLine cl, String... args) {
        cl.setExitCodeExceptionMapper(e -> EXIT_BAD_INPUT);
        cl.setExecutionExceptionHandler(new BadInputHandler());
        cl.setParameterExceptionHandler((ex, a) -> {
            ex.getCommandLine().getErr().println(ex.getMessage());
            CommandLine.UnmatchedArgumentException.printSuggestions(ex, ex.getCommandLine().getErr());
            ex.getCommandLine().usage(ex.getCommandLine().getErr());
            return EXIT_USAGE;
        });
        try {
            return cl.execute(args);
        } catch (Error e) {
            // picocli hands only Exceptions to the handler above; an Error (OutOfMemoryError, an InternalError from
            // a fault in mapped memory, StackOverflowError) would otherwise end the JVM with a raw stack trace.
            PrintWriter errOut = cl.getErr();
            errOut.println("sparse-infer: " + describe(e));
            if (verbose(args)) e.printStackTrace(errOut);
            errOut.flush();
            return EXIT_INTERNAL_ERROR;
        }
    }

    /** One line naming an Error: its kind, as the message alone ("Java heap space") may not say what broke. */
    static String describe(Error e) {
        String kind = switch (e) {
            case OutOfMemoryError o -> "out of memory";
            case StackOverflowError s -> "stack overflow";
            case InternalError i -> "internal error";
            default -> e.getClass().getSimpleName();
        };
        String line = e.getMessage() != null ? kind + ": " + firstLine(e.getMessage()) : kind;
        // The JVM's words for SIGBUS on mapped memory: say where that usually comes from.
        if (e instanceof InternalError && line.contains("unsafe memory access")) {
            line += " (a memory-mapped file could not be read or written: a full /dev/shm or disk, or a model file"
                    + " changed while in use)";
        }
        return line;
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** Whether the arguments ask for stack traces (the parse result is out of reach once an Error escaped). */
    private static boolean verbose(String[] args) {
        for (String a : args) {
            if (a.equals("--")) return false;
            if (a.equals("--verbose")) return true;
        }
        return false;
    }

    /** Turns an exception into one line on stderr and exit code 2; the trace only with --verbose. */
    static final class BadInputHandler implements CommandLine.IExecutionExceptionHandler {
        @Override
        public int handleExecutionException(Exception ex, CommandLine cl, CommandLine.ParseResult parsed) {
            boolean verbose = false;
            for (CommandLine.ParseResult p = parsed; p != null; p = p.subcommand()) {
                if (p.hasMatchedOption("--verbose")) verbose = true;
            }
            String msg = ex.getMessage() != null ? ex.getMessage() : ex.getClass().getSimpleName();
            cl.getErr().println("sparse-infer: " + msg);
            if (verbose) ex.printStackTrace(cl.getErr());
            return EXIT_BAD_INPUT;
        }
    }
}
