/*  el_client: JSON-RPC to the execution client without blocking the loop.

    Transfers run on a libcurl multi handle whose sockets and timer are
    zloop pollers and a zloop timer, so the actor's one thread keeps serving
    while calls are in flight. Connections are kept alive and reused. Each
    call completes exactly once, always from the loop (never from inside
    el_client_call), with its callback. The JSON-RPC bodies and the reading
    of answers are el_rpc's. */
#ifndef ALYS_EL_CLIENT_H
#define ALYS_EL_CLIENT_H

#include <czmq.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "el_rpc.h"
#include "jwt_auth.h"
#include "proto.h"

typedef void(el_callback_fn)(void *ctx, el_response_t *resp);

typedef struct {
    const char *engine_url;
    const char *rpc_url;
    jwt_auth_t *jwt;           /* borrowed */
    double timeout_multiplier; /* scales every per-method timeout */
    size_t max_response;       /* bytes per answer; 0 = 64 MiB */
    size_t max_buffered;       /* bytes of all answers being received at once; 0 = 256 MiB */
    size_t max_connections;    /* per endpoint; 0 = 16 */
} el_client_config_t;

typedef struct el_client el_client_t;

el_client_t *el_client_new(zloop_t *loop, const el_client_config_t *config);
void el_client_destroy(el_client_t **self_p);

/*  The Engine API specification's timeout for a method, in ms, before the
    multiplier: forkchoiceUpdated and newPayload 8 s, getPayloadBodies 10 s,
    eth_getLogs and batches 10 s, everything else 1 s. */
int el_method_timeout_ms(const char *method);

/*  Starts a call. `params` is stolen (an array, or NULL for []). Returns 0, or
    -1 when the call could not even start (the callback is then not called). */
int el_client_call(el_client_t *self, el_endpoint_t endpoint, const char *method,
                   json_t *params, el_callback_fn *cb, void *ctx);

/*  The same with params already serialized as a JSON array, for a value
    that is passed on verbatim (a payload as the client produced it). */
int el_client_call_text(el_client_t *self, el_endpoint_t endpoint, const char *method,
                        const char *params_text, el_callback_fn *cb, void *ctx);

/*  Starts a JSON-RPC batch: `calls` (stolen) is an array of [method, params]
    pairs. On success resp->result is an array of the results in call order;
    an error of any member fails the batch with that member's error. */
int el_client_batch(el_client_t *self, el_endpoint_t endpoint, json_t *calls,
                    el_callback_fn *cb, void *ctx);

/*  The same, but a member's JSON-RPC error leaves null in its place instead
    of failing the batch. */
int el_client_batch_lenient(el_client_t *self, el_endpoint_t endpoint, json_t *calls,
                            el_callback_fn *cb, void *ctx);

/*  Ends every transfer now; each callback runs once with err. */
void el_client_abort_all(el_client_t *self, proto_err_t err, const char *message);

/*  Called for every finished call (after its callback), e.g. for metrics. */
typedef void(el_observer_fn)(void *ctx, const char *method, const el_response_t *resp);
void el_client_set_observer(el_client_t *self, el_observer_fn *fn, void *ctx);

/*  Calls started and waiting for one of the endpoint's max_connections
    connections. A waiting call's timeout starts only when it goes out. */
size_t el_client_waiting(const el_client_t *self);
const char *el_client_url(const el_client_t *self, el_endpoint_t endpoint);

typedef struct {
    uint64_t calls, failures, connections_opened;
} el_client_stats_t;
void el_client_stats(const el_client_t *self, el_client_stats_t *out);

#endif
