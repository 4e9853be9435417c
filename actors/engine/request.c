/*  A request's life: decoding, admission (the op table's preconditions,
    checked here and only here), its lane (mutations one at a time in
    arrival order, reads concurrently up to --max-queries, then waiting),
    the retry rule for mutations (idempotency.c), the execution-client
    calls it makes (each completion wrapped: health noted, errors replied
    once), and its one reply. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utlist.h>

#include "clock.h"
#include "engine_internal.h"
#include "log.h"

/*  What a waiting read is charged beside its frame: the request record,
    its decoded arguments and the routing id, rounded up. */
#define QUERY_QUEUE_OVERHEAD 1024
#define PEER_IDLE_MS (5 * 60 * 1000)
/*  Peer records kept at most: past this, the longest-silent ones go first
    (a record is only bookkeeping for metrics; requests never need it). */
#define PEER_MAX 10000

/*  One record per peer, keyed by its routing id. */
struct peer_rec {
    uint8_t rid_len;
    uint8_t rid[255];
    int64_t last_seen_ms;
    uint64_t requests;
    UT_hash_handle hh;
};

/*  Requests waiting for the one execution-client call of an identical read
    (same endpoint, method and params) that is in flight. */
typedef struct shared_waiter {
    req_t *req;
    el_cont_fn *cont;
    struct shared_waiter *prev, *next;
} shared_waiter_t;

struct shared_call {
    char *key;
    engine_t *engine;
    shared_waiter_t *waiters;
    UT_hash_handle hh;
};

static const msgpack_object s_empty_map = {.type = MSGPACK_OBJECT_MAP};

/* ------------------------------------------------------------ the op index */

int engine_ops_index(engine_t *self, char *err, size_t err_len)
{
    self->ops = calloc(op_table_len, sizeof *self->ops);
    if (!self->ops) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < op_table_len; i++) {
        op_entry_t *e = &self->ops[i], *dup = NULL;
        e->row = &op_table[i];
        e->op = proto_op_find(e->row->name);
        HASH_FIND_STR(self->ops_by_name, e->row->name, dup);
        if (!e->op || dup) {
            snprintf(err, err_len, "op table: %s '%s'", dup ? "a second row for" : "no contract op",
                     e->row->name);
            return -1;
        }
        HASH_ADD_KEYPTR(hh, self->ops_by_name, e->row->name, strlen(e->row->name), e);
    }
    for (size_t i = 0; i < proto_n_ops; i++) {
        op_entry_t *e = NULL;
        HASH_FIND_STR(self->ops_by_name, proto_ops[i].name, e);
        if (!e) {
            snprintf(err, err_len, "op table: no handler for '%s'", proto_ops[i].name);
            return -1;
        }
    }
    self->resend.row = &op_resend_row;
    self->resend.op = proto_op_find(op_resend_row.name);
    return self->resend.op ? 0 : -1;
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

void engine_send_error_now(engine_t *self, zframe_t *routing, bool has_id, uint64_t id,
                           proto_err_t err, const char *message)
{
    char labels[64];
    snprintf(labels, sizeof labels, "code=\"%s\"", proto_err_name(err));
    metrics_add(self->metrics, "alys_engine_errors_total", labels, 1);
    proto_writer_reset(&self->writer);
    proto_reply_error(&self->writer.pk, has_id, id, err, message, false, 0);
    send_frames(self, routing, (const uint8_t *) self->writer.sbuf.data, self->writer.sbuf.size);
}

/*  A request refused before its handler ran: counted against its op. */
static void reject(req_t *req, proto_err_t err, const char *message)
{
    /* every caller has found the op: an unknown op or a malformed envelope
       is answered with engine_send_error_now */
    engine_metrics_rejected(req->engine, req->entry, err);
    engine_send_error_now(req->engine, req->routing, true, req->msg.id, err, message);
}

/* ------------------------------------------------------------- requests */

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
    free(req->reimport.chain);
    zframe_destroy(&req->routing);
    proto_request_release(&req->msg);
    free(req);
}

void *req_result(req_t *req)
{
    if (!req->result)
        req->result = calloc(1, req->op->result->size);
    return req->result;
}

/*  Sends the encoded reply to the peer (and to retries that joined), keeps
    it for idempotent retries when it is final, and ends the request. */
static void finish(req_t *req, const uint8_t *body, size_t len, bool final, proto_err_t outcome)
{
    engine_t *self = req->engine;
    int64_t took = clock_mono_us() - req->start_us;
    engine_metrics_request(self, req->entry, outcome, took);
    if (req->routing)
        send_frames(self, req->routing, body, len);
    if (req->idem) {
        size_t joiners = idem_end(self->idem, req->idem, body, len, final, clock_mono_ms());
        for (size_t i = 0; i < joiners; i++)
            send_frames(self, req->routing, body, len);
        req->idem = NULL;
    }
    log_debug("%s id=%llu done in %lld us", req->op->name, (unsigned long long) req->msg.id,
              (long long) took);
    if (req->op->lane == PROTO_LANE_MUTATION && self->active == req)
        self->active = NULL;
    else if (req->op->lane == PROTO_LANE_QUERY)
        self->n_queries--;
    req_free(req);
    engine_pump(self);
}

void engine_reply_ok(req_t *req, const void *result)
{
    proto_writer_t *w = &req->engine->writer;
    proto_writer_reset(w);
    proto_reply_ok(&w->pk, true, req->msg.id, req->op->result, result);
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
    const char *name = req->op->name;
    if (err == PROTO_INTERNAL)
        log_error("%s id=%llu: internal error: %s", name, (unsigned long long) req->msg.id, message);
    else if (!req->routing)
        log_warn("the actor's own %s failed: %s: %s", name, proto_err_name(err), message);
    else if (req->op->lane == PROTO_LANE_MUTATION)
        /*  A fork choice change that did not happen is the operator's
            business; a retryable one will most likely be tried again. */
        log_msg(proto_err_retryable(err) ? ALOG_INFO : ALOG_WARN, "%s id=%llu failed: %s: %s",
                name, (unsigned long long) req->msg.id, proto_err_name(err), message);
    else
        log_debug("%s id=%llu: %s: %s", name, (unsigned long long) req->msg.id,
                  proto_err_name(err), message);
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

/* ------------------------------------------------- execution-client calls */

/*  Every call a request makes completes here: the outcome is noted for the
    health state machine, a failure is offered to the handler's on_fail,
    then mapped (a forkchoiceUpdated's -38002 is an invalid fork choice) and
    replied; only a success reaches the continuation. */
static void on_answer(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    el_cont_fn *cont = req->cont;
    el_fail_fn *on_fail = req->on_fail;
    bool fcu = req->fcu_call;
    req->cont = NULL;
    req->on_fail = NULL;
    req->fcu_call = false;
    engine_note_el_result(req->engine, resp);
    if (resp->err == PROTO_OK) {
        cont(req, resp);
        return;
    }
    if (on_fail && on_fail(req, resp))
        return;
    if (fcu && resp->err == PROTO_EL_ERROR && resp->has_el_code)
        resp->err = fork_choice_map_el_code(resp->el_code);
    engine_reply_el_error(req, resp);
}

static bool refuse_while_aborting(req_t *req, json_t *params)
{
    if (!req->engine->aborting)
        return false;
    json_decref(params);
    engine_reply_error(req, PROTO_SHUTTING_DOWN, "the actor is stopping");
    return true;
}

static void arm(req_t *req, const char *method, el_cont_fn *cont, el_fail_fn *on_fail)
{
    req->cont = cont;
    req->on_fail = on_fail;
    req->fcu_call = method && strncmp(method, "engine_forkchoiceUpdated", 24) == 0;
}

int engine_call_or(req_t *req, el_endpoint_t endpoint, const char *method, json_t *params,
                   el_cont_fn *cont, el_fail_fn *on_fail)
{
    if (refuse_while_aborting(req, params))
        return -1;
    arm(req, method, cont, on_fail);
    if (el_client_call(req->engine->el, endpoint, method, params, on_answer, req) != 0) {
        req->cont = NULL;
        engine_reply_error(req, PROTO_INTERNAL, "could not start %s", method);
        return -1;
    }
    return 0;
}

int engine_call(req_t *req, el_endpoint_t endpoint, const char *method, json_t *params,
                el_cont_fn *cont)
{
    return engine_call_or(req, endpoint, method, params, cont, NULL);
}

static int batch(req_t *req, el_endpoint_t endpoint, json_t *calls, bool lenient, el_cont_fn *cont)
{
    if (refuse_while_aborting(req, calls))
        return -1;
    arm(req, NULL, cont, NULL);
    int rc = lenient ? el_client_batch_lenient(req->engine->el, endpoint, calls, on_answer, req)
                     : el_client_batch(req->engine->el, endpoint, calls, on_answer, req);
    if (rc != 0) {
        req->cont = NULL;
        engine_reply_error(req, PROTO_INTERNAL, "could not start a batch call");
        return -1;
    }
    return 0;
}

int engine_batch(req_t *req, el_endpoint_t endpoint, json_t *calls, el_cont_fn *cont)
{
    return batch(req, endpoint, calls, false, cont);
}

int engine_batch_lenient(req_t *req, el_endpoint_t endpoint, json_t *calls, el_cont_fn *cont)
{
    return batch(req, endpoint, calls, true, cont);
}

/*  The one answer goes to every waiter, each with its own copy of the
    response (the error mapping may rewrite it); the result document is
    shared and read-only. The entry leaves the table before the waiters
    run, so a waiter that asks again starts a fresh call. */
static void on_shared_call(void *ctx, el_response_t *resp)
{
    shared_call_t *sc = ctx;
    HASH_DEL(sc->engine->shared, sc);
    shared_waiter_t *w, *tmp;
    DL_FOREACH_SAFE(sc->waiters, w, tmp) {
        el_response_t copy = *resp;
        arm(w->req, NULL, w->cont, NULL);
        on_answer(w->req, &copy);
        free(w);
    }
    free(sc->key);
    free(sc);
}

int engine_call_shared(req_t *req, el_endpoint_t endpoint, const char *method, json_t *params,
                       el_cont_fn *cont)
{
    engine_t *self = req->engine;
    if (refuse_while_aborting(req, params))
        return -1;
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
    w->cont = cont;
    shared_call_t *sc = NULL;
    HASH_FIND_STR(self->shared, key, sc);
    if (sc) {
        DL_APPEND(sc->waiters, w);
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
    DL_APPEND(sc->waiters, w);
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

/* ---------------------------------------------------------------- lanes */

/*  The preconditions of the op table's flags, checked when a request is
    about to run (state may change while it waits). */
static void run(req_t *req)
{
    unsigned flags = req->entry->row->flags;
    if (req->engine->shutting_down) {
        engine_reply_error(req, PROTO_SHUTTING_DOWN, "the actor is stopping");
        return;
    }
    if ((flags & OPF_NOT_WHILE_SYNCING) && req->engine->el_state == EL_STATE_SYNCING) {
        engine_metrics_rejected(req->engine, req->entry, PROTO_EL_SYNCING);
        engine_reply_error(req, PROTO_EL_SYNCING,
                           "the execution client is syncing: it cannot %s yet", req->op->name);
        return;
    }
    req->entry->row->handler(req);
}

/*  Runs queued mutations one at a time. A handler may finish synchronously,
    which calls back into here: the flag keeps that from nesting. Mutations
    that need the fork choice wait until it is known. */
static void pump_mutations(engine_t *self)
{
    if (self->pumping)
        return;
    if (self->queue && self->fc_phase != FC_READY && !self->shutting_down
        && (self->queue->entry->row->flags & OPF_NEEDS_FORK_CHOICE)) {
        engine_recover_fork_choice(self);
        return;
    }
    self->pumping = true;
    while (!self->active && self->queue) {
        req_t *req = self->queue;
        DL_DELETE(self->queue, req);
        self->queue_len--;
        req->next = req->prev = NULL;
        self->active = req;
        run(req);
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
    while (self->waiting_queries
           && (self->shutting_down || self->n_queries < self->config.max_queries)) {
        req_t *req = self->waiting_queries;
        DL_DELETE(self->waiting_queries, req);
        self->qq_len--;
        self->qq_bytes -= req->queued_bytes;
        req->next = req->prev = NULL;
        self->n_queries++;
        req->generation = fc_generation(self->fc);
        run(req);
    }
    self->pumping_queries = false;
}

void engine_pump(engine_t *self)
{
    pump_mutations(self);
    pump_queries(self);
}

void engine_drain_queue(engine_t *self, proto_err_t err, const char *message)
{
    bool was = self->pumping;
    self->pumping = true;
    while (self->queue) {
        req_t *req = self->queue;
        DL_DELETE(self->queue, req);
        self->queue_len--;
        req->next = req->prev = NULL;
        engine_reply_error(req, err, "%s", message);
    }
    self->pumping = was;
}

size_t engine_busy(const engine_t *self)
{
    return self->n_queries + self->qq_len + (self->active ? 1 : 0) + self->queue_len;
}

void engine_resend_fork_choice(engine_t *self, bool at_front)
{
    if (!at_front && (self->active || self->queue))
        return;
    req_t *req = calloc(1, sizeof *req);
    if (!req || !fc_get(self->fc)->has_head) {
        free(req);
        engine_pump(self);
        return;
    }
    req->engine = self;
    req->entry = &self->resend;
    req->op = self->resend.op;
    req->start_us = clock_mono_us();
    if (at_front)
        DL_PREPEND(self->queue, req);
    else
        DL_APPEND(self->queue, req);
    self->queue_len++;
    log_info("re-sending the last fork choice to the execution client");
    engine_pump(self);
}

/* ------------------------------------------------------------- admission */

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

/*  Decodes the envelope, finds the op in the index, decodes and checks its
    arguments. Returns 0, or -1 after answering (req is then freed). */
static int admit(engine_t *self, req_t *req, const uint8_t *body, size_t body_len)
{
    char err[PROTO_ERR_LEN];
    proto_err_t rc = proto_request_decode(body, body_len, self->config.max_frame, &req->msg, err,
                                          sizeof err);
    if (rc != PROTO_OK) {
        engine_send_error_now(self, req->routing, req->msg.has_id, req->msg.id, rc, err);
        return -1;
    }
    HASH_FIND_STR(self->ops_by_name, req->msg.op, req->entry);
    if (!req->entry) {
        char msg[96];
        snprintf(msg, sizeof msg, "unknown op '%s'", req->msg.op);
        engine_send_error_now(self, req->routing, true, req->msg.id, PROTO_UNKNOWN_OP, msg);
        return -1;
    }
    req->op = req->entry->op;
    const op_row_t *row = req->entry->row;
    if (req->op->args) {
        req->args = calloc(1, req->op->args->size);
        char why[PROTO_ERR_LEN + 8];
        int bad = !req->args
                  || proto_decode(req->op->args, req->msg.args ? req->msg.args : &s_empty_map,
                                  req->args, err, sizeof err) != 0;
        if (bad)
            snprintf(why, sizeof why, "args.%s", req->args ? err : "out of memory");
        else if (row->check && row->check(req->args, why, sizeof why) != 0)
            bad = 1;
        if (bad) {
            reject(req, PROTO_BAD_REQUEST, why);
            return -1;
        }
    }
    /* everything needed is copied out: the frame (which points into the
       received message) goes now */
    proto_frame_destroy(&req->msg.frame);
    req->msg.args = NULL;
    log_debug("request %s id=%llu", req->op->name, (unsigned long long) req->msg.id);
    return 0;
}

static void enqueue_query(engine_t *self, req_t *req, size_t body_len)
{
    if (self->n_queries < self->config.max_queries && !self->waiting_queries) {
        self->n_queries++;
        req->generation = fc_generation(self->fc);
        run(req);
        return;
    }
    /* past the in-flight bound a read waits its turn; only a queue past
       its memory bound refuses */
    req->queued_bytes = body_len + QUERY_QUEUE_OVERHEAD;
    if (self->qq_len >= self->config.max_query_queue
        || self->qq_bytes + req->queued_bytes > self->config.max_query_queue_bytes) {
        reject(req, PROTO_OVERLOADED, "too many queries waiting; retry later");
        req_free(req);
        return;
    }
    DL_APPEND(self->waiting_queries, req);
    self->qq_len++;
    self->qq_bytes += req->queued_bytes;
}

/*  The protocol's retry rule (idempotency.c): returns true when req was
    answered by it (a joined retry is answered when the first run ends)
    and freed. */
static bool answered_as_retry(engine_t *self, req_t *req, const idem_key_t *key, uint64_t body_hash)
{
    const uint8_t *reply = NULL;
    size_t reply_len = 0;
    switch (idem_check(self->idem, key, body_hash, clock_mono_ms(), &reply, &reply_len)) {
    case IDEM_NEW:
        return false;
    case IDEM_CONFLICT: {
        char why[96];
        snprintf(why, sizeof why, "id reused for a different request within %d s",
                 (idem_ttl_ms(self->idem) + 999) / 1000);
        reject(req, PROTO_BAD_REQUEST, why);
        break;
    }
    case IDEM_JOINED:
        break;
    case IDEM_REPLAY:
        send_frames(self, req->routing, reply, reply_len);
        break;
    }
    req_free(req);
    return true;
}

static void enqueue_mutation(engine_t *self, req_t *req, const uint8_t *body, size_t body_len)
{
    bool idempotent = (req->entry->row->flags & OPF_IDEMPOTENT) != 0;
    idem_key_t key;
    uint64_t body_hash = 0;
    if (idempotent) {
        idem_key(&key, zframe_data(req->routing), zframe_size(req->routing), req->msg.id);
        body_hash = idem_body_hash(body, body_len);
        if (answered_as_retry(self, req, &key, body_hash))
            return;
    }
    if (self->shutting_down || self->queue_len >= self->config.max_queue) {
        /* a retry of a finished request still got its stored reply above */
        if (self->shutting_down)
            reject(req, PROTO_SHUTTING_DOWN, "the actor is stopping");
        else
            reject(req, PROTO_OVERLOADED, "too many fork choice changes queued; retry later");
        req_free(req);
        return;
    }
    if (idempotent)
        req->idem = idem_begin(self->idem, &key, body_hash);
    DL_APPEND(self->queue, req);
    self->queue_len++;
    engine_pump(self);
}

void engine_handle_request(engine_t *self, zframe_t *routing, const uint8_t *body, size_t body_len)
{
    self->requests++;
    note_peer(self, routing);
    req_t *req = calloc(1, sizeof *req);
    if (!req) {
        zframe_destroy(&routing);
        return;
    }
    req->engine = self;
    req->routing = routing;
    req->start_us = clock_mono_us();
    if (admit(self, req, body, body_len) != 0) {
        req_free(req);
        return;
    }
    if (self->shutting_down && req->op->lane != PROTO_LANE_MUTATION) {
        reject(req, PROTO_SHUTTING_DOWN, "the actor is stopping");
        req_free(req);
        return;
    }
    switch (req->op->lane) {
    case PROTO_LANE_NONE:
        run(req);
        return;
    case PROTO_LANE_QUERY:
        enqueue_query(self, req, body_len);
        return;
    case PROTO_LANE_MUTATION:
        enqueue_mutation(self, req, body, body_len);
        return;
    }
}

/* ------------------------------------------------------------ upkeep */

void engine_sweep_requests(engine_t *self, int64_t now)
{
    idem_sweep(self->idem, now);
    peer_rec_t *p, *ptmp;
    HASH_ITER(hh, self->peers, p, ptmp) {
        if (now - p->last_seen_ms > PEER_IDLE_MS) {
            HASH_DEL(self->peers, p);
            free(p);
        }
    }
}

void engine_requests_free(engine_t *self)
{
    /* requests still queued (none after a drain) get no reply: free them */
    req_t *req, *tmp;
    DL_FOREACH_SAFE(self->queue, req, tmp) {
        DL_DELETE(self->queue, req);
        req_free(req);
    }
    DL_FOREACH_SAFE(self->waiting_queries, req, tmp) {
        DL_DELETE(self->waiting_queries, req);
        req_free(req);
    }
    idem_destroy(&self->idem);
    peer_rec_t *p, *ptmp;
    HASH_ITER(hh, self->peers, p, ptmp) {
        HASH_DEL(self->peers, p);
        free(p);
    }
    HASH_CLEAR(hh, self->ops_by_name);
    free(self->ops);
    self->ops = NULL;
}
