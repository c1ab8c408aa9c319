package io.ruvector.sparse.ffi;

import io.ruvector.sparse.Fixtures;
import io.ruvector.sparse.cli.Main;
import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.Logits;
import io.ruvector.sparse.model.ModelOptions;
import io.ruvector.sparse.model.Session;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Builds the C++ host in native/host with the documented g++ line and runs it on stories260K: it must
 * produce the same greedy tokens as the Java API, and the same text as the CLI's {@code generate --temp 0}.
 * Skipped (with a message) without g++.
 *
 * <p>The host runs the engine from the classes this build just compiled (the test's own class path,
 * passed with --jar), so it works in Maven's test phase, before the jar is packaged.
 */
class NativeHostTest {

    private static final int STEPS = 40;
    private static final String PROMPT = "Once upon a time";

    @Test
    void hostGeneratesTheSameGreedyTokensAsTheJavaApi() throws Exception {
        Path model = Fixtures.require("models/stories260K.gguf");
        Path root = BindingDriftTest.projectRoot();
        Path javaHome = Path.of(System.getProperty("java.home"));
        Path exe = buildHost();

        int[] expected = javaGreedy(model);
        String cliText = cliGreedyText(model);
        Map<String, String> env = Map.of("JAVA_HOME", javaHome.toString());
        String classPath = System.getProperty("java.class.path");
        for (List<String> mode : List.of(List.<String>of(), List.of("--from-memory"))) {
            List<String> cmd = new java.util.ArrayList<>(List.of(exe.toString(), model.toString(), "--prompt", PROMPT,
                    "-n", Integer.toString(STEPS), "--threads", "1", "--ids", "--class-path", classPath));
            cmd.addAll(mode);
            var run = Toolchain.run(cmd, root, env, 180);
            assertTrue(run.ok(), "host " + mode + " failed:\n" + run.output());
            assertArrayEquals(expected, ids(run.output()), "host " + mode + " tokens differ; output:\n" + run.output());
            assertTrue(run.output().contains("tokens/s"), run.output());
            assertTrue(run.output().contains(cliText), "host " + mode + " text differs from the CLI's:\n" + cliText
                    + "\nhost output:\n" + run.output());
        }
    }

    /**
     * The host gives its JVM the launcher's JIT flags: the compiler directive it embeds is the launcher's file,
     * the JVM reads it (it says so on its console once {@code -XX:+DisplayVMOutput} is back, which a later
     * {@code --jvm-option} does), and an empty SPARSE_INFER_JIT_FLAGS leaves the JVM without it.
     */
    @Test
    void hostStartsItsJvmWithTheLaunchersJitFlags() throws Exception {
        Path root = BindingDriftTest.projectRoot();
        String launcherFile = Files.readString(root.resolve("src/main/launcher/compiler-directives.json"));
        String source = Files.readString(root.resolve("native/host/sparse_infer_host.cpp"));
        Matcher embedded = Pattern.compile("(?s)kCompilerDirectives = R\"json\\((.*?)\\)json\"").matcher(source);
        assertTrue(embedded.find(), "no embedded compiler directives in sparse_infer_host.cpp");
        assertEquals(launcherFile, embedded.group(1), "the host's directives differ from the launcher's file");

        Path model = Fixtures.require("models/stories260K.gguf");
        Path exe = buildHost();
        String classPath = System.getProperty("java.class.path");
        List<String> cmd = List.of(exe.toString(), model.toString(), "--prompt", PROMPT, "-n", "2", "--threads", "1",
                "--class-path", classPath, "--jvm-option", "-XX:+UnlockDiagnosticVMOptions", "--jvm-option", "-XX:+DisplayVMOutput");
        var withFlags = Toolchain.run(cmd, root, Map.of("JAVA_HOME", System.getProperty("java.home")), 120);
        assertTrue(withFlags.ok(), withFlags.output());
        assertTrue(withFlags.output().contains("1 compiler directives added"), withFlags.output());

        var without = Toolchain.run(cmd, root, Map.of("JAVA_HOME", System.getProperty("java.home"),
                "SPARSE_INFER_JIT_FLAGS", ""), 120);
        assertTrue(without.ok(), without.output());
        assertFalse(without.output().contains("compiler directives"), without.output());

        var dropped = Toolchain.run(List.of(exe.toString(), model.toString(), "-n", "1", "--class-path", classPath,
                "--no-jit-flags", "--jvm-option", "-XX:+UnlockDiagnosticVMOptions", "--jvm-option", "-XX:+DisplayVMOutput"), root,
                Map.of("JAVA_HOME", System.getProperty("java.home")), 120);
        assertTrue(dropped.ok(), dropped.output());
        assertFalse(dropped.output().contains("compiler directives"), dropped.output());
    }

    private static Path builtHost;

    /** The host, built once with the README's g++ line into target/native-test. */
    private static synchronized Path buildHost() throws Exception {
        if (builtHost != null) return builtHost;
        Path gxx = Toolchain.require("g++", "building the C++ host (native/host)");
        Path root = BindingDriftTest.projectRoot();
        Path javaHome = Path.of(System.getProperty("java.home"));
        Path out = root.resolve("target/native-test");
        Files.createDirectories(out);
        Path exe = out.resolve("sparse-infer-host");
        var build = Toolchain.run(List.of(gxx.toString(), "-std=c++17", "-O2", "-Wall", "-Wextra",
                "-I" + root.resolve("native/include"), "-I" + javaHome.resolve("include"),
                "-I" + javaHome.resolve("include/linux"), root.resolve("native/host/sparse_infer_host.cpp").toString(),
                "-o", exe.toString(), "-ldl"), root, 180);
        assertTrue(build.ok(), "g++ failed:\n" + build.output());
        builtHost = exe;
        return exe;
    }

    @Test
    void cmakeBuildsTheHost() throws Exception {
        Path cmake = Toolchain.require("cmake", "the CMake build of the C++ host");
        Toolchain.require("g++", "the CMake build of the C++ host");
        Path root = BindingDriftTest.projectRoot();
        Path build = root.resolve("target/native-test/cmake-build");
        Map<String, String> env = Map.of("JAVA_HOME", System.getProperty("java.home"));
        var configure = Toolchain.run(List.of(cmake.toString(), "-S", root.resolve("native/host").toString(), "-B",
                build.toString()), root, env, 180);
        assertTrue(configure.ok(), "cmake configure failed:\n" + configure.output());
        var make = Toolchain.run(List.of(cmake.toString(), "--build", build.toString()), root, env, 180);
        assertTrue(make.ok(), "cmake build failed:\n" + make.output());
        var usage = Toolchain.run(List.of(root.resolve("target/sparse-infer-host").toString()), root, env, 60);
        assertEquals(1, usage.exitCode(), usage.output());
        assertTrue(usage.output().contains("no model given"), usage.output());
    }

    /** Greedy continuation of the prompt, with the Java API. */
    private static int[] javaGreedy(Path model) throws Exception {
        try (LanguageModel m = LanguageModel.open(model, ModelOptions.defaults().withThreads(1));
             Session s = m.newSession()) {
            int[] prompt = m.tokenizer().encode(PROMPT, true, false);
            Logits logits = s.evaluate(prompt);
            int[] out = new int[STEPS];
            for (int i = 0; i < STEPS; i++) {
                out[i] = logits.argmax();
                if (i + 1 < STEPS) logits = s.evaluate(out[i]);
            }
            return out;
        }
    }

    /** What {@code sparse-infer generate} prints for the same greedy continuation. */
    private static String cliGreedyText(Path model) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(InputStream.nullInputStream(), new PrintWriter(out), new PrintWriter(err), "generate",
                "-m", model.toString(), "-p", PROMPT, "--no-display-prompt", "--temp", "0", "-n",
                Integer.toString(STEPS), "-t", "1");
        assertEquals(0, code, err.toString());
        String text = out.toString().strip();
        assertTrue(text.startsWith(", there was a little girl named Lily"), text);
        return text;
    }

    private static int[] ids(String output) {
        Matcher m = Pattern.compile("(?m)^ids:((?: -?\\d+)*)$").matcher(output);
        assertTrue(m.find(), "no 'ids:' line in the host's output:\n" + output);
        return Arrays.stream(m.group(1).strip().split(" ")).mapToInt(Integer::parseInt).toArray();
    }
}
