/*  metrics: the registry (families, counters, gauges, histograms, series
    handles), the text exposition format byte for byte, label and HELP
    escaping, and the HTTP endpoint on 127.0.0.1 port 0 driven by a zloop
    while a thread of this test is its client. */
#include <check.h>
#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

/* ---------------------------------------------------------------- registry */

START_TEST(test_empty_registry)
{
    metrics_t *m = metrics_new();
    ck_assert_ptr_nonnull(m);
    char *text = metrics_render(m);
    ck_assert_ptr_nonnull(text);
    ck_assert_str_eq(text, "");
    free(text);
    metrics_destroy(&m);
    ck_assert_ptr_null(m);
    metrics_destroy(&m); /* twice is harmless */
}
END_TEST

START_TEST(test_counters_and_gauges)
{
    metrics_t *m = metrics_new();
    metrics_define(m, "calls_total", METRIC_COUNTER, "Calls answered.", NULL, 0);
    metrics_define(m, "depth", METRIC_GAUGE, "Queue depth.", NULL, 0);
    metrics_add(m, "calls_total", "op=\"ping\"", 1);
    metrics_add(m, "calls_total", NULL, 2);
    metrics_add(m, "calls_total", "op=\"ping\"", 2);
    metrics_add(m, "calls_total", "", 0.5); /* "" and NULL are the same series */
    metrics_set(m, "depth", "lane=\"mutation\"", 7);
    metrics_set(m, "depth", "lane=\"mutation\"", -3);
    metrics_set(m, "depth", "lane=\"query\"", 1e20);
    metrics_set(m, "depth", "lane=\"x\"", INFINITY);
    metrics_set(m, "depth", "lane=\"y\"", 0.125);
    char *text = metrics_render(m);
    /* families in definition order, series in creation order; integers
       without a fraction, others with up to 9 significant digits */
    ck_assert_str_eq(text, "# HELP calls_total Calls answered.\n"
                           "# TYPE calls_total counter\n"
                           "calls_total{op=\"ping\"} 3\n"
                           "calls_total 2.5\n"
                           "# HELP depth Queue depth.\n"
                           "# TYPE depth gauge\n"
                           "depth{lane=\"mutation\"} -3\n"
                           "depth{lane=\"query\"} 1e+20\n"
                           "depth{lane=\"x\"} +Inf\n"
                           "depth{lane=\"y\"} 0.125\n");
    free(text);
    metrics_destroy(&m);
}
END_TEST

START_TEST(test_histogram)
{
    metrics_t *m = metrics_new();
    const double bounds[] = {0.1, 1, 10};
    metrics_define(m, "latency_seconds", METRIC_HISTOGRAM, "Latency.", bounds, 3);
    metrics_observe(m, "latency_seconds", "op=\"b\"", 0.05);
    metrics_observe(m, "latency_seconds", "op=\"b\"", 0.5);
    metrics_observe(m, "latency_seconds", "op=\"b\"", 1); /* on a bound: counted in it */
    metrics_observe(m, "latency_seconds", "op=\"b\"", 5);
    metrics_observe(m, "latency_seconds", "op=\"b\"", 50);
    /* a handle is the same series as its labels */
    metric_series_t *s = metrics_series(m, "latency_seconds", NULL);
    ck_assert_ptr_eq(s, metrics_series(m, "latency_seconds", ""));
    metric_series_observe(s, 0.25);
    metrics_observe(m, "latency_seconds", NULL, 20);
    char *text = metrics_render(m);
    /* buckets are cumulative; +Inf equals the count */
    ck_assert_str_eq(text, "# HELP latency_seconds Latency.\n"
                           "# TYPE latency_seconds histogram\n"
                           "latency_seconds_bucket{op=\"b\",le=\"0.1\"} 1\n"
                           "latency_seconds_bucket{op=\"b\",le=\"1\"} 3\n"
                           "latency_seconds_bucket{op=\"b\",le=\"10\"} 4\n"
                           "latency_seconds_bucket{op=\"b\",le=\"+Inf\"} 5\n"
                           "latency_seconds_sum{op=\"b\"} 56.55\n"
                           "latency_seconds_count{op=\"b\"} 5\n"
                           "latency_seconds_bucket{le=\"0.1\"} 0\n"
                           "latency_seconds_bucket{le=\"1\"} 1\n"
                           "latency_seconds_bucket{le=\"10\"} 1\n"
                           "latency_seconds_bucket{le=\"+Inf\"} 2\n"
                           "latency_seconds_sum 20.25\n"
                           "latency_seconds_count 2\n");
    free(text);
    metrics_destroy(&m);
}
END_TEST

START_TEST(test_series_handle)
{
    metrics_t *m = metrics_new();
    metrics_define(m, "events_total", METRIC_COUNTER, "Events.", NULL, 0);
    metric_series_t *s = metrics_series(m, "events_total", "kind=\"a\"");
    ck_assert_ptr_nonnull(s);
    metric_series_add(s, 4);
    metrics_add(m, "events_total", "kind=\"a\"", 1);
    /* handles stay valid while other series are created (hash resizes) */
    char labels[32];
    for (int i = 0; i < 200; i++) {
        snprintf(labels, sizeof labels, "kind=\"k%d\"", i);
        metrics_add(m, "events_total", labels, 1);
    }
    metric_series_add(s, 10);
    char *text = metrics_render(m);
    ck_assert_ptr_nonnull(strstr(text, "\nevents_total{kind=\"a\"} 15\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nevents_total{kind=\"k199\"} 1\n"));
    /* creation order: a first, then k0 .. k199 */
    ck_assert(strstr(text, "kind=\"a\"") < strstr(text, "kind=\"k0\""));
    ck_assert(strstr(text, "kind=\"k0\"") < strstr(text, "kind=\"k1\""));
    free(text);
    metrics_destroy(&m);
}
END_TEST

/* ---------------------------------------------------------------- escaping */

START_TEST(test_label_escaping)
{
    char buf[64];
    ck_assert_int_eq(metrics_label(buf, sizeof buf, "status", "plain"), 0);
    ck_assert_str_eq(buf, "status=\"plain\"");
    ck_assert_int_eq(metrics_label(buf, sizeof buf, "status", "a\"b\\c\nd"), 0);
    ck_assert_str_eq(buf, "status=\"a\\\"b\\\\c\\nd\"");
    ck_assert_int_eq(metrics_label(buf, sizeof buf, "s", ""), 0);
    ck_assert_str_eq(buf, "s=\"\"");
    /* exactly fitting, then one byte short: refused, never cut mid-escape */
    ck_assert_int_eq(metrics_label(buf, 9, "k", "\"\"\""), -1);
    ck_assert_str_eq(buf, "");
    ck_assert_int_eq(metrics_label(buf, 11, "k", "\"\"\""), 0);
    ck_assert_str_eq(buf, "k=\"\\\"\\\"\\\"\"");
    ck_assert_int_eq(metrics_label(buf, 10, "k", "\"\"\""), -1);
    ck_assert_int_eq(metrics_label(buf, 3, "key", "v"), -1);
    ck_assert_str_eq(buf, "");

    /* an escaped label renders as is; HELP escapes backslash and newline */
    metrics_t *m = metrics_new();
    metrics_define(m, "state", METRIC_GAUGE, "Line one\nline \\two \"quoted\".", NULL, 0);
    ck_assert_int_eq(metrics_label(buf, sizeof buf, "status", "x\"y"), 0);
    metrics_set(m, "state", buf, 1);
    char *text = metrics_render(m);
    ck_assert_str_eq(text, "# HELP state Line one\\nline \\\\two \"quoted\".\n"
                           "# TYPE state gauge\n"
                           "state{status=\"x\\\"y\"} 1\n");
    free(text);
    metrics_destroy(&m);
}
END_TEST

/* ------------------------------------------------------------- the server */

typedef struct {
    int port;
    bool healthy;
    int renders;
    /* filled by the client thread */
    long status[5];
    char body[5][512];
    char type[5][128];
    volatile int done; /* read by the loop's timer */
} server_case_t;

static char *render_cb(void *ctx)
{
    server_case_t *c = ctx;
    c->renders++;
    char *out = NULL;
    if (asprintf(&out, "# TYPE up gauge\nup %d\n", c->renders) < 0)
        return NULL;
    return out;
}

static bool health_cb(void *ctx, char *reason, size_t len)
{
    server_case_t *c = ctx;
    snprintf(reason, len, c->healthy ? "ok: synced" : "execution client offline");
    return c->healthy;
}

typedef struct {
    char *data;
    size_t len;
} grow_t;

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    grow_t *g = arg;
    size_t add = size * n;
    char *d = realloc(g->data, g->len + add + 1);
    if (!d)
        return 0;
    memcpy(d + g->len, p, add);
    g->len += add;
    d[g->len] = '\0';
    g->data = d;
    return add;
}

static void fetch(server_case_t *c, int i, const char *path, bool post)
{
    char url[96];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", c->port, path);
    CURL *e = curl_easy_init();
    grow_t g = {0};
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &g);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    if (post)
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "x");
    if (curl_easy_perform(e) == CURLE_OK) {
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &c->status[i]);
        char *type = NULL;
        curl_easy_getinfo(e, CURLINFO_CONTENT_TYPE, &type);
        snprintf(c->type[i], sizeof c->type[i], "%s", type ? type : "");
        snprintf(c->body[i], sizeof c->body[i], "%s", g.data ? g.data : "");
    }
    free(g.data);
    curl_easy_cleanup(e);
}

static void *client_thread(void *arg)
{
    server_case_t *c = arg;
    fetch(c, 0, "/metrics", false);
    fetch(c, 1, "/health", false);
    c->healthy = false; /* read by the loop only while it serves the next request */
    fetch(c, 2, "/health", false);
    fetch(c, 3, "/nothing", false);
    fetch(c, 4, "/metrics", true);
    __atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static int on_poll(zloop_t *loop, int timer_id, void *arg)
{
    server_case_t *c = arg;
    return __atomic_load_n(&c->done, __ATOMIC_ACQUIRE) ? -1 : 0;
}

static int on_give_up(zloop_t *loop, int timer_id, void *arg) { return -1; }

START_TEST(test_server)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    zloop_t *loop = zloop_new();
    server_case_t c = {.healthy = true};
    char err[256] = "";
    metrics_server_t *srv = metrics_server_new(loop, "127.0.0.1:0", render_cb, health_cb, &c,
                                               err, sizeof err);
    ck_assert_msg(srv != NULL, "%s", err);
    c.port = metrics_server_port(srv);
    ck_assert_int_gt(c.port, 0);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, client_thread, &c), 0);
    zloop_timer(loop, 5, 0, on_poll, &c);
    zloop_timer(loop, 20000, 1, on_give_up, NULL);
    zloop_start(loop);
    pthread_join(t, NULL);
    ck_assert_int_eq(c.done, 1);

    ck_assert_int_eq(c.status[0], 200);
    ck_assert_str_eq(c.body[0], "# TYPE up gauge\nup 1\n");
    ck_assert_str_eq(c.type[0], "text/plain; version=0.0.4; charset=utf-8");
    ck_assert_int_eq(c.status[1], 200);
    ck_assert_str_eq(c.body[1], "ok: synced\n");
    ck_assert_int_eq(c.status[2], 503);
    ck_assert_str_eq(c.body[2], "execution client offline\n");
    ck_assert_int_eq(c.status[3], 404);
    ck_assert_int_eq(c.status[4], 405);
    ck_assert_int_eq(c.renders, 1); /* the refused POST rendered nothing */

    metrics_server_destroy(&srv);
    ck_assert_ptr_null(srv);
    zloop_destroy(&loop);
    curl_global_cleanup();
}
END_TEST

START_TEST(test_server_bad_addresses)
{
    zloop_t *loop = zloop_new();
    server_case_t c = {0};
    const char *bad[] = {"127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:12x",
                         "example.org:9100", "::1:9100", ":9100"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char err[256] = "";
        metrics_server_t *srv = metrics_server_new(loop, bad[i], render_cb, health_cb, &c, err,
                                                   sizeof err);
        ck_assert_msg(srv == NULL, "accepted %s", bad[i]);
        ck_assert_msg(strstr(err, bad[i]) != NULL, "%s: %s", bad[i], err);
    }
    /* a port in use is an error that names the address */
    char err[256] = "";
    metrics_server_t *a = metrics_server_new(loop, "127.0.0.1:0", render_cb, health_cb, &c, err,
                                             sizeof err);
    ck_assert_ptr_nonnull(a);
    char taken[64];
    snprintf(taken, sizeof taken, "127.0.0.1:%d", metrics_server_port(a));
    metrics_server_t *b = metrics_server_new(loop, taken, render_cb, health_cb, &c, err,
                                             sizeof err);
    ck_assert_ptr_null(b);
    ck_assert_msg(strstr(err, taken) != NULL, "%s", err);
    metrics_server_destroy(&a);
    zloop_destroy(&loop);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("metrics");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_empty_registry);
    tcase_add_test(tc, test_counters_and_gauges);
    tcase_add_test(tc, test_histogram);
    tcase_add_test(tc, test_series_handle);
    tcase_add_test(tc, test_label_escaping);
    tcase_add_test(tc, test_server);
    tcase_add_test(tc, test_server_bad_addresses);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
