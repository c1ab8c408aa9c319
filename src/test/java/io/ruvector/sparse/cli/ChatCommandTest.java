package io.ruvector.sparse.cli;

import io.ruvector.sparse.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChatCommandTest {

    @Test
    void aModelWithoutTemplateChatsWithAPlainTranscriptAndSaysSo() {
        String model = Fixtures.require("models/stories260K.gguf").toString();
        CliRun run = CliRun.of("Hello\n\nTell me a story\n/exit\nnot read\n", "chat", "-m", model, "--temp", "0", "-n", "20", "-t", "1");
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.err().contains("has no chat template"), run.err());
        assertEquals(2, run.err().lines().filter(l -> l.matches("\\[\\d+ tokens, .* tokens/s]")).count(), run.err());
        String[] turns = run.out().split("> ", -1);
        // Before the first prompt, the reply to "Hello", nothing for the empty line, the story, after /exit.
        assertEquals(5, turns.length, run.out());
        assertTrue(turns[1].strip().length() > 10 && turns[2].isEmpty() && turns[3].strip().length() > 10, run.out());
    }

    @Test
    void aGivenTemplateIsUsedAndRenderingErrorsEndOnlyTheTurn(@TempDir Path dir) throws IOException {
        String model = Fixtures.require("models/stories260K.gguf").toString();
        Path template = dir.resolve("t.jinja");
        Files.writeString(template, "{% if messages | length > 1 %}{{ raise_exception('one message only') }}{% endif %}"
                + "{{ bos_token }}{{ messages[0]['content'] }}");
        CliRun run = CliRun.of("Once upon a time\nagain\n", "chat", "-m", model, "--chat-template", template.toString(),
                "--temp", "0", "-n", "10", "-t", "1");
        assertEquals(0, run.exitCode(), run.err());
        assertFalse(run.err().contains("has no chat template"), run.err());
        assertTrue(run.err().contains("one message only"), run.err());
        assertTrue(run.out().contains("> "), run.out());
    }
}
