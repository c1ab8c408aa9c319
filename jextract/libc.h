/*
 * The part of the C library the engine calls directly (memory hints, locking, page residency, lock limits).
 * jextract reads this file; see jextract/README.md.
 *
 * The prototypes below restate what the system headers already declare. That is on purpose: a compiler
 * rejects a restatement that disagrees with the system's own declaration (NativeHeadersTest compiles this
 * file with gcc when it is present), and BindingDriftTest checks the generated Java bindings against these
 * lines. Only the types of our small C subset appear here.
 */
#include <errno.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

int madvise(void *addr, size_t length, int advice);
int posix_madvise(void *addr, size_t length, int advice);
int mlock(const void *addr, size_t length);
int munlock(const void *addr, size_t length);
int mincore(void *addr, size_t length, unsigned char *vec);
long sysconf(int name);
int getrlimit(int resource, struct rlimit *rlim);
