package io.ruvector.sparse.cli;

import io.ruvector.sparse.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GenerateCommandTest {

    /** The text in the fixtures' models/README.md under "Expected output". */
    static String readmeText() throws IOException {
        String readme = Files.readString(Fixtures.require("models/README.md"));
        Matcher m = Pattern.compile("## Expected output.*?```\\n(.*?)```", Pattern.DOTALL).matcher(readme);
        assertTrue(m.find(), "models/README.md has no expected output block");
        return m.group(1).strip();
    }

    @Test
    void greedyFromBosWritesTheReadmeStory() throws IOException {
        String model = Fixtures.require("models/stories260K.gguf").toString();
        CliRun run = CliRun.of("", "generate", "--model", model, "--temp", "0", "-n", "200", "-t", "1");
        assertEquals(0, run.exitCode(), run.err());
        assertEquals(readmeText(), run.out().strip());
        assertTrue(run.err().contains("prompt: 1 tokens") && run.err().contains("generated: 200 tokens")
                && run.err().contains("tokens/s") && run.err().contains("stop: max tokens"), run.err());
        assertTrue(!run.err().contains("seed:"), "greedy needs no seed: " + run.err());
    }

    @Test
    void withoutAModelTheDemoModelRunsFromTheFixturesOffline(@TempDir Path cache) throws IOException {
        Fixtures.require("models/stories260K.gguf");
        String oldCache = System.setProperty("sparse.infer.cache", cache.toString());
        String oldOffline = System.setProperty("sparse.infer.offline", "true");
        try {
            CliRun run = CliRun.of("", "generate", "--temp", "0", "-n", "200", "-t", "1");
            assertEquals(0, run.exitCode(), run.err());
            assertEquals(readmeText(), run.out().strip());
        } finally {
            restore("sparse.infer.cache", oldCache);
            restore("sparse.infer.offline", oldOffline);
        }
    }

    private static void restore(String key, String value) {
        if (value == null) System.clearProperty(key);
        else System.setProperty(key, value);
    }

    @Test
    void sameSeedSameStoryAndThePromptComesFromStdin() {
        String model = Fixtures.require("models/stories260K.gguf").toString();
        CliRun a = CliRun.of("Once upon a time", "generate", "-m", model, "-p", "-", "-n", "30", "-s", "11", "-t", "1");
        CliRun b = CliRun.of("", "generate", "-m", model, "-p", "Once upon a time", "-n", "30", "-s", "11", "-t", "1");
        CliRun c = CliRun.of("", "generate", "-m", model, "-p", "Once upon a time", "-n", "30", "-s", "12", "-t", "1");
        assertEquals(0, a.exitCode(), a.err());
        assertTrue(a.out().startsWith("Once upon a time"), a.out());
        assertTrue(a.out().length() > "Once upon a time".length() + 20, a.out());
        assertEquals(a.out(), b.out());
        assertNotEquals(a.out(), c.out());
        assertTrue(a.err().contains("generated: 30 tokens"), a.err());
    }

    @Test
    void stopStringEndsTheText() {
        String model = Fixtures.require("models/stories260K.gguf").toString();
        CliRun run = CliRun.of("", "generate", "-m", model, "--temp", "0", "--stop", "Lily", "--no-display-prompt", "-t", "1");
        assertEquals(0, run.exitCode(), run.err());
        assertEquals("Once upon a time, there was a little girl named", run.out().strip());
        assertTrue(run.err().contains("stop: stop string"), run.err());
    }

    @Test
    void badInputIsOneLineAndExitCodeTwo(@TempDir Path dir) {
        CliRun missing = CliRun.of("", "generate", "-m", dir.resolve("nope.gguf").toString());
        assertEquals(Main.EXIT_BAD_INPUT, missing.exitCode());
        assertTrue(missing.err().contains("model file not found"), missing.err());
        String model = Fixtures.require("models/stories260K.gguf").toString();
        CliRun badTemp = CliRun.of("", "generate", "-m", model, "--temp", "-1");
        assertEquals(Main.EXIT_BAD_INPUT, badTemp.exitCode());
        assertTrue(badTemp.err().contains("temperature"), badTemp.err());
        CliRun usage = CliRun.of("", "generate", "--no-such-flag");
        assertEquals(Main.EXIT_USAGE, usage.exitCode());
    }
}
