package io.ruvector.sparse.cli;

import io.ruvector.sparse.Fixtures;
import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.ModelOptions;
import io.ruvector.sparse.sparse.Calibrator;
import io.ruvector.sparse.sparse.PredictorTrainer;
import io.ruvector.sparse.tokenizer.Tokenizer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code generate --sparse} in a container-like {@code /dev/shm} far smaller than the hot tier and the cold-row
 * cache: a tmpfs of 4 MiB, nearly full, mounted over {@code /dev/shm} in a private mount namespace (as root) for
 * a child JVM running the CLI. It must write the same text as with the host's {@code /dev/shm}. Where such a
 * mount is not possible (not Linux, not root, no unshare) the test is skipped, except under {@code CI=true},
 * where it fails: CI runs as root.
 */
class SmallShmTest {

    @TempDir
    Path dir;

    @Test
    void generateSparseRunsWhenDevShmIsTooSmallForTheTiers() throws Exception {
        Path model = Fixtures.require("models/stories260K.gguf");
        requireMountNamespace();
        Path sidecar = dir.resolve("stories.sparse.gguf");
        try (LanguageModel m = LanguageModel.open(model, ModelOptions.defaults().withThreads(2))) {
            Tokenizer tok = Tokenizer.fromGguf(m.gguf());
            String text;
            try (InputStream in = SmallShmTest.class.getResourceAsStream("/sparse/stories-calibration.txt")) {
                text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            int[] tokens = Arrays.copyOf(tok.encode(text, false, false, false), 1000);
            var fit = PredictorTrainer.Options.defaults().withRanks(16, 32).withTargetDensity(0.5);
            Calibrator.calibrate(m, tokens, tok.bosId(), sidecar, Calibrator.Options.defaults().withFit(fit).withMaxSamples(500),
                    Calibrator.Progress.NONE);
        }
        // The hot tier (a fifth of the rows) and an 8 MiB cold-row cache, neither of which fits.
        String[] args = {"generate", "-m", model.toString(), "--sparse", sidecar.toString(), "--sparse-cold-cache-mb", "8",
                "-p", "Once upon a time", "-n", "24", "--temp", "0", "-t", "2", "--no-display-prompt"};
        CliRun host = CliRun.of("", args);
        assertEquals(0, host.exitCode(), host.err());

        // 4 MiB, then a file that leaves ~200 KiB free: less than either buffer.
        String script = "mount -t tmpfs -o size=4m tmpfs /dev/shm && head -c 3900k /dev/zero > /dev/shm/filler && exec \"$@\"";
        List<String> command = new ArrayList<>(List.of("unshare", "-m", "sh", "-c", script, "sh"));
        command.addAll(javaCommand());
        command.addAll(List.of(args));
        Result r = run(command);
        assertEquals(0, r.code, "exit code; stderr:\n" + r.err);
        assertFalse(r.err.contains("Exception") || r.err.contains("\tat "), "no stack trace:\n" + r.err);
        assertEquals(host.out(), r.out, "the same text as with the host's /dev/shm");
        assertTrue(r.out.strip().length() > 0, "some text was generated");
    }

    /** The child JVM: this JVM's java and class path, with the flags the build runs the engine with. */
    private static List<String> javaCommand() {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return List.of(java, "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), Main.class.getName());
    }

    /** Skips (fails under CI=true) unless a tmpfs can be mounted over /dev/shm in a private mount namespace. */
    private static void requireMountNamespace() throws Exception {
        String reason = null;
        if (!System.getProperty("os.name", "").startsWith("Linux")) {
            reason = "private mount namespaces need Linux";
        } else {
            try {
                Result probe = run(List.of("unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /dev/shm"));
                if (probe.code != 0) reason = "cannot mount a tmpfs in a private mount namespace (needs root): " + probe.err.strip();
            } catch (java.io.IOException e) {
                reason = "unshare(1) is not available: " + e.getMessage();
            }
        }
        if (reason == null) return;
        if ("true".equalsIgnoreCase(System.getenv("CI"))) throw new AssertionError(reason + ", and CI=true (CI runs as root)");
        Assumptions.abort(reason);
    }

    private record Result(int code, String out, String err) {}

    private static Result run(List<String> command) throws Exception {
        Path out = Files.createTempFile("small-shm-out", ".txt"), err = Files.createTempFile("small-shm-err", ".txt");
        try {
            Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(5, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new AssertionError("timed out: " + command);
            }
            return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
