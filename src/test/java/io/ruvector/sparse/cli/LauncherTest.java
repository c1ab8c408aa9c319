package io.ruvector.sparse.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The launcher refuses JDKs older than 25 with one line that names what it found. */
class LauncherTest {

    @Test
    void onlyOldJdksGiveOneLineNamingThem(@TempDir Path dir) throws Exception {
        fakeJdk(dir.resolve("jdk-17"), "17");
        fakeJdk(dir.resolve("jdk-21"), "21");
        Path root = Path.of(System.getenv().getOrDefault("SPARSE_INFER_ROOT", "."));
        ProcessBuilder pb = new ProcessBuilder("bash", root.resolve("sparse-infer").toString(), "--version");
        Map<String, String> env = pb.environment();
        env.remove("JAVA_HOME");
        env.put("SPARSE_INFER_JDK_DIR", dir.toString());
        env.put("PATH", "/usr/bin:/bin");   // a java found on the PATH is listed too; none of these is 25
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(1, p.exitValue(), out);
        assertFalse(out.contains("\n"), "one line: " + out);
        assertTrue(out.contains("needs JDK 25"), out);
        assertTrue(out.contains("JDK 17 (" + dir.resolve("jdk-17").toRealPath()), out);
        assertTrue(out.contains("JDK 21 (" + dir.resolve("jdk-21").toRealPath()), out);
    }

    /** A directory whose bin/java reports {@code version} the way the launcher asks, and a bin/javac. */
    private static void fakeJdk(Path home, String version) throws IOException {
        Path bin = Files.createDirectories(home.resolve("bin"));
        Files.writeString(bin.resolve("java"), "#!/bin/sh\necho '    java.specification.version = " + version + "' >&2\n");
        Files.writeString(bin.resolve("javac"), "#!/bin/sh\nexit 0\n");
        for (String tool : new String[] {"java", "javac"}) {
            Files.setPosixFilePermissions(bin.resolve(tool), PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }
}
