package io.ruvector.sparse.ffi;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * CI has no jextract, so this keeps the committed bindings honest: each header listed in
 * {@code jextract/headers.list} is parsed and every generated descriptor, layout and constant compared.
 */
class BindingDriftTest {

    static Path projectRoot() {
        String env = System.getenv("SPARSE_INFER_ROOT");
        return env != null ? Path.of(env) : Path.of("").toAbsolutePath();
    }

    /** (header, argfile) pairs from jextract/headers.list. */
    static List<Path[]> headerList() throws IOException {
        Path root = projectRoot();
        List<Path[]> pairs = new ArrayList<>();
        for (String line : Files.readAllLines(root.resolve("jextract/headers.list"))) {
            if (line.isBlank() || line.startsWith("#")) continue;
            String[] w = line.strip().split("\\s+");
            pairs.add(new Path[] {root.resolve(w[0]), root.resolve(w[1])});
        }
        return pairs;
    }

    private static boolean isOurs(Path header) {
        return header.startsWith(projectRoot().resolve("native/include"));
    }

    @Test
    void generatedBindingsMatchEveryListedHeader() throws IOException {
        List<Path[]> pairs = headerList();
        assertEquals(2, pairs.size(), "headers.list should name libc.h and sparse_infer.h");
        for (Path[] p : pairs) {
            List<String> problems = BindingCheck.check(CHeader.parse(p[0]), BindingCheck.Argfile.read(p[1]), isOurs(p[0]));
            assertEquals(List.of(), problems, p[0].getFileName() + " and its bindings differ");
        }
    }

    @Test
    void everyHeaderInNativeIncludeIsListed() throws IOException {
        List<Path> listed = headerList().stream().map(p -> p[0]).toList();
        try (var files = Files.list(projectRoot().resolve("native/include"))) {
            files.filter(f -> f.toString().endsWith(".h"))
                    .forEach(h -> assertTrue(listed.contains(h), h.getFileName() + " is missing from jextract/headers.list"));
        }
    }

    @Test
    void theParserSeesTheWholeAbi() throws IOException {
        CHeader h = CHeader.parse(projectRoot().resolve("native/include/sparse_infer.h"));
        assertEquals(Set.of("si_model_options", "si_model_info", "si_sampler_params", "si_api"), h.structs().keySet());
        var evaluate = h.structs().get("si_api").stream().filter(f -> f.name().equals("evaluate")).findFirst().orElseThrow();
        assertEquals("i32(ptr, ptr, i64, ptr, i64)", BindingCheck.signature(evaluate.functionPointer()));
        assertEquals("i32(ptr, i32, ptr, i64)", BindingCheck.signature(h.functionPointerTypedefs().get("si_token_callback")));
        assertEquals(1L, h.constants().get("SPARSE_INFER_ABI_VERSION"));
        CHeader libc = CHeader.parse(projectRoot().resolve("jextract/libc.h"));
        assertEquals("i64(i32)", BindingCheck.signature(libc.functions().get("sysconf")));
        assertEquals("i32(ptr, i64, ptr)", BindingCheck.signature(libc.functions().get("mincore")));
    }

    /** A header edited without regenerating must fail the check, naming what changed. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "evaluate capacity narrowed | native/include/sparse_infer.h | float *logits, size_t capacity | float *logits, int32_t capacity | si_api.evaluate",
            "callback gains a parameter | native/include/sparse_infer.h | const char *piece, size_t piece_len); | const char *piece, size_t piece_len, int32_t flags); | typedef si_token_callback",
            "struct field widened       | native/include/sparse_infer.h | int32_t repeat_last_n; | int64_t repeat_last_n; | struct si_sampler_params",
            "struct field added         | native/include/sparse_infer.h | int32_t eos_token;      | int32_t eos_token; int32_t pad_token; | struct si_model_info",
            "new entry point            | native/include/sparse_infer.h | si_status (*cancel)(si_session *session); | si_status (*cancel)(si_session *session); void (*trace)(int32_t on); | struct si_api",
            "status code renumbered     | native/include/sparse_infer.h | #define SI_ERR_INTERNAL          8 | #define SI_ERR_INTERNAL          9 | constant SI_ERR_INTERNAL",
            "new constant not bound     | native/include/sparse_infer.h | #define SI_OK                    0 | #define SI_OK 0\\n#define SI_WARN 10 | constant SI_WARN",
            "libc length as int         | jextract/libc.h | int mlock(const void *addr, size_t length); | int mlock(const void *addr, int length); | function mlock",
            "libc return type           | jextract/libc.h | long sysconf(int name); | int sysconf(int name); | function sysconf",
    })
    void aChangedHeaderFailsTheCheck(String change, String header, String from, String to, String expected) throws IOException {
        Path root = projectRoot();
        String text = Files.readString(root.resolve(header));
        assertTrue(text.contains(from), "the test's edit no longer applies to " + header + ": " + from);
        String modified = text.replace(from, to.replace("\\n", "\n"));
        Path argfile = headerList().stream().filter(p -> p[0].equals(root.resolve(header))).findFirst().orElseThrow()[1];
        List<String> problems = BindingCheck.check(CHeader.parse("modified " + header, modified),
                BindingCheck.Argfile.read(argfile), header.startsWith("native/"));
        assertFalse(problems.isEmpty(), change + " was not detected");
        assertTrue(problems.stream().anyMatch(p -> p.startsWith(expected)), change + " reported as " + problems);
    }

    @Test
    void theParserRejectsWhatItDoesNotUnderstand() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> CHeader.parse("u.h", "typedef struct s { union { int a; float b; } u; } s;"));
        assertTrue(e.getMessage().contains("union"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CHeader.parse("a.h", "int f(int x[4]);"));
        assertTrue(e.getMessage().contains("arrays"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CHeader.parse("m.h", "#define MAX(a, b) ((a) > (b) ? (a) : (b))"));
        assertTrue(e.getMessage().contains("function-like"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CHeader.parse("v.h", "int printf(const char *fmt, ...);"));
        assertTrue(e.getMessage().contains("variadic"), e.getMessage());
    }
}
