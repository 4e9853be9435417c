/*  instance: one actor per state dir and per ipc endpoint.

    Two actors sharing a state dir would overwrite each other's fork choice;
    two actors binding the same ipc path would split the peers between them
    (libzmq replaces the socket file of a running actor without a word). So
    the actor takes an exclusive flock on DIR/lock (kept until it exits, and
    released by the kernel when it dies), and before binding an ipc endpoint
    it connects to the path: an answer means another actor is there, a
    refused connection means a stale file left by a dead one, which goes. */
#ifndef ALYS_INSTANCE_H
#define ALYS_INSTANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct instance instance_t;

/*  An empty claim (no lock, no socket). NULL when out of memory. */
instance_t *instance_new(void);
/*  Releases the lock, and removes the ipc socket file if it is still the
    one bound by this process (a clean exit leaves no file behind). */
void instance_destroy(instance_t **self_p);

/*  Takes the exclusive lock on DIR/lock and writes this process's pid in
    it. Returns 0, or -1 with err naming the other actor's pid when the lock
    is held, or the failing call. */
int instance_lock_dir(instance_t *self, const char *dir, char *err, size_t err_len);

/*  Before binding `endpoint`: for ipc://PATH, refuses (-1 with err) when
    something accepts connections on PATH or PATH is not a socket, and
    removes a socket file nobody answers on. Other transports: 0, nothing
    done (the bind itself fails when the address is in use). */
int instance_claim_endpoint(instance_t *self, const char *endpoint, char *err, size_t err_len);

/*  After a successful bind of `endpoint`: for ipc, sets the socket file's
    mode to `mode` whatever the umask was, and remembers the file so that
    instance_destroy removes it. Returns 0, or -1 with err. */
int instance_bound(instance_t *self, const char *endpoint, mode_t mode, char *err, size_t err_len);

/*  The ipc socket path of an ipc:// endpoint (borrowed from endpoint), or
    NULL for other transports and abstract (ipc://@name) sockets. */
const char *instance_ipc_path(const char *endpoint);

#endif
