/*  libmicrohttpd in thread-per-connection mode: a delayed answer blocks only
    its own connection's thread. State shared between threads: the chain
    (its own lock), the counters (stats_lock) and the stop flag (stop_lock). */
#include "stub_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <jwt.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "jwt_file.h"
#include "stub_chain.h"

#define MAX_BODY (64u * 1024 * 1024)
#define MAX_METHODS 64
#define JWT_IAT_WINDOW_S 60
#define JWT_SEEN 8
#define JWT_MAX_TOKEN 512

typedef struct {
    char name[64];
    uint64_t count;
} method_count_t;

/*  A token whose signature was checked, with its iat. */
typedef struct {
    char token[JWT_MAX_TOKEN];
    long iat;
} jwt_seen_t;

struct stub_server {
    struct MHD_Daemon *daemon;
    stub_chain_t *chain;
    uint8_t secret[32];
    stub_fault_t *faults;
    size_t n_faults;
    bool null_payload_id;
    int port;
    /* counters, under stats_lock */
    pthread_mutex_t stats_lock;
    uint64_t connections, open_connections, http_requests, calls, unauthorized;
    method_count_t methods[MAX_METHODS];
    size_t n_methods;
    stub_call_t *call_log; /* NULL unless config.log_calls */
    size_t n_logged;
    uint64_t events;
    /* tokens already verified, under jwt_lock */
    pthread_mutex_t jwt_lock;
    jwt_seen_t jwt_seen[JWT_SEEN];
    size_t jwt_next;
    /* wakes delayed answers at shutdown */
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cond;
    bool stopping;
};

/*  One HTTP request's body as it arrives. */
typedef struct {
    char *body;
    size_t len, cap;
    bool too_big;
} http_req_t;

/*  A growable string for the response. */
typedef struct {
    char *data;
    size_t len, cap;
    bool failed;
} strbuf_t;

static void sb_add(strbuf_t *sb, const char *s, size_t n)
{
    if (sb->failed)
        return;
    if (sb->len + n + 1 > sb->cap) {
        size_t cap = sb->cap ? sb->cap : 1024;
        while (cap < sb->len + n + 1)
            cap *= 2;
        char *p = realloc(sb->data, cap);
        if (!p) {
            sb->failed = true;
            return;
        }
        sb->data = p;
        sb->cap = cap;
    }
    memcpy(sb->data + sb->len, s, n);
    sb->len += n;
    sb->data[sb->len] = '\0';
}

static void sb_str(strbuf_t *sb, const char *s) { sb_add(sb, s, strlen(s)); }

/* ----------------------------------------------------------------- faults */

int stub_fault_parse(stub_fault_kind_t kind, const char *text, stub_fault_t *out, char *err,
                     size_t err_len)
{
    memset(out, 0, sizeof *out);
    out->kind = kind;
    const char *colon = strrchr(text, ':');
    size_t mlen = colon ? (size_t) (colon - text) : strlen(text);
    if (kind == STUB_FAULT_MALFORMED)
        mlen = strlen(text);
    if (mlen == 0 || mlen >= sizeof out->method) {
        snprintf(err, err_len, "'%s': expected a method name (or *)", text);
        return -1;
    }
    memcpy(out->method, text, mlen);
    if (kind == STUB_FAULT_MALFORMED)
        return 0;
    if (!colon || !colon[1]) {
        snprintf(err, err_len, "'%s': expected METHOD:VALUE", text);
        return -1;
    }
    const char *v = colon + 1;
    if (kind == STUB_FAULT_STATUS) {
        if (strcmp(v, "INVALID") != 0 && strcmp(v, "SYNCING") != 0 && strcmp(v, "ACCEPTED") != 0
            && strcmp(v, "VALID") != 0) {
            snprintf(err, err_len, "'%s': status must be INVALID, SYNCING, ACCEPTED or VALID", v);
            return -1;
        }
        snprintf(out->status, sizeof out->status, "%s", v);
        return 0;
    }
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || (kind == STUB_FAULT_DELAY && (n < 0 || n > 600000))
        || (kind == STUB_FAULT_HTTP_STATUS && (n < 100 || n > 599))) {
        snprintf(err, err_len, "'%s': value out of range", text);
        return -1;
    }
    out->value = n;
    return 0;
}

/*  "*" matches every method but the stub's own; "prefix*" a family. */
static bool fault_matches(const stub_fault_t *f, const char *method)
{
    size_t n = strlen(f->method);
    if (n == 1 && f->method[0] == '*')
        return strncmp(method, "stub_", 5) != 0;
    if (f->method[n - 1] == '*')
        return strncmp(method, f->method, n - 1) == 0;
    return strcmp(method, f->method) == 0;
}

static const stub_fault_t *find_fault(const stub_server_t *self, stub_fault_kind_t kind,
                                      const char *method)
{
    for (size_t i = 0; i < self->n_faults; i++)
        if (self->faults[i].kind == kind && fault_matches(&self->faults[i], method))
            return &self->faults[i];
    return NULL;
}

/* ------------------------------------------------------------------ auth */

static const char *iat_check(long iat)
{
    long now = (long) time(NULL);
    if (iat < now - JWT_IAT_WINDOW_S || iat > now + JWT_IAT_WINDOW_S)
        return "stale JWT token";
    return NULL;
}

/*  NULL when the request carries a valid token, else why not. A client
    signs one token a second and sends it many times: a token seen before
    has its signature checked already, so only its iat is checked again.
    That keeps the stub's own cost per engine call close to that of any
    other call, which the benchmark relies on. */
static const char *check_jwt(stub_server_t *self, struct MHD_Connection *conn)
{
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (!auth)
        return "missing Authorization header";
    if (strncasecmp(auth, "Bearer ", 7) != 0)
        return "the Authorization header is not a Bearer token";
    const char *token = auth + 7;
    size_t len = strlen(token);
    if (len < JWT_MAX_TOKEN) {
        pthread_mutex_lock(&self->jwt_lock);
        for (size_t i = 0; i < JWT_SEEN; i++)
            if (strcmp(self->jwt_seen[i].token, token) == 0) {
                long iat = self->jwt_seen[i].iat;
                pthread_mutex_unlock(&self->jwt_lock);
                return iat_check(iat);
            }
        pthread_mutex_unlock(&self->jwt_lock);
    }
    jwt_t *jwt = NULL;
    if (jwt_decode(&jwt, token, self->secret, 32) != 0 || !jwt) {
        jwt_free(jwt);
        return "invalid JWT signature";
    }
    if (jwt_get_alg(jwt) != JWT_ALG_HS256) {
        jwt_free(jwt);
        return "the JWT algorithm must be HS256";
    }
    errno = 0;
    long iat = jwt_get_grant_int(jwt, "iat");
    int e = errno;
    jwt_free(jwt);
    if (e)
        return "the JWT has no iat claim";
    if (len < JWT_MAX_TOKEN) {
        pthread_mutex_lock(&self->jwt_lock);
        jwt_seen_t *slot = &self->jwt_seen[self->jwt_next];
        self->jwt_next = (self->jwt_next + 1) % JWT_SEEN;
        memcpy(slot->token, token, len + 1);
        slot->iat = iat;
        pthread_mutex_unlock(&self->jwt_lock);
    }
    return iat_check(iat);
}

/* ----------------------------------------------------------------- stats */

static void count_method(stub_server_t *self, const char *method)
{
    pthread_mutex_lock(&self->stats_lock);
    self->calls++;
    size_t i;
    for (i = 0; i < self->n_methods; i++)
        if (strcmp(self->methods[i].name, method) == 0)
            break;
    if (i == self->n_methods && self->n_methods < MAX_METHODS && strlen(method) < 64)
        snprintf(self->methods[self->n_methods++].name, 64, "%s", method);
    if (i < self->n_methods)
        self->methods[i].count++;
    pthread_mutex_unlock(&self->stats_lock);
}

static char *stats_text(stub_server_t *self)
{
    uint64_t head, blocks;
    stub_chain_counts(self->chain, &head, &blocks);
    json_t *methods = json_object();
    pthread_mutex_lock(&self->stats_lock);
    for (size_t i = 0; i < self->n_methods; i++)
        json_object_set_new(methods, self->methods[i].name,
                            json_integer((json_int_t) self->methods[i].count));
    json_t *r = json_pack("{s:I,s:I,s:I,s:I,s:I,s:o,s:I,s:I}", "connections",
                          (json_int_t) self->connections, "open_connections",
                          (json_int_t) self->open_connections, "http_requests",
                          (json_int_t) self->http_requests, "calls", (json_int_t) self->calls,
                          "unauthorized", (json_int_t) self->unauthorized, "methods", methods,
                          "head", (json_int_t) head, "blocks", (json_int_t) blocks);
    pthread_mutex_unlock(&self->stats_lock);
    char *s = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    return s;
}

/*  Logs the methods of a request that arrived (members without a method are
    not calls). Returns the index of the first entry; the entries that fit
    follow it, *n_out of them. */
static size_t log_begin(stub_server_t *self, json_t *doc, size_t n, size_t *n_out)
{
    *n_out = 0;
    if (!self->call_log)
        return 0;
    pthread_mutex_lock(&self->stats_lock);
    size_t first = self->n_logged;
    uint64_t begin = ++self->events;
    for (size_t i = 0; i < n && self->n_logged < STUB_CALL_LOG_MAX; i++) {
        json_t *m = json_is_array(doc) ? json_array_get(doc, i) : doc;
        const char *method = json_string_value(json_object_get(m, "method"));
        if (!method)
            continue;
        stub_call_t *c = &self->call_log[self->n_logged++];
        snprintf(c->method, sizeof c->method, "%s", method);
        json_t *params = json_object_get(m, "params");
        char *text = params ? json_dumps(params, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        snprintf(c->params, sizeof c->params, "%s", text ? text : "");
        free(text);
        c->begin = begin;
        c->end = 0;
    }
    *n_out = self->n_logged - first;
    pthread_mutex_unlock(&self->stats_lock);
    return first;
}

static void log_end(stub_server_t *self, size_t first, size_t n)
{
    if (!self->call_log || n == 0)
        return;
    pthread_mutex_lock(&self->stats_lock);
    uint64_t end = ++self->events;
    for (size_t i = first; i < first + n; i++)
        self->call_log[i].end = end;
    pthread_mutex_unlock(&self->stats_lock);
}

size_t stub_server_calls(stub_server_t *self, size_t from, stub_call_t *out, size_t max)
{
    if (!self->call_log)
        return 0;
    pthread_mutex_lock(&self->stats_lock);
    size_t n = 0;
    for (size_t i = from; i < self->n_logged && n < max; i++)
        out[n++] = self->call_log[i];
    pthread_mutex_unlock(&self->stats_lock);
    return n;
}

/*  Counts TCP connections as MHD accepts and closes them: the keep-alive
    test reads these through stub_stats. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    stub_server_t *self = cls;
    pthread_mutex_lock(&self->stats_lock);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        self->connections++;
        self->open_connections++;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && self->open_connections > 0) {
        self->open_connections--;
    }
    pthread_mutex_unlock(&self->stats_lock);
}

/* -------------------------------------------------------------- answers */

/*  Sleeps ms, or less when the server is stopping. */
static void pause_ms(stub_server_t *self, long ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += (ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&self->stop_lock);
    while (!self->stopping)
        if (pthread_cond_timedwait(&self->stop_cond, &self->stop_lock, &deadline) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&self->stop_lock);
}

static enum MHD_Result send_owned(struct MHD_Connection *conn, unsigned status, char *body,
                                  size_t len, const char *content_type)
{
    if (!body)
        return MHD_NO;
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    enum MHD_Result rc = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    char *body = strdup(text);
    if (!body)
        return MHD_NO;
    return send_owned(conn, status, body, strlen(body), "text/plain");
}

static void append_error(strbuf_t *out, const char *id_text, int code, const char *message)
{
    json_t *m = json_string(message);
    char *mt = json_dumps(m, JSON_ENCODE_ANY);
    json_decref(m);
    char code_text[24];
    sb_str(out, "{\"jsonrpc\":\"2.0\",\"id\":");
    sb_str(out, id_text);
    sb_str(out, ",\"error\":{\"code\":");
    snprintf(code_text, sizeof code_text, "%d", code);
    sb_str(out, code_text);
    sb_str(out, ",\"message\":");
    sb_str(out, mt ? mt : "\"error\"");
    sb_str(out, "}}");
    free(mt);
}

/*  Answers one member of a request (or the single request) into out. */
static void answer_member(stub_server_t *self, json_t *m, strbuf_t *out)
{
    json_t *id = json_object_get(m, "id");
    char *id_text = id ? json_dumps(id, JSON_ENCODE_ANY) : NULL;
    const char *idt = id_text ? id_text : "null";
    const char *method = json_string_value(json_object_get(m, "method"));
    if (!json_is_object(m) || !method) {
        append_error(out, idt, -32600, "Invalid Request");
        free(id_text);
        return;
    }
    count_method(self, method);
    const stub_fault_t *f = find_fault(self, STUB_FAULT_RPC_ERROR, method);
    if (f) {
        char msg[160];
        snprintf(msg, sizeof msg, "error %ld injected by the stub for %s", f->value, method);
        append_error(out, idt, (int) f->value, msg);
        free(id_text);
        return;
    }
    char *result = NULL;
    stub_rpc_error_t err = {0};
    if (strcmp(method, "stub_stats") == 0) {
        result = stats_text(self);
    } else {
        const stub_fault_t *sf = find_fault(self, STUB_FAULT_STATUS, method);
        stub_call_opts_t opts = {
            .force_status = sf ? sf->status : NULL,
            .null_payload_id = self->null_payload_id,
        };
        result = stub_chain_call(self->chain, method, json_object_get(m, "params"), &opts, &err);
    }
    if (!result) {
        append_error(out, idt, err.code ? err.code : -32603, err.message[0] ? err.message : "Internal error");
    } else {
        sb_str(out, "{\"jsonrpc\":\"2.0\",\"id\":");
        sb_str(out, idt);
        sb_str(out, ",\"result\":");
        sb_str(out, result);
        sb_str(out, "}");
    }
    free(result);
    free(id_text);
}

/*  A complete request: parse, authenticate, apply request-level faults
    (delay, HTTP status, malformed body), then answer every member. */
static enum MHD_Result handle(stub_server_t *self, struct MHD_Connection *conn, http_req_t *r)
{
    if (r->too_big)
        return send_text(conn, 413, "request body too large");
    json_error_t jerr;
    json_t *doc = json_loadb(r->body ? r->body : "", r->len, 0, &jerr);
    if (!doc || (!json_is_object(doc) && !json_is_array(doc))) {
        json_decref(doc);
        static const char parse_error[] = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":"
                                          "-32700,\"message\":\"Parse error\"}}";
        return send_owned(conn, 200, strdup(parse_error), sizeof parse_error - 1,
                          "application/json");
    }
    bool batch = json_is_array(doc);
    size_t n = batch ? json_array_size(doc) : 1;
    bool needs_auth = false;
    long delay = 0;
    const stub_fault_t *http = NULL, *malformed = NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *m = batch ? json_array_get(doc, i) : doc;
        const char *method = json_string_value(json_object_get(m, "method"));
        if (!method)
            continue;
        if (strncmp(method, "engine_", 7) == 0)
            needs_auth = true;
        for (size_t k = 0; k < self->n_faults; k++) {
            const stub_fault_t *f = &self->faults[k];
            if (!fault_matches(f, method))
                continue;
            if (f->kind == STUB_FAULT_DELAY && f->value > delay)
                delay = f->value;
            else if (f->kind == STUB_FAULT_HTTP_STATUS && !http)
                http = f;
            else if (f->kind == STUB_FAULT_MALFORMED)
                malformed = f;
        }
    }
    if (needs_auth) {
        const char *why = check_jwt(self, conn);
        if (why) {
            pthread_mutex_lock(&self->stats_lock);
            self->unauthorized++;
            pthread_mutex_unlock(&self->stats_lock);
            json_decref(doc);
            return send_text(conn, 401, why);
        }
    }
    size_t n_logged;
    size_t first_logged = log_begin(self, doc, n, &n_logged);
    if (delay > 0)
        pause_ms(self, delay);
    enum MHD_Result rc;
    if (http || malformed)
        log_end(self, first_logged, n_logged);
    if (http) {
        char text[64];
        snprintf(text, sizeof text, "HTTP %ld injected by the stub", http->value);
        rc = send_text(conn, (unsigned) http->value, text);
    } else if (malformed) {
        static const char broken[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"payloadStatus\":";
        rc = send_owned(conn, 200, strdup(broken), sizeof broken - 1, "application/json");
    } else if (batch && n == 0) {
        static const char empty[] = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,"
                                    "\"message\":\"empty batch\"}}";
        rc = send_owned(conn, 200, strdup(empty), sizeof empty - 1, "application/json");
    } else {
        strbuf_t out = {0};
        if (batch)
            sb_str(&out, "[");
        for (size_t i = 0; i < n; i++) {
            if (i)
                sb_str(&out, ",");
            answer_member(self, batch ? json_array_get(doc, i) : doc, &out);
        }
        if (batch)
            sb_str(&out, "]");
        if (out.failed) {
            free(out.data);
            rc = send_text(conn, 500, "out of memory");
        } else {
            log_end(self, first_logged, n_logged);
            rc = send_owned(conn, 200, out.data, out.len, "application/json");
        }
    }
    json_decref(doc);
    return rc;
}

/*  MHD calls this once with no data (allocate the request), then once per
    piece of the body, then once more with nothing left: only then is the
    whole body known and the request answered. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    stub_server_t *self = cls;
    http_req_t *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        *con_cls = r;
        pthread_mutex_lock(&self->stats_lock);
        self->http_requests++;
        pthread_mutex_unlock(&self->stats_lock);
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->too_big || r->len + n > MAX_BODY) {
            r->too_big = true;
            return MHD_YES;
        }
        if (r->len + n + 1 > r->cap) {
            size_t cap = r->cap ? r->cap : 4096;
            while (cap < r->len + n + 1)
                cap *= 2;
            char *p = realloc(r->body, cap);
            if (!p)
                return MHD_NO;
            r->body = p;
            r->cap = cap;
        }
        memcpy(r->body + r->len, upload_data, n);
        r->len += n;
        return MHD_YES;
    }
    if (strcmp(method, "POST") != 0)
        return send_text(conn, 405, "JSON-RPC over POST only");
    return handle(self, conn, r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    http_req_t *r = *con_cls;
    if (r) {
        free(r->body);
        free(r);
        *con_cls = NULL;
    }
}

/* -------------------------------------------------------------- lifecycle */

stub_server_t *stub_server_new(const stub_config_t *config, char *err, size_t err_len)
{
    stub_server_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&self->stats_lock, NULL);
    pthread_mutex_init(&self->stop_lock, NULL);
    pthread_mutex_init(&self->jwt_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&self->stop_cond, &ca);
    pthread_condattr_destroy(&ca);
    self->null_payload_id = config->null_payload_id;
    if (config->log_calls) {
        self->call_log = calloc(STUB_CALL_LOG_MAX, sizeof *self->call_log);
        if (!self->call_log) {
            snprintf(err, err_len, "out of memory");
            goto fail;
        }
    }
    if (config->n_faults) {
        self->faults = calloc(config->n_faults, sizeof *self->faults);
        if (!self->faults) {
            snprintf(err, err_len, "out of memory");
            goto fail;
        }
        memcpy(self->faults, config->faults, config->n_faults * sizeof *self->faults);
        self->n_faults = config->n_faults;
    }
    if (!config->jwt_secret_path) {
        snprintf(err, err_len, "a JWT secret file is required");
        goto fail;
    }
    if (jwt_file_read(config->jwt_secret_path, self->secret, err, err_len) != 0)
        goto fail;
    self->chain = stub_chain_new(config->genesis_time);
    if (!self->chain) {
        snprintf(err, err_len, "out of memory");
        goto fail;
    }
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t) config->port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    self->daemon = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, on_request, self, MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &addr,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int) 1, MHD_OPTION_NOTIFY_CONNECTION,
        on_connection, self, MHD_OPTION_NOTIFY_COMPLETED, on_completed, self,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int) 1000, MHD_OPTION_END);
    if (!self->daemon) {
        snprintf(err, err_len, "cannot listen on 127.0.0.1:%d", config->port);
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? (int) info->port : config->port;
    return self;
fail:
    stub_server_destroy(&self);
    return NULL;
}

void stub_server_destroy(stub_server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    stub_server_t *self = *self_p;
    pthread_mutex_lock(&self->stop_lock);
    self->stopping = true;
    pthread_cond_broadcast(&self->stop_cond);
    pthread_mutex_unlock(&self->stop_lock);
    if (self->daemon)
        MHD_stop_daemon(self->daemon);
    stub_chain_destroy(&self->chain);
    memset(self->secret, 0, sizeof self->secret);
    free(self->faults);
    free(self->call_log);
    pthread_cond_destroy(&self->stop_cond);
    pthread_mutex_destroy(&self->stop_lock);
    pthread_mutex_destroy(&self->jwt_lock);
    pthread_mutex_destroy(&self->stats_lock);
    memset(self->jwt_seen, 0, sizeof self->jwt_seen);
    free(self);
    *self_p = NULL;
}

int stub_server_port(const stub_server_t *self) { return self->port; }
