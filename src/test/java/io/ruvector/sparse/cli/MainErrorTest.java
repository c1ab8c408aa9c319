package io.ruvector.sparse.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.Callable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Whatever a command throws, Error or Exception, the CLI prints one line and exits non-zero. */
class MainErrorTest {

    @Command(name = "fail")
    static final class Failing implements Callable<Integer> {
        @Option(names = "--kind")
        String kind;

        @Option(names = "--verbose")
        boolean verbose;

        @Override
        public Integer call() {
            switch (kind) {
                case "fault" -> throw new InternalError("a fault occurred in an unsafe memory access operation");
                case "oom" -> throw new OutOfMemoryError("Java heap space");
                case "stack" -> throw new StackOverflowError();
                case "assert" -> throw new AssertionError("multi\nline");
                default -> throw new IllegalArgumentException("bad " + kind);
            }
        }
    }

    private record Out(int code, String err) {}

    private static Out run(String... args) {
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new Failing());
        cl.setErr(new PrintWriter(err, true));
        cl.setOut(new PrintWriter(new StringWriter(), true));
        return new Out(Main.execute(cl, args), err.toString());
    }

    @Test
    void errorsAreOneLineWithANonZeroExit() {
        for (String kind : new String[] {"fault", "oom", "stack", "assert"}) {
            Out o = run("--kind", kind);
            assertEquals(Main.EXIT_INTERNAL_ERROR, o.code(), kind);
            assertEquals(1, o.err().lines().count(), kind + ": " + o.err());
            assertTrue(o.err().startsWith("sparse-infer: "), o.err());
            assertFalse(o.err().contains("\tat "), o.err());
        }
        assertTrue(run("--kind", "fault").err().contains("internal error: a fault occurred")
                && run("--kind", "fault").err().contains("/dev/shm"), "names the likely cause");
        assertTrue(run("--kind", "oom").err().contains("out of memory: Java heap space"));
        assertTrue(run("--kind", "stack").err().contains("stack overflow"));
    }

    @Test
    void exceptionsStayExitTwoAndVerboseAddsTheTrace() {
        Out bad = run("--kind", "x");
        assertEquals(Main.EXIT_BAD_INPUT, bad.code());
        assertEquals("sparse-infer: bad x", bad.err().strip());
        Out verbose = run("--kind", "fault", "--verbose");
        assertEquals(Main.EXIT_INTERNAL_ERROR, verbose.code());
        assertTrue(verbose.err().contains("\tat "), "--verbose prints the trace");
    }
}
