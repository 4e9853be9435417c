/*  bench_hol: no head-of-line blocking. The stub delays every
    forkchoiceUpdated by 2 s, so a build_block hangs in the mutation lane;
    meanwhile one peer pings with one request in flight. The ping p99 with a
    build hanging is compared with the p99 without, in alternating windows
    of the same run. Each window gives its own p99 and the figure is the
    median over the windows, so that one burst of noise from elsewhere on
    the machine does not decide it.

    usage: bench_hol WORKDIR   (prints RESULT lines; progress on stderr) */
#include <czmq.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actor_proc.h"
#include "bench_util.h"
#include "jwt_file.h"
#include "peer.h"
#include "stub_proc.h"

#define ROUNDS 8
#define WINDOW_US 1000000
#define CHUNK 200
#define MAX_SAMPLES 400000

/*  Pings in chunks until the window has passed; appends the latencies. */
static size_t ping_window(const char *endpoint, const bench_body_t *ping, int64_t *lat, size_t n,
                          size_t cap)
{
    int64_t end = bench_now_us() + WINDOW_US;
    while (bench_now_us() < end && n + CHUNK <= cap) {
        if (bench_latency(endpoint, ping, CHUNK, lat + n) != 0)
            bench_die("a ping went unanswered");
        n += CHUNK;
    }
    return n;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bench_hol WORKDIR\n");
        return 2;
    }
    const char *dir = argv[1];
    signal(SIGPIPE, SIG_IGN);
    zsys_handler_set(NULL); /* Ctrl-C stops the benchmark */
    char jwt[512], stub_log[512], actor_log[512], endpoint[600];
    snprintf(jwt, sizeof jwt, "%s/jwt-hol.hex", dir);
    snprintf(stub_log, sizeof stub_log, "%s/stub-hol.log", dir);
    snprintf(actor_log, sizeof actor_log, "%s/actor-hol.log", dir);
    snprintf(endpoint, sizeof endpoint, "ipc://%s/actor-hol.sock", dir);
    if (jwt_file_write_fill(jwt, 0x44) != 0)
        bench_die("cannot write the JWT secret");
    const char *const flags[] = {"--delay", "engine_forkchoiceUpdated*:2000", NULL};
    stub_proc_t *stub = stub_proc_start(jwt, 0, flags, stub_log);
    harness_proc_t *actor = stub ? actor_proc_start(endpoint, stub_proc_url(stub),
                                                    stub_proc_url(stub), jwt, NULL, actor_log)
                                 : NULL;
    peer_t *builder = actor ? peer_new(endpoint, "bench-builder") : NULL;
    if (!builder || actor_proc_wait_ready(builder, "synced", 10000) != 0)
        bench_die("the stub or the actor did not start");
    bench_body_t ping;
    if (bench_body(&ping, 1, "ping", NULL) != 0)
        bench_die("cannot encode ping");
    int64_t *idle = calloc(MAX_SAMPLES, sizeof *idle);
    int64_t *stuck = calloc(MAX_SAMPLES, sizeof *stuck);
    size_t n_idle = 0, n_stuck = 0;
    double p99_idle[ROUNDS], p99_stuck[ROUNDS];
    uint64_t ts = 1000;
    for (int r = 0; r < ROUNDS; r++) {
        size_t idle0 = n_idle, stuck0 = n_stuck;
        n_idle = ping_window(endpoint, &ping, idle, n_idle, MAX_SAMPLES);
        proto_build_block_args_t args = {.timestamp = ts++};
        int64_t t0 = bench_now_us();
        uint64_t id = peer_send(builder, "build_block", &args);
        n_stuck = ping_window(endpoint, &ping, stuck, n_stuck, MAX_SAMPLES);
        proto_reply_t reply;
        do {
            if (peer_recv(builder, &reply, 15000) != 0)
                bench_die("build_block: no reply");
            if (reply.id != id)
                proto_reply_release(&reply);
        } while (reply.id != id);
        int64_t took = bench_now_us() - t0;
        if (!reply.ok)
            bench_die("build_block: %s: %s", reply.error_code, reply.message ? reply.message : "");
        proto_reply_release(&reply);
        if (took < WINDOW_US)
            bench_die("build_block came back after %lld us: the delay did not hold it up",
                      (long long) took);
        /* copies: the percentile sorts, and the pooled figures come later */
        int64_t *tmp = malloc((n_idle - idle0 + n_stuck - stuck0) * sizeof *tmp);
        memcpy(tmp, idle + idle0, (n_idle - idle0) * sizeof *tmp);
        p99_idle[r] = (double) bench_percentile(tmp, n_idle - idle0, 99);
        memcpy(tmp, stuck + stuck0, (n_stuck - stuck0) * sizeof *tmp);
        p99_stuck[r] = (double) bench_percentile(tmp, n_stuck - stuck0, 99);
        free(tmp);
        bench_log("d: round %d: %zu idle pings p99 %.0f us, %zu pings with a build hanging p99 "
                  "%.0f us (the build took %lld ms)",
                  r + 1, n_idle - idle0, p99_idle[r], n_stuck - stuck0, p99_stuck[r],
                  (long long) (took / 1000));
    }
    double i99 = (double) bench_percentile(idle, n_idle, 99);
    double s99 = (double) bench_percentile(stuck, n_stuck, 99);
    double i50 = (double) bench_percentile(idle, n_idle, 50);
    double s50 = (double) bench_percentile(stuck, n_stuck, 50);
    bench_log("d: all windows pooled: ping p50 %.0f / %.0f us, p99 %.0f / %.0f us (idle / build "
              "hanging)", i50, s50, i99, s99);
    double mi = bench_median(p99_idle, ROUNDS), ms = bench_median(p99_stuck, ROUNDS);
    bench_result("d1", "ping p99, no build in flight (median of 8 windows)", mi, 0, "us", NULL, 0);
    bench_result("d2", "ping p99, a build hanging 2 s on forkchoiceUpdated (median of 8)", ms, 0,
                 "us", NULL, 0);
    bench_result("d3", "ping p99 hanging / idle", ms / mi, 2, "x", "<=", 2);
    free(idle);
    free(stuck);
    free(ping.data);
    peer_destroy(&builder);
    harness_proc_destroy(&actor);
    stub_proc_destroy(&stub);
    return 0;
}
