/*  metrics: Prometheus counters, gauges and histograms kept by the loop,
    and the HTTP endpoint that serves them.

    Families are defined once with their type, help and (for histograms)
    buckets; series are found by family and label text (`op="build_block"`).
    The HTTP server is libmicrohttpd without a thread of its own: its epoll
    descriptor is a zloop poller and MHD_run() runs in the loop, so rendering
    reads the actor's state from the thread that owns it. */
#ifndef ALYS_METRICS_H
#define ALYS_METRICS_H

#include <czmq.h>
#include <stddef.h>

typedef enum { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM } metric_type_t;

typedef struct metrics metrics_t;

metrics_t *metrics_new(void);
void metrics_destroy(metrics_t **self_p);

/*  Defines a family. buckets (ascending, without +Inf) only for histograms. */
void metrics_define(metrics_t *self, const char *name, metric_type_t type, const char *help,
                    const double *buckets, size_t n_buckets);
/*  Adds to a counter (or gauge); labels may be "" or NULL. Unknown families
    are a programming error (asserted). */
void metrics_add(metrics_t *self, const char *name, const char *labels, double value);
void metrics_set(metrics_t *self, const char *name, const char *labels, double value);
void metrics_observe(metrics_t *self, const char *name, const char *labels, double value);

/*  Writes `name="value"` into buf, value escaped as the text format
    requires (backslash, double quote and newline). Label text that may
    carry outside input goes through here. Returns 0, or -1 when it does
    not fit (buf then holds ""). */
int metrics_label(char *buf, size_t len, const char *name, const char *value);

/*  A series handle, stable for the life of the registry: hot paths resolve
    it once instead of formatting labels and hashing them per event. */
typedef struct series metric_series_t;
metric_series_t *metrics_series(metrics_t *self, const char *name, const char *labels);
void metric_series_add(metric_series_t *s, double value);
void metric_series_observe(metric_series_t *s, double value);

/*  Renders the text exposition format (version 0.0.4). Caller frees. */
char *metrics_render(metrics_t *self);

/*  The endpoint. `render` returns the /metrics body (malloc'd) and `health`
    writes a one-line reason and returns true when healthy (/health 200,
    else 503). */
typedef char *(metrics_render_fn)(void *ctx);
typedef bool(metrics_health_fn)(void *ctx, char *reason, size_t reason_len);

typedef struct metrics_server metrics_server_t;

/*  listen is "HOST:PORT" (port 0 picks one). NULL with a message in err on
    failure. */
metrics_server_t *metrics_server_new(zloop_t *loop, const char *listen, metrics_render_fn *render,
                                     metrics_health_fn *health, void *ctx, char *err,
                                     size_t err_len);
void metrics_server_destroy(metrics_server_t **self_p);
/*  The bound port. */
int metrics_server_port(const metrics_server_t *self);

#endif
