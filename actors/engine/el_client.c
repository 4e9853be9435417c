/*  libcurl multi driven by zloop: CURLMOPT_SOCKETFUNCTION maps curl's sockets
    to zloop pollers and CURLMOPT_TIMERFUNCTION to one zloop timer. */
#include "el_client.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utlist.h>

#include "clock.h"
#include "log.h"

#define POOL_MAX 64
#define CONNECTIONS_DEFAULT 16
#define MAX_RESPONSE_DEFAULT (64u * 1024 * 1024)
#define MAX_BUFFERED_DEFAULT (256u * 1024 * 1024)

/*  A request header list shared by the calls made while it was current: the
    Authorization line changes once a second (a fresh iat), and a list lives
    until the last transfer that uses it ends. */
typedef struct hdr {
    struct curl_slist *list;
    int refs;
    bool current;
} hdr_t;

typedef struct el_call el_call_t;
struct el_call {
    el_client_t *client;
    CURL *easy;
    hdr_t *hdr;
    char *body;
    char *resp;
    size_t resp_len, resp_cap;
    bool over_total;  /* failed for the sum of answers in flight, not its own size */
    el_callback_fn *cb;
    void *ctx;
    uint64_t rpc_id;  /* first id; a batch uses rpc_id .. rpc_id + n - 1 */
    size_t batch_n;   /* 0: single call */
    bool lenient;     /* batch: a member's error leaves null in its place */
    int64_t start_us;
    int timeout_ms;
    el_endpoint_t endpoint;
    char method[64];
    bool urgent;      /* block production (forkchoiceUpdated, newPayload,
                         getPayload): waits ahead of reads */
    el_call_t *prev, *next; /* in flight, or waiting for a connection */
};

struct el_client {
    zloop_t *loop;
    CURLM *multi;
    char *url[2];
    jwt_auth_t *jwt;
    double multiplier;
    size_t max_response;
    size_t max_buffered;
    size_t buffered; /* sum of resp_cap over the calls in flight */
    int timer_id;
    uint64_t next_id;
    el_call_t *calls; /* in flight (utlist DL) */
    /*  The connection pool: at most max_conns transfers (so connections) per
        endpoint at once; further calls wait here in FIFO order, urgent
        calls ahead of reads, and their timeout starts when they go out. */
    size_t max_conns;
    size_t active[2];
    el_call_t *waiting[2];     /* utlist DL, next out first */
    el_call_t *urgent_last[2]; /* the last urgent call in waiting[] */
    size_t n_waiting;
    /*  idle easy handles per endpoint, still configured for it: a reused
        handle needs only the per-call options */
    CURL *pool[2][POOL_MAX];
    size_t n_pool[2];
    hdr_t *hdr[2];
    char auth_line[512];
    el_client_stats_t stats;
    el_observer_fn *observer;
    void *observer_ctx;
};

static void check_done(el_client_t *self);

/* ------------------------------------------------------------ loop glue */

static int on_timer(zloop_t *loop, int timer_id, void *arg)
{
    el_client_t *self = arg;
    /* a timer cancelled earlier in this loop pass may still fire once */
    if (timer_id == self->timer_id)
        self->timer_id = -1;
    int running;
    curl_multi_socket_action(self->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(self);
    return 0;
}

static int curl_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    el_client_t *self = userp;
    if (self->timer_id >= 0) {
        zloop_timer_end(self->loop, self->timer_id);
        self->timer_id = -1;
    }
    if (timeout_ms >= 0)
        self->timer_id = zloop_timer(self->loop, (size_t) timeout_ms, 1, on_timer, self);
    return 0;
}

static int on_socket(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    el_client_t *self = arg;
    int flags = 0;
    if (item->revents & ZMQ_POLLIN)
        flags |= CURL_CSELECT_IN;
    if (item->revents & ZMQ_POLLOUT)
        flags |= CURL_CSELECT_OUT;
    if (item->revents & ZMQ_POLLERR)
        flags |= CURL_CSELECT_ERR;
    int running;
    curl_multi_socket_action(self->multi, item->fd, flags, &running);
    check_done(self);
    return 0;
}

static int curl_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    el_client_t *self = userp;
    zmq_pollitem_t item = {NULL, s, 0, 0};
    if (socketp)
        zloop_poller_end(self->loop, &item);
    if (what == CURL_POLL_REMOVE) {
        curl_multi_assign(self->multi, s, NULL);
        return 0;
    }
    item.events = (short) (((what & CURL_POLL_IN) ? ZMQ_POLLIN : 0)
                           | ((what & CURL_POLL_OUT) ? ZMQ_POLLOUT : 0));
    if (zloop_poller(self->loop, &item, on_socket, self) != 0) {
        log_error("cannot watch an HTTP socket in the loop");
        return -1;
    }
    zloop_poller_set_tolerant(self->loop, &item);
    curl_multi_assign(self->multi, s, (void *) 1);
    return 0;
}

/* -------------------------------------------------------------- lifecycle */

el_client_t *el_client_new(zloop_t *loop, const el_client_config_t *config)
{
    static bool s_global;
    if (!s_global) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return NULL;
        s_global = true;
    }
    el_client_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->loop = loop;
    self->timer_id = -1;
    self->next_id = 1;
    self->jwt = config->jwt;
    self->multiplier = config->timeout_multiplier > 0 ? config->timeout_multiplier : 1.0;
    self->max_response = config->max_response ? config->max_response : MAX_RESPONSE_DEFAULT;
    self->max_buffered = config->max_buffered ? config->max_buffered : MAX_BUFFERED_DEFAULT;
    self->max_conns = config->max_connections ? config->max_connections : CONNECTIONS_DEFAULT;
    self->url[EL_ENGINE] = strdup(config->engine_url);
    self->url[EL_RPC] = strdup(config->rpc_url);
    self->multi = curl_multi_init();
    if (!self->url[0] || !self->url[1] || !self->multi) {
        el_client_destroy(&self);
        return NULL;
    }
    curl_multi_setopt(self->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb);
    curl_multi_setopt(self->multi, CURLMOPT_SOCKETDATA, self);
    curl_multi_setopt(self->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
    curl_multi_setopt(self->multi, CURLMOPT_TIMERDATA, self);
    /* room to keep every pooled connection of both endpoints alive */
    long keep = (long) (2 * self->max_conns + 4);
    curl_multi_setopt(self->multi, CURLMOPT_MAXCONNECTS, keep > 64 ? keep : 64L);
    return self;
}

void el_client_destroy(el_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    el_client_t *self = *self_p;
    if (self->calls || self->n_waiting)
        el_client_abort_all(self, PROTO_SHUTTING_DOWN, "the actor is stopping");
    for (int ep = 0; ep < 2; ep++) {
        for (size_t i = 0; i < self->n_pool[ep]; i++)
            curl_easy_cleanup(self->pool[ep][i]);
        if (self->hdr[ep]) {
            self->hdr[ep]->current = false;
            if (self->hdr[ep]->refs == 0) {
                curl_slist_free_all(self->hdr[ep]->list);
                free(self->hdr[ep]);
            }
        }
    }
    if (self->multi)
        curl_multi_cleanup(self->multi);
    if (self->timer_id >= 0)
        zloop_timer_end(self->loop, self->timer_id);
    free(self->url[0]);
    free(self->url[1]);
    free(self);
    *self_p = NULL;
}

int el_method_timeout_ms(const char *method)
{
    if (strncmp(method, "engine_forkchoiceUpdated", 24) == 0
        || strncmp(method, "engine_newPayload", 17) == 0)
        return 8000;
    if (strncmp(method, "engine_getPayloadBodies", 23) == 0 || strcmp(method, "eth_getLogs") == 0
        || strcmp(method, "batch") == 0)
        return 10000;
    return 1000;
}

/* ---------------------------------------------------------------- calls */

/*  The buffer is sized from Content-Length when the client sends one (one
    allocation, refused at once when over the cap), and otherwise doubles,
    but never past the cap + 1: an answer costs at most its cap, plus the
    old buffer during the last realloc. Every byte reserved counts against
    the client-wide max_buffered, so many large answers at once fail instead
    of exhausting memory. Returning less than n makes curl fail the
    transfer with CURLE_WRITE_ERROR. */
static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    el_call_t *call = userdata;
    el_client_t *self = call->client;
    size_t n = size * nmemb;
    if (call->resp_len + n > self->max_response)
        return 0;
    if (call->resp_len + n + 1 > call->resp_cap) {
        size_t limit = self->max_response + 1;
        size_t cap = call->resp_cap ? call->resp_cap : 4096;
        curl_off_t announced = -1;
        if (!call->resp_cap
            && curl_easy_getinfo(call->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &announced) == CURLE_OK
            && announced >= 0) {
            if ((uint64_t) announced > self->max_response)
                return 0;
            cap = (size_t) announced + 1;
        }
        while (cap < call->resp_len + n + 1)
            cap = cap > limit / 2 ? limit : cap * 2;
        if (cap > limit)
            cap = limit;
        if (self->buffered - call->resp_cap + cap > self->max_buffered) {
            call->over_total = true;
            return 0;
        }
        char *p = realloc(call->resp, cap);
        if (!p)
            return 0;
        self->buffered = self->buffered - call->resp_cap + cap;
        call->resp = p;
        call->resp_cap = cap;
    }
    memcpy(call->resp + call->resp_len, ptr, n);
    call->resp_len += n;
    call->resp[call->resp_len] = '\0';
    return n;
}

static void call_free(el_call_t *call)
{
    el_client_t *self = call->client;
    if (call->easy) {
        if (self->n_pool[call->endpoint] < POOL_MAX)
            self->pool[call->endpoint][self->n_pool[call->endpoint]++] = call->easy;
        else
            curl_easy_cleanup(call->easy);
    }
    if (call->hdr && --call->hdr->refs == 0 && !call->hdr->current) {
        curl_slist_free_all(call->hdr->list);
        free(call->hdr);
    }
    free(call->body);
    self->buffered -= call->resp_cap;
    free(call->resp);
    free(call);
}

/*  The endpoint's current header list, renewed when the JWT changes. */
static hdr_t *current_headers(el_client_t *self, el_endpoint_t endpoint)
{
    const char *auth = NULL;
    if (endpoint == EL_ENGINE && self->jwt) {
        auth = jwt_auth_header(self->jwt, time(NULL));
        if (auth && self->hdr[endpoint] && strcmp(auth, self->auth_line) == 0)
            return self->hdr[endpoint];
    } else if (self->hdr[endpoint]) {
        return self->hdr[endpoint];
    }
    hdr_t *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->list = curl_slist_append(NULL, "Content-Type: application/json");
    h->list = curl_slist_append(h->list, "Expect:");
    if (auth) {
        h->list = curl_slist_append(h->list, auth);
        snprintf(self->auth_line, sizeof self->auth_line, "%s", auth);
    }
    h->current = true;
    hdr_t *old = self->hdr[endpoint];
    if (old) {
        old->current = false;
        if (old->refs == 0) {
            curl_slist_free_all(old->list);
            free(old);
        }
    }
    self->hdr[endpoint] = h;
    return h;
}

/*  A new easy handle with everything that does not change per call. */
static CURL *new_handle(el_client_t *self, el_endpoint_t endpoint)
{
    CURL *e = curl_easy_init();
    if (!e)
        return NULL;
    curl_easy_setopt(e, CURLOPT_URL, self->url[endpoint]);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    return e;
}

/*  Block production (fork choice, payloads) must not wait behind a burst
    of reads. */
static bool is_urgent(const char *method)
{
    return strncmp(method, "engine_forkchoiceUpdated", 24) == 0
           || strncmp(method, "engine_newPayload", 17) == 0
           || strncmp(method, "engine_getPayloadV", 18) == 0;
}

/*  Puts a transfer on the wire: takes an idle handle, the current headers
    (a fresh JWT), and starts the method's timeout now. Returns 0 or -1 (the
    call is then still the caller's). */
static int dispatch(el_client_t *self, el_call_t *call)
{
    el_endpoint_t endpoint = call->endpoint;
    if (!call->easy)
        call->easy = self->n_pool[endpoint] ? self->pool[endpoint][--self->n_pool[endpoint]]
                                            : new_handle(self, endpoint);
    if (!call->hdr) {
        call->hdr = current_headers(self, endpoint);
        if (call->hdr)
            call->hdr->refs++;
    }
    if (!call->easy || !call->hdr)
        return -1;
    CURL *e = call->easy;
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, call->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long) strlen(call->body));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, call->hdr->list);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, call);
    curl_easy_setopt(e, CURLOPT_PRIVATE, call);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long) call->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long) (call->timeout_ms < 2000 ? call->timeout_ms : 2000));
    call->start_us = clock_mono_us();
    if (curl_multi_add_handle(self->multi, e) != CURLM_OK)
        return -1;
    DL_PREPEND(self->calls, call);
    self->active[endpoint]++;
    self->stats.calls++;
    log_debug("el call %s id=%llu", call->method, (unsigned long long) call->rpc_id);
    return 0;
}

/*  Queues a call for a free connection: urgent calls after the urgent ones
    already waiting, the rest at the tail. */
static void enqueue_waiting(el_client_t *self, el_call_t *call)
{
    el_endpoint_t ep = call->endpoint;
    if (call->urgent) {
        /* after the last urgent one, or first when there is none */
        DL_APPEND_ELEM(self->waiting[ep], self->urgent_last[ep], call);
        self->urgent_last[ep] = call;
    } else {
        DL_APPEND(self->waiting[ep], call);
    }
    self->n_waiting++;
}

static el_call_t *dequeue_waiting(el_client_t *self, el_endpoint_t ep)
{
    el_call_t *call = self->waiting[ep];
    if (!call)
        return NULL;
    DL_DELETE(self->waiting[ep], call);
    if (self->urgent_last[ep] == call)
        self->urgent_last[ep] = NULL;
    call->prev = call->next = NULL;
    self->n_waiting--;
    return call;
}

static void finish(el_client_t *self, el_call_t *call, el_response_t *resp);

/*  Sends waiting calls while the endpoint has free connections. Runs from
    the loop only, so a call that cannot go out completes with an error. */
static void dispatch_waiting(el_client_t *self, el_endpoint_t ep)
{
    while (self->active[ep] < self->max_conns && self->waiting[ep]) {
        el_call_t *call = dequeue_waiting(self, ep);
        if (dispatch(self, call) == 0)
            continue;
        el_response_t resp = {.err = PROTO_INTERNAL};
        snprintf(resp.message, sizeof resp.message, "could not start %s", call->method);
        call->start_us = clock_mono_us();
        finish(self, call, &resp);
        call_free(call);
    }
}

/*  Starts a transfer of `text` (taken over; NULL fails), or queues it when
    the endpoint's connections are all busy. */
static int start(el_client_t *self, el_endpoint_t endpoint, const char *method, char *text,
                 size_t batch_n, uint64_t first_id, bool lenient, el_callback_fn *cb, void *ctx)
{
    el_call_t *call = calloc(1, sizeof *call);
    if (!call) {
        free(text);
        return -1;
    }
    call->client = self;
    call->cb = cb;
    call->ctx = ctx;
    call->rpc_id = first_id;
    call->batch_n = batch_n;
    call->lenient = lenient;
    call->endpoint = endpoint;
    call->urgent = is_urgent(method);
    snprintf(call->method, sizeof call->method, "%s", method);
    call->timeout_ms = (int) (el_method_timeout_ms(method) * self->multiplier);
    if (call->timeout_ms < 1)
        call->timeout_ms = 1;
    call->body = text;
    if (!call->body) {
        call_free(call);
        return -1;
    }
    if (self->active[endpoint] >= self->max_conns) {
        enqueue_waiting(self, call);
        log_debug("el call %s waits for a connection (%zu waiting)", method, self->n_waiting);
        return 0;
    }
    if (dispatch(self, call) != 0) {
        call_free(call);
        return -1;
    }
    return 0;
}

int el_client_call(el_client_t *self, el_endpoint_t endpoint, const char *method,
                   json_t *params, el_callback_fn *cb, void *ctx)
{
    uint64_t id = self->next_id++;
    char *text = el_rpc_request_text(id, method, params);
    return start(self, endpoint, method, text, 0, id, false, cb, ctx);
}

int el_client_call_text(el_client_t *self, el_endpoint_t endpoint, const char *method,
                        const char *params_text, el_callback_fn *cb, void *ctx)
{
    uint64_t id = self->next_id++;
    char *text = el_rpc_request_raw(id, method, params_text);
    return start(self, endpoint, method, text, 0, id, false, cb, ctx);
}

static int batch(el_client_t *self, el_endpoint_t endpoint, json_t *calls, bool lenient,
                 el_callback_fn *cb, void *ctx)
{
    size_t n = json_array_size(calls);
    if (n == 0) {
        json_decref(calls);
        return -1;
    }
    uint64_t first = self->next_id;
    self->next_id += n;
    char *text = el_rpc_batch_text(first, calls);
    json_decref(calls);
    return start(self, endpoint, "batch", text, n, first, lenient, cb, ctx);
}

int el_client_batch(el_client_t *self, el_endpoint_t endpoint, json_t *calls,
                    el_callback_fn *cb, void *ctx)
{
    return batch(self, endpoint, calls, false, cb, ctx);
}

int el_client_batch_lenient(el_client_t *self, el_endpoint_t endpoint, json_t *calls,
                            el_callback_fn *cb, void *ctx)
{
    return batch(self, endpoint, calls, true, cb, ctx);
}

static void unlink_call(el_client_t *self, el_call_t *call)
{
    DL_DELETE(self->calls, call);
    call->prev = call->next = NULL;
    self->active[call->endpoint]--;
}

/*  Turns a finished transfer into a response: transport errors first, then
    HTTP status, then the JSON-RPC body. Sets *doc to the parsed document
    that resp->result borrows from. */
static void classify(el_client_t *self, el_call_t *call, CURLcode rc, el_response_t *resp,
                     json_t **doc)
{
    const char *url = self->url[call->endpoint];
    curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &resp->http_status);
    if (rc == CURLE_OPERATION_TIMEDOUT && resp->http_status == 0) {
        /* a request that went out (on a new or a reused connection) timed
           out waiting for its answer; one that never went out never reached
           a client */
        long sent = 0;
        curl_easy_getinfo(call->easy, CURLINFO_REQUEST_SIZE, &sent);
        resp->err = sent > 0 ? PROTO_EL_TIMEOUT : PROTO_EL_UNAVAILABLE;
        snprintf(resp->message, sizeof resp->message,
                 sent > 0 ? "no answer from the execution client to %s within %d ms"
                          : "cannot connect to the execution client for %s within %d ms",
                 call->method, call->timeout_ms);
        return;
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        resp->err = PROTO_EL_TIMEOUT;
        snprintf(resp->message, sizeof resp->message,
                 "no answer from the execution client to %s within %d ms", call->method,
                 call->timeout_ms);
        return;
    }
    if (rc == CURLE_WRITE_ERROR && call->over_total) {
        /* the others' answers fill the budget: try again later */
        resp->err = PROTO_EL_UNAVAILABLE;
        snprintf(resp->message, sizeof resp->message,
                 "response to %s dropped: answers being received exceed %zu bytes in total",
                 call->method, self->max_buffered);
        return;
    }
    if (rc == CURLE_WRITE_ERROR) {
        resp->err = PROTO_EL_ERROR;
        snprintf(resp->message, sizeof resp->message,
                 "response to %s exceeds %zu bytes", call->method, self->max_response);
        return;
    }
    if (rc != CURLE_OK) {
        resp->err = PROTO_EL_UNAVAILABLE;
        snprintf(resp->message, sizeof resp->message, "cannot reach the execution client at %s: %s",
                 url, curl_easy_strerror(rc));
        return;
    }
    if (resp->http_status == 401 || resp->http_status == 403) {
        resp->err = PROTO_EL_AUTH_FAILED;
        snprintf(resp->message, sizeof resp->message,
                 "the execution client at %s refused our JWT (HTTP %ld): the JWT secret does "
                 "not match the one the execution client uses",
                 url, resp->http_status);
        return;
    }
    if (resp->http_status >= 502 && resp->http_status <= 504) {
        resp->err = PROTO_EL_UNAVAILABLE;
        snprintf(resp->message, sizeof resp->message, "execution client at %s answered HTTP %ld",
                 url, resp->http_status);
        return;
    }
    el_answer_t ans = {.body = call->resp, .len = call->resp_len, .method = call->method,
                       .rpc_id = call->rpc_id, .batch_n = call->batch_n, .lenient = call->lenient};
    el_classify_answer(&ans, resp, doc);
}

static void finish(el_client_t *self, el_call_t *call, el_response_t *resp)
{
    resp->latency_us = clock_mono_us() - call->start_us;
    resp->endpoint = call->endpoint;
    resp->body = call->resp;
    resp->body_len = call->resp_len;
    if (resp->err != PROTO_OK) {
        self->stats.failures++;
        log_debug("el call %s failed: %s", call->method, resp->message);
    }
    call->cb(call->ctx, resp);
    if (self->observer)
        self->observer(self->observer_ctx, call->method, resp);
}

void el_client_set_observer(el_client_t *self, el_observer_fn *fn, void *ctx)
{
    self->observer = fn;
    self->observer_ctx = ctx;
}

static void check_done(el_client_t *self)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(self->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        el_call_t *call = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &call);
        CURLcode rc = msg->data.result;
        long opened = 0;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_NUM_CONNECTS, &opened);
        self->stats.connections_opened += (uint64_t) opened;
        curl_multi_remove_handle(self->multi, msg->easy_handle);
        unlink_call(self, call);
        el_response_t resp = {0};
        json_t *doc = NULL;
        classify(self, call, rc, &resp, &doc);
        finish(self, call, &resp);
        json_decref(doc);
        el_endpoint_t ep = call->endpoint;
        call_free(call);
        dispatch_waiting(self, ep);
    }
}

void el_client_abort_all(el_client_t *self, proto_err_t err, const char *message)
{
    /* the waiting ones first, so that no completion below dispatches them */
    for (int ep = 0; ep < 2; ep++) {
        el_call_t *call;
        while ((call = dequeue_waiting(self, (el_endpoint_t) ep))) {
            el_response_t resp = {.err = err};
            snprintf(resp.message, sizeof resp.message, "%s", message);
            call->start_us = clock_mono_us();
            finish(self, call, &resp);
            call_free(call);
        }
    }
    /* detached first: calls that callbacks start meanwhile are not aborted */
    el_call_t *list = self->calls;
    self->calls = NULL;
    while (list) {
        el_call_t *call = list;
        DL_DELETE(list, call);
        curl_multi_remove_handle(self->multi, call->easy);
        self->active[call->endpoint]--;
        el_response_t resp = {.err = err};
        snprintf(resp.message, sizeof resp.message, "%s", message);
        finish(self, call, &resp);
        call_free(call);
    }
}

size_t el_client_waiting(const el_client_t *self) { return self->n_waiting; }

const char *el_client_url(const el_client_t *self, el_endpoint_t endpoint)
{
    return self->url[endpoint];
}

void el_client_stats(const el_client_t *self, el_client_stats_t *out) { *out = self->stats; }
