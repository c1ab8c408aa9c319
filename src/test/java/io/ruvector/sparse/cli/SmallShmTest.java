package io.ruvector.sparse.cli;

import io.ruvector.sparse.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

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
        ChildCli.require(mountNamespaceUnavailable());
        Path sidecar = ChildCli.storiesSidecar(model, dir);
        // The hot tier (a fifth of the rows) and an 8 MiB cold-row cache, neither of which fits.
        String[] args = {"generate", "-m", model.toString(), "--sparse", sidecar.toString(), "--sparse-cold-cache-mb", "8",
                "-p", "Once upon a time", "-n", "24", "--temp", "0", "-t", "2", "--no-display-prompt"};
        CliRun host = CliRun.of("", args);
        assertEquals(0, host.exitCode(), host.err());

        // 4 MiB, then a file that leaves ~200 KiB free: less than either buffer.
        String script = "mount -t tmpfs -o size=4m tmpfs /dev/shm && head -c 3900k /dev/zero > /dev/shm/filler && exec \"$@\"";
        ChildCli.Result r = ChildCli.run(List.of("unshare", "-m", "sh", "-c", script, "sh"), args);
        assertEquals(0, r.code(), "exit code; stderr:\n" + r.err());
        assertFalse(r.err().contains("Exception") || r.err().contains("\tat "), "no stack trace:\n" + r.err());
        assertEquals(host.out(), r.out(), "the same text as with the host's /dev/shm");
        assertTrue(r.out().strip().length() > 0, "some text was generated");
    }

    /** Null when a tmpfs can be mounted over /dev/shm in a private mount namespace, else why not. */
    private static String mountNamespaceUnavailable() throws Exception {
        if (!System.getProperty("os.name", "").startsWith("Linux")) return "private mount namespaces need Linux";
        try {
            ChildCli.Result probe = ChildCli.exec(List.of("unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /dev/shm"));
            return probe.code() == 0 ? null : "cannot mount a tmpfs in a private mount namespace (needs root): " + probe.err().strip();
        } catch (java.io.IOException e) {
            return "unshare(1) is not available: " + e.getMessage();
        }
    }
}
