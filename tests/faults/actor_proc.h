/*  actor_proc: runs alys-engine as a child process for the fault tests and
    the benchmark, pointed at one execution-client URL for both the Engine
    API and the public JSON-RPC (or at two), and returns once it answers
    ping. */
#ifndef ALYS_ACTOR_PROC_H
#define ALYS_ACTOR_PROC_H

#include <stdbool.h>
#include <sys/types.h>

#include "harness.h"
#include "peer.h"

/*  The actor binary: $ALYS_ENGINE_BIN, else "alys-engine" from PATH. */
const char *actor_proc_bin(void);

/*  Starts the actor bound to endpoint, talking to the Engine API at
    engine_url and the public JSON-RPC at rpc_url (often the same) with the
    secret at jwt_path, with the extra flags (NULL-terminated, may be NULL),
    its log in log_path. Returns NULL (after dumping the log's tail) when it
    does not answer ping within 10 s. */
harness_proc_t *actor_proc_start(const char *endpoint, const char *engine_url, const char *rpc_url,
                                 const char *jwt_path, const char *const *extra,
                                 const char *log_path);

/*  Waits until `status` shows a known head (the actor has read the fork
    choice from the client) and, when want_state is not NULL, that el.state.
    Returns 0, or -1 after timeout_ms. */
int actor_proc_wait_ready(peer_t *peer, const char *want_state, int timeout_ms);

#endif
