/*  stub_proc: runs alys-stub-el as a child process for tests and benchmarks.

    The stub is started with --port (0: it picks a free one), its stdout and
    stderr go to a log file, and stub_proc_start returns once the stub has
    printed PORT=<n> there. It can be killed (SIGKILL, as a crash) and started
    again on the same port, with other flags. */
#ifndef ALYS_STUB_PROC_H
#define ALYS_STUB_PROC_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct stub_proc stub_proc_t;

/*  The stub binary: $ALYS_STUB_EL_BIN, else "alys-stub-el" from PATH. */
const char *stub_proc_bin(void);

/*  Starts the stub with --jwt-secret jwt_path --port port and the flags in
    extra (NULL-terminated, may be NULL). Returns NULL if it did not print its
    port within 10 s (the log's tail then goes to stderr). */
stub_proc_t *stub_proc_start(const char *jwt_path, int port, const char *const *extra,
                             const char *log_path);
/*  SIGTERM, SIGKILL after 2 s, reap, free. */
void stub_proc_destroy(stub_proc_t **self_p);

/*  SIGKILL and reap: the stub vanishes as a crashed client would. */
void stub_proc_kill(stub_proc_t *self);
/*  Starts a killed or stopped stub again on the same port with new flags.
    Returns 0, or -1 when it did not come up. */
int stub_proc_restart(stub_proc_t *self, const char *const *extra);

int stub_proc_port(const stub_proc_t *self);
const char *stub_proc_url(const stub_proc_t *self); /* http://127.0.0.1:PORT */
pid_t stub_proc_pid(const stub_proc_t *self);       /* -1 while not running */

/*  The stub's counters (stub_stats): a new reference, or NULL. */
json_t *stub_proc_stats(const stub_proc_t *self);
/*  One counter of stub_stats ("connections", "http_requests", ...), or -1. */
int64_t stub_proc_stat(const stub_proc_t *self, const char *name);

#endif
