package io.ruvector.sparse.ffi;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.PaddingLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The headers as a real compiler sees them (skipped without gcc/g++): they compile cleanly as C and C++,
 * libc.h's restated prototypes agree with the system's, and the struct layouts jextract generated agree
 * with the compiler's sizeof/offsetof.
 */
class NativeHeadersTest {

    private static final List<String> STRICT = List.of("-fsyntax-only", "-Wall", "-Wextra", "-Werror", "-pedantic");

    @TempDir
    Path tmp;

    private static Toolchain.Result compile(Path compiler, List<String> flags, Path file) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(compiler.toString()));
        cmd.addAll(flags);
        cmd.add(file.toString());
        return Toolchain.run(cmd, BindingDriftTest.projectRoot(), 60);
    }

    @Test
    void apiHeaderCompilesAsStrictCAndCxx() throws Exception {
        Path header = BindingDriftTest.projectRoot().resolve("native/include/sparse_infer.h");
        Path gcc = Toolchain.require("gcc", "compiling the C header");
        List<String> c = new ArrayList<>(List.of("-std=c99", "-x", "c"));
        c.addAll(STRICT);
        var r = compile(gcc, c, header);
        assertTrue(r.ok(), "sparse_infer.h as C99:\n" + r.output());
        Path gxx = Toolchain.require("g++", "compiling the header as C++");
        List<String> cxx = new ArrayList<>(List.of("-std=c++17", "-x", "c++"));
        cxx.addAll(STRICT);
        r = compile(gxx, cxx, header);
        assertTrue(r.ok(), "sparse_infer.h as C++17:\n" + r.output());
    }

    @Test
    void libcRestatementsAgreeWithTheSystemHeaders() throws Exception {
        Path gcc = Toolchain.require("gcc", "checking libc.h against the system headers");
        var r = compile(gcc, List.of("-fsyntax-only", "-Werror", "-x", "c"),
                BindingDriftTest.projectRoot().resolve("jextract/libc.h"));
        assertTrue(r.ok(), "jextract/libc.h disagrees with the system headers:\n" + r.output());
    }

    @Test
    void generatedLayoutsMatchTheCompilers() throws Exception {
        Path gcc = Toolchain.require("gcc", "checking struct layouts with the C compiler");
        StringBuilder src = new StringBuilder("#include <stddef.h>\n#include \"sparse_infer.h\"\n#include \"libc.h\"\n");
        assertLayout(src, "si_api", io.ruvector.sparse.ffi.capi.si_api.layout());
        assertLayout(src, "si_model_options", io.ruvector.sparse.ffi.capi.si_model_options.layout());
        assertLayout(src, "si_model_info", io.ruvector.sparse.ffi.capi.si_model_info.layout());
        assertLayout(src, "si_sampler_params", io.ruvector.sparse.ffi.capi.si_sampler_params.layout());
        assertLayout(src, "rlimit", io.ruvector.sparse.ffi.libc.rlimit.layout());
        Path file = tmp.resolve("layouts.c");
        Files.writeString(file, src);
        Path root = BindingDriftTest.projectRoot();
        var r = compile(gcc, List.of("-std=c11", "-fsyntax-only", "-I", root.resolve("native/include").toString(),
                "-I", root.resolve("jextract").toString()), file);
        assertTrue(r.ok(), "a generated layout disagrees with gcc:\n" + r.output() + "\n" + src);
    }

    @Test
    void theReadmeExampleCompiles() throws Exception {
        Path gxx = Toolchain.require("g++", "compiling the C++ example in native/README.md");
        Path root = BindingDriftTest.projectRoot();
        String readme = Files.readString(root.resolve("native/README.md"));
        int start = readme.indexOf("```cpp\n");
        assertTrue(start >= 0, "native/README.md has no ```cpp example");
        String example = readme.substring(start + 7, readme.indexOf("```", start + 7));
        Path file = tmp.resolve("example.cpp");
        Files.writeString(file, example);
        Path javaHome = Path.of(System.getProperty("java.home"));
        var r = compile(gxx, List.of("-std=c++17", "-fsyntax-only", "-Wall", "-Werror", "-I", root.resolve("native/include").toString(),
                "-I", javaHome.resolve("include").toString(), "-I", javaHome.resolve("include/linux").toString()), file);
        assertTrue(r.ok(), "the README example does not compile:\n" + r.output());
    }

    /** Appends static assertions of the layout's size and every named member's offset. */
    private static void assertLayout(StringBuilder src, String struct, GroupLayout layout) {
        src.append("_Static_assert(sizeof(struct ").append(struct).append(") == ").append(layout.byteSize())
                .append(", \"sizeof ").append(struct).append("\");\n");
        long offset = 0;
        for (MemoryLayout m : layout.memberLayouts()) {
            if (!(m instanceof PaddingLayout) && m.name().isPresent()) {
                src.append("_Static_assert(offsetof(struct ").append(struct).append(", ").append(m.name().get())
                        .append(") == ").append(offset).append(", \"").append(struct).append('.')
                        .append(m.name().get()).append("\");\n");
            }
            offset += m.byteSize();
        }
    }

    @Test
    void aWrongLayoutIsCaught() throws Exception {
        Path gcc = Toolchain.require("gcc", "checking struct layouts with the C compiler");
        Path file = tmp.resolve("wrong.c");
        Files.writeString(file, "#include <stddef.h>\n#include \"sparse_infer.h\"\n"
                + "_Static_assert(offsetof(struct si_sampler_params, seed) == 28, \"seed\");\n");
        var r = compile(gcc, List.of("-std=c11", "-fsyntax-only", "-I",
                BindingDriftTest.projectRoot().resolve("native/include").toString()), file);
        assertTrue(!r.ok() && r.output().contains("seed"), "gcc accepted a wrong offset:\n" + r.output());
    }
}
