package io.ruvector.sparse.cli;

import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.ModelOptions;
import io.ruvector.sparse.sparse.Calibrator;
import io.ruvector.sparse.sparse.PredictorTrainer;
import io.ruvector.sparse.tokenizer.Tokenizer;
import org.junit.jupiter.api.Assumptions;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The CLI run in a child JVM under a wrapper that changes its environment (a mount namespace, a resource limit,
 * dropped capabilities), for tests of what a user meets in a container.
 */
final class ChildCli {

    private ChildCli() {}

    record Result(int code, String out, String err) {}

    /** {@code wrapper}, then this JVM's java with the engine's flags and class path running the CLI with {@code args}. */
    static Result run(List<String> wrapper, String... args) throws Exception {
        List<String> command = new ArrayList<>(wrapper);
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(List.of("--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        command.addAll(List.of(args));
        return exec(command);
    }

    static Result exec(List<String> command) throws Exception {
        Path out = Files.createTempFile("child-cli-out", ".txt"), err = Files.createTempFile("child-cli-err", ".txt");
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

    /** Skips the test with {@code reason} (when not null), or fails under {@code CI=true}, where CI runs as root. */
    static void require(String reason) {
        if (reason == null) return;
        if ("true".equalsIgnoreCase(System.getenv("CI"))) throw new AssertionError(reason + ", and CI=true (CI runs as root)");
        Assumptions.abort(reason);
    }

    /** A quick sidecar for stories260K, calibrated on the first 1000 tokens of the calibration text. */
    static Path storiesSidecar(Path model, Path dir) throws Exception {
        Path sidecar = dir.resolve("stories.sparse.gguf");
        try (LanguageModel m = LanguageModel.open(model, ModelOptions.defaults().withThreads(2))) {
            Tokenizer tok = Tokenizer.fromGguf(m.gguf());
            String text;
            try (InputStream in = ChildCli.class.getResourceAsStream("/sparse/stories-calibration.txt")) {
                text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            int[] tokens = Arrays.copyOf(tok.encode(text, false, false, false), 1000);
            var fit = PredictorTrainer.Options.defaults().withRanks(16, 32).withTargetDensity(0.5);
            Calibrator.calibrate(m, tokens, tok.bosId(), sidecar, Calibrator.Options.defaults().withFit(fit).withMaxSamples(500),
                    Calibrator.Progress.NONE);
        }
        return sidecar;
    }
}
