package io.ruvector.sparse.ffi;

import io.ruvector.sparse.Fixtures;
import io.ruvector.sparse.ffi.capi.si_api;
import io.ruvector.sparse.ffi.capi.si_model_info;
import io.ruvector.sparse.ffi.capi.si_model_options;
import io.ruvector.sparse.ffi.capi.si_sampler_params;
import io.ruvector.sparse.ffi.capi.si_token_callback;
import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.Logits;
import io.ruvector.sparse.model.ModelOptions;
import io.ruvector.sparse.model.Session;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static io.ruvector.sparse.ffi.capi.SparseInfer.SI_ERR_ABI_MISMATCH;
import static io.ruvector.sparse.ffi.capi.SparseInfer.SI_ERR_BUFFER_TOO_SMALL;
import static io.ruvector.sparse.ffi.capi.SparseInfer.SI_ERR_CONTEXT_FULL;
import static io.ruvector.sparse.ffi.capi.SparseInfer.SI_ERR_FORMAT;
import static io.ruvector.sparse.ffi.capi.SparseInfer.SI_ERR_INVALID_ARGUMENT;
import static io.ruvector.sparse.ffi.capi.SparseInfer.SI_ERR_INVALID_HANDLE;
import static io.ruvector.sparse.ffi.capi.SparseInfer.SI_ERR_IO;
import static io.ruvector.sparse.ffi.capi.SparseInfer.SI_OK;
import static io.ruvector.sparse.ffi.capi.SparseInfer.SI_TOKENIZE_ADD_BOS;
import static io.ruvector.sparse.ffi.capi.SparseInfer.SPARSE_INFER_ABI_VERSION;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The C ABI exercised from Java through its real function pointers: the table is installed as a host
 * would, and every call goes down through a downcall handle into the upcall stub, exactly the path a C
 * caller takes (without needing a compiler).
 */
class NativeApiTest {

    private Arena arena;
    private MemorySegment api;

    @BeforeEach
    void install() {
        arena = Arena.ofConfined();
        api = arena.allocate(si_api.layout());
        si_api.abi_version(api, SPARSE_INFER_ABI_VERSION());
        si_api.struct_size(api, (int) si_api.sizeof());
        assertEquals(SI_OK(), NativeApi.install(api.address()));
    }

    @AfterEach
    void close() { arena.close(); }

    private String lastError() {
        return si_api.last_error.invoke(si_api.last_error(api)).reinterpret(4096).getString(0);
    }

    private void ok(int status) { assertEquals(SI_OK(), status, () -> "status " + status + ": " + lastError()); }

    private void fails(int expected, int status, String messagePart) {
        assertEquals(expected, status, () -> "last error: " + lastError());
        assertTrue(lastError().contains(messagePart), () -> "'" + lastError() + "' should mention '" + messagePart + "'");
    }

    private MemorySegment openModel(Path path, MemorySegment options) {
        MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
        ok(si_api.open_model.invoke(si_api.open_model(api), arena.allocateFrom(path.toString()), options, out));
        return out.get(ValueLayout.ADDRESS, 0);
    }

    private MemorySegment newSession(MemorySegment model) {
        MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
        ok(si_api.new_session.invoke(si_api.new_session(api), model, out));
        return out.get(ValueLayout.ADDRESS, 0);
    }

    private int[] tokenize(MemorySegment model, String text) {
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        MemorySegment count = arena.allocate(ValueLayout.JAVA_LONG);
        MemorySegment tokens = arena.allocate(ValueLayout.JAVA_INT, 256);
        ok(si_api.tokenize.invoke(si_api.tokenize(api), model, arena.allocateFrom(ValueLayout.JAVA_BYTE, utf8),
                utf8.length, SI_TOKENIZE_ADD_BOS(), tokens, 256, count));
        return tokens.asSlice(0, count.get(ValueLayout.JAVA_LONG, 0) * 4).toArray(ValueLayout.JAVA_INT);
    }

    /** Greedy generation through the C API; the callback is itself an upcall stub, as a host's would be. */
    private record Generated(int[] tokens, String text, long count) {}

    private Generated generate(MemorySegment session, int[] prompt, int maxTokens, int stopAfter) {
        List<Integer> ids = new ArrayList<>();
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        MemorySegment callback = si_token_callback.allocate((user, token, piece, length) -> {
            ids.add(token);
            text.writeBytes(piece.reinterpret(length).toArray(ValueLayout.JAVA_BYTE));
            return ids.size() >= stopAfter ? 1 : 0;
        }, arena);
        MemorySegment generated = arena.allocate(ValueLayout.JAVA_LONG);
        ok(si_api.generate.invoke(si_api.generate(api), session, arena.allocateFrom(ValueLayout.JAVA_INT, prompt),
                prompt.length, maxTokens, MemorySegment.NULL, callback, MemorySegment.NULL, generated));
        return new Generated(ids.stream().mapToInt(Integer::intValue).toArray(), text.toString(StandardCharsets.UTF_8),
                generated.get(ValueLayout.JAVA_LONG, 0));
    }

    /** The same greedy continuation computed with the Java API directly. */
    private static int[] javaGreedy(Path model, int[] prompt, int steps) throws Exception {
        try (LanguageModel m = LanguageModel.open(model, ModelOptions.defaults()); Session s = m.newSession()) {
            int[] out = new int[steps];
            Logits logits = s.evaluate(prompt);
            for (int i = 0; i < steps; i++) {
                out[i] = logits.argmax();
                if (i + 1 < steps) logits = s.evaluate(out[i]);
            }
            return out;
        }
    }

    @Test
    void installChecksTheAbi() {
        MemorySegment table = arena.allocate(si_api.layout());
        si_api.abi_version(table, SPARSE_INFER_ABI_VERSION() + 1);
        si_api.struct_size(table, (int) si_api.sizeof());
        assertEquals(SI_ERR_ABI_MISMATCH(), NativeApi.install(table.address()));
        assertEquals(MemorySegment.NULL, si_api.open_model(table), "a refused table stays untouched");
        si_api.abi_version(table, SPARSE_INFER_ABI_VERSION());
        si_api.struct_size(table, (int) si_api.sizeof() - 8);
        assertEquals(SI_ERR_ABI_MISMATCH(), NativeApi.install(table.address()));
        assertEquals(SI_ERR_INVALID_ARGUMENT(), NativeApi.install(0));

        assertTrue(si_api.engine_version(api).reinterpret(100).getString(0).startsWith("ruvector-sparse-inference"));
        for (var member : si_api.layout().memberLayouts()) {
            String name = member.name().orElseThrow();
            if (name.equals("abi_version") || name.equals("struct_size")) continue;
            long offset = si_api.layout().byteOffset(java.lang.foreign.MemoryLayout.PathElement.groupElement(name));
            assertNotEquals(0L, api.get(ValueLayout.ADDRESS, offset).address(), name + " was not filled");
        }
    }

    @Test
    void pathModelMatchesTheJavaApiTokenForToken() throws Exception {
        Path stories = Fixtures.require("models/stories260K.gguf");
        MemorySegment model = openModel(stories, MemorySegment.NULL);
        MemorySegment info = arena.allocate(si_model_info.layout());
        ok(si_api.model_info.invoke(si_api.model_info(api), model, info));
        assertEquals(512, si_model_info.vocab_size(info));
        assertEquals(5, si_model_info.layer_count(info));
        assertEquals(64, si_model_info.embedding_length(info));
        assertEquals(1, si_model_info.bos_token(info));
        assertEquals(2, si_model_info.eos_token(info));

        assertArrayEquals(new int[] {1, 403, 407, 261, 378}, tokenize(model, "Once upon a time"));
        MemorySegment count = arena.allocate(ValueLayout.JAVA_LONG);
        MemorySegment text = arena.allocateFrom("Hello world");
        fails(SI_ERR_BUFFER_TOO_SMALL(), si_api.tokenize.invoke(si_api.tokenize(api), model, text, 11,
                SI_TOKENIZE_ADD_BOS(), MemorySegment.NULL, 0, count), "7 tokens");
        assertEquals(7, count.get(ValueLayout.JAVA_LONG, 0), "the size query reports the count needed");

        MemorySegment session = newSession(model);
        MemorySegment logits = arena.allocate(ValueLayout.JAVA_FLOAT, 512);
        ok(si_api.evaluate.invoke(si_api.evaluate(api), session, arena.allocateFrom(ValueLayout.JAVA_INT, 1), 1, logits, 512));
        try (LanguageModel m = LanguageModel.open(stories, ModelOptions.defaults()); Session s = m.newSession()) {
            assertArrayEquals(s.evaluate(1).toArray(), logits.toArray(ValueLayout.JAVA_FLOAT), "logits written into host memory");
        }
        ok(si_api.reset_session.invoke(si_api.reset_session(api), session));

        Generated g = generate(session, new int[] {1}, 60, Integer.MAX_VALUE);
        assertArrayEquals(javaGreedy(stories, new int[] {1}, 60), g.tokens());
        assertEquals(60, g.count());
        assertTrue(g.text().startsWith("Once upon a time, there was a little girl named Lily."), g.text());

        MemorySegment len = arena.allocate(ValueLayout.JAVA_LONG);
        MemorySegment buf = arena.allocate(1024);
        ok(si_api.detokenize.invoke(si_api.detokenize(api), model, arena.allocateFrom(ValueLayout.JAVA_INT, g.tokens()),
                g.tokens().length, buf, 1024, len));
        assertEquals(g.text(), new String(buf.asSlice(0, len.get(ValueLayout.JAVA_LONG, 0)).toArray(ValueLayout.JAVA_BYTE),
                StandardCharsets.UTF_8));

        si_api.free_session.invoke(si_api.free_session(api), session);
        si_api.free_model.invoke(si_api.free_model(api), model);
    }

    @Test
    void modelFromHostMemoryGeneratesTheSameTokens() throws Exception {
        Path stories = Fixtures.require("models/stories260K.gguf");
        Arena host = Arena.ofShared(); // stands for the host's own mmap
        MemorySegment bytes;
        try (FileChannel ch = FileChannel.open(stories, StandardOpenOption.READ)) {
            bytes = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), host);
        }
        MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
        ok(si_api.open_model_from_memory.invoke(si_api.open_model_from_memory(api), bytes, bytes.byteSize(),
                arena.allocateFrom("stories-in-memory"), MemorySegment.NULL, out));
        MemorySegment model = out.get(ValueLayout.ADDRESS, 0);
        MemorySegment session = newSession(model);
        assertArrayEquals(javaGreedy(stories, new int[] {1, 403}, 30), generate(session, new int[] {1, 403}, 30, 1000).tokens());
        si_api.free_model.invoke(si_api.free_model(api), model); // frees the session too
        fails(SI_ERR_INVALID_HANDLE(), si_api.reset_session.invoke(si_api.reset_session(api), session), "freed");
        host.close(); // only now may the host unmap

        MemorySegment junk = arena.allocate(64);
        fails(SI_ERR_FORMAT(), si_api.open_model_from_memory.invoke(si_api.open_model_from_memory(api), junk, 64,
                arena.allocateFrom("junk"), MemorySegment.NULL, out), "junk");
    }

    @Test
    void aNonzeroCallbackReturnStopsGeneration() {
        MemorySegment model = openModel(Fixtures.require("models/stories260K.gguf"), MemorySegment.NULL);
        MemorySegment session = newSession(model);
        Generated g = generate(session, new int[] {1}, 100, 5);
        assertEquals(5, g.tokens().length);
        assertEquals(5, g.count());
        si_api.free_model.invoke(si_api.free_model(api), model);
    }

    @Test
    void samplersAreGreedyAtZeroTemperatureAndRepeatableWithASeed() {
        MemorySegment model = openModel(Fixtures.require("models/stories260K.gguf"), MemorySegment.NULL);
        MemorySegment session = newSession(model);
        MemorySegment logits = arena.allocate(ValueLayout.JAVA_FLOAT, 512);
        ok(si_api.evaluate.invoke(si_api.evaluate(api), session, arena.allocateFrom(ValueLayout.JAVA_INT, 1), 1, logits, 512));
        MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
        MemorySegment token = arena.allocate(ValueLayout.JAVA_INT);

        MemorySegment zeroed = arena.allocate(si_sampler_params.layout()); // all zero: greedy, filters off
        ok(si_api.new_sampler.invoke(si_api.new_sampler(api), model, zeroed, out));
        MemorySegment greedy = out.get(ValueLayout.ADDRESS, 0);
        ok(si_api.sample.invoke(si_api.sample(api), greedy, logits, 512, token));
        assertEquals(403, token.get(ValueLayout.JAVA_INT, 0));
        fails(SI_ERR_INVALID_ARGUMENT(), si_api.sample.invoke(si_api.sample(api), greedy, logits, 511, token), "511");

        MemorySegment params = arena.allocate(si_sampler_params.layout());
        si_sampler_params.temperature(params, 1.5f);
        si_sampler_params.seed(params, 7);
        int[][] draws = new int[2][20];
        for (int[] draw : draws) {
            ok(si_api.new_sampler.invoke(si_api.new_sampler(api), model, params, out));
            MemorySegment sampler = out.get(ValueLayout.ADDRESS, 0);
            ok(si_api.sampler_accept.invoke(si_api.sampler_accept(api), sampler, arena.allocateFrom(ValueLayout.JAVA_INT, 1), 1));
            for (int i = 0; i < draw.length; i++) {
                ok(si_api.sample.invoke(si_api.sample(api), sampler, logits, 512, token));
                draw[i] = token.get(ValueLayout.JAVA_INT, 0);
            }
            si_api.free_sampler.invoke(si_api.free_sampler(api), sampler);
        }
        assertArrayEquals(draws[0], draws[1], "same seed, same tokens");
        assertTrue(Arrays.stream(draws[0]).distinct().count() > 1, "temperature 1.5 should not always pick one token");
        si_api.free_model.invoke(si_api.free_model(api), model);
    }

    @Test
    void badCallsReturnStatusesAndMessagesInsteadOfCrashing() {
        MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
        fails(SI_ERR_IO(), si_api.open_model.invoke(si_api.open_model(api), arena.allocateFrom("/no/such/model.gguf"),
                MemorySegment.NULL, out), "no such file");
        fails(SI_ERR_INVALID_ARGUMENT(), si_api.open_model.invoke(si_api.open_model(api), MemorySegment.NULL,
                MemorySegment.NULL, out), "path is NULL");

        MemorySegment options = arena.allocate(si_model_options.layout());
        fails(SI_ERR_INVALID_ARGUMENT(), si_api.open_model.invoke(si_api.open_model(api),
                arena.allocateFrom(Fixtures.require("models/stories260K.gguf").toString()), options, out), "struct_size");
        si_model_options.struct_size(options, (int) si_model_options.sizeof());
        si_model_options.context_length(options, 8);
        si_model_options.threads(options, 1);
        MemorySegment model = openModel(Fixtures.require("models/stories260K.gguf"), options);
        MemorySegment session = newSession(model);

        MemorySegment nine = arena.allocateFrom(ValueLayout.JAVA_INT, 1, 2, 3, 4, 5, 6, 7, 8, 9);
        MemorySegment logits = arena.allocate(ValueLayout.JAVA_FLOAT, 512);
        var evaluate = si_api.evaluate(api);
        fails(SI_ERR_CONTEXT_FULL(), si_api.evaluate.invoke(evaluate, session, nine, 9, logits, 512), "8 positions");
        fails(SI_ERR_BUFFER_TOO_SMALL(), si_api.evaluate.invoke(evaluate, session, nine, 1, logits, 100), "512");
        fails(SI_ERR_INVALID_ARGUMENT(), si_api.evaluate.invoke(evaluate, session,
                arena.allocateFrom(ValueLayout.JAVA_INT, 512), 1, logits, 512), "outside the vocabulary");
        fails(SI_ERR_INVALID_ARGUMENT(), si_api.evaluate.invoke(evaluate, session, MemorySegment.NULL, 1, logits, 512), "NULL");
        fails(SI_ERR_INVALID_ARGUMENT(), si_api.evaluate.invoke(evaluate, session, nine, -1L, logits, 512), "too large");
        fails(SI_ERR_INVALID_HANDLE(), si_api.evaluate.invoke(evaluate, model, nine, 1, logits, 512), "a model handle");
        fails(SI_ERR_INVALID_HANDLE(), si_api.evaluate.invoke(evaluate, MemorySegment.ofAddress(0x1234), nine, 1, logits, 512),
                "never issued");
        ok(si_api.evaluate.invoke(evaluate, session, nine, 8, MemorySegment.NULL, 0));

        byte[] invalidUtf8 = {(byte) 0xC3, (byte) 0x28};
        MemorySegment count = arena.allocate(ValueLayout.JAVA_LONG);
        fails(SI_ERR_INVALID_ARGUMENT(), si_api.tokenize.invoke(si_api.tokenize(api), model,
                arena.allocateFrom(ValueLayout.JAVA_BYTE, invalidUtf8), 2, 0, MemorySegment.NULL, 0, count), "UTF-8");
        fails(SI_ERR_INVALID_ARGUMENT(), si_api.tokenize.invoke(si_api.tokenize(api), model,
                arena.allocateFrom("x"), 1, 64, MemorySegment.NULL, 0, count), "flags");

        si_api.free_session.invoke(si_api.free_session(api), session);
        fails(SI_ERR_INVALID_HANDLE(), si_api.reset_session.invoke(si_api.reset_session(api), session), "freed");
        si_api.free_session.invoke(si_api.free_session(api), session); // a double free is reported, not fatal
        assertTrue(lastError().contains("freed"), lastError());
        si_api.free_session.invoke(si_api.free_session(api), MemorySegment.NULL); // NULL is ignored
        si_api.free_model.invoke(si_api.free_model(api), model);
    }
}
