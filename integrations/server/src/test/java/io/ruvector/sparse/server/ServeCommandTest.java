package io.ruvector.sparse.server;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code serve} refuses bad options and unusable addresses with one line and an exit code, before serving. */
class ServeCommandTest {

    record Outcome(int code, String err) {}

    static Outcome run(String... args) {
        StringWriter err = new StringWriter();
        int code = ServeCommand.run(new PrintWriter(err, true), args);
        return new Outcome(code, err.toString().strip());
    }

    static void oneLine(Outcome o, int code, String expected) {
        assertEquals(code, o.code(), o.err());
        assertFalse(o.err().contains("\n"), "one line: " + o.err());
        assertFalse(o.err().contains("Exception"), o.err());
        assertTrue(o.err().contains(expected), o.err());
    }

    @Test
    void badInputIsOneLineAndExitCode2(@TempDir Path dir) throws Exception {
        Path model = TestServer.model();
        oneLine(run("-m", dir.resolve("missing.gguf").toString()), 2, "model file not found");
        oneLine(run("-m", model.toString(), "--parallel", "0"), 2, "--parallel must be >= 1");
        oneLine(run("-m", model.toString(), "--port", "70000"), 2, "--port must be in [0, 65535]");
        oneLine(run("-m", model.toString(), "--threads", "0"), 2, "--threads must be >= 1");
        oneLine(run("-m", model.toString(), "--sparse", dir.resolve("none.sidecar").toString()), 2, "sidecar file not found");
        Path notGguf = Files.writeString(dir.resolve("text.gguf"), "not a model");
        Outcome broken;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = probe.getLocalPort();
            probe.close();
            broken = run("-m", notGguf.toString(), "--port", Integer.toString(port));
        }
        assertEquals(2, broken.code(), broken.err());
        assertTrue(broken.err().lines().allMatch(l -> l.startsWith("sparse-infer serve: ")), broken.err());
    }

    @Test
    void generationOnlyOptionsAreRefusedForAnEmbeddingModel() {
        String minilm = io.ruvector.sparse.Fixtures.require(EmbeddingsTest.MODEL).toString();
        oneLine(run("-m", minilm, "--port", "0", "--sparse", minilm), 2, "--sparse does not apply to an embedding model");
        oneLine(run("-m", minilm, "--port", "0", "--chat-template", minilm), 2, "--chat-template does not apply to an embedding model");
    }

    @Test
    void portInUseIsNamed() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            oneLine(run("-m", TestServer.model().toString(), "--port", Integer.toString(taken.getLocalPort())), 2,
                    "cannot listen on 127.0.0.1:" + taken.getLocalPort());
        }
    }

    @Test
    void unknownOptionIsAUsageError() {
        Outcome o = run("-m", TestServer.model().toString(), "--no-such-option");
        assertEquals(1, o.code(), o.err());
        assertTrue(o.err().startsWith("sparse-infer serve: Unknown option: '--no-such-option'"), o.err());
    }
}
