/*  peer: a blocking DEALER client of the engine actor for tests and
    benchmarks. It frames requests as [empty][body] like REQ does and matches
    replies by id. Not for use inside the actor. */
#ifndef ALYS_PEER_H
#define ALYS_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

typedef struct peer peer_t;

/*  Connects a DEALER to endpoint with the given routing id (NULL: libzmq's). */
peer_t *peer_new(const char *endpoint, const char *routing_id);
void peer_destroy(peer_t **self_p);

/*  Sends a request for op with args encoded by the op's args schema (args may
    be NULL for none). Returns the id used. */
uint64_t peer_send(peer_t *self, const char *op, const void *args);
/*  Same with an explicit id. */
void peer_send_id(peer_t *self, uint64_t id, const char *op, const void *args);
/*  Sends raw frames: [empty][body] when with_delimiter, else [body]. */
void peer_send_raw(peer_t *self, const void *body, size_t len, bool with_delimiter);
/*  Receives one reply. Returns 0, or -1 on timeout or a malformed reply.
    The reply's result borrows from the received frame, which the peer keeps
    until 256 more replies have arrived or it is destroyed. */
int peer_recv(peer_t *self, proto_reply_t *reply, int timeout_ms);
/*  Sends and waits for the reply with the same id. Returns 0 or -1. */
int peer_call(peer_t *self, const char *op, const void *args, proto_reply_t *reply, int timeout_ms);
/*  Decodes an ok reply's result into out (zeroed, op's result schema).
    Returns 0 or -1; free with proto_free(op result schema). */
int peer_result(const proto_reply_t *reply, const char *op, void *out);

/*  Pings endpoint with a DEALER of zmq context ctx that retries its
    connection every 5 ms and sends a new ping every 10 ms (so that a
    measured restart time is the actor's, not the client's) until a process
    other than not_pid answers. Returns that pid, or 0 after timeout_ms. */
uint64_t peer_wait_pid(void *ctx, const char *endpoint, uint64_t not_pid, int timeout_ms);

/*  A reconnect wave: n DEALERs of ctx connect to endpoint at once and each
    sends one ping; waits up to 30 s for the answers, then closes them all.
    Returns how many were answered. ctx must allow n sockets
    (ZMQ_MAX_SOCKETS). */
int peer_connect_wave(void *ctx, const char *endpoint, int n);

#endif
