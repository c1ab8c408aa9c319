// sparse_infer_host: a C++17 program that embeds the ruvector-sparse-inference engine.
//
// It starts a JVM in-process with the JNI invocation API, makes the one bootstrap call that fills an
// si_api table with plain C function pointers, and from then on uses only those pointers: it opens a
// model, tokenizes a prompt, generates greedily with a per-token callback, prints tokens/s and frees
// everything. See native/README.md.
//
// Build (from the repository root, after `mvn package` made target/sparse-infer-cli.jar), in one line:
//   g++ -std=c++17 -O2 -Wall -Inative/include -I"$JAVA_HOME/include" -I"$JAVA_HOME/include/linux" native/host/sparse_infer_host.cpp -o target/sparse-infer-host -ldl
// or with CMake: cmake -S native/host -B target/host-build && cmake --build target/host-build
//
// Run:
//   target/sparse-infer-host MODEL.gguf [--prompt TEXT] [-n TOKENS] [--threads N] [--warm-up MS] [--from-memory]
//                            [--class-path PATH] [--ids] [--no-jit-flags] [--jvm-option OPT]...
//
// The JVM gets the JIT flags ./sparse-infer gives the CLI (jit_flags() below; docs/cold-start.md):
// SPARSE_INFER_JIT_FLAGS replaces them (empty: the JVM's defaults), --no-jit-flags drops them, and each
// --jvm-option is passed after them.

#include "sparse_infer.h"

#include <jni.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
    std::string model;
    std::string prompt;
    std::string class_path;
    int tokens = 200;
    int threads = 0;
    int warm_up_ms = 0;
    bool from_memory = false;
    bool print_ids = false;
    bool jit_flags = true;
    std::vector<std::string> jvm_options;
};

[[noreturn]] void usage(const char *msg) {
    std::fprintf(stderr,
                 "sparse-infer-host: %s\n"
                 "usage: sparse-infer-host MODEL.gguf [--prompt TEXT] [-n TOKENS] [--threads N] [--warm-up MS] [--from-memory]\n"
                 "                         [--class-path PATH] [--ids] [--no-jit-flags] [--jvm-option OPT]...\n",
                 msg);
    std::exit(1);
}

Args parse_args(int argc, char **argv) {
    Args a;
    for (int i = 1; i < argc; i++) {
        std::string s = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage(("missing value after " + s).c_str());
            return argv[++i];
        };
        if (s == "--prompt" || s == "-p") a.prompt = value();
        else if (s == "-n" || s == "--tokens") a.tokens = std::atoi(value().c_str());
        else if (s == "--threads" || s == "-t") a.threads = std::atoi(value().c_str());
        else if (s == "--warm-up") a.warm_up_ms = std::atoi(value().c_str());
        else if (s == "--class-path" || s == "--jar") a.class_path = value();
        else if (s == "--from-memory") a.from_memory = true;
        else if (s == "--ids") a.print_ids = true;
        else if (s == "--no-jit-flags") a.jit_flags = false;
        else if (s == "--jvm-option") a.jvm_options.push_back(value());
        else if (!s.empty() && s[0] == '-') usage(("unknown option " + s).c_str());
        else if (a.model.empty()) a.model = s;
        else usage("more than one model given");
    }
    if (a.model.empty()) usage("no model given");
    if (a.tokens < 1) usage("-n must be at least 1");
    return a;
}

bool is_file(const std::string &p) {
    struct stat st;
    return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Feature release of the JDK at home, from its `release` file (JAVA_VERSION="25.0.3"), or 0.
int jdk_major(const std::string &home) {
    std::ifstream in(home + "/release");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("JAVA_VERSION=\"", 0) == 0) {
            std::string v = line.substr(14);
            if (v.rfind("1.", 0) == 0) v = v.substr(2);
            return std::atoi(v.c_str());
        }
    }
    return 0;
}

// The JDK to load, found as ./sparse-infer finds it: JAVA_HOME when it is new enough, else the newest
// JDK >= 25 under /usr/lib/jvm. Returns the path of its libjvm.so, or "".
std::string find_libjvm() {
    const int min_major = 25;
    auto libjvm = [](const std::string &home) { return home + "/lib/server/libjvm.so"; };
    if (const char *home = std::getenv("JAVA_HOME"); home && *home) {
        if (jdk_major(home) >= min_major && is_file(libjvm(home))) return libjvm(home);
    }
    std::string best;
    int best_major = 0;
    if (DIR *d = opendir("/usr/lib/jvm")) {
        while (dirent *e = readdir(d)) {
            if (e->d_name[0] == '.') continue;
            std::string home = std::string("/usr/lib/jvm/") + e->d_name;
            int m = jdk_major(home);
            if (m >= min_major && m > best_major && is_file(libjvm(home))) {
                best = libjvm(home);
                best_major = m;
            }
        }
        closedir(d);
    }
    return best;
}

// The engine's class path: --class-path, else $SPARSE_INFER_JAR, else sparse-infer-cli.jar beside this
// program (both live in target/), else target/sparse-infer-cli.jar under the current directory.
std::string find_class_path(const Args &a, const char *argv0) {
    if (!a.class_path.empty()) return a.class_path;
    if (const char *env = std::getenv("SPARSE_INFER_JAR"); env && *env) return env;
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    std::string exe = n > 0 ? std::string(self, static_cast<size_t>(n)) : std::string(argv0);
    std::string beside = exe.substr(0, exe.find_last_of('/') + 1) + "sparse-infer-cli.jar";
    if (is_file(beside)) return beside;
    return "target/sparse-infer-cli.jar";
}

// The compiler directive of src/main/launcher/compiler-directives.json (NativeHostTest checks the two say the
// same): C2 compiles no Vector API method on its own, only inlined into the kernels, where its calls are
// intrinsics; the API's Java fallbacks, hot while the kernels are not compiled yet, stay in C1 code.
constexpr const char *kCompilerDirectives = R"json([
  {
    match: ["jdk.incubator.vector.*::*", "jdk.internal.vm.vector.*::*"],
    c2: { Exclude: true }
  }
]
)json";

// The directives as a file the JVM can read while it starts (it reads -XX:CompilerDirectivesFile once, in
// JNI_CreateJavaVM): an anonymous memory file named by /proc/self/fd, so nothing is written to disk and
// nothing is left behind; else a temporary file, removed once the JVM has started. Holds the descriptor.
struct DirectivesFile {
    int fd = -1;
    std::string path;
    std::string temp;   // a temporary file to remove, when memfd_create was not available

    bool create() {
        fd = memfd_create("sparse-infer-compiler-directives", MFD_CLOEXEC);
        if (fd >= 0) {
            path = "/proc/self/fd/" + std::to_string(fd);
        } else {
            const char *dir = std::getenv("TMPDIR");
            temp = std::string(dir && *dir ? dir : "/tmp") + "/sparse-infer-directives-XXXXXX";
            fd = mkstemp(temp.data());
            if (fd < 0) return false;
            path = temp;
        }
        size_t len = std::strlen(kCompilerDirectives);
        bool ok = write(fd, kCompilerDirectives, len) == static_cast<ssize_t>(len);
        if (!ok) release();
        return ok;
    }
    void release() {
        if (fd >= 0) close(fd);
        if (!temp.empty()) unlink(temp.c_str());
        fd = -1;
        temp.clear();
    }
    ~DirectivesFile() { release(); }
};

// The CLI's JIT flags (./sparse-infer, docs/cold-start.md): a one-shot generation is over before the JIT's
// default thresholds have C2 compile the kernels, so the engine's methods compile after a tenth of the usual
// invocations, and C2 does not spend its time on the Vector API's fallbacks (the directive above). The JVM
// prints "1 compiler directives added" on stdout when it reads the file, where the generated text goes:
// -DisplayVMOutput keeps it off (warnings and errors still go to stderr). SPARSE_INFER_JIT_FLAGS replaces
// them all, split at spaces; set empty, the JVM keeps its defaults.
std::vector<std::string> jit_flags(const Args &a, DirectivesFile &directives) {
    std::vector<std::string> flags;
    if (!a.jit_flags) return flags;
    if (const char *env = std::getenv("SPARSE_INFER_JIT_FLAGS")) {
        std::istringstream words(env);
        for (std::string w; words >> w;) flags.push_back(w);
        return flags;
    }
    flags = {"-XX:+UnlockDiagnosticVMOptions", "-XX:CompileCommand=quiet",
             "-XX:CompileCommand=CompileThresholdScaling,io.ruvector.sparse.*::*,0.1", "-XX:-DisplayVMOutput"};
    if (directives.create()) {
        flags.push_back("-XX:CompilerDirectivesFile=" + directives.path);
    } else {
        std::fprintf(stderr, "sparse-infer-host: no file for the compiler directives (%s); going on without them\n",
                     std::strerror(errno));
    }
    return flags;
}

// Fails with the engine's own message for the calling thread.
void check(const si_api &api, si_status status, const char *what) {
    if (status == SI_OK) return;
    std::fprintf(stderr, "sparse-infer-host: %s failed (status %d): %s\n", what, static_cast<int>(status),
                 api.last_error());
    std::exit(2);
}

// What the per-token callback sees: where to collect ids, and when the first token came.
struct Stream {
    std::vector<int32_t> ids;
    Clock::time_point first;
    Clock::time_point last;
};

int32_t on_token(void *user_data, int32_t token, const char *piece, size_t piece_len) {
    auto *s = static_cast<Stream *>(user_data);
    s->last = Clock::now();
    if (s->ids.empty()) s->first = s->last;
    s->ids.push_back(token);
    std::fwrite(piece, 1, piece_len, stdout);
    std::fflush(stdout);
    return 0; // continue
}

// GGUF bytes the host maps itself, to show open_model_from_memory; unmapped after free_model.
struct Mapping {
    void *data = nullptr;
    size_t size = 0;
    ~Mapping() {
        if (data) munmap(data, size);
    }
};

}  // namespace

int main(int argc, char **argv) {
    auto program_start = Clock::now();
    Args args = parse_args(argc, argv);

    // 1. Start a JVM in this process.
    std::string libjvm_path = find_libjvm();
    if (libjvm_path.empty()) usage("no JDK >= 25 found (set JAVA_HOME)");
    std::string class_path = find_class_path(args, argv[0]);
    if (class_path.find(':') == std::string::npos && !is_file(class_path)) {
        usage(("engine jar " + class_path + " not found: run `mvn package`, or pass --class-path").c_str());
    }
    void *libjvm = dlopen(libjvm_path.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (!libjvm) usage(dlerror());
    using CreateJavaVM = jint (*)(JavaVM **, void **, void *);
    auto create_vm = reinterpret_cast<CreateJavaVM>(dlsym(libjvm, "JNI_CreateJavaVM"));
    if (!create_vm) usage("libjvm.so has no JNI_CreateJavaVM");

    DirectivesFile directives;
    std::vector<std::string> option_strings = {"-Djava.class.path=" + class_path, "--add-modules=jdk.incubator.vector",
                                               "--enable-native-access=ALL-UNNAMED"};
    for (std::string &flag : jit_flags(args, directives)) option_strings.push_back(flag);
    for (const std::string &opt : args.jvm_options) option_strings.push_back(opt);   // last: they win
    std::vector<JavaVMOption> options;
    for (std::string &opt : option_strings) options.push_back({opt.data(), nullptr});
    JavaVMInitArgs vm_args{};
    vm_args.version = JNI_VERSION_10;
    vm_args.nOptions = static_cast<jint>(options.size());
    vm_args.options = options.data();
    vm_args.ignoreUnrecognized = JNI_FALSE;
    JavaVM *vm = nullptr;
    JNIEnv *env = nullptr;
    if (create_vm(&vm, reinterpret_cast<void **>(&env), &vm_args) != JNI_OK) usage("JNI_CreateJavaVM failed");
    directives.release();   // read while the JVM started

    // 2. The one JNI call: the engine fills the table. Every later call is a plain function pointer.
    si_api api{};
    api.abi_version = SPARSE_INFER_ABI_VERSION;
    api.struct_size = sizeof(si_api);
    jclass bootstrap = env->FindClass(SPARSE_INFER_BOOTSTRAP_CLASS);
    jmethodID install = bootstrap ? env->GetStaticMethodID(bootstrap, SPARSE_INFER_BOOTSTRAP_METHOD,
                                                           SPARSE_INFER_BOOTSTRAP_SIGNATURE)
                                  : nullptr;
    if (!install) {
        env->ExceptionDescribe();
        usage("the jar has no " SPARSE_INFER_BOOTSTRAP_CLASS "." SPARSE_INFER_BOOTSTRAP_METHOD);
    }
    jint installed = env->CallStaticIntMethod(bootstrap, install, static_cast<jlong>(reinterpret_cast<intptr_t>(&api)));
    if (env->ExceptionCheck()) {
        env->ExceptionDescribe();
        usage("the bootstrap call threw");
    }
    if (installed != SI_OK) {
        std::fprintf(stderr, "sparse-infer-host: bootstrap refused the table (status %d)\n", static_cast<int>(installed));
        return 2;
    }
    std::fprintf(stderr, "engine %s, ABI %u\n", api.engine_version, api.abi_version);

    // 3. Open the model: from its path, or from memory this program mapped itself.
    si_model_options model_options{};
    model_options.struct_size = sizeof model_options;
    model_options.threads = args.threads;
    model_options.warm_up_ms = args.warm_up_ms;   // a one-shot host: let the JIT compile the kernels meanwhile
    si_model *model = nullptr;
    Mapping mapping;
    if (args.from_memory) {
        int fd = open(args.model.c_str(), O_RDONLY);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0) usage(("cannot open " + args.model).c_str());
        mapping.size = static_cast<size_t>(st.st_size);
        mapping.data = mmap(nullptr, mapping.size, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        if (mapping.data == MAP_FAILED) usage(("cannot map " + args.model).c_str());
        check(api, api.open_model_from_memory(mapping.data, mapping.size, args.model.c_str(), &model_options, &model),
              "open_model_from_memory");
    } else {
        check(api, api.open_model(args.model.c_str(), &model_options, &model), "open_model");
    }
    si_model_info info{};
    check(api, api.model_info(model, &info), "model_info");
    std::fprintf(stderr, "model: vocab %d, context %d, %d layers, embedding %d\n", info.vocab_size,
                 info.context_length, info.layer_count, info.embedding_length);

    // 4. Tokenize the prompt (BOS alone when it is empty), asking for the size first.
    size_t count = 0;
    si_status st = api.tokenize(model, args.prompt.data(), args.prompt.size(), SI_TOKENIZE_ADD_BOS, nullptr, 0, &count);
    if (st != SI_ERR_BUFFER_TOO_SMALL) check(api, st, "tokenize (size)");
    std::vector<int32_t> prompt(count);
    check(api, api.tokenize(model, args.prompt.data(), args.prompt.size(), SI_TOKENIZE_ADD_BOS, prompt.data(), prompt.size(), &count),
          "tokenize");

    // 5. Generate greedily, streaming each token's text from the callback.
    si_session *session = nullptr;
    check(api, api.new_session(model, &session), "new_session");
    si_sampler_params greedy{};
    greedy.temperature = 0.0f;
    greedy.top_p = 1.0f;
    greedy.repeat_penalty = 1.0f;
    Stream stream;
    size_t generated = 0;
    auto start = Clock::now();
    check(api, api.generate(session, prompt.data(), prompt.size(), args.tokens, &greedy, on_token, &stream, &generated),
          "generate");
    auto end = Clock::now();
    std::printf("\n");

    double total_s = std::chrono::duration<double>(end - start).count();
    double decode_s = std::chrono::duration<double>(stream.last - stream.first).count();
    std::fprintf(stderr, "%zu prompt tokens, %zu generated in %.3f s: %.1f tokens/s overall",
                 prompt.size(), generated, total_s, generated / total_s);
    if (generated > 1 && decode_s > 0) std::fprintf(stderr, ", %.1f tokens/s after the first", (generated - 1) / decode_s);
    std::fprintf(stderr, "\n");
    if (generated > 0) {
        std::fprintf(stderr, "first token %.3f s after the program started (%.3f s after generate was called)\n",
                     std::chrono::duration<double>(stream.first - program_start).count(),
                     std::chrono::duration<double>(stream.first - start).count());
    }
    if (args.print_ids) {
        std::fprintf(stderr, "ids:");
        for (int32_t id : stream.ids) std::fprintf(stderr, " %d", id);
        std::fprintf(stderr, "\n");
    }

    // 6. Free everything: session, model (before its memory is unmapped), then the JVM.
    api.free_session(session);
    api.free_model(model);
    if (vm->DestroyJavaVM() != JNI_OK) std::fprintf(stderr, "sparse-infer-host: DestroyJavaVM failed\n");
    std::fprintf(stderr, "done %.3f s after the program started\n",
                 std::chrono::duration<double>(Clock::now() - program_start).count());
    return 0;
}
