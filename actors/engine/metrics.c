#include "metrics.h"

#include <arpa/inet.h>
#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <utlist.h>

#define MAX_BUCKETS 20

typedef struct family family_t;

typedef struct series {
    family_t *family;
    char *labels;
    double value; /* counter, gauge; histogram: sum */
    uint64_t count;
    uint64_t buckets[MAX_BUCKETS];
    struct series *prev, *next; /* the family's series in creation order (utlist DL) */
    UT_hash_handle hh;
} series_t;

struct family {
    char *name;
    metric_type_t type;
    char *help;
    double bounds[MAX_BUCKETS];
    size_t n_bounds;
    series_t *series;  /* by labels */
    series_t *ordered; /* creation order, for rendering */
    UT_hash_handle hh;
    struct family *prev, *next; /* definition order (utlist DL) */
};

struct metrics {
    family_t *families; /* by name */
    family_t *ordered;  /* definition order, for rendering */
};

metrics_t *metrics_new(void) { return calloc(1, sizeof(metrics_t)); }

void metrics_destroy(metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    metrics_t *self = *self_p;
    family_t *f, *ftmp;
    HASH_ITER(hh, self->families, f, ftmp) {
        series_t *s, *stmp;
        HASH_ITER(hh, f->series, s, stmp) {
            HASH_DEL(f->series, s);
            free(s->labels);
            free(s);
        }
        HASH_DEL(self->families, f);
        free(f->name);
        free(f->help);
        free(f);
    }
    free(self);
    *self_p = NULL;
}

void metrics_define(metrics_t *self, const char *name, metric_type_t type, const char *help,
                    const double *buckets, size_t n_buckets)
{
    family_t *f = calloc(1, sizeof *f);
    assert(f && n_buckets <= MAX_BUCKETS);
    f->name = strdup(name);
    f->help = strdup(help);
    f->type = type;
    for (size_t i = 0; i < n_buckets; i++)
        f->bounds[i] = buckets[i];
    f->n_bounds = n_buckets;
    HASH_ADD_KEYPTR(hh, self->families, f->name, strlen(f->name), f);
    DL_APPEND(self->ordered, f);
}

static series_t *series(metrics_t *self, const char *name, const char *labels)
{
    family_t *f = NULL;
    HASH_FIND_STR(self->families, name, f);
    assert(f && "metric family not defined");
    if (!labels)
        labels = "";
    series_t *s = NULL;
    HASH_FIND_STR(f->series, labels, s);
    if (!s) {
        s = calloc(1, sizeof *s);
        assert(s);
        s->family = f;
        s->labels = strdup(labels);
        HASH_ADD_KEYPTR(hh, f->series, s->labels, strlen(s->labels), s);
        DL_APPEND(f->ordered, s);
    }
    return s;
}

void metrics_add(metrics_t *self, const char *name, const char *labels, double value)
{
    series(self, name, labels)->value += value;
}

void metrics_set(metrics_t *self, const char *name, const char *labels, double value)
{
    series(self, name, labels)->value = value;
}

metric_series_t *metrics_series(metrics_t *self, const char *name, const char *labels)
{
    return series(self, name, labels);
}

void metric_series_add(metric_series_t *s, double value) { s->value += value; }

void metric_series_observe(metric_series_t *s, double value)
{
    s->value += value;
    s->count++;
    for (size_t i = 0; i < s->family->n_bounds; i++)
        if (value <= s->family->bounds[i])
            s->buckets[i]++;
}

void metrics_observe(metrics_t *self, const char *name, const char *labels, double value)
{
    metric_series_observe(series(self, name, labels), value);
}

int metrics_label(char *buf, size_t len, const char *name, const char *value)
{
    size_t used = 0;
    int n = snprintf(buf, len, "%s=\"", name);
    if (n < 0 || (size_t) n >= len)
        goto too_long;
    used = (size_t) n;
    for (const char *p = value; *p; p++) {
        const char *esc = *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : *p == '\n' ? "\\n" : NULL;
        size_t need = esc ? 2 : 1;
        if (used + need + 2 > len) /* room for the closing quote and NUL */
            goto too_long;
        if (esc)
            memcpy(buf + used, esc, 2);
        else
            buf[used] = *p;
        used += need;
    }
    memcpy(buf + used, "\"", 2);
    return 0;
too_long:
    if (len)
        buf[0] = '\0';
    return -1;
}

/* ----------------------------------------------------------- rendering */

typedef struct {
    char *buf;
    size_t len, cap;
} sbuf_t;

static void put(sbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(sbuf_t *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->buf ? b->buf + b->len : NULL, b->buf ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (b->buf && b->len + (size_t) n < b->cap) {
            b->len += (size_t) n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 8192;
        while (cap < b->len + (size_t) n + 1)
            cap *= 2;
        char *p = realloc(b->buf, cap);
        if (!p)
            return;
        b->buf = p;
        b->cap = cap;
    }
}

static void put_value(sbuf_t *b, double v)
{
    if (isinf(v))
        put(b, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 1e15)
        put(b, "%.0f", v);
    else
        put(b, "%.9g", v);
}

/*  HELP text with backslash and newline escaped, as the format asks. */
static void put_help(sbuf_t *b, const char *help)
{
    for (const char *p = help; *p;) {
        size_t run = strcspn(p, "\\\n");
        if (run)
            put(b, "%.*s", (int) run, p);
        p += run;
        if (*p)
            put(b, "%s", *p++ == '\\' ? "\\\\" : "\\n");
    }
}

/*  name{labels,extra} with the right commas for empty parts. */
static void put_name(sbuf_t *b, const char *name, const char *suffix, const char *labels,
                     const char *extra)
{
    bool l = labels && *labels, e = extra && *extra;
    put(b, "%s%s", name, suffix);
    if (l || e)
        put(b, "{%s%s%s}", l ? labels : "", l && e ? "," : "", e ? extra : "");
    put(b, " ");
}

char *metrics_render(metrics_t *self)
{
    sbuf_t b = {0};
    put(&b, "%s", "");
    static const char *const types[] = {"counter", "gauge", "histogram"};
    family_t *f;
    DL_FOREACH(self->ordered, f) {
        put(&b, "# HELP %s ", f->name);
        put_help(&b, f->help);
        put(&b, "\n# TYPE %s %s\n", f->name, types[f->type]);
        series_t *s;
        DL_FOREACH(f->ordered, s) {
            if (f->type != METRIC_HISTOGRAM) {
                put_name(&b, f->name, "", s->labels, NULL);
                put_value(&b, s->value);
                put(&b, "\n");
                continue;
            }
            for (size_t i = 0; i < f->n_bounds; i++) {
                char le[48];
                snprintf(le, sizeof le, "le=\"%g\"", f->bounds[i]);
                put_name(&b, f->name, "_bucket", s->labels, le);
                put(&b, "%llu\n", (unsigned long long) s->buckets[i]);
            }
            put_name(&b, f->name, "_bucket", s->labels, "le=\"+Inf\"");
            put(&b, "%llu\n", (unsigned long long) s->count);
            put_name(&b, f->name, "_sum", s->labels, NULL);
            put_value(&b, s->value);
            put(&b, "\n");
            put_name(&b, f->name, "_count", s->labels, NULL);
            put(&b, "%llu\n", (unsigned long long) s->count);
        }
    }
    return b.buf;
}

/* -------------------------------------------------------------- server */

struct metrics_server {
    zloop_t *loop;
    struct MHD_Daemon *daemon;
    int epoll_fd;
    int timer_id;
    int port;
    metrics_render_fn *render;
    metrics_health_fn *health;
    void *ctx;
};

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, char *body,
                               const char *type)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    metrics_server_t *self = cls;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return respond(conn, 405, strdup("only GET\n"), "text/plain");
    if (strcmp(url, "/metrics") == 0) {
        char *body = self->render(self->ctx);
        return body ? respond(conn, 200, body, "text/plain; version=0.0.4; charset=utf-8")
                    : respond(conn, 500, strdup("cannot render metrics\n"), "text/plain");
    }
    if (strcmp(url, "/health") == 0) {
        char reason[256];
        bool ok = self->health(self->ctx, reason, sizeof reason);
        char *body = malloc(strlen(reason) + 2);
        if (!body)
            return MHD_NO;
        sprintf(body, "%s\n", reason);
        return respond(conn, ok ? 200 : 503, body, "text/plain");
    }
    return respond(conn, 404, strdup("try /metrics or /health\n"), "text/plain");
}

static int on_ready(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    metrics_server_t *self = arg;
    MHD_run(self->daemon);
    return 0;
}

/*  MHD's own timeouts (idle connections) need a run now and then even when
    nothing is readable. */
static int on_tick(zloop_t *loop, int timer_id, void *arg)
{
    metrics_server_t *self = arg;
    MHD_run(self->daemon);
    return 0;
}

metrics_server_t *metrics_server_new(zloop_t *loop, const char *listen, metrics_render_fn *render,
                                     metrics_health_fn *health, void *ctx, char *err,
                                     size_t err_len)
{
    char host[64];
    const char *colon = strrchr(listen, ':');
    unsigned long port;
    char *end;
    if (!colon || (size_t) (colon - listen) >= sizeof host
        || (port = strtoul(colon + 1, &end, 10), *end || !colon[1] || port > 65535)) {
        snprintf(err, err_len, "metrics address '%s': expected HOST:PORT", listen);
        return NULL;
    }
    memcpy(host, listen, (size_t) (colon - listen));
    host[colon - listen] = '\0';
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port)};
    if (inet_pton(AF_INET, strcmp(host, "localhost") == 0 ? "127.0.0.1" : host, &addr.sin_addr) != 1) {
        snprintf(err, err_len, "metrics address '%s': expected an IPv4 address", listen);
        return NULL;
    }
    metrics_server_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->loop = loop;
    self->render = render;
    self->health = health;
    self->ctx = ctx;
    self->timer_id = -1;
    self->daemon = MHD_start_daemon(MHD_USE_EPOLL, 0, NULL, NULL,
                                    on_request, self, MHD_OPTION_SOCK_ADDR, &addr,
                                    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 10,
                                    MHD_OPTION_CONNECTION_LIMIT, (unsigned) 64, MHD_OPTION_END);
    if (!self->daemon) {
        snprintf(err, err_len, "cannot listen for metrics on %s (in use?)", listen);
        free(self);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    const union MHD_DaemonInfo *pinfo = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->epoll_fd = info ? info->epoll_fd : -1;
    self->port = pinfo ? pinfo->port : (int) port;
    zmq_pollitem_t item = {NULL, self->epoll_fd, ZMQ_POLLIN, 0};
    if (self->epoll_fd < 0 || zloop_poller(loop, &item, on_ready, self) != 0) {
        snprintf(err, err_len, "cannot watch the metrics server");
        metrics_server_destroy(&self);
        return NULL;
    }
    self->timer_id = zloop_timer(loop, 1000, 0, on_tick, self);
    return self;
}

void metrics_server_destroy(metrics_server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    metrics_server_t *self = *self_p;
    if (self->epoll_fd >= 0) {
        zmq_pollitem_t item = {NULL, self->epoll_fd, 0, 0};
        zloop_poller_end(self->loop, &item);
    }
    if (self->timer_id >= 0)
        zloop_timer_end(self->loop, self->timer_id);
    if (self->daemon)
        MHD_stop_daemon(self->daemon);
    free(self);
    *self_p = NULL;
}

int metrics_server_port(const metrics_server_t *self) { return self->port; }
