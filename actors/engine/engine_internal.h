/*  engine_internal: the engine object as its own files share it
    (engine.c: life cycle and socket; request.c: requests and lanes, with
    idempotency.c's store; el_health.c: the execution client's health and
    identity; recovery.c: the fork choice at start; engine_metrics.c:
    /metrics).
    Nothing outside those files includes this. */
#ifndef ALYS_ENGINE_INTERNAL_H
#define ALYS_ENGINE_INTERNAL_H

#include <uthash.h>

#include "engine.h"
#include "fork_choice.h"
#include "idempotency.h"
#include "jwt_auth.h"
#include "instance.h"
#include "peer_conns.h"
#include "request.h"

/*  The op table as the engine uses it: a row, the contract's op of the
    same name, and per-op counters. */
typedef struct op_entry {
    const op_row_t *row;
    const proto_op_t *op;
    metric_series_t *ok, *duration;
    UT_hash_handle hh;
} op_entry_t;

typedef struct shared_call shared_call_t;
typedef struct peer_rec peer_rec_t;

typedef enum { FC_UNKNOWN, FC_LOADING, FC_READY } fc_phase_t;

struct engine {
    engine_config_t config;
    zloop_t *loop;
    zsock_t *router;
    jwt_auth_t *jwt;
    instance_t *instance; /* the state dir lock and the ipc socket file */
    zcert_t *curve_cert;  /* the actor's CURVE keys, or NULL */
    zactor_t *auth;       /* zauth (ZAP): checks CURVE clients against the allow dir */
    el_client_t *el;
    int signal_fd;
    int64_t start_ms;
    fc_t *fc;
    fc_phase_t fc_phase;
    el_state_t el_state;
    el_client_info_t client;
    const client_profile_t *profile;
    bool caps_checked;
    int64_t caps_checked_ms;
    bool caps_client_version; /* the client lists engine_getClientVersionV1 */
    bool fatal;
    payload_cache_t *payloads;
    block_cache_t *blocks;
    metrics_t *metrics;
    metrics_server_t *metrics_server;
    /* the op table, indexed by name once at start */
    op_entry_t *ops;          /* one entry per op_table row */
    op_entry_t *ops_by_name;
    op_entry_t resend;        /* the actor's own re-send */
    peer_rec_t *peers;
    peer_conns_t *peer_conns;
    uint64_t sync_current, sync_highest;
    /* lanes */
    req_t *active;            /* the running mutation */
    req_t *queue;             /* mutations waiting, in arrival order (utlist) */
    size_t queue_len;
    size_t n_queries;
    bool pumping;
    req_t *waiting_queries;   /* reads beyond max_queries, in arrival order (utlist) */
    size_t qq_len, qq_bytes;
    bool pumping_queries;
    shared_call_t *shared;    /* identical reads in flight, by key */
    uint64_t shared_joins;    /* reads answered by another read's call */
    uint64_t head_check_generation; /* fc generation when the head check went out */
    uint64_t head_mismatches; /* client heads found off the fork choice */
    uint64_t peers_evicted;   /* peer records dropped at PEER_MAX */
    idem_store_t *idem;       /* replies kept for retries */
    /* shutdown */
    bool shutting_down;
    bool aborting;
    int64_t shutdown_started_ms;
    /* counters */
    uint64_t dropped_envelopes, unroutable_replies, requests;
    proto_writer_t writer;
};

/* ------------------------------------------------------------ request.c */

/*  Joins op_table with proto_ops: every contract op must have exactly one
    row and every row a contract op. Returns 0, or -1 with the mismatch. */
int engine_ops_index(engine_t *self, char *err, size_t err_len);
/*  Handles one well-framed request: decode, admission, lane. */
void engine_handle_request(engine_t *self, zframe_t *routing, const uint8_t *body, size_t len);
/*  Starts queued work while the lanes have room. */
void engine_pump(engine_t *self);
/*  Answers every queued (not running) mutation with err. */
void engine_drain_queue(engine_t *self, proto_err_t err, const char *message);
/*  Queues the actor's own re-send of its fork choice: at the front (before
    anything queued, at recovery), or at the back unless a mutation runs or
    waits (that one sends a full fork choice itself). */
void engine_resend_fork_choice(engine_t *self, bool at_front);
/*  Requests running, queued or waiting. */
size_t engine_busy(const engine_t *self);
/*  Drops expired idempotency records and long-silent peer records. */
void engine_sweep_requests(engine_t *self, int64_t now_ms);
/*  Frees every request, record and index (at destroy). */
void engine_requests_free(engine_t *self);
/*  Sends an error reply for a request that never ran. */
void engine_send_error_now(engine_t *self, zframe_t *routing, bool has_id, uint64_t id,
                           proto_err_t err, const char *message);

/* ---------------------------------------------------------- el_health.c */

/*  Notes a call's outcome for the health state machine. */
void engine_note_el_result(engine_t *self, const el_response_t *resp);
/*  The periodic check: eth_syncing, the head, capabilities, identity. */
int engine_on_health_timer(zloop_t *loop, int timer_id, void *arg);
/*  engine_exchangeCapabilities (also proves the JWT works). */
void engine_check_caps(engine_t *self);

/* ----------------------------------------------------------- recovery.c */

/*  Reads what the fork choice was (once per FC_UNKNOWN phase); until this
    completes, mutations wait in their queue. */
void engine_recover_fork_choice(engine_t *self);

/* ----------------------------------------------------- engine_metrics.c */

void engine_metrics_define(metrics_t *m);
/*  Counts a finished request under its op and outcome. */
void engine_metrics_request(engine_t *self, op_entry_t *entry, proto_err_t outcome, int64_t took_us);
/*  Counts a request refused before it ran, under its op and code. */
void engine_metrics_rejected(engine_t *self, op_entry_t *entry, proto_err_t err);
/*  el_client's observer: every call's latency and outcome. */
void engine_metrics_el_call(void *ctx, const char *method, const el_response_t *resp);
char *engine_metrics_render(void *ctx);
bool engine_metrics_health(void *ctx, char *reason, size_t reason_len);

#endif
