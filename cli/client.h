/*  client: one request, one reply, over a DEALER socket, the Lazy Pirate way.

    The request is sent as [empty][body]; the reply comes back the same way
    and is matched by id (a reply for another id is discarded). When no reply
    arrives within the timeout, the socket is closed and a new one, with the
    same routing id, sends the same request again; a reply that is an error
    marked retryable is retried too. Between attempts the client waits, 100 ms
    at first, doubling up to 2 s. */
#ifndef ALYS_CLI_CLIENT_H
#define ALYS_CLI_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "proto.h"

typedef struct client client_t;

typedef struct {
    int timeout_ms;         /* per attempt */
    int retries;            /* attempts after the first */
    int backoff_initial_ms; /* wait before the first retry */
    int backoff_max_ms;     /* cap of the doubling */
    size_t max_reply;       /* bytes; larger replies are discarded */
    const char *curve_cert;       /* CURVE: this client's certificate (zcert), or NULL */
    const char *curve_server_key; /* CURVE: the actor's public key or certificate file */
} client_opts_t;

typedef enum {
    CLIENT_REPLY = 0, /* a reply: ok, or an error (retryable only when retries ran out) */
    CLIENT_TIMEOUT,   /* no reply to any attempt */
    CLIENT_FAILED     /* the socket could not be set up; see client_error */
} client_rc_t;

/*  A reply and the frame it was decoded from (its objects point into it). */
typedef struct {
    uint8_t *body;
    size_t body_len;
    proto_reply_t reply;
} client_reply_t;

void client_reply_release(client_reply_t *r);

/*  Default options, for a person waiting at a terminal: 5 s per attempt, 2
    retries, backoff 100 ms to 2 s. */
void client_opts_default(client_opts_t *opts);

/*  Creates a client for endpoint with the given routing id (kept across
    retries). Notices about retries go to `notices` when not NULL. Connects
    lazily on the first call. Returns NULL when out of memory. */
client_t *client_new(const char *endpoint, const char *routing_id, FILE *notices);
void client_destroy(client_t **self_p);

/*  Sends the request (len bytes, carrying `id`) until a reply for it comes
    back or the retries run out. On CLIENT_REPLY the caller releases *out.
    *attempts is how many times the request was sent. */
client_rc_t client_call(client_t *self, const uint8_t *req, size_t len, uint64_t id,
                        const client_opts_t *opts, client_reply_t *out, int *attempts);

/*  True when the endpoint surely has no listener, so that waiting for a
    reply is pointless: an ipc path that does not exist, is not a socket, or
    refuses connections (a socket file left behind), or a tcp address that
    refuses connections. The reason goes to why. False when a listener may
    be there (including every case it cannot tell). */
bool client_endpoint_unreachable(const char *endpoint, char *why, size_t why_len);

/*  Why the last call returned CLIENT_FAILED; borrowed. */
const char *client_error(const client_t *self);

#endif
