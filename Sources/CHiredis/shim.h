#ifndef CELERIAC_CHIREDIS_SHIM_H
#define CELERIAC_CHIREDIS_SHIM_H

// Debian's libhiredis-dev (hiredis 0.14) installs its headers under <hiredis/...>.
#include <hiredis/hiredis.h>

// Swift imports fixed-size C arrays as tuples; these accessors keep that out of the Swift code.
static inline const char *chiredis_context_errstr(const redisContext *context) {
    return context->errstr;
}

static inline const char *chiredis_reader_errstr(const redisReader *reader) {
    return reader->errstr;
}

// Bytes hiredis holds to send (its output buffer is an sds string; sdslen is inline C).
static inline size_t chiredis_pending_output(const redisContext *context) {
    return context->obuf == NULL ? 0 : sdslen(context->obuf);
}

// Marks a descriptor close-on-exec, so that processes the application spawns do not inherit
// Redis sockets (hiredis 0.14 creates them without SOCK_CLOEXEC). fcntl is variadic, hence C.
#include <fcntl.h>
static inline int chiredis_set_cloexec(int fd) {
    int flags = fcntl(fd, F_GETFD);
    return flags < 0 ? -1 : fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

// Names the calling OS thread (as shown by top -H, perf and gdb); at most 15 characters are kept.
// Linux only; a no-op elsewhere.
#if defined(__linux__)
#include <sys/prctl.h>
static inline void chiredis_set_thread_name(const char *name) {
    prctl(PR_SET_NAME, name, 0, 0, 0);
}
#else
static inline void chiredis_set_thread_name(const char *name) { (void)name; }
#endif

#endif
