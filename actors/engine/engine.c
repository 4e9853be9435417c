/*  The actor's core: socket, request lifecycle, lanes, idempotency, health,
    shutdown. Op handlers live in ops.c. */
#include "engine.h"

#include <assert.h>
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <uthash.h>

#include "alys_config.h"
#include "build_info.h"
#include "clock.h"
#include "curve.h"
#include "el_json.h"
#include "hex.h"
#include "instance.h"
#include "log.h"
#include "peer_conns.h"
#include "state_file.h"

#define DEDUPE_TTL_MS 60000
#define DEDUPE_MAX 20000 /* finished replies kept for retries, at most */
#define HEALTH_INTERVAL_MS 5000
#define SWEEP_INTERVAL_MS 5000
/*  What a waiting read is charged beside its frame: the request record,
    its decoded arguments and the routing id, rounded up. */
#define QUERY_QUEUE_OVERHEAD 1024

typedef struct {
    uint8_t rid_len;
    uint8_t rid[255];
    uint64_t id;
} dedupe_key_t;

typedef enum { DEDUPE_RUNNING, DEDUPE_DONE } dedupe_state_t;

/*  One record per peer, keyed by its routing id. */
typedef struct peer_rec {
    uint8_t rid_len;
    uint8_t rid[255];
    int64_t last_seen_ms;
    uint64_t requests;
    UT_hash_handle hh;
} peer_rec_t;

#define PEER_IDLE_MS (5 * 60 * 1000)
/*  Peer records kept at most: past this, the longest-silent ones go first
    (a record is only bookkeeping for metrics; requests never need it). */
#define PEER_MAX 10000

/*  A mutating request seen from (peer, id) within the last minute. */
typedef struct dedupe_entry {
    dedupe_key_t key;
    uint64_t body_hash;
    dedupe_state_t state;
    size_t joiners;   /* retries that arrived while it ran: each gets the reply */
    uint8_t *reply;
    size_t reply_len;
    int64_t expires_ms;
    UT_hash_handle hh;
} dedupe_entry_t;

/*  Requests waiting for the one execution-client call of an identical read
    (same endpoint, method and params) that is in flight. */
typedef struct shared_waiter {
    req_t *req;
    el_callback_fn *cb;
    struct shared_waiter *next;
} shared_waiter_t;

typedef struct shared_call {
    char *key;
    engine_t *engine;
    shared_waiter_t *head, *tail;
    UT_hash_handle hh;
} shared_call_t;

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
    fork_choice_t fc;
    el_state_t el_state;
    el_client_info_t client;
    const client_profile_t *profile;
    enum { FC_UNKNOWN, FC_LOADING, FC_READY } fc_phase;
    bool caps_checked;
    int64_t caps_checked_ms;
    bool caps_client_version; /* the client lists engine_getClientVersionV1 */
    bool fatal;
    payload_cache_t *payloads;
    block_cache_t *blocks;
    metrics_t *metrics;
    metrics_server_t *metrics_server;
    /* per op (index in proto_ops): resolved once */
    metric_series_t *op_ok[32], *op_duration[32];
    uint64_t fc_generation;
    struct peer_rec *peers;
    peer_conns_t *peer_conns;
    uint64_t sync_current, sync_highest;
    /* lanes */
    req_t *active;            /* the running mutation */
    req_t *queue_head, *queue_tail;
    size_t queue_len;
    size_t n_queries;
    bool pumping;
    /* reads beyond max_queries wait here, in arrival order */
    req_t *qq_head, *qq_tail;
    size_t qq_len, qq_bytes;
    bool pumping_queries;
    shared_call_t *shared;    /* identical reads in flight, by key */
    uint64_t shared_joins;    /* reads answered by another read's call */
    uint64_t head_check_generation; /* fc_generation when the head check went out */
    uint64_t head_mismatches; /* client heads found off the fork choice */
    uint64_t peers_evicted;   /* peer records dropped at PEER_MAX */
    dedupe_entry_t *dedupe;
    /* shutdown */
    bool shutting_down;
    bool aborting;
    int64_t shutdown_started_ms;
    /* counters */
    uint64_t dropped_envelopes, unroutable_replies, requests;
    proto_writer_t writer;
};

static const msgpack_object s_empty_map = {.type = MSGPACK_OBJECT_MAP};

void engine_config_defaults(engine_config_t *config)
{
    memset(config, 0, sizeof *config);
    config->bind = "ipc:///run/alys/engine.sock";
    config->engine_url = "http://127.0.0.1:8551";
    config->rpc_url = "http://127.0.0.1:8545";
    static const uint8_t dead[20] = {[18] = 0xde, [19] = 0xad};
    memcpy(config->fee_recipient, dead, 20);
    config->timeout_multiplier = 1.0;
    config->max_frame = PROTO_MAX_FRAME_DEFAULT;
    config->max_queries = 256;
    config->max_query_queue = 65536;
    config->max_query_queue_bytes = 64u * 1024 * 1024;
    config->el_connections = 16;
    config->max_queue = 1024;
    config->shutdown_grace_ms = 1200;
    fork_schedule_default(&config->schedule);
    config->client = "auto";
    config->block_cache_size = 1024;
    config->payload_cache_size = 32;
    config->payload_ttl_ms = 120000;
    config->logs_chunk = 2000;
    config->health_interval_ms = HEALTH_INTERVAL_MS;
    config->caps_interval_ms = 15 * 60 * 1000;
    config->metrics_listen = "127.0.0.1:9105";
    config->max_el_buffer = 256u * 1024 * 1024;
}

const char *el_state_name(el_state_t state)
{
    static const char *const names[] = {"unknown", "synced", "syncing", "offline", "auth_failed"};
    return state <= EL_STATE_AUTH_FAILED ? names[state] : "unknown";
}

fork_choice_t *engine_fork_choice(engine_t *self) { return &self->fc; }
el_client_t *engine_el(engine_t *self) { return self->el; }
const engine_config_t *engine_config(engine_t *self) { return &self->config; }
el_state_t engine_el_state(engine_t *self) { return self->el_state; }
const el_client_info_t *engine_client_info(engine_t *self) { return &self->client; }
int64_t engine_uptime_ms(engine_t *self) { return clock_mono_ms() - self->start_ms; }
bool engine_aborting(engine_t *self) { return self->aborting; }
const fork_schedule_t *engine_schedule(engine_t *self) { return &self->config.schedule; }
const client_profile_t *engine_profile(engine_t *self) { return self->profile; }
payload_cache_t *engine_payload_cache(engine_t *self) { return self->payloads; }
metrics_t *engine_metrics(engine_t *self) { return self->metrics; }
int engine_metrics_port(engine_t *self)
{
    return self->metrics_server ? metrics_server_port(self->metrics_server) : -1;
}
block_cache_t *engine_block_cache(engine_t *self) { return self->blocks; }

uint64_t engine_fc_generation(engine_t *self) { return self->fc_generation; }

void engine_fc_changed(engine_t *self)
{
    self->fc_generation++;
    if (self->config.state_dir && state_file_save(self->config.state_dir, &self->fc) != 0)
        log_error("cannot save the fork choice under %s: %s", self->config.state_dir,
                  strerror(errno));
}

void engine_stats(engine_t *self, proto_actor_stats_t *out)
{
    el_client_stats_t el;
    el_client_stats(self->el, &el);
    cache_stats_t b, p;
    block_cache_stats(self->blocks, &b);
    payload_cache_stats(self->payloads, &p);
    *out = (proto_actor_stats_t){
        .requests = self->requests,
        .mutations_queued = self->queue_len + (self->active ? 1 : 0),
        .queries_in_flight = self->n_queries,
        .el_calls = el.calls,
        .el_failures = el.failures,
        .el_connections_opened = el.connections_opened,
        .dropped_envelopes = self->dropped_envelopes,
        .unroutable_replies = self->unroutable_replies,
        .block_cache_hits = b.hits,
        .block_cache_misses = b.misses,
        .block_cache_entries = b.entries,
        .payload_cache_hits = p.hits,
        .payload_cache_misses = p.misses,
        .payload_cache_entries = p.entries,
    };
}

/* ------------------------------------------------------------ sending */

/*  Never blocks: ROUTER_MANDATORY makes an unknown peer an error and
    DONTWAIT makes a full pipe one; either way the reply is counted and
    dropped. */
static void send_frames(engine_t *self, zframe_t *routing, const uint8_t *body, size_t len)
{
    void *sock = zsock_resolve(self->router);
    if (zmq_send(sock, zframe_data(routing), zframe_size(routing), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0
        || zmq_send(sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0
        || zmq_send(sock, body, len, ZMQ_DONTWAIT) < 0) {
        self->unroutable_replies++;
        log_debug("reply dropped: %s", zmq_strerror(zmq_errno()));
    }
}

static void send_error_now(engine_t *self, zframe_t *routing, bool has_id, uint64_t id,
                           proto_err_t err, const char *message)
{
    char labels[64];
    snprintf(labels, sizeof labels, "code=\"%s\"", proto_err_name(err));
    metrics_add(self->metrics, "alys_engine_errors_total", labels, 1);
    proto_writer_reset(&self->writer);
    proto_reply_error(&self->writer.pk, has_id, id, err, message, false, 0);
    send_frames(self, routing, (const uint8_t *) self->writer.sbuf.data, self->writer.sbuf.size);
}

/* ------------------------------------------------------------- requests */

static void pump(engine_t *self);
static void pump_queries(engine_t *self);

static void req_free(req_t *req)
{
    if (req->args) {
        proto_free(req->op->args, req->args);
        free(req->args);
    }
    if (req->result) {
        proto_free(req->op->result, req->result);
        free(req->result);
    }
    json_decref(req->scratch);
    zframe_destroy(&req->routing);
    proto_request_release(&req->msg);
    free(req);
}

/*  Sends the encoded reply to the peer (and to retries that joined), keeps
    it for idempotent retries when it is final, and ends the request. */
static void finish(req_t *req, const uint8_t *body, size_t len, bool final, proto_err_t outcome)
{
    engine_t *self = req->engine;
    if (req->op) {
        size_t k = (size_t) (req->op - proto_ops);
        char labels[96];
        if (!self->op_duration[k]) {
            snprintf(labels, sizeof labels, "op=\"%s\",outcome=\"ok\"", req->op->name);
            self->op_ok[k] = metrics_series(self->metrics, "alys_engine_requests_total", labels);
            snprintf(labels, sizeof labels, "op=\"%s\"", req->op->name);
            self->op_duration[k] =
                metrics_series(self->metrics, "alys_engine_request_duration_seconds", labels);
        }
        metric_series_observe(self->op_duration[k], (double) (clock_mono_us() - req->start_us) / 1e6);
        if (outcome == PROTO_OK) {
            metric_series_add(self->op_ok[k], 1);
        } else {
            snprintf(labels, sizeof labels, "op=\"%s\",outcome=\"%s\"", req->op->name,
                     proto_err_name(outcome));
            metrics_add(self->metrics, "alys_engine_requests_total", labels, 1);
            snprintf(labels, sizeof labels, "code=\"%s\"", proto_err_name(outcome));
            metrics_add(self->metrics, "alys_engine_errors_total", labels, 1);
        }
    }
    if (req->routing)
        send_frames(self, req->routing, body, len);
    dedupe_entry_t *d = req->dedupe;
    if (d) {
        for (size_t i = 0; i < d->joiners; i++)
            send_frames(self, req->routing, body, len);
        d->joiners = 0;
        if (final) {
            d->state = DEDUPE_DONE;
            d->reply = malloc(len);
            if (d->reply) {
                memcpy(d->reply, body, len);
                d->reply_len = len;
            }
            d->expires_ms = clock_mono_ms() + DEDUPE_TTL_MS;
        } else {
            HASH_DEL(self->dedupe, d);
            free(d);
        }
    }
    int64_t took = clock_mono_us() - req->start_us;
    log_debug("%s id=%llu done in %lld us", req->op ? req->op->name : "?",
              (unsigned long long) req->msg.id, (long long) took);
    if (req->op && req->op->lane == PROTO_LANE_MUTATION && self->active == req)
        self->active = NULL;
    else if (req->op && req->op->lane == PROTO_LANE_QUERY)
        self->n_queries--;
    req_free(req);
    pump(self);
    pump_queries(self);
}

void engine_reply_ok(req_t *req, const proto_schema_t *schema, const void *result)
{
    proto_writer_t *w = &req->engine->writer;
    proto_writer_reset(w);
    proto_reply_ok(&w->pk, true, req->msg.id, schema, result);
    finish(req, (const uint8_t *) w->sbuf.data, w->sbuf.size, true, PROTO_OK);
}

void engine_reply_ok_encoded(req_t *req, const uint8_t *result, size_t len)
{
    proto_writer_t *w = &req->engine->writer;
    proto_writer_reset(w);
    proto_reply_ok_begin(&w->pk, true, req->msg.id);
    msgpack_sbuffer_write(&w->sbuf, (const char *) result, len);
    finish(req, (const uint8_t *) w->sbuf.data, w->sbuf.size, true, PROTO_OK);
}

static void reply_error(req_t *req, proto_err_t err, const char *message, bool has_el_code,
                        int64_t el_code)
{
    proto_writer_t *w = &req->engine->writer;
    proto_writer_reset(w);
    proto_reply_error(&w->pk, true, req->msg.id, err, message, has_el_code, el_code);
    if (err == PROTO_INTERNAL)
        log_error("%s id=%llu: internal error: %s", req->op ? req->op->name : "?",
                  (unsigned long long) req->msg.id, message);
    else if (!req->routing)
        log_warn("the actor's own %s failed: %s: %s", req->op ? req->op->name : "request",
                 proto_err_name(err), message);
    else if (req->op && req->op->lane == PROTO_LANE_MUTATION)
        /*  A fork choice change that did not happen is the operator's
            business; a retryable one will most likely be tried again. */
        log_msg(proto_err_retryable(err) ? ALOG_INFO : ALOG_WARN, "%s id=%llu failed: %s: %s",
                req->op->name, (unsigned long long) req->msg.id, proto_err_name(err), message);
    else
        log_debug("%s id=%llu: %s: %s", req->op ? req->op->name : "?",
                  (unsigned long long) req->msg.id, proto_err_name(err), message);
    finish(req, (const uint8_t *) w->sbuf.data, w->sbuf.size, !proto_err_retryable(err), err);
}

void engine_reply_error(req_t *req, proto_err_t err, const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    reply_error(req, err, message, false, 0);
}

void engine_reply_el_error(req_t *req, const el_response_t *resp)
{
    reply_error(req, resp->err, resp->message, resp->has_el_code, resp->el_code);
}

int engine_call(req_t *req, el_endpoint_t endpoint, const char *method, json_t *params,
                el_callback_fn *cb)
{
    if (req->engine->aborting) {
        json_decref(params);
        engine_reply_error(req, PROTO_SHUTTING_DOWN, "the actor is stopping");
        return -1;
    }
    if (el_client_call(req->engine->el, endpoint, method, params, cb, req) != 0) {
        engine_reply_error(req, PROTO_INTERNAL, "could not start %s", method);
        return -1;
    }
    return 0;
}

static int batch(req_t *req, el_endpoint_t endpoint, json_t *calls, bool lenient,
                 el_callback_fn *cb)
{
    if (req->engine->aborting) {
        json_decref(calls);
        engine_reply_error(req, PROTO_SHUTTING_DOWN, "the actor is stopping");
        return -1;
    }
    int rc = lenient ? el_client_batch_lenient(req->engine->el, endpoint, calls, cb, req)
                     : el_client_batch(req->engine->el, endpoint, calls, cb, req);
    if (rc != 0) {
        engine_reply_error(req, PROTO_INTERNAL, "could not start a batch call");
        return -1;
    }
    return 0;
}

int engine_batch(req_t *req, el_endpoint_t endpoint, json_t *calls, el_callback_fn *cb)
{
    return batch(req, endpoint, calls, false, cb);
}

int engine_batch_lenient(req_t *req, el_endpoint_t endpoint, json_t *calls, el_callback_fn *cb)
{
    return batch(req, endpoint, calls, true, cb);
}

/*  The one answer goes to every waiter, each with its own copy of the
    response (a handler may rewrite its error code); the result document is
    shared and read-only. The entry leaves the table before the callbacks
    run, so a waiter that asks again starts a fresh call. */
static void on_shared_call(void *ctx, el_response_t *resp)
{
    shared_call_t *sc = ctx;
    HASH_DEL(sc->engine->shared, sc);
    shared_waiter_t *w = sc->head;
    while (w) {
        shared_waiter_t *next = w->next;
        el_response_t copy = *resp;
        w->cb(w->req, &copy);
        free(w);
        w = next;
    }
    free(sc->key);
    free(sc);
}

int engine_call_shared(req_t *req, el_endpoint_t endpoint, const char *method, json_t *params,
                       el_callback_fn *cb)
{
    engine_t *self = req->engine;
    if (self->aborting) {
        json_decref(params);
        engine_reply_error(req, PROTO_SHUTTING_DOWN, "the actor is stopping");
        return -1;
    }
    char *text = params ? json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS) : strdup("[]");
    char *key = NULL;
    shared_waiter_t *w = calloc(1, sizeof *w);
    if (!text || !w || asprintf(&key, "%d %s %s", (int) endpoint, method, text) < 0)
        key = NULL;
    free(text);
    if (!key) {
        free(w);
        json_decref(params);
        engine_reply_error(req, PROTO_INTERNAL, "out of memory for %s", method);
        return -1;
    }
    w->req = req;
    w->cb = cb;
    shared_call_t *sc = NULL;
    HASH_FIND_STR(self->shared, key, sc);
    if (sc) {
        sc->tail->next = w;
        sc->tail = w;
        self->shared_joins++;
        json_decref(params);
        free(key);
        return 0;
    }
    sc = calloc(1, sizeof *sc);
    if (!sc) {
        free(w);
        free(key);
        json_decref(params);
        engine_reply_error(req, PROTO_INTERNAL, "out of memory for %s", method);
        return -1;
    }
    sc->key = key;
    sc->engine = self;
    sc->head = sc->tail = w;
    if (el_client_call(self->el, endpoint, method, params, on_shared_call, sc) != 0) {
        free(w);
        free(key);
        free(sc);
        engine_reply_error(req, PROTO_INTERNAL, "could not start %s", method);
        return -1;
    }
    HASH_ADD_KEYPTR(hh, self->shared, sc->key, strlen(sc->key), sc);
    return 0;
}

/*  Runs queued mutations one at a time. A handler may finish synchronously,
    which calls back into pump: the flag keeps that from nesting. */
static void recover_fork_choice(engine_t *self);

static void pump(engine_t *self)
{
    if (self->pumping)
        return;
    if (self->queue_head && self->fc_phase != FC_READY && !self->shutting_down) {
        recover_fork_choice(self); /* mutations wait until fork choice is known */
        return;
    }
    self->pumping = true;
    while (!self->active && self->queue_head) {
        req_t *req = self->queue_head;
        self->queue_head = req->next;
        if (!self->queue_head)
            self->queue_tail = NULL;
        self->queue_len--;
        req->next = NULL;
        self->active = req;
        if (self->shutting_down)
            engine_reply_error(req, PROTO_SHUTTING_DOWN, "the actor is stopping");
        else
            req->def->handler(req);
    }
    self->pumping = false;
}

/*  Starts waiting reads while fewer than max_queries run, oldest first;
    while stopping, answers every waiting read SHUTTING_DOWN instead. A
    handler may finish synchronously (a cache hit), which calls back into
    here: the flag keeps that from nesting. */
static void pump_queries(engine_t *self)
{
    if (self->pumping_queries)
        return;
    self->pumping_queries = true;
    while (self->qq_head && (self->shutting_down || self->n_queries < self->config.max_queries)) {
        req_t *req = self->qq_head;
        self->qq_head = req->next;
        if (!self->qq_head)
            self->qq_tail = NULL;
        self->qq_len--;
        self->qq_bytes -= req->queued_bytes;
        req->next = NULL;
        self->n_queries++;
        req->generation = self->fc_generation;
        if (self->shutting_down)
            engine_reply_error(req, PROTO_SHUTTING_DOWN, "the actor is stopping");
        else
            req->def->handler(req);
    }
    self->pumping_queries = false;
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static const op_def_t *find_op(const char *name)
{
    for (size_t i = 0; i < engine_n_ops; i++)
        if (strcmp(engine_ops[i].name, name) == 0)
            return &engine_ops[i];
    return NULL;
}

/*  Handles one well-framed request: decode, validate, idempotency, lane. */
static void note_peer(engine_t *self, zframe_t *routing)
{
    size_t n = zframe_size(routing) > 255 ? 255 : zframe_size(routing);
    peer_rec_t *p = NULL;
    HASH_FIND(hh, self->peers, zframe_data(routing), n, p);
    int64_t now = clock_mono_ms();
    if (p && now - p->last_seen_ms >= 1000) {
        /* to the back: the table's order stays (nearly) least recently
           seen first, at one re-insertion per peer and second at most */
        HASH_DEL(self->peers, p);
        HASH_ADD_KEYPTR(hh, self->peers, p->rid, p->rid_len, p);
    }
    if (!p && HASH_COUNT(self->peers) >= PEER_MAX) {
        /* a reconnect storm: each reconnect is a new routing id; the
           longest silent record goes */
        peer_rec_t *oldest = self->peers;
        HASH_DEL(self->peers, oldest);
        free(oldest);
        self->peers_evicted++;
    }
    if (!p) {
        p = calloc(1, sizeof *p);
        if (!p)
            return;
        p->rid_len = (uint8_t) n;
        memcpy(p->rid, zframe_data(routing), n);
        HASH_ADD_KEYPTR(hh, self->peers, p->rid, n, p);
    }
    p->last_seen_ms = now;
    p->requests++;
}

static void handle_request(engine_t *self, zframe_t *routing, const uint8_t *body, size_t body_len)
{
    self->requests++;
    note_peer(self, routing);
    char err[PROTO_ERR_LEN];
    req_t *req = calloc(1, sizeof *req);
    if (!req) {
        zframe_destroy(&routing);
        return;
    }
    req->engine = self;
    req->routing = routing;
    req->start_us = clock_mono_us();
    proto_err_t rc = proto_request_decode(body, body_len,
                                          self->config.max_frame, &req->msg, err, sizeof err);
    if (rc != PROTO_OK) {
        send_error_now(self, routing, req->msg.has_id, req->msg.id, rc, err);
        req_free(req);
        return;
    }
    req->op = proto_op_find(req->msg.op);
    req->def = req->op ? find_op(req->op->name) : NULL;
    if (!req->def) {
        char msg[96];
        snprintf(msg, sizeof msg, "unknown op '%s'", req->msg.op);
        req->op = NULL;
        send_error_now(self, routing, true, req->msg.id, PROTO_UNKNOWN_OP, msg);
        req_free(req);
        return;
    }
    if (req->op->args) {
        req->args = calloc(1, req->op->args->size);
        if (!req->args
            || proto_decode(req->op->args, req->msg.args ? req->msg.args : &s_empty_map, req->args,
                            err, sizeof err) != 0) {
            char msg[PROTO_ERR_LEN + 8];
            snprintf(msg, sizeof msg, "args.%s", req->args ? err : "out of memory");
            free(req->args);
            req->args = NULL;
            send_error_now(self, routing, true, req->msg.id, PROTO_BAD_REQUEST, msg);
            req_free(req);
            return;
        }
    }
    /* everything needed is copied out: the frame (which points into the
       received message) goes now */
    proto_frame_destroy(&req->msg.frame);
    req->msg.args = NULL;
    log_debug("request %s id=%llu", req->op->name, (unsigned long long) req->msg.id);

    if (self->shutting_down && req->op->lane != PROTO_LANE_MUTATION) {
        send_error_now(self, routing, true, req->msg.id, PROTO_SHUTTING_DOWN, "the actor is stopping");
        req_free(req);
        return;
    }
    switch (req->op->lane) {
    case PROTO_LANE_NONE:
        req->def->handler(req);
        return;
    case PROTO_LANE_QUERY:
        if (self->n_queries < self->config.max_queries && !self->qq_head) {
            self->n_queries++;
            req->generation = self->fc_generation;
            req->def->handler(req);
            return;
        }
        /* past the in-flight bound a read waits its turn; only a queue
           past its memory bound refuses */
        req->queued_bytes = body_len + QUERY_QUEUE_OVERHEAD;
        if (self->qq_len >= self->config.max_query_queue
            || self->qq_bytes + req->queued_bytes > self->config.max_query_queue_bytes) {
            send_error_now(self, routing, true, req->msg.id, PROTO_OVERLOADED,
                           "too many queries waiting; retry later");
            req_free(req);
            return;
        }
        if (self->qq_tail)
            self->qq_tail->next = req;
        else
            self->qq_head = req;
        self->qq_tail = req;
        self->qq_len++;
        self->qq_bytes += req->queued_bytes;
        return;
    case PROTO_LANE_MUTATION:
        break;
    }

    /* idempotency: the same (peer, id) within a minute is the same request */
    dedupe_key_t key;
    memset(&key, 0, sizeof key);
    key.rid_len = (uint8_t) (zframe_size(routing) > 255 ? 255 : zframe_size(routing));
    memcpy(key.rid, zframe_data(routing), key.rid_len);
    key.id = req->msg.id;
    uint64_t body_hash = fnv1a(body, body_len);
    dedupe_entry_t *d = NULL;
    HASH_FIND(hh, self->dedupe, &key, sizeof key, d);
    if (d && d->state == DEDUPE_DONE && d->expires_ms <= clock_mono_ms()) {
        HASH_DEL(self->dedupe, d);
        free(d->reply);
        free(d);
        d = NULL;
    }
    if (d) {
        if (d->body_hash != body_hash) {
            send_error_now(self, routing, true, req->msg.id, PROTO_BAD_REQUEST,
                           "id reused for a different request within 60 s");
        } else if (d->state == DEDUPE_RUNNING) {
            d->joiners++;
        } else if (d->reply) {
            send_frames(self, routing, d->reply, d->reply_len);
        }
        req_free(req);
        return;
    }
    if (self->shutting_down) {
        /* a retry of a finished request still got its stored reply above */
        send_error_now(self, routing, true, req->msg.id, PROTO_SHUTTING_DOWN, "the actor is stopping");
        req_free(req);
        return;
    }
    if (self->queue_len >= self->config.max_queue) {
        send_error_now(self, routing, true, req->msg.id, PROTO_OVERLOADED,
                       "too many fork choice changes queued; retry later");
        req_free(req);
        return;
    }
    if (HASH_COUNT(self->dedupe) >= DEDUPE_MAX) {
        /* bounded memory: the oldest finished entries go first (a retry of
           one of them after this executes again, as after a restart) */
        dedupe_entry_t *old, *tmp;
        HASH_ITER(hh, self->dedupe, old, tmp) {
            if (HASH_COUNT(self->dedupe) < DEDUPE_MAX * 9 / 10)
                break;
            if (old->state == DEDUPE_DONE) {
                HASH_DEL(self->dedupe, old);
                free(old->reply);
                free(old);
            }
        }
    }
    d = calloc(1, sizeof *d);
    if (d) {
        d->key = key;
        d->body_hash = body_hash;
        d->state = DEDUPE_RUNNING;
        HASH_ADD(hh, self->dedupe, key, sizeof key, d);
        req->dedupe = d;
    }
    if (self->queue_tail)
        self->queue_tail->next = req;
    else
        self->queue_head = req;
    self->queue_tail = req;
    self->queue_len++;
    pump(self);
}

/*  Reads what is waiting, up to a batch, with zmq_msg_t (no per-frame
    allocations): [routing id][empty][body] is a request; any other shape
    cannot be answered reliably and is dropped and counted. */
static int on_router(zloop_t *loop, zsock_t *reader, void *arg)
{
    engine_t *self = arg;
    void *sock = zsock_resolve(reader);
    for (int i = 0; i < 256; i++) {
        zmq_msg_t part[3];
        zmq_msg_init(&part[0]);
        if (zmq_msg_recv(&part[0], sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&part[0]);
            break;
        }
        int n = 1;
        bool more = zmq_msg_more(&part[0]), extra = false;
        while (more) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, sock, 0) < 0) {
                zmq_msg_close(&m);
                break;
            }
            more = zmq_msg_more(&m);
            if (n < 3) {
                zmq_msg_init(&part[n]);
                zmq_msg_move(&part[n++], &m);
            } else {
                extra = true;
            }
            zmq_msg_close(&m);
        }
        if (n != 3 || extra || zmq_msg_size(&part[1]) != 0) {
            self->dropped_envelopes++;
            log_debug("dropped a message with a malformed envelope");
        } else {
            zframe_t *routing = zframe_new(zmq_msg_data(&part[0]), zmq_msg_size(&part[0]));
            if (routing)
                handle_request(self, routing, zmq_msg_data(&part[2]), zmq_msg_size(&part[2]));
        }
        for (int k = 0; k < n; k++)
            zmq_msg_close(&part[k]);
    }
    return 0;
}

/* --------------------------------------------------------------- health */

/*  Answers every queued (not running) mutation with err. */
static void drain_queue(engine_t *self, proto_err_t err, const char *message)
{
    bool was = self->pumping;
    self->pumping = true;
    while (self->queue_head) {
        req_t *req = self->queue_head;
        self->queue_head = req->next;
        if (!self->queue_tail || self->queue_tail == req)
            self->queue_tail = NULL;
        self->queue_len--;
        req->next = NULL;
        engine_reply_error(req, err, "%s", message);
    }
    self->pumping = was;
}

/*  The last fork choice goes to the client again after it comes back, so a
    restarted client (or one that lost its head) sees what the actor set.
    The request reads the fork choice when it runs, not now; and when a
    mutation is running or queued it is not needed: that one sends a full
    fork choice itself. at_front: before anything queued (recovery). */
static void resend_fork_choice(engine_t *self, bool at_front)
{
    static const op_def_t def = {"update_forkchoice", ops_resend_fork_choice};
    if (!at_front && (self->active || self->queue_head))
        return;
    req_t *req = calloc(1, sizeof *req);
    if (!req || !self->fc.has_head) {
        free(req);
        pump(self);
        return;
    }
    req->engine = self;
    req->op = proto_op_find("update_forkchoice");
    req->def = &def;
    req->start_us = clock_mono_us();
    if (at_front) {
        req->next = self->queue_head;
        self->queue_head = req;
        if (!self->queue_tail)
            self->queue_tail = req;
    } else {
        if (self->queue_tail)
            self->queue_tail->next = req;
        else
            self->queue_head = req;
        self->queue_tail = req;
    }
    self->queue_len++;
    log_info("re-sending the last fork choice to the execution client");
    pump(self);
}

static void set_state(engine_t *self, el_state_t next, const char *why)
{
    el_state_t before = self->el_state;
    if (before == next)
        return;
    self->el_state = next;
    if (before == EL_STATE_UNKNOWN && next == EL_STATE_OFFLINE)
        /*  Started together with the client (a supervisor, a devnet): not
            up yet is the normal case, not a fault. */
        log_info("execution client not reachable yet, waiting for it: %s", why ? why : "");
    else if (next == EL_STATE_OFFLINE || next == EL_STATE_AUTH_FAILED)
        log_warn("execution client %s -> %s: %s", el_state_name(before), el_state_name(next),
                 why ? why : "");
    else
        log_info("execution client %s -> %s", el_state_name(before), el_state_name(next));
    bool was_down = before == EL_STATE_OFFLINE || before == EL_STATE_AUTH_FAILED;
    if (was_down && (next == EL_STATE_SYNCED || next == EL_STATE_SYNCING)
        && self->fc_phase == FC_READY && !self->shutting_down)
        resend_fork_choice(self, false);
}

void engine_note_el_result(engine_t *self, const el_response_t *resp)
{
    switch (resp->err) {
    case PROTO_EL_UNAVAILABLE:
        set_state(self, EL_STATE_OFFLINE, resp->message);
        break;
    case PROTO_EL_AUTH_FAILED:
        set_state(self, EL_STATE_AUTH_FAILED, resp->message);
        break;
    case PROTO_EL_TIMEOUT:      /* slow, not gone: one slow read says little */
    case PROTO_SHUTTING_DOWN:
        break;
    default:
        /* an authenticated answer proves the client is back; the public
           port answers without a JWT, so it proves nothing about auth */
        if (resp->endpoint == EL_ENGINE
            && (self->el_state == EL_STATE_OFFLINE || self->el_state == EL_STATE_AUTH_FAILED
                || self->el_state == EL_STATE_UNKNOWN))
            set_state(self, EL_STATE_SYNCED, NULL);
        break;
    }
}

static void on_health_sync(void *ctx, el_response_t *resp)
{
    engine_t *self = ctx;
    if (resp->err == PROTO_EL_TIMEOUT) {
        /* a client that takes the whole timeout to answer eth_syncing is
           hung (or stopped), not merely slow */
        set_state(self, EL_STATE_OFFLINE, resp->message);
        return;
    }
    if (resp->err != PROTO_OK) {
        engine_note_el_result(self, resp);
        return;
    }
    if (self->el_state == EL_STATE_AUTH_FAILED || self->el_state == EL_STATE_OFFLINE)
        return; /* only an authenticated answer ends these (check_caps) */
    bool synced = json_is_false(resp->result);
    if (json_is_object(resp->result)) {
        uint64_t current = 0, highest = 0;
        bool have = el_json_quantity(json_object_get(resp->result, "currentBlock"), &current) == 0
                    && el_json_quantity(json_object_get(resp->result, "highestBlock"), &highest) == 0;
        if (have) {
            self->sync_current = current;
            self->sync_highest = highest;
        }
        /* Geth reports progress while only its background indexers lag
           (txIndexRemainingBlocks is 1 at genesis until a first block
           arrives): every block is there, so it can build and import */
        synced = have && current >= highest;
    }
    set_state(self, synced ? EL_STATE_SYNCED : EL_STATE_SYNCING, NULL);
}

static int on_fatal(zloop_t *loop, int timer_id, void *arg) { return -1; }

static void identify_client(engine_t *self);

static bool caps_list_has(json_t *list, const char *method)
{
    for (size_t j = 0; j < json_array_size(list); j++)
        if (strcmp(json_string_value(json_array_get(list, j)) ?: "", method) == 0)
            return true;
    return false;
}

/*  engine_exchangeCapabilities: a method the fork schedule needs and the
    client lacks is fatal at start-up, since every build would fail; later it
    is logged (the client was replaced under us). The first answer also
    says how to name the client. */
static void on_caps(void *ctx, el_response_t *resp)
{
    engine_t *self = ctx;
    engine_note_el_result(self, resp);
    if (resp->err != PROTO_OK)
        return;
    self->caps_client_version = caps_list_has(resp->result, "engine_getClientVersionV1");
    const char *need[16];
    fork_required_methods(&self->config.schedule, need, 16);
    char missing[256] = "";
    for (size_t i = 0; need[i]; i++) {
        bool found = caps_list_has(resp->result, need[i]);
        if (!found && strlen(missing) + strlen(need[i]) + 3 < sizeof missing) {
            strcat(missing, missing[0] ? ", " : "");
            strcat(missing, need[i]);
        }
    }
    bool first = !self->caps_checked;
    self->caps_checked = true;
    self->caps_checked_ms = clock_mono_ms();
    if (first && !self->client.known)
        identify_client(self);
    if (!missing[0])
        return;
    if (first) {
        log_error("the execution client at %s does not offer %s, which the fork schedule needs: "
                  "stopping",
                  self->config.engine_url, missing);
        self->fatal = true;
        zloop_timer(self->loop, 1, 1, on_fatal, self);
    } else {
        log_error("the execution client no longer offers %s", missing);
    }
}

/*  Offers every Engine API method the actor calls, as the spec asks: the
    ones the fork schedule needs, and engine_getClientVersionV1, which is
    optional (its absence only means web3_clientVersion names the client). */
static void check_caps(engine_t *self)
{
    const char *methods[16];
    size_t n = fork_required_methods(&self->config.schedule, methods, 16);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_string(methods[i]));
    json_array_append_new(list, json_string("engine_getClientVersionV1"));
    el_client_call(self->el, EL_ENGINE, "engine_exchangeCapabilities", json_pack("[o]", list),
                   on_caps, self);
}

static void parse_client_version(engine_t *self, const char *text)
{
    /* "EthereumJS/0.10.5/linux/node20" or "Geth/v1.14.0-stable/linux-amd64/go1.22" */
    char name[48] = "", version[64] = "";
    const char *slash = strchr(text, '/');
    size_t n = slash ? (size_t) (slash - text) : strlen(text);
    snprintf(name, sizeof name, "%.*s", (int) (n < sizeof name ? n : sizeof name - 1), text);
    if (slash) {
        const char *end = strchr(slash + 1, '/');
        size_t m = end ? (size_t) (end - slash - 1) : strlen(slash + 1);
        snprintf(version, sizeof version, "%.*s", (int) (m < sizeof version ? m : sizeof version - 1),
                 slash + 1);
    }
    const client_profile_t *p = client_profile_for(name);
    snprintf(self->client.code, sizeof self->client.code, "%s", p->code);
    memcpy(self->client.name, name, sizeof name);
    memcpy(self->client.version, version, sizeof version);
    self->client.known = true;
}

static void adopt_client(engine_t *self)
{
    if (strcmp(self->config.client, "auto") == 0)
        self->profile = client_profile_for(self->client.code);
    const client_profile_t *p = self->profile;
    log_info("execution client is %s %s (%s); behaving as for %s: %s to an ancestor, %s for side "
             "chains, %s for an unknown parent, unknown payload id %lld%s%s",
             self->client.name, self->client.version, self->client.code, p->name,
             p->rewinds_to_ancestor ? "rewinds" : "does not rewind",
             p->answers_accepted ? "ACCEPTED" : "never ACCEPTED", p->unknown_parent_status,
             (long long) p->unknown_payload_code,
             p->strict_bearer_prefix ? ", exact 'Bearer ' prefix" : "",
             p->empty_payload_first ? ", may return an empty payload first" : "");
}

static void on_web3_version(void *ctx, el_response_t *resp)
{
    engine_t *self = ctx;
    if (resp->err == PROTO_OK && json_is_string(resp->result)) {
        parse_client_version(self, json_string_value(resp->result));
        adopt_client(self);
    }
}

static void on_client_version(void *ctx, el_response_t *resp)
{
    engine_t *self = ctx;
    json_t *first = json_array_get(resp->result, 0);
    const char *code = json_string_value(json_object_get(first, "code"));
    const char *name = json_string_value(json_object_get(first, "name"));
    const char *version = json_string_value(json_object_get(first, "version"));
    if (resp->err == PROTO_OK && code && name && version) {
        snprintf(self->client.code, sizeof self->client.code, "%s", code);
        snprintf(self->client.name, sizeof self->client.name, "%s", name);
        snprintf(self->client.version, sizeof self->client.version, "%s", version);
        self->client.known = true;
        adopt_client(self);
        return;
    }
    if (self->aborting || resp->err == PROTO_EL_UNAVAILABLE || resp->err == PROTO_EL_AUTH_FAILED
        || resp->err == PROTO_EL_TIMEOUT)
        return;
    /* listed but failing: the public name still says which client it is */
    el_client_call(self->el, EL_RPC, "web3_clientVersion", NULL, on_web3_version, self);
}

/*  Names the client: engine_getClientVersionV1 when exchangeCapabilities
    listed it (the spec's way, carrying this build's commit), else
    web3_clientVersion (EthereumJS and older clients lack the former, and a
    method the client did not list is not called). */
static void identify_client(engine_t *self)
{
    if (!self->caps_client_version) {
        el_client_call(self->el, EL_RPC, "web3_clientVersion", NULL, on_web3_version, self);
        return;
    }
    el_client_call(self->el, EL_ENGINE, "engine_getClientVersionV1",
                   json_pack("[{s:s,s:s,s:s,s:s}]", "code", "AL", "name", "alys-engine", "version",
                             ALYS_VERSION, "commit", build_info_commit()),
                   on_client_version, self);
}

/* ------------------------------------------------------------- recovery */

static fork_choice_t s_saved; /* the state file as read, until checked */
static bool s_have_saved;

static bool block_hash_of(json_t *block, uint8_t out[32])
{
    return json_is_object(block) && el_json_fixed(json_object_get(block, "hash"), out, 32) == 0;
}

/*  The chain's own fork: a latest block with parentBeaconBlockRoot is past
    Cancun, one with requestsHash past Prague. */
static void detect_forks(engine_t *self, json_t *latest)
{
    if (self->config.schedule.configured)
        return;
    if (json_object_get(latest, "parentBeaconBlockRoot") && self->config.schedule.cancun != 0) {
        self->config.schedule.cancun = 0;
        log_info("the chain is past Cancun: using Engine API V3");
    }
    if (json_object_get(latest, "requestsHash") && self->config.schedule.prague != 0) {
        self->config.schedule.prague = 0;
        log_info("the chain is past Prague: using Engine API V4");
    }
}

static void on_recovered(void *ctx, el_response_t *resp)
{
    engine_t *self = ctx;
    engine_note_el_result(self, resp);
    if (resp->err != PROTO_OK || !block_hash_of(json_array_get(resp->result, 0), self->fc.head)) {
        self->fc_phase = FC_UNKNOWN;
        if (resp->err == PROTO_SHUTTING_DOWN)
            return;
        char message[320];
        snprintf(message, sizeof message, "fork choice not known yet: %s",
                 resp->err ? resp->message : "the execution client has no latest block");
        drain_queue(self, resp->err == PROTO_OK || resp->err == PROTO_EL_ERROR ? PROTO_EL_UNAVAILABLE
                                                                              : resp->err,
                   message);
        return;
    }
    json_t *r = resp->result;
    json_t *latest = json_array_get(r, 0);
    detect_forks(self, latest);
    /* the client's own view first */
    fork_choice_t fc = {0};
    block_hash_of(latest, fc.head);
    fc.has_head = true;
    fc.has_safe = block_hash_of(json_array_get(r, 1), fc.safe);
    fc.has_finalized = block_hash_of(json_array_get(r, 2), fc.finalized)
                       && el_json_quantity(json_object_get(json_array_get(r, 2), "number"),
                                           &fc.finalized_number) == 0;
    /* then each saved hash the client still knows wins: clients that keep
       safe and finalized only in memory forget them on a restart */
    bool from_file = false;
    uint8_t h[32];
    uint64_t saved_number = 0;
    if (s_have_saved && s_saved.has_head && block_hash_of(json_array_get(r, 3), h)) {
        memcpy(fc.head, s_saved.head, 32);
        from_file = true;
    }
    /* safe and finalized come as a pair from one source, so that safe never
       lags behind finalized: the saved pair when its finalized is known and
       not behind the client's */
    if (s_have_saved && s_saved.has_finalized && block_hash_of(json_array_get(r, 5), h)
        && el_json_quantity(json_object_get(json_array_get(r, 5), "number"), &saved_number) == 0
        && (!fc.has_finalized || saved_number >= fc.finalized_number)) {
        memcpy(fc.finalized, s_saved.finalized, 32);
        fc.finalized_number = saved_number;
        fc.has_finalized = from_file = true;
        bool saved_safe_known = s_saved.has_safe && block_hash_of(json_array_get(r, 4), h);
        memcpy(fc.safe, saved_safe_known ? s_saved.safe : s_saved.finalized, 32);
        fc.has_safe = true;
    }
    fc.known = true;
    self->fc = fc;
    self->fc_phase = FC_READY;
    char hh[67], fh[67];
    log_info("fork choice recovered from %s: head %s, finalized %s (%llu)",
             from_file ? "the state file, checked against the execution client"
                       : "the execution client's latest, safe and finalized blocks",
             hex_encode(fc.head, 32, hh), fc.has_finalized ? hex_encode(fc.finalized, 32, fh) : "none",
             (unsigned long long) fc.finalized_number);
    engine_fc_changed(self);
    if (!self->caps_checked)
        check_caps(self);
    if (from_file)
        resend_fork_choice(self, true); /* the client may not know it: tell it first */
    else
        pump(self);
}

/*  Reads what the fork choice was: the state file when there is one (its
    hashes checked against the client), else the client's block tags. Until
    this completes, mutations wait in their queue. The tag lookups go in the
    same batch; errors for individual tags (a client that has no safe block
    yet) count as "none". */
static void recover_fork_choice(engine_t *self)
{
    if (self->fc_phase != FC_UNKNOWN || self->aborting)
        return;
    self->fc_phase = FC_LOADING;
    s_have_saved = false;
    if (self->config.state_dir) {
        char err[256];
        int rc = state_file_load(self->config.state_dir, &s_saved, err, sizeof err);
        if (rc < 0)
            log_warn("%s", err);
        s_have_saved = rc == 1;
    }
    json_t *calls = json_pack("[[s,[s,b]],[s,[s,b]],[s,[s,b]]]", "eth_getBlockByNumber", "latest",
                              0, "eth_getBlockByNumber", "safe", 0, "eth_getBlockByNumber",
                              "finalized", 0);
    if (s_have_saved) {
        const bool has[] = {s_saved.has_head, s_saved.has_safe, s_saved.has_finalized};
        const uint8_t *hashes[] = {s_saved.head, s_saved.safe, s_saved.finalized};
        for (int i = 0; i < 3; i++)
            json_array_append_new(calls, json_pack("[s,[o,b]]", "eth_getBlockByHash",
                                                   el_json_hex(has[i] ? hashes[i] : s_saved.head, 32), 0));
    }
    if (el_client_batch_lenient(self->el, EL_RPC, calls, on_recovered, self) != 0)
        self->fc_phase = FC_UNKNOWN;
}

/*  The client's head and the actor's head block as the client knows it,
    read while no fork-choice change runs or waits. A client that restarted
    may come back behind or beside the actor's fork choice (it lost blocks,
    or a head it took over a reorg): then the fork choice goes to it again.
    A client whose head is ahead of the actor's was moved on by someone
    else building on it; that is not fought (the next mutation says what
    the head is). */
static void on_head_check(void *ctx, el_response_t *resp)
{
    engine_t *self = ctx;
    uint8_t head[32];
    json_t *latest = json_array_get(resp->result, 0), *ours = json_array_get(resp->result, 1);
    if (resp->err != PROTO_OK || !block_hash_of(latest, head) || self->fc_phase != FC_READY
        || !self->fc.has_head || self->active || self->queue_head || self->shutting_down
        || self->fc_generation != self->head_check_generation)
        return; /* nothing to compare, or a change ran meanwhile */
    if (memcmp(head, self->fc.head, 32) == 0)
        return;
    uint64_t latest_n = 0, ours_n = 0;
    bool known = json_is_object(ours)
                 && el_json_quantity(json_object_get(ours, "number"), &ours_n) == 0;
    if (known && el_json_quantity(json_object_get(latest, "number"), &latest_n) == 0
        && latest_n > ours_n)
        return;
    char got[67], want[67];
    log_warn("the execution client's head %s is %s the fork choice's head %s (did it restart?)",
             hex_encode(head, 32, got), known ? "behind or beside" : "not, and it does not know",
             hex_encode(self->fc.head, 32, want));
    self->head_mismatches++;
    resend_fork_choice(self, false);
}

static int on_health_timer(zloop_t *loop, int timer_id, void *arg)
{
    engine_t *self = arg;
    if (self->aborting)
        return 0;
    el_client_call(self->el, EL_RPC, "eth_syncing", NULL, on_health_sync, self);
    if (self->fc_phase == FC_READY && self->el_state == EL_STATE_SYNCED && !self->active
        && !self->queue_head) {
        self->head_check_generation = self->fc_generation;
        el_client_batch_lenient(self->el, EL_RPC,
                                json_pack("[[s,[s,b]],[s,[o,b]]]", "eth_getBlockByNumber",
                                          "latest", 0, "eth_getBlockByHash",
                                          el_json_hex(self->fc.head, 32), 0),
                                on_head_check, self);
    }
    bool due = clock_mono_ms() - self->caps_checked_ms >= self->config.caps_interval_ms;
    if (self->caps_checked
        && (due || self->el_state == EL_STATE_AUTH_FAILED || self->el_state == EL_STATE_OFFLINE))
        check_caps(self); /* also proves the JWT works again */
    if (!self->client.known && self->caps_checked)
        identify_client(self);
    if (self->fc_phase == FC_UNKNOWN)
        recover_fork_choice(self);
    else if (!self->caps_checked && self->fc_phase == FC_READY)
        check_caps(self);
    int64_t now = clock_mono_ms();
    payload_cache_sweep(self->payloads, now);
    return 0;
}

static size_t busy(const engine_t *self);

static int on_sweep(zloop_t *loop, int timer_id, void *arg)
{
    engine_t *self = arg;
    int64_t now = clock_mono_ms();
    dedupe_entry_t *d, *tmp;
    HASH_ITER(hh, self->dedupe, d, tmp) {
        if (d->state == DEDUPE_DONE && d->expires_ms <= now) {
            HASH_DEL(self->dedupe, d);
            free(d->reply);
            free(d);
        }
    }
    peer_rec_t *p, *ptmp;
    HASH_ITER(hh, self->peers, p, ptmp) {
        if (now - p->last_seen_ms > PEER_IDLE_MS) {
            HASH_DEL(self->peers, p);
            free(p);
        }
    }
    /* freed memory stays with the allocator (a reconnect storm leaves
       ZeroMQ's per-connection buffers behind it): give it back while idle.
       Peers may only connect, without a request, so no condition on work
       done; a trim of a small, idle heap costs well under a millisecond */
    if (busy(self) == 0)
        malloc_trim(0);
    return 0;
}

/* ------------------------------------------------------------- shutdown */

static size_t busy(const engine_t *self)
{
    return self->n_queries + self->qq_len + (self->active ? 1 : 0) + self->queue_len;
}

static int on_drain(zloop_t *loop, int timer_id, void *arg)
{
    engine_t *self = arg;
    if (!self->aborting
        && clock_mono_ms() - self->shutdown_started_ms >= self->config.shutdown_grace_ms) {
        self->aborting = true;
        log_warn("%zu requests still running after %d ms: answering SHUTTING_DOWN", busy(self),
                 self->config.shutdown_grace_ms);
        el_client_abort_all(self->el, PROTO_SHUTTING_DOWN, "the actor is stopping");
    }
    if (busy(self) == 0) {
        self->aborting = true;
        el_client_abort_all(self->el, PROTO_SHUTTING_DOWN, "the actor is stopping");
        return -1; /* ends zloop_start */
    }
    return 0;
}

static int on_signal(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    engine_t *self = arg;
    struct signalfd_siginfo si;
    if (read(self->signal_fd, &si, sizeof si) != (ssize_t) sizeof si)
        return 0;
    if (self->shutting_down)
        return 0;
    self->shutting_down = true;
    self->shutdown_started_ms = clock_mono_ms();
    log_info("received %s: finishing %zu requests in flight, then stopping",
             strsignal((int) si.ssi_signo), busy(self));
    zloop_timer(loop, 10, 0, on_drain, self);
    drain_queue(self, PROTO_SHUTTING_DOWN, "the actor is stopping"); /* not started: answer now */
    pump_queries(self); /* the waiting reads too */
    return 0;
}

/* -------------------------------------------------------------- metrics */

#define NBUCKETS(a) (sizeof(a) / sizeof *(a))
static const double s_latency[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                   0.25, 0.5, 1, 2.5, 5, 10};
static const double s_counts[] = {0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
static const double s_gas[] = {21000, 100000, 1e6, 5e6, 1e7, 1.5e7, 2e7, 3e7, 6e7};

/*  Every family the actor exports, in the order /metrics shows them. */
static const struct {
    const char *name;
    metric_type_t type;
    const double *buckets;
    size_t n_buckets;
    const char *help;
} s_families[] = {
    {"alys_engine_requests_total", METRIC_COUNTER, NULL, 0,
     "Requests answered, by op and outcome (ok or the error code)."},
    {"alys_engine_request_duration_seconds", METRIC_HISTOGRAM, s_latency, NBUCKETS(s_latency),
     "Time from receiving a request to sending its reply, by op."},
    {"alys_engine_el_call_duration_seconds", METRIC_HISTOGRAM, s_latency, NBUCKETS(s_latency),
     "Execution client JSON-RPC call latency, by method."},
    {"alys_engine_el_calls_total", METRIC_COUNTER, NULL, 0,
     "Execution client calls, by method and outcome."},
    {"alys_engine_payload_status_total", METRIC_COUNTER, NULL, 0,
     "PayloadStatus answers of the execution client, by method and status."},
    {"alys_engine_errors_total", METRIC_COUNTER, NULL, 0,
     "Error replies sent to peers, by error code."},
    {"alys_engine_blocks_built_total", METRIC_COUNTER, NULL, 0,
     "Blocks built."},
    {"alys_engine_blocks_committed_total", METRIC_COUNTER, NULL, 0,
     "Blocks committed (made the head)."},
    {"alys_engine_blocks_finalized_total", METRIC_COUNTER, NULL, 0,
     "Finalizations applied."},
    {"alys_engine_blocks_reverted_total", METRIC_COUNTER, NULL, 0,
     "Blocks reverted."},
    {"alys_engine_built_block_gas_used", METRIC_HISTOGRAM, s_gas, NBUCKETS(s_gas),
     "Gas used by built blocks."},
    {"alys_engine_built_block_value_wei_total", METRIC_COUNTER, NULL, 0,
     "Sum of the value (fees to the recipient) of built blocks, in wei."},
    {"alys_engine_built_block_transactions", METRIC_HISTOGRAM, s_counts, NBUCKETS(s_counts),
     "Transactions per built block."},
    {"alys_engine_built_block_withdrawals", METRIC_HISTOGRAM, s_counts, NBUCKETS(s_counts),
     "Withdrawals (peg-ins) per built block."},
    {"alys_engine_cache_hits_total", METRIC_COUNTER, NULL, 0,
     "Cache hits, by cache."},
    {"alys_engine_cache_misses_total", METRIC_COUNTER, NULL, 0,
     "Cache misses, by cache."},
    {"alys_engine_cache_evictions_total", METRIC_COUNTER, NULL, 0,
     "Entries evicted for room or age, by cache."},
    {"alys_engine_cache_entries", METRIC_GAUGE, NULL, 0,
     "Entries held, by cache."},
    {"alys_engine_mutation_lane_depth", METRIC_GAUGE, NULL, 0,
     "Fork choice changes running or queued."},
    {"alys_engine_queries_in_flight", METRIC_GAUGE, NULL, 0,
     "Read requests running."},
    {"alys_engine_queries_queued", METRIC_GAUGE, NULL, 0,
     "Read requests waiting for one of the --max-queries slots."},
    {"alys_engine_el_calls_shared_total", METRIC_COUNTER, NULL, 0,
     "Reads answered by an identical execution client call already in flight."},
    {"alys_engine_peers_evicted_total", METRIC_COUNTER, NULL, 0,
     "Peer records dropped because more than 10,000 peers were known."},
    {"alys_engine_el_head_mismatches_total", METRIC_COUNTER, NULL, 0,
     "Times the execution client's head was found off the fork choice (then re-sent)."},
    {"alys_engine_el_calls_waiting", METRIC_GAUGE, NULL, 0,
     "Execution client calls waiting for a pooled connection."},
    {"alys_engine_peers", METRIC_GAUGE, NULL, 0,
     "Peer connections open now."},
    {"alys_engine_execution_client_state", METRIC_GAUGE, NULL, 0,
     "1 for the execution client's current state, 0 for the others."},
    {"alys_engine_execution_client_sync_current_block", METRIC_GAUGE, NULL, 0,
     "Current block while the execution client syncs."},
    {"alys_engine_execution_client_sync_highest_block", METRIC_GAUGE, NULL, 0,
     "Highest known block while the execution client syncs."},
    {"alys_engine_el_connections_opened_total", METRIC_COUNTER, NULL, 0,
     "TCP connections opened to the execution client (keep-alive reuses them)."},
    {"alys_engine_dropped_envelopes_total", METRIC_COUNTER, NULL, 0,
     "Messages dropped for a malformed envelope."},
    {"alys_engine_unroutable_replies_total", METRIC_COUNTER, NULL, 0,
     "Replies that could not be delivered."},
    {"alys_engine_uptime_seconds", METRIC_GAUGE, NULL, 0,
     "Seconds since start."},
    {"process_resident_memory_bytes", METRIC_GAUGE, NULL, 0,
     "Resident memory size."},
};

static void define_metrics(metrics_t *m)
{
    for (size_t i = 0; i < sizeof s_families / sizeof *s_families; i++)
        metrics_define(m, s_families[i].name, s_families[i].type, s_families[i].help,
                       s_families[i].buckets, s_families[i].n_buckets);
}

static void on_el_call(void *ctx, const char *method, const el_response_t *resp)
{
    engine_t *self = ctx;
    char labels[128];
    snprintf(labels, sizeof labels, "method=\"%s\"", method);
    metrics_observe(self->metrics, "alys_engine_el_call_duration_seconds", labels,
                    (double) resp->latency_us / 1e6);
    snprintf(labels, sizeof labels, "method=\"%s\",outcome=\"%s\"", method,
             resp->err == PROTO_OK ? "ok" : proto_err_name(resp->err));
    metrics_add(self->metrics, "alys_engine_el_calls_total", labels, 1);
}

static void set_cache_metrics(metrics_t *m, const char *name, const cache_stats_t *s)
{
    char labels[32];
    snprintf(labels, sizeof labels, "cache=\"%s\"", name);
    metrics_set(m, "alys_engine_cache_hits_total", labels, (double) s->hits);
    metrics_set(m, "alys_engine_cache_misses_total", labels, (double) s->misses);
    metrics_set(m, "alys_engine_cache_evictions_total", labels, (double) (s->evictions + s->expirations));
    metrics_set(m, "alys_engine_cache_entries", labels, (double) s->entries);
}

/*  Gauges are read from the state they describe at scrape time. */
static char *render_metrics(void *ctx)
{
    engine_t *self = ctx;
    metrics_t *m = self->metrics;
    cache_stats_t b, p;
    block_cache_stats(self->blocks, &b);
    payload_cache_stats(self->payloads, &p);
    set_cache_metrics(m, "block", &b);
    set_cache_metrics(m, "payload", &p);
    metrics_set(m, "alys_engine_mutation_lane_depth", NULL, (double) (self->queue_len + (self->active ? 1 : 0)));
    metrics_set(m, "alys_engine_queries_in_flight", NULL, (double) self->n_queries);
    metrics_set(m, "alys_engine_queries_queued", NULL, (double) self->qq_len);
    metrics_set(m, "alys_engine_el_calls_shared_total", NULL, (double) self->shared_joins);
    metrics_set(m, "alys_engine_el_head_mismatches_total", NULL, (double) self->head_mismatches);
    metrics_set(m, "alys_engine_peers_evicted_total", NULL, (double) self->peers_evicted);
    metrics_set(m, "alys_engine_el_calls_waiting", NULL, (double) el_client_waiting(self->el));
    metrics_set(m, "alys_engine_peers", NULL, (double) peer_conns_open(self->peer_conns));
    for (el_state_t s = EL_STATE_UNKNOWN; s <= EL_STATE_AUTH_FAILED; s++) {
        char labels[40];
        snprintf(labels, sizeof labels, "state=\"%s\"", el_state_name(s));
        metrics_set(m, "alys_engine_execution_client_state", labels, self->el_state == s);
    }
    bool syncing = self->el_state == EL_STATE_SYNCING;
    metrics_set(m, "alys_engine_execution_client_sync_current_block", NULL, syncing ? (double) self->sync_current : 0);
    metrics_set(m, "alys_engine_execution_client_sync_highest_block", NULL, syncing ? (double) self->sync_highest : 0);
    el_client_stats_t el;
    el_client_stats(self->el, &el);
    metrics_set(m, "alys_engine_el_connections_opened_total", NULL, (double) el.connections_opened);
    metrics_set(m, "alys_engine_dropped_envelopes_total", NULL, (double) self->dropped_envelopes);
    metrics_set(m, "alys_engine_unroutable_replies_total", NULL, (double) self->unroutable_replies);
    metrics_set(m, "alys_engine_uptime_seconds", NULL, (double) engine_uptime_ms(self) / 1000.0);
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    metrics_set(m, "process_resident_memory_bytes", NULL, (double) resident * (double) sysconf(_SC_PAGESIZE));
    return metrics_render(m);
}

static bool health_metrics(void *ctx, char *reason, size_t reason_len)
{
    engine_t *self = ctx;
    if (self->el_state == EL_STATE_SYNCED) {
        snprintf(reason, reason_len, "ok: the execution client is synced");
        return true;
    }
    snprintf(reason, reason_len, "unhealthy: the execution client is %s",
             el_state_name(self->el_state));
    return false;
}

/* ------------------------------------------------------------ lifecycle */

/*  Makes the ROUTER a CURVE server that serves only the clients whose public
    certificates are in --curve-allow (zauth re-reads the directory when it
    changes), or, without CURVE, refuses a tcp bind that other hosts could
    reach unless --insecure-tcp says so. Before bind. Returns 0 or -1. */
static int setup_curve(engine_t *self, char *err, size_t err_len)
{
    const engine_config_t *c = &self->config;
    if (!c->curve_secret_path && !c->curve_allow_dir) {
        if (!curve_endpoint_exposed(c->bind))
            return 0;
        if (!c->insecure_tcp) {
            snprintf(err, err_len, "--bind %s is reachable from other hosts and anyone who "
                                   "reaches it can build and commit blocks: give --curve-secret "
                                   "and --curve-allow, bind to 127.0.0.1, or say --insecure-tcp",
                     c->bind);
            return -1;
        }
        log_warn("--insecure-tcp: %s accepts unauthenticated peers from other hosts", c->bind);
        return 0;
    }
    if (!c->curve_secret_path || !c->curve_allow_dir) {
        snprintf(err, err_len, "--curve-secret and --curve-allow go together");
        return -1;
    }
    struct stat st;
    if (stat(c->curve_allow_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, err_len, "--curve-allow %s: not a directory", c->curve_allow_dir);
        return -1;
    }
    self->curve_cert = curve_load_secret(c->curve_secret_path, err, err_len);
    if (!self->curve_cert)
        return -1;
    self->auth = zactor_new(zauth, NULL);
    if (!self->auth) {
        snprintf(err, err_len, "cannot start the ZAP handler");
        return -1;
    }
    if (log_get_level() >= ALOG_DEBUG) {
        zstr_sendx(self->auth, "VERBOSE", NULL);
        zsock_wait(self->auth);
    }
    zstr_sendx(self->auth, "CURVE", c->curve_allow_dir, NULL);
    zsock_wait(self->auth);
    zcert_apply(self->curve_cert, self->router);
    zsock_set_curve_server(self->router, 1);
    zsock_set_zap_domain(self->router, "alys-engine");
    log_info("CURVE on %s: clients allowed from %s", c->bind, c->curve_allow_dir);
    return 0;
}

engine_t *engine_new(const engine_config_t *config, char *err, size_t err_len)
{
    engine_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    self->config = *config;
    self->signal_fd = -1;
    self->start_ms = clock_mono_ms();
    proto_writer_init(&self->writer);
    self->metrics = metrics_new();
    if (!self->metrics) {
        snprintf(err, err_len, "out of memory");
        free(self);
        return NULL;
    }
    define_metrics(self->metrics);
    assert(proto_n_ops <= sizeof self->op_ok / sizeof *self->op_ok);
    self->jwt = jwt_auth_load(config->jwt_secret_path, config->strict_permissions, err, err_len);
    if (!self->jwt)
        goto fail;
    self->instance = instance_new();
    if (!self->instance) {
        snprintf(err, err_len, "out of memory");
        goto fail;
    }
    if (config->state_dir && instance_lock_dir(self->instance, config->state_dir, err, err_len) != 0)
        goto fail;
    if (instance_claim_endpoint(self->instance, config->bind, err, err_len) != 0)
        goto fail;

    zsys_handler_set(NULL); /* signals arrive through signalfd below */
    /* blocked before any thread starts (zauth's is one), so that every
       thread inherits the mask and only the signalfd sees them */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    self->loop = zloop_new();
    self->router = zsock_new(ZMQ_ROUTER);
    if (!self->loop || !self->router) {
        snprintf(err, err_len, "cannot create the ZeroMQ socket");
        goto fail;
    }
    zsock_set_router_mandatory(self->router, 1);
    zsock_set_router_handover(self->router, 1);
    zsock_set_sndhwm(self->router, 10000);
    zsock_set_rcvhwm(self->router, 10000);
    zsock_set_maxmsgsize(self->router, (int) config->max_frame);
    zsock_set_rcvtimeo(self->router, 0);
    zsock_set_linger(self->router, 500);
    if (setup_curve(self, err, err_len) != 0)
        goto fail;
    /*  Before the bind: a peer already waiting (the supervisor's pinger
        retries every 10 ms) connects at once and must be counted. */
    self->peer_conns = peer_conns_new(self->loop, self->router);
    if (!self->peer_conns)
        log_warn("cannot monitor peer connections: the peers gauge stays at 0");
    /* the ipc socket file is created rw for owner and group (the peers'
       group), never for others, whatever umask the actor was started with */
    mode_t umask_before = umask(0117);
    int bound = zsock_bind(self->router, "%s", config->bind);
    umask(umask_before);
    if (bound < 0) {
        int e = zmq_errno();
        /*  The default's /run/alys exists only where systemd made it. */
        snprintf(err, err_len, "cannot bind %s: %s%s", config->bind, zmq_strerror(e),
                 e == ENOENT && strncmp(config->bind, "ipc://", 6) == 0
                     ? " (its directory does not exist: create it, as systemd's "
                       "RuntimeDirectory= does for /run/alys, or bind elsewhere, e.g. "
                       "--bind ipc://$XDG_RUNTIME_DIR/alys-engine.sock)"
                     : "");
        goto fail;
    }
    if (instance_bound(self->instance, config->bind, 0660, err, err_len) != 0)
        goto fail;
    el_client_config_t elc = {
        .engine_url = config->engine_url,
        .rpc_url = config->rpc_url,
        .jwt = self->jwt,
        .timeout_multiplier = config->timeout_multiplier,
        .max_buffered = config->max_el_buffer,
        .max_connections = config->el_connections,
    };
    self->el = el_client_new(self->loop, &elc);
    self->payloads = payload_cache_new(config->payload_cache_size, config->payload_ttl_ms);
    self->blocks = block_cache_new(config->block_cache_size);
    if (!self->el || !self->payloads || !self->blocks) {
        snprintf(err, err_len, "cannot initialise libcurl or the caches");
        goto fail;
    }
    self->profile = client_profile_for(strcmp(config->client, "auto") == 0 ? NULL : config->client);
    el_client_set_observer(self->el, on_el_call, self);
    if (config->metrics_listen) {
        char why[160];
        self->metrics_server = metrics_server_new(self->loop, config->metrics_listen, render_metrics,
                                                  health_metrics, self, why, sizeof why);
        /* a configured address that cannot serve is a configuration error,
           like a busy --bind: the supervisor's /health would be blind */
        if (!self->metrics_server) {
            snprintf(err, err_len, "--metrics-listen: %s", why);
            goto fail;
        }
    }
    self->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (self->signal_fd < 0) {
        snprintf(err, err_len, "signalfd: %s", strerror(errno));
        goto fail;
    }
    zmq_pollitem_t sig_item = {NULL, self->signal_fd, ZMQ_POLLIN, 0};
    zloop_poller(self->loop, &sig_item, on_signal, self);
    zloop_reader(self->loop, self->router, on_router, self);
    zloop_timer(self->loop, (size_t) config->health_interval_ms, 0, on_health_timer, self);
    zloop_timer(self->loop, SWEEP_INTERVAL_MS, 0, on_sweep, self);
    return self;
fail:
    engine_destroy(&self);
    return NULL;
}

void engine_destroy(engine_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    engine_t *self = *self_p;
    self->aborting = true;
    el_client_destroy(&self->el);
    /* requests still queued (none after a drain) get no reply: free them */
    while (self->queue_head) {
        req_t *next = self->queue_head->next;
        req_free(self->queue_head);
        self->queue_head = next;
    }
    while (self->qq_head) {
        req_t *next = self->qq_head->next;
        req_free(self->qq_head);
        self->qq_head = next;
    }
    dedupe_entry_t *d, *tmp;
    HASH_ITER(hh, self->dedupe, d, tmp) {
        HASH_DEL(self->dedupe, d);
        free(d->reply);
        free(d);
    }
    payload_cache_destroy(&self->payloads);
    block_cache_destroy(&self->blocks);
    metrics_server_destroy(&self->metrics_server);
    metrics_destroy(&self->metrics);
    peer_rec_t *p, *ptmp;
    HASH_ITER(hh, self->peers, p, ptmp) {
        HASH_DEL(self->peers, p);
        free(p);
    }
    peer_conns_destroy(&self->peer_conns);
    zsock_destroy(&self->router);
    zactor_destroy(&self->auth);
    curve_cert_destroy(&self->curve_cert);
    instance_destroy(&self->instance); /* after the socket: removes its file, then unlocks */
    zloop_destroy(&self->loop);
    if (self->signal_fd >= 0)
        close(self->signal_fd);
    jwt_auth_destroy(&self->jwt);
    proto_writer_release(&self->writer);
    free(self);
    *self_p = NULL;
}

int engine_run(engine_t *self)
{
    char metrics_at[32] = "off";
    if (self->metrics_server)
        snprintf(metrics_at, sizeof metrics_at, "port %d", engine_metrics_port(self));
    log_info("alys-engine %s serving %s; execution client engine %s, rpc %s; metrics %s",
             ALYS_VERSION, self->config.bind, self->config.engine_url, self->config.rpc_url,
             metrics_at);
    on_health_timer(self->loop, -1, self);
    zloop_start(self->loop);
    if (self->fatal)
        return 1;
    log_info("stopped (%llu requests served, %llu malformed envelopes dropped, %llu replies "
             "unroutable)",
             (unsigned long long) self->requests, (unsigned long long) self->dropped_envelopes,
             (unsigned long long) self->unroutable_replies);
    return 0;
}
