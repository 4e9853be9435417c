/*  bench_util: what the benchmark programs share: clocks and percentiles,
    a process's CPU time and resident memory from /proc, the RESULT lines
    that scripts/bench turns into its table, and a ZeroMQ load generator
    (DEALER peers with requests pipelined) that drives the actor and the
    echo server in exactly the same way. */
#ifndef ALYS_BENCH_UTIL_H
#define ALYS_BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "peer.h"

/*  Monotonic microseconds. */
int64_t bench_now_us(void);
/*  The p-th percentile (0..100) of v; sorts v in place. 0 when n is 0. */
int64_t bench_percentile(int64_t *v, size_t n, double p);
/*  The median of v; sorts v in place. */
double bench_median(double *v, size_t n);

/*  utime + stime of every thread of pid, in microseconds; -1 on error. */
int64_t bench_proc_cpu_us(pid_t pid);
/*  The same for one thread (tid) of pid: tid == pid is the main thread. */
int64_t bench_thread_cpu_us(pid_t pid, pid_t tid);
/*  VmRSS of pid in KiB; -1 on error. */
long bench_proc_rss_kb(pid_t pid);

/*  Prints "RESULT|id|label|value|unit|target|met" on stdout. cmp is "<=",
    ">=" or NULL (a figure without a target); value is printed with the
    given number of decimals. */
void bench_result(const char *id, const char *label, double value, int decimals,
                  const char *unit, const char *cmp, double target);
/*  A progress line on stderr. */
void bench_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*  Logs and exits 1: a benchmark that cannot go on has no figure to give. */
void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*  Calls op through peer; exits unless the reply is ok. Release the reply. */
void bench_call(peer_t *peer, const char *op, const void *args, proto_reply_t *reply);
/*  One build_block (timestamp ts, on parent) then commit_block of its
    payload, as a chain actor does them: the built payload is decoded and
    sent back. Writes the committed block's hash; exits on any failure. */
void bench_actor_cycle(peer_t *peer, const uint8_t parent[32], uint64_t ts, uint8_t new_head[32]);

/*  A request body ready to send (msgpack, pre-encoded). */
typedef struct {
    uint8_t *data;
    size_t len;
} bench_body_t;

/*  Encodes a request {v, id, op, args}; args encoded with the op's args
    schema (NULL for none). The caller frees body->data. */
int bench_body(bench_body_t *body, uint64_t id, const char *op, const void *args);

typedef struct {
    const char *endpoint;
    int peers;                 /* DEALER sockets, one thread each */
    int in_flight;             /* requests outstanding per peer */
    long per_peer;             /* requests each peer sends */
    const bench_body_t *bodies; /* sent in rotation */
    size_t n_bodies;
    bool check_ok;             /* count replies whose "ok" is not true */
} bench_load_t;

/*  Runs the load and returns requests per second over the whole run (from
    the first send to the last reply); *failures counts replies that were
    not ok (when check_ok) and requests never answered within 10 s. */
double bench_throughput(const bench_load_t *load, long *failures);

/*  One peer, one request in flight: n round trips of body, each latency in
    lat_us[i]. Returns 0, or -1 when a reply did not come within 10 s. */
int bench_latency(const char *endpoint, const bench_body_t *body, size_t n, int64_t *lat_us);

#endif
