package io.ruvector.sparse.ffi;

import io.ruvector.sparse.ffi.capi.si_api;
import io.ruvector.sparse.ffi.capi.si_model_info;
import io.ruvector.sparse.ffi.capi.si_model_options;
import io.ruvector.sparse.ffi.capi.si_sampler_params;
import io.ruvector.sparse.ffi.capi.si_token_callback;
import io.ruvector.sparse.generation.Cancellation;
import io.ruvector.sparse.generation.GenerationOptions;
import io.ruvector.sparse.generation.GenerationResult;
import io.ruvector.sparse.generation.Generator;
import io.ruvector.sparse.generation.TokenListener;
import io.ruvector.sparse.gguf.GgufFile;
import io.ruvector.sparse.gguf.GgufFormatException;
import io.ruvector.sparse.model.LanguageModel;
import io.ruvector.sparse.model.Logits;
import io.ruvector.sparse.model.ModelConfig;
import io.ruvector.sparse.model.ModelOptions;
import io.ruvector.sparse.model.Session;
import io.ruvector.sparse.sampling.Sampler;
import io.ruvector.sparse.sampling.SamplerConfig;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

import static io.ruvector.sparse.ffi.capi.SparseInfer.SI_ERR_ABI_MISMATCH;
import static io.ruvector.sparse.ffi.capi.SparseInfer.SI_ERR_BUFFER_TOO_SMALL;
import static io.ruvector.sparse.ffi.capi.SparseInfer.SI_ERR_CONTEXT_FULL;
import static io.ruvector.sparse.ffi.capi.SparseInfer.SI_ERR_FORMAT;
import static io.ruvector.sparse.ffi.capi.SparseInfer.SI_ERR_INTERNAL;
import static io.ruvector.sparse.ffi.capi.SparseInfer.SI_ERR_INVALID_ARGUMENT;
import static io.ruvector.sparse.ffi.capi.SparseInfer.SI_ERR_INVALID_HANDLE;
import static io.ruvector.sparse.ffi.capi.SparseInfer.SI_ERR_IO;
import static io.ruvector.sparse.ffi.capi.SparseInfer.SI_OK;
import static io.ruvector.sparse.ffi.capi.SparseInfer.SI_TOKENIZE_ADD_BOS;
import static io.ruvector.sparse.ffi.capi.SparseInfer.SI_TOKENIZE_PARSE_SPECIAL;
import static io.ruvector.sparse.ffi.capi.SparseInfer.SPARSE_INFER_ABI_VERSION;

/**
 * The engine's side of the C ABI in {@code native/include/sparse_infer.h}.
 *
 * <p>A C host calls {@link #install(long)} once through JNI with the address of its {@code si_api} table;
 * this fills the table with {@code Linker.upcallStub} entry points (made by the jextract-generated
 * {@code si_api.*.allocate}), after which the host calls plain C function pointers and JNI is no longer
 * involved. Each entry point below catches every exception, turns it into a status code and the thread's
 * last-error message, and never lets one unwind into C (which would end the process).
 *
 * <p>Host memory reaches Java as {@link MemorySegment}s sized with {@code reinterpret} to exactly what the
 * call's arguments say. Memory a model is read from ({@code open_model_from_memory}) is reinterpreted into
 * an arena that {@code free_model} closes: the host decides its lifetime, and Java cannot touch it after.
 */
public final class NativeApi {

    private static final Handles HANDLES = new Handles();

    private NativeApi() {}

    /**
     * The bootstrap, called once by the host through JNI ({@code (J)I}): fills the {@code si_api} table at
     * {@code tableAddress}. The host has set {@code abi_version} and {@code struct_size}; a table from
     * another ABI version, or one too small, is left untouched.
     *
     * @return {@code SI_OK}, {@code SI_ERR_ABI_MISMATCH} or {@code SI_ERR_INVALID_ARGUMENT} (address 0)
     */
    public static int install(long tableAddress) {
        try {
            if (tableAddress == 0) return SI_ERR_INVALID_ARGUMENT();
            MemorySegment head = MemorySegment.ofAddress(tableAddress).reinterpret(8);
            int abi = head.get(ValueLayout.JAVA_INT_UNALIGNED, 0);
            long size = Integer.toUnsignedLong(head.get(ValueLayout.JAVA_INT_UNALIGNED, 4));
            if (abi != SPARSE_INFER_ABI_VERSION() || size < si_api.sizeof()) return SI_ERR_ABI_MISMATCH();
            Table.fill(MemorySegment.ofAddress(tableAddress).reinterpret(si_api.sizeof()));
            return SI_OK();
        } catch (Throwable t) {
            LastError.set("install failed: " + t);
            return SI_ERR_INTERNAL();
        }
    }

    /** The upcall stubs, made once for the life of the JVM and shared by every table installed. */
    private static final class Table {
        static final Arena ARENA = Arena.global();
        static final MemorySegment VERSION = ARENA.allocateFrom("ruvector-sparse-inference " + version());
        static final MemorySegment LAST_ERROR = si_api.last_error.allocate(NativeApi::lastError, ARENA);
        static final MemorySegment OPEN_MODEL = si_api.open_model.allocate(NativeApi::openModel, ARENA);
        static final MemorySegment OPEN_FROM_MEMORY =
                si_api.open_model_from_memory.allocate(NativeApi::openModelFromMemory, ARENA);
        static final MemorySegment MODEL_INFO = si_api.model_info.allocate(NativeApi::modelInfo, ARENA);
        static final MemorySegment FREE_MODEL = si_api.free_model.allocate(NativeApi::freeModel, ARENA);
        static final MemorySegment NEW_SESSION = si_api.new_session.allocate(NativeApi::newSession, ARENA);
        static final MemorySegment RESET_SESSION = si_api.reset_session.allocate(NativeApi::resetSession, ARENA);
        static final MemorySegment FREE_SESSION = si_api.free_session.allocate(NativeApi::freeSession, ARENA);
        static final MemorySegment TOKENIZE = si_api.tokenize.allocate(NativeApi::tokenize, ARENA);
        static final MemorySegment DETOKENIZE = si_api.detokenize.allocate(NativeApi::detokenize, ARENA);
        static final MemorySegment EVALUATE = si_api.evaluate.allocate(NativeApi::evaluate, ARENA);
        static final MemorySegment NEW_SAMPLER = si_api.new_sampler.allocate(NativeApi::newSampler, ARENA);
        static final MemorySegment SAMPLER_ACCEPT = si_api.sampler_accept.allocate(NativeApi::samplerAccept, ARENA);
        static final MemorySegment SAMPLE = si_api.sample.allocate(NativeApi::sample, ARENA);
        static final MemorySegment FREE_SAMPLER = si_api.free_sampler.allocate(NativeApi::freeSampler, ARENA);
        static final MemorySegment GENERATE = si_api.generate.allocate(NativeApi::generate, ARENA);
        static final MemorySegment CANCEL = si_api.cancel.allocate(NativeApi::cancel, ARENA);

        static void fill(MemorySegment t) {
            si_api.engine_version(t, VERSION);
            si_api.last_error(t, LAST_ERROR);
            si_api.open_model(t, OPEN_MODEL);
            si_api.open_model_from_memory(t, OPEN_FROM_MEMORY);
            si_api.model_info(t, MODEL_INFO);
            si_api.free_model(t, FREE_MODEL);
            si_api.new_session(t, NEW_SESSION);
            si_api.reset_session(t, RESET_SESSION);
            si_api.free_session(t, FREE_SESSION);
            si_api.tokenize(t, TOKENIZE);
            si_api.detokenize(t, DETOKENIZE);
            si_api.evaluate(t, EVALUATE);
            si_api.new_sampler(t, NEW_SAMPLER);
            si_api.sampler_accept(t, SAMPLER_ACCEPT);
            si_api.sample(t, SAMPLE);
            si_api.free_sampler(t, FREE_SAMPLER);
            si_api.generate(t, GENERATE);
            si_api.cancel(t, CANCEL);
        }

        private static String version() {
            String v = NativeApi.class.getPackage().getImplementationVersion();
            return v != null ? v : "dev";
        }
    }

    // ---- entry points, in the order of si_api

    private static MemorySegment lastError() { return LastError.get(); }

    private static int openModel(MemorySegment path, MemorySegment options, MemorySegment outModel) {
        try {
            MemorySegment out = requireOut(outModel, "out_model");
            String file = cString(require(path, "path"));
            LanguageModel model = LanguageModel.open(Path.of(file), modelOptions(options));
            return register(model, null, out);
        } catch (Throwable t) {
            return fail(t, SI_ERR_FORMAT(), path.address() == 0 ? null : cString(path));
        }
    }

    private static int openModelFromMemory(MemorySegment data, long size, MemorySegment name, MemorySegment options,
                                           MemorySegment outModel) {
        Arena hostMemory = null;
        String label = "host memory";
        try {
            MemorySegment out = requireOut(outModel, "out_model");
            require(data, "data");
            if (size <= 0) throw invalid("size must be > 0, not " + Long.toUnsignedString(size));
            ModelOptions modelOptions = modelOptions(options);
            if (name.address() != 0) label = cString(name);
            hostMemory = Arena.ofShared();
            MemorySegment bytes = data.reinterpret(size, hostMemory, null);
            LanguageModel model = LanguageModel.open(GgufFile.fromSegment(bytes, label), modelOptions);
            return register(model, hostMemory, out);
        } catch (Throwable t) {
            if (hostMemory != null) hostMemory.close();
            return fail(t, SI_ERR_FORMAT(), label);
        }
    }

    private static int register(LanguageModel model, Arena hostMemory, MemorySegment outModel) {
        try {
            NativeModel m = new NativeModel(model, model.tokenizer(), hostMemory);
            outModel.set(ValueLayout.ADDRESS_UNALIGNED, 0, HANDLES.add(m));
            return SI_OK();
        } catch (RuntimeException | Error e) {
            model.close();
            throw e;
        }
    }

    private static int modelInfo(MemorySegment modelHandle, MemorySegment outInfo) {
        try {
            NativeModel m = HANDLES.get(modelHandle, NativeModel.class, "model");
            MemorySegment info = requireOut(outInfo, "out_info").reinterpret(si_model_info.sizeof());
            ModelConfig c = m.model.config();
            si_model_info.vocab_size(info, c.vocabSize());
            si_model_info.context_length(info, m.model.sessionContextLength());
            si_model_info.embedding_length(info, c.dim());
            si_model_info.layer_count(info, c.layers());
            si_model_info.bos_token(info, m.tokenizer.bosId());
            si_model_info.eos_token(info, m.tokenizer.eosId());
            return SI_OK();
        } catch (Throwable t) {
            return fail(t, SI_ERR_INVALID_ARGUMENT());
        }
    }

    private static void freeModel(MemorySegment modelHandle) {
        try {
            NativeModel m = HANDLES.remove(modelHandle, NativeModel.class, "model");
            if (m == null) return;
            for (NativeSession s : m.sessions) HANDLES.forget(s);
            m.close();
        } catch (Throwable t) {
            fail(t, SI_ERR_INVALID_ARGUMENT());
        }
    }

    private static int newSession(MemorySegment modelHandle, MemorySegment outSession) {
        try {
            NativeModel m = HANDLES.get(modelHandle, NativeModel.class, "model");
            MemorySegment out = requireOut(outSession, "out_session");
            NativeSession s = new NativeSession(m, m.model.newSession());
            m.sessions.add(s);
            out.set(ValueLayout.ADDRESS_UNALIGNED, 0, HANDLES.add(s));
            return SI_OK();
        } catch (Throwable t) {
            return fail(t, SI_ERR_INVALID_ARGUMENT());
        }
    }

    private static int resetSession(MemorySegment sessionHandle) {
        try {
            HANDLES.get(sessionHandle, NativeSession.class, "session").session.reset();
            return SI_OK();
        } catch (Throwable t) {
            return fail(t, SI_ERR_INVALID_ARGUMENT());
        }
    }

    private static void freeSession(MemorySegment sessionHandle) {
        try {
            NativeSession s = HANDLES.remove(sessionHandle, NativeSession.class, "session");
            if (s == null) return;
            s.owner.sessions.remove(s);
            s.session.close();
        } catch (Throwable t) {
            fail(t, SI_ERR_INVALID_ARGUMENT());
        }
    }

    private static int tokenize(MemorySegment modelHandle, MemorySegment text, long textLength, int flags,
                                MemorySegment tokens, long capacity, MemorySegment outCount) {
        try {
            NativeModel m = HANDLES.get(modelHandle, NativeModel.class, "model");
            MemorySegment out = requireOut(outCount, "out_count");
            int known = SI_TOKENIZE_ADD_BOS() | SI_TOKENIZE_PARSE_SPECIAL();
            if ((flags & ~known) != 0) throw invalid("unknown tokenize flags 0x" + Integer.toHexString(flags & ~known));
            int[] ids = m.tokenizer.encode(utf8(text, textLength, "text"), (flags & SI_TOKENIZE_ADD_BOS()) != 0,
                    (flags & SI_TOKENIZE_PARSE_SPECIAL()) != 0);
            out.set(ValueLayout.JAVA_LONG_UNALIGNED, 0, ids.length);
            if (Long.compareUnsigned(ids.length, capacity) > 0 || (ids.length > 0 && tokens.address() == 0)) {
                throw new ApiException(SI_ERR_BUFFER_TOO_SMALL(), "the text is " + ids.length + " tokens; tokens holds "
                        + (tokens.address() == 0 ? 0 : capacity));
            }
            if (ids.length > 0) {
                MemorySegment.copy(ids, 0, tokens.reinterpret(ids.length * 4L), ValueLayout.JAVA_INT_UNALIGNED, 0, ids.length);
            }
            return SI_OK();
        } catch (Throwable t) {
            return fail(t, SI_ERR_INVALID_ARGUMENT());
        }
    }

    private static int detokenize(MemorySegment modelHandle, MemorySegment tokens, long count, MemorySegment text,
                                  long capacity, MemorySegment outLength) {
        try {
            NativeModel m = HANDLES.get(modelHandle, NativeModel.class, "model");
            MemorySegment out = requireOut(outLength, "out_len");
            byte[] utf8 = m.tokenizer.decode(tokenArray(tokens, count, "tokens")).getBytes(StandardCharsets.UTF_8);
            out.set(ValueLayout.JAVA_LONG_UNALIGNED, 0, utf8.length);
            if (Long.compareUnsigned(utf8.length, capacity) > 0 || (utf8.length > 0 && text.address() == 0)) {
                throw new ApiException(SI_ERR_BUFFER_TOO_SMALL(), "the text is " + utf8.length + " bytes; text holds "
                        + (text.address() == 0 ? 0 : capacity));
            }
            if (utf8.length > 0) MemorySegment.copy(utf8, 0, text.reinterpret(utf8.length), ValueLayout.JAVA_BYTE, 0, utf8.length);
            return SI_OK();
        } catch (Throwable t) {
            return fail(t, SI_ERR_INVALID_ARGUMENT());
        }
    }

    private static int evaluate(MemorySegment sessionHandle, MemorySegment tokens, long count, MemorySegment logits,
                                long capacity) {
        try {
            NativeSession s = HANDLES.get(sessionHandle, NativeSession.class, "session");
            int[] ids = tokenArray(tokens, count, "tokens");
            if (ids.length == 0) throw invalid("no tokens to evaluate");
            int vocab = s.vocabSize();
            if (logits.address() != 0 && Long.compareUnsigned(capacity, vocab) < 0) {
                throw new ApiException(SI_ERR_BUFFER_TOO_SMALL(), "logits holds " + capacity
                        + " floats; the vocabulary has " + vocab);
            }
            requireRoom(s.session, ids.length);
            Logits out = s.session.evaluate(ids);
            if (logits.address() != 0) {
                // Straight into the host's buffer: no intermediate array.
                MemorySegment dst = logits.reinterpret(vocab * 4L);
                for (int i = 0; i < vocab; i++) dst.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, out.get(i));
            }
            return SI_OK();
        } catch (Throwable t) {
            return fail(t, SI_ERR_INVALID_ARGUMENT());
        }
    }

    private static int newSampler(MemorySegment modelHandle, MemorySegment params, MemorySegment outSampler) {
        try {
            NativeModel m = HANDLES.get(modelHandle, NativeModel.class, "model");
            MemorySegment out = requireOut(outSampler, "out_sampler");
            Sampler sampler = new Sampler(samplerConfig(params), m.model.config().vocabSize());
            out.set(ValueLayout.ADDRESS_UNALIGNED, 0, HANDLES.add(new NativeSampler(sampler)));
            return SI_OK();
        } catch (Throwable t) {
            return fail(t, SI_ERR_INVALID_ARGUMENT());
        }
    }

    private static int samplerAccept(MemorySegment samplerHandle, MemorySegment tokens, long count) {
        try {
            NativeSampler s = HANDLES.get(samplerHandle, NativeSampler.class, "sampler");
            int[] ids = tokenArray(tokens, count, "tokens");
            for (int id : ids) checkToken(id, s.logits.length);
            for (int id : ids) s.sampler.accept(id);
            return SI_OK();
        } catch (Throwable t) {
            return fail(t, SI_ERR_INVALID_ARGUMENT());
        }
    }

    private static int sample(MemorySegment samplerHandle, MemorySegment logits, long count, MemorySegment outToken) {
        try {
            NativeSampler s = HANDLES.get(samplerHandle, NativeSampler.class, "sampler");
            MemorySegment out = requireOut(outToken, "out_token");
            require(logits, "logits");
            if (count != s.logits.length) {
                throw invalid("count is " + Long.toUnsignedString(count) + " but the vocabulary has " + s.logits.length);
            }
            MemorySegment.copy(logits.reinterpret(count * 4), ValueLayout.JAVA_FLOAT_UNALIGNED, 0, s.logits, 0, s.logits.length);
            int token = s.sampler.sample(s.logits);
            s.sampler.accept(token);
            out.set(ValueLayout.JAVA_INT_UNALIGNED, 0, token);
            return SI_OK();
        } catch (Throwable t) {
            return fail(t, SI_ERR_INVALID_ARGUMENT());
        }
    }

    private static void freeSampler(MemorySegment samplerHandle) {
        try {
            HANDLES.remove(samplerHandle, NativeSampler.class, "sampler");
        } catch (Throwable t) {
            fail(t, SI_ERR_INVALID_ARGUMENT());
        }
    }

    private static int generate(MemorySegment sessionHandle, MemorySegment prompt, long promptLength, int maxTokens,
                                MemorySegment params, MemorySegment onToken, MemorySegment userData,
                                MemorySegment outGenerated) {
        try {
            NativeSession s = HANDLES.get(sessionHandle, NativeSession.class, "session");
            int[] ids = tokenArray(prompt, promptLength, "prompt");
            if (ids.length == 0) throw invalid("the prompt is empty: pass at least one token (e.g. BOS)");
            if (maxTokens < 1) throw invalid("max_tokens must be >= 1, not " + maxTokens);
            requireRoom(s.session, ids.length);
            GenerationOptions options = GenerationOptions.of(samplerConfig(params), maxTokens);
            Cancellation cancellation = new Cancellation();
            s.running = cancellation;
            try (Arena callArena = Arena.ofConfined()) {
                TokenListener listener = onToken.address() == 0 ? TokenListener.NONE
                        : new HostCallback(onToken, userData, callArena, cancellation);
                GenerationResult r = Generator.of(s.session, s.owner.tokenizer).generate(ids, options, listener, cancellation);
                long generated = listener instanceof HostCallback h ? h.delivered : r.generatedTokens();
                if (outGenerated.address() != 0) outGenerated.reinterpret(8).set(ValueLayout.JAVA_LONG_UNALIGNED, 0, generated);
            } finally {
                s.running = null;
            }
            return SI_OK();
        } catch (Throwable t) {
            return fail(t, SI_ERR_INVALID_ARGUMENT());
        }
    }

    private static int cancel(MemorySegment sessionHandle) {
        try {
            Cancellation running = HANDLES.get(sessionHandle, NativeSession.class, "session").running;
            if (running != null) running.cancel();
            return SI_OK();
        } catch (Throwable t) {
            return fail(t, SI_ERR_INVALID_ARGUMENT());
        }
    }

    /**
     * Delivers each generated token to the host's si_token_callback. A nonzero return cancels, and no token
     * reaches the host after that one (the generator may already have chosen the next).
     */
    private static final class HostCallback implements TokenListener {
        private final MemorySegment function;
        private final MemorySegment userData;
        private final Arena arena;
        private final Cancellation cancellation;
        private MemorySegment piece;
        private boolean stopped;
        long delivered;

        HostCallback(MemorySegment function, MemorySegment userData, Arena arena, Cancellation cancellation) {
            this.function = function;
            this.userData = userData;
            this.arena = arena;
            this.cancellation = cancellation;
            this.piece = arena.allocate(64);
        }

        @Override
        public void onToken(int token, String text) {
            if (stopped) return;
            delivered++;
            byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
            if (utf8.length > piece.byteSize()) piece = arena.allocate(Math.max(utf8.length, 2 * piece.byteSize()));
            MemorySegment.copy(utf8, 0, piece, ValueLayout.JAVA_BYTE, 0, utf8.length);
            if (si_token_callback.invoke(function, userData, token, piece, utf8.length) != 0) {
                stopped = true;
                cancellation.cancel();
            }
        }
    }

    // ---- argument conversion

    private static ApiException invalid(String message) {
        return new ApiException(SI_ERR_INVALID_ARGUMENT(), message);
    }

    private static MemorySegment require(MemorySegment pointer, String name) {
        if (pointer.address() == 0) throw invalid(name + " is NULL");
        return pointer;
    }

    private static MemorySegment requireOut(MemorySegment pointer, String name) {
        return require(pointer, name).reinterpret(8);
    }

    private static String cString(MemorySegment pointer) {
        return pointer.reinterpret(Long.MAX_VALUE).getString(0, StandardCharsets.UTF_8);
    }

    /** length bytes of UTF-8 text (the pointer may be NULL when length is 0). */
    private static String utf8(MemorySegment pointer, long length, String name) {
        if (length == 0) return "";
        int n = arrayLength(length, 1, name);
        byte[] bytes = require(pointer, name).reinterpret(n).toArray(ValueLayout.JAVA_BYTE);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw invalid(name + " is not valid UTF-8");
        }
    }

    private static int[] tokenArray(MemorySegment pointer, long count, String name) {
        if (count == 0) return new int[0];
        int n = arrayLength(count, 4, name);
        return require(pointer, name).reinterpret(n * 4L).toArray(ValueLayout.JAVA_INT_UNALIGNED);
    }

    /** A size_t count as an array length (it arrives as a signed long: huge values are negative). */
    private static int arrayLength(long count, int elementBytes, String name) {
        if (count < 0 || count > Integer.MAX_VALUE / elementBytes) {
            throw invalid(name + ": a count of " + Long.toUnsignedString(count) + " is too large");
        }
        return (int) count;
    }

    private static void checkToken(int id, int vocab) {
        if (id < 0 || id >= vocab) throw invalid("token id " + id + " is outside the vocabulary [0, " + vocab + ")");
    }

    private static void requireRoom(Session session, int tokens) {
        int free = session.contextLength() - session.position();
        if (tokens > free) {
            throw new ApiException(SI_ERR_CONTEXT_FULL(), tokens + " tokens do not fit: " + free + " of "
                    + session.contextLength() + " positions are free");
        }
    }

    private static ModelOptions modelOptions(MemorySegment options) {
        ModelOptions o = ModelOptions.defaults();
        if (options.address() == 0) return o;
        MemorySegment s = options.reinterpret(si_model_options.sizeof());
        long size = Integer.toUnsignedLong(si_model_options.struct_size(s));
        if (size < si_model_options.sizeof()) {
            throw invalid("si_model_options.struct_size is " + size + ": set it to sizeof(si_model_options) = "
                    + si_model_options.sizeof());
        }
        int threads = si_model_options.threads(s), context = si_model_options.context_length(s);
        if (threads < 0) throw invalid("threads must be >= 0 (0 = default), not " + threads);
        if (context < 0) throw invalid("context_length must be >= 0 (0 = the model's), not " + context);
        int warmUp = si_model_options.warm_up_ms(s);
        if (warmUp < 0) throw invalid("warm_up_ms must be >= 0 (0 = none), not " + warmUp);
        if (threads > 0) o = o.withThreads(threads);
        if (context > 0) o = o.withContextLength(context);
        return o.withWarmUp(warmUp);
    }

    /** The sampler settings of a si_sampler_params (NULL: greedy). 0 means off for top_p and repeat_penalty. */
    private static SamplerConfig samplerConfig(MemorySegment params) {
        if (params.address() == 0) return SamplerConfig.greedy();
        MemorySegment p = params.reinterpret(si_sampler_params.sizeof());
        float topP = si_sampler_params.top_p(p), repeatPenalty = si_sampler_params.repeat_penalty(p);
        return new SamplerConfig(si_sampler_params.temperature(p), si_sampler_params.top_k(p),
                topP == 0f ? 1f : topP, si_sampler_params.min_p(p), repeatPenalty == 0f ? 1f : repeatPenalty,
                si_sampler_params.repeat_last_n(p), si_sampler_params.frequency_penalty(p),
                si_sampler_params.presence_penalty(p), si_sampler_params.seed(p));
    }

    /**
     * Records {@code t} as the thread's last error and returns its status. {@code argumentStatus} is what an
     * IllegalArgumentException means here: a bad argument, or (when opening) a model we cannot run.
     */
    private static int fail(Throwable t, int argumentStatus) { return fail(t, argumentStatus, null); }

    /** As {@link #fail(Throwable, int)}, with the message prefixed by {@code context} (e.g. the model's name). */
    private static int fail(Throwable t, int argumentStatus, String context) {
        int status;
        String message;
        switch (t) {
            case ApiException e -> { status = e.status(); message = e.getMessage(); }
            case GgufFormatException e -> { status = SI_ERR_FORMAT(); message = e.getMessage(); }
            case NoSuchFileException e -> { status = SI_ERR_IO(); message = "no such file"; }
            case IOException e -> { status = SI_ERR_IO(); message = e.toString(); }
            case UnsupportedOperationException e -> { status = SI_ERR_FORMAT(); message = e.getMessage(); }
            case IllegalArgumentException e -> { status = argumentStatus; message = e.getMessage(); }
            case IllegalStateException e when String.valueOf(e.getMessage()).contains("closed") -> {
                status = SI_ERR_INVALID_HANDLE(); message = e.getMessage();
            }
            default -> { status = SI_ERR_INTERNAL(); message = "internal error: " + t; }
        }
        LastError.set(context == null ? message : context + ": " + message);
        return status;
    }
}
