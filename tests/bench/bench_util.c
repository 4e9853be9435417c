#include "bench_util.h"

#include <dirent.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "proto.h"

#define REPLY_TIMEOUT_MS 10000
#define MAX_REPLY (1u << 20)

int64_t bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

int64_t bench_percentile(int64_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_i64);
    size_t k = (size_t) (p / 100.0 * (double) (n - 1) + 0.5);
    return v[k < n ? k : n - 1];
}

double bench_median(double *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*  Fields 14 and 15 (utime, stime) of a stat file under /proc. */
static int64_t stat_cpu_us(const char *path)
{
    char buf[1024];
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!p)
        return -1;
    unsigned long utime = 0, stime = 0;
    /* after ")": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    return (int64_t) (utime + stime) * 1000000 / (hz > 0 ? hz : 100);
}

/*  /proc/PID/stat counts every thread of the process. */
int64_t bench_proc_cpu_us(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
    return stat_cpu_us(path);
}

int64_t bench_thread_cpu_us(pid_t pid, pid_t tid)
{
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int) pid, (int) tid);
    return stat_cpu_us(path);
}

long bench_proc_rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

void bench_result(const char *id, const char *label, double value, int decimals,
                  const char *unit, const char *cmp, double target)
{
    const char *met = "-";
    char target_text[64] = "-";
    if (cmp) {
        bool ok = strcmp(cmp, "<=") == 0 ? value <= target : value >= target;
        met = ok ? "yes" : "NO";
        snprintf(target_text, sizeof target_text, "%s %g", cmp, target);
    }
    printf("RESULT|%s|%s|%.*f|%s|%s|%s\n", id, label, decimals, value, unit, target_text, met);
    fflush(stdout);
}

void bench_log(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    fprintf(stderr, "[%02d:%02d:%02d] %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec, line);
}

void bench_die(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    bench_log("%s", line);
    exit(1);
}

void bench_call(peer_t *peer, const char *op, const void *args, proto_reply_t *reply)
{
    if (peer_call(peer, op, args, reply, REPLY_TIMEOUT_MS) != 0)
        bench_die("%s: no reply within %d ms", op, REPLY_TIMEOUT_MS);
    if (!reply->ok)
        bench_die("%s: %s: %s", op, reply->error_code, reply->message ? reply->message : "");
}

void bench_actor_cycle(peer_t *peer, const uint8_t parent[32], uint64_t ts, uint8_t new_head[32])
{
    proto_build_block_args_t args = {.timestamp = ts, .has_parent = true};
    memcpy(args.parent, parent, 32);
    proto_reply_t r;
    bench_call(peer, "build_block", &args, &r);
    proto_build_block_result_t built = {0};
    if (peer_result(&r, "build_block", &built) != 0)
        bench_die("build_block: a result that does not decode");
    proto_reply_release(&r);
    proto_payload_args_t commit = {.payload = built.payload};
    bench_call(peer, "commit_block", &commit, &r);
    proto_reply_release(&r);
    memcpy(new_head, built.payload.block_hash, 32);
    proto_free(proto_op_find("build_block")->result, &built);
}

int bench_body(bench_body_t *body, uint64_t id, const char *op, const void *args)
{
    const proto_op_t *def = proto_op_find(op);
    proto_writer_t w;
    proto_writer_init(&w);
    bool with_args = def && def->args && args;
    proto_request_begin(&w.pk, id, op, with_args);
    if (with_args)
        proto_encode(def->args, args, &w.pk);
    body->data = malloc(w.sbuf.size);
    body->len = w.sbuf.size;
    if (body->data)
        memcpy(body->data, w.sbuf.data, w.sbuf.size);
    proto_writer_release(&w);
    return body->data ? 0 : -1;
}

/* --------------------------------------------------------- load generator */

static void *s_ctx;
static pthread_once_t s_ctx_once = PTHREAD_ONCE_INIT;

static void ctx_init(void) { s_ctx = zmq_ctx_new(); }

static void *dealer(const char *endpoint)
{
    pthread_once(&s_ctx_once, ctx_init);
    void *s = zmq_socket(s_ctx, ZMQ_DEALER);
    if (!s)
        return NULL;
    int zero = 0, timeout = REPLY_TIMEOUT_MS;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    if (zmq_connect(s, endpoint) != 0) {
        zmq_close(s);
        return NULL;
    }
    return s;
}

static int send_body(void *s, const bench_body_t *b)
{
    if (zmq_send(s, "", 0, ZMQ_SNDMORE) < 0 || zmq_send(s, b->data, b->len, 0) < 0)
        return -1;
    return 0;
}

/*  Receives [empty][body] into buf; returns the body's length or -1. */
static int recv_reply(void *s, uint8_t *buf, size_t cap)
{
    char delim[8];
    if (zmq_recv(s, delim, sizeof delim, 0) < 0)
        return -1;
    int more = 0;
    size_t sz = sizeof more;
    zmq_getsockopt(s, ZMQ_RCVMORE, &more, &sz);
    if (!more)
        return -1;
    int n = zmq_recv(s, buf, cap, 0);
    return n;
}

/*  A reply map starts {v: 1, id: .., ok: ..}: look for the key "ok"
    followed by msgpack true within its first bytes. */
static bool reply_ok(const uint8_t *buf, int n)
{
    int lim = n < 48 ? n : 48;
    for (int i = 0; i + 3 < lim; i++)
        if (buf[i] == 0xa2 && buf[i + 1] == 'o' && buf[i + 2] == 'k')
            return buf[i + 3] == 0xc3;
    return false;
}

typedef struct {
    const bench_load_t *load;
    int index;
    pthread_barrier_t *start;
    long failures;
    int64_t end_us;
} worker_t;

/*  One peer: fill the pipe to in_flight, then send one more for every reply
    until per_peer were sent, and wait for the rest. The replies are counted,
    not matched: every request of the run is alike. */
static void *worker_main(void *arg)
{
    worker_t *w = arg;
    const bench_load_t *l = w->load;
    void *s = dealer(l->endpoint);
    uint8_t *buf = malloc(MAX_REPLY);
    pthread_barrier_wait(w->start);
    if (!s || !buf) {
        w->failures = l->per_peer;
        w->end_us = bench_now_us();
        free(buf);
        if (s)
            zmq_close(s);
        return NULL;
    }
    long sent = 0, received = 0;
    size_t next = (size_t) w->index;
    while (sent < l->per_peer && sent < l->in_flight) {
        send_body(s, &l->bodies[next++ % l->n_bodies]);
        sent++;
    }
    while (received < l->per_peer) {
        int n = recv_reply(s, buf, MAX_REPLY);
        if (n < 0) {
            w->failures += l->per_peer - received;
            break;
        }
        received++;
        if (l->check_ok && !reply_ok(buf, n))
            w->failures++;
        if (sent < l->per_peer) {
            send_body(s, &l->bodies[next++ % l->n_bodies]);
            sent++;
        }
    }
    w->end_us = bench_now_us();
    free(buf);
    zmq_close(s);
    return NULL;
}

double bench_throughput(const bench_load_t *load, long *failures)
{
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned) load->peers + 1);
    pthread_t *th = calloc((size_t) load->peers, sizeof *th);
    worker_t *w = calloc((size_t) load->peers, sizeof *w);
    for (int i = 0; i < load->peers; i++) {
        w[i] = (worker_t){.load = load, .index = i, .start = &start};
        pthread_create(&th[i], NULL, worker_main, &w[i]);
    }
    /* the sockets connect before the barrier; give the handshakes a moment */
    usleep(50000);
    pthread_barrier_wait(&start);
    int64_t t0 = bench_now_us(), t1 = t0;
    long fails = 0;
    for (int i = 0; i < load->peers; i++) {
        pthread_join(th[i], NULL);
        fails += w[i].failures;
        if (w[i].end_us > t1)
            t1 = w[i].end_us;
    }
    pthread_barrier_destroy(&start);
    free(th);
    free(w);
    if (failures)
        *failures = fails;
    double total = (double) load->peers * (double) load->per_peer;
    return t1 > t0 ? total * 1e6 / (double) (t1 - t0) : 0;
}

int bench_latency(const char *endpoint, const bench_body_t *body, size_t n, int64_t *lat_us)
{
    void *s = dealer(endpoint);
    uint8_t *buf = malloc(MAX_REPLY);
    int rc = s && buf ? 0 : -1;
    /* one untimed round trip: the connection is set up */
    if (rc == 0 && (send_body(s, body) != 0 || recv_reply(s, buf, MAX_REPLY) < 0))
        rc = -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int64_t t0 = bench_now_us();
        if (send_body(s, body) != 0 || recv_reply(s, buf, MAX_REPLY) < 0)
            rc = -1;
        lat_us[i] = bench_now_us() - t0;
    }
    free(buf);
    if (s)
        zmq_close(s);
    return rc;
}
