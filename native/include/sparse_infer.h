/*
 * sparse_infer.h - the C ABI of ruvector-sparse-inference, an LLM engine that runs inside a JVM.
 *
 * The engine lives in the JVM; this header is all a C or C++ host sees of it. The host starts a JVM
 * (JNI invocation API), zero-fills an si_api table, sets abi_version and struct_size, and makes ONE JNI
 * call to the bootstrap method named below with the table's address. The engine fills the table with
 * plain C function pointers (FFM upcall stubs). From then on the host calls those pointers directly:
 * no JNI per call, and any native thread may call them.
 *
 * Conventions
 *  - Every entry point that can fail returns an si_status; SI_OK is 0. On failure, last_error() returns
 *    a message for the calling thread.
 *  - Handles (si_model, si_session, si_sampler) are opaque. A freed or unknown handle is reported as
 *    SI_ERR_INVALID_HANDLE, never a crash.
 *  - Buffers cross as pointer + count. The engine writes results straight into host memory and never
 *    keeps a pointer to it after the call returns, except for open_model_from_memory (see there).
 *  - Calls on one session must not overlap; different sessions (also of one model) may run on
 *    different threads at once.
 *  - Strings are UTF-8. Text is passed as pointer + byte length (no terminator needed).
 *
 * The Java bindings in io.ruvector.sparse.ffi.capi are generated from this file by jextract (see
 * jextract/README.md); a test checks them against the prototypes here, so edit both together and bump
 * SPARSE_INFER_ABI_VERSION on any incompatible change.
 */
#ifndef SPARSE_INFER_H
#define SPARSE_INFER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version of this ABI. The engine refuses a table whose abi_version differs from its own. */
#define SPARSE_INFER_ABI_VERSION 1

/* The bootstrap: a static Java method, called once through JNI as
 *   jint status = env->CallStaticIntMethod(cls, mid, (jlong) (intptr_t) &api);
 * with cls = FindClass(SPARSE_INFER_BOOTSTRAP_CLASS) and
 * mid = GetStaticMethodID(cls, SPARSE_INFER_BOOTSTRAP_METHOD, SPARSE_INFER_BOOTSTRAP_SIGNATURE). */
#define SPARSE_INFER_BOOTSTRAP_CLASS "io/ruvector/sparse/ffi/NativeApi"
#define SPARSE_INFER_BOOTSTRAP_METHOD "install"
#define SPARSE_INFER_BOOTSTRAP_SIGNATURE "(J)I"

/* Status codes. */
typedef int32_t si_status;
#define SI_OK                    0
#define SI_ERR_INVALID_ARGUMENT  1 /* a null pointer, negative count, out-of-range token, ... */
#define SI_ERR_INVALID_HANDLE    2 /* a handle that was freed or never issued */
#define SI_ERR_IO                3 /* the model file could not be read */
#define SI_ERR_FORMAT            4 /* corrupt GGUF, or an architecture or tensor type not supported */
#define SI_ERR_BUFFER_TOO_SMALL  5 /* the required count is still written to the out_count argument */
#define SI_ERR_CONTEXT_FULL      6 /* the session's context length would be exceeded */
#define SI_ERR_ABI_MISMATCH      7 /* bootstrap: abi_version or struct_size do not match the engine */
#define SI_ERR_INTERNAL          8 /* a bug in the engine; last_error() says what */

/* Flags of tokenize. */
#define SI_TOKENIZE_ADD_BOS       1 /* prepend the model's BOS token when it has one */
#define SI_TOKENIZE_PARSE_SPECIAL 2 /* text such as <|im_start|> becomes that special token (trusted text only) */

/* Opaque handles. */
typedef struct si_model si_model;
typedef struct si_session si_session;
typedef struct si_sampler si_sampler;

/* Options for opening a model. Zero-fill, then set struct_size = sizeof(si_model_options). */
typedef struct si_model_options {
    uint32_t struct_size;
    int32_t threads;        /* worker threads for the matrix kernels; 0 = engine default */
    int32_t context_length; /* tokens per session; 0 = the model's own */
    int32_t warm_up_ms;     /* > 0: warm the kernels up on a background thread after open until compiled, for at most this long; the first evaluation waits for it (see ModelOptions.warmUpMillis); 0 = off */
} si_model_options;

/* Facts about an open model. */
typedef struct si_model_info {
    int32_t vocab_size;     /* length of every logits vector */
    int32_t context_length; /* tokens one session can hold */
    int32_t embedding_length;
    int32_t layer_count;
    int32_t bos_token;      /* -1 when the model has none */
    int32_t eos_token;      /* -1 when the model has none */
} si_model_info;

/* Sampling parameters, applied in llama.cpp's order: penalties, top-k, top-p, min-p, temperature.
 * temperature 0 means greedy (the most likely token, lowest id on ties). A zero-filled struct is greedy
 * decoding with every filter off: for top_p and repeat_penalty, 0 means off as 1 does. */
typedef struct si_sampler_params {
    float temperature;
    int32_t top_k;           /* 0 = off */
    float top_p;             /* 0 or 1 = off */
    float min_p;             /* 0 = off */
    float repeat_penalty;    /* 0 or 1 = off */
    int32_t repeat_last_n;   /* how many recent tokens the penalties look at; 0 = off */
    float frequency_penalty; /* 0 = off */
    float presence_penalty;  /* 0 = off */
    uint64_t seed;           /* same seed, same logits, same tokens */
} si_sampler_params;

/* Called by generate once per generated token, on the calling thread. piece/piece_len are the UTF-8
 * bytes that token completes (whole characters only, so possibly empty), valid during the call only.
 * Return 0 to continue, anything else to stop generating. */
typedef int32_t (*si_token_callback)(void *user_data, int32_t token, const char *piece, size_t piece_len);

/* The function table. The host zero-fills it and sets abi_version and struct_size; the bootstrap fills
 * engine_version and every function pointer. */
typedef struct si_api {
    uint32_t abi_version;  /* in: SPARSE_INFER_ABI_VERSION */
    uint32_t struct_size;  /* in: sizeof(si_api) */
    const char *engine_version; /* out: NUL-terminated, valid while the JVM runs */

    /* Message of the calling thread's last failure ("" when none); valid until that thread's next call. */
    const char *(*last_error)(void);

    /* Opens a GGUF model file. options may be NULL for defaults. */
    si_status (*open_model)(const char *path, const si_model_options *options, si_model **out_model);

    /* Opens a model from GGUF bytes the host already has in memory (e.g. its own mmap). The engine reads
     * them in place, without copying, so they must stay mapped and unchanged until free_model returns.
     * name is used in messages only and may be NULL. */
    si_status (*open_model_from_memory)(const void *data, uint64_t size, const char *name,
                                        const si_model_options *options, si_model **out_model);

    si_status (*model_info)(si_model *model, si_model_info *out_info);

    /* Frees the model and any of its sessions still open. NULL is ignored. */
    void (*free_model)(si_model *model);

    /* A session holds one conversation: its own KV cache and position. */
    si_status (*new_session)(si_model *model, si_session **out_session);

    /* Forgets the session's tokens (position back to 0). */
    si_status (*reset_session)(si_session *session);

    void (*free_session)(si_session *session);

    /* Text to token ids; flags is a combination of SI_TOKENIZE_*. When capacity is too small (tokens may
     * then be NULL), returns SI_ERR_BUFFER_TOO_SMALL and *out_count is the count needed. */
    si_status (*tokenize)(si_model *model, const char *text, size_t text_len, int32_t flags,
                          int32_t *tokens, size_t capacity, size_t *out_count);

    /* Token ids to UTF-8 text (not NUL-terminated). Buffer protocol as for tokenize. */
    si_status (*detokenize)(si_model *model, const int32_t *tokens, size_t count,
                            char *text, size_t capacity, size_t *out_len);

    /* Appends count tokens to the session and writes the logits after the last one straight into
     * logits[0 .. vocab_size). logits may be NULL to only extend the context; otherwise capacity must be
     * at least vocab_size. */
    si_status (*evaluate)(si_session *session, const int32_t *tokens, size_t count,
                          float *logits, size_t capacity);

    /* A sampler for the model's vocabulary; it keeps its random state and the recent tokens the
     * penalties look at. */
    si_status (*new_sampler)(si_model *model, const si_sampler_params *params, si_sampler **out_sampler);

    /* Records tokens fed to the model other than sampled ones (e.g. the prompt) for the penalties. */
    si_status (*sampler_accept)(si_sampler *sampler, const int32_t *tokens, size_t count);

    /* Picks the next token from logits (count must be vocab_size; they are not changed) and records it
     * for the penalties. */
    si_status (*sample)(si_sampler *sampler, const float *logits, size_t count, int32_t *out_token);

    void (*free_sampler)(si_sampler *sampler);

    /* Evaluates prompt (appended to the session), then samples and evaluates up to max_tokens tokens,
     * calling on_token for each; stops early at end-of-sequence, a full context, or when on_token returns
     * nonzero. params NULL means greedy. *out_generated is the number of tokens generated. */
    si_status (*generate)(si_session *session, const int32_t *prompt, size_t prompt_len, int32_t max_tokens,
                          const si_sampler_params *params, si_token_callback on_token, void *user_data,
                          size_t *out_generated);

    /* Makes a generate running on another thread stop after its current token. Safe from any thread. */
    si_status (*cancel)(si_session *session);
} si_api;

#ifdef __cplusplus
}
#endif

#endif /* SPARSE_INFER_H */
