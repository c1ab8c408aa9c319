package io.ruvector.sparse.ffi;

import io.ruvector.sparse.Required;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** Finds the C/C++ compilers on PATH and runs commands for the tests that build native code. */
final class Toolchain {

    private Toolchain() {}

    /** What a finished command printed (stdout and stderr together) and its exit code. */
    record Result(int exitCode, String output) {
        boolean ok() { return exitCode == 0; }
    }

    static Optional<Path> onPath(String program) {
        String path = System.getenv("PATH");
        if (path == null) return Optional.empty();
        for (String dir : path.split(File.pathSeparator)) {
            Path p = Path.of(dir, program);
            if (Files.isExecutable(p)) return Optional.of(p);
        }
        return Optional.empty();
    }

    /**
     * The program, or the calling test skipped with a message saying what is missing; under CI a failure, since
     * gcc, g++ and cmake are required for the native tests (native/README.md).
     */
    static Path require(String program, String purpose) {
        Optional<Path> p = onPath(program);
        Required.that(p.isPresent(), program + " not found on PATH, needed for " + purpose);
        return p.orElseThrow();
    }

    static Result run(List<String> command, Path workDir, long timeoutSeconds) throws IOException, InterruptedException {
        return run(command, workDir, Map.of(), timeoutSeconds);
    }

    /** Runs {@code command} with {@code env} added to this process's environment. */
    static Result run(List<String> command, Path workDir, Map<String, String> env, long timeoutSeconds)
            throws IOException, InterruptedException {
        // Output goes to a file so that a chatty child never blocks on a full pipe and the timeout holds.
        Path log = Files.createTempFile("sparse-infer-cmd", ".log");
        try {
            ProcessBuilder pb = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true)
                    .redirectOutput(log.toFile());
            pb.environment().putAll(env);
            Process p = pb.start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                throw new AssertionError(String.join(" ", command) + " did not finish in " + timeoutSeconds
                        + " s; output:\n" + new String(Files.readAllBytes(log), StandardCharsets.UTF_8));
            }
            return new Result(p.exitValue(), new String(Files.readAllBytes(log), StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(log);
        }
    }
}
