/*  bench_stub: the actor's own cost, with the stub execution client (which
    answers at once) in place of a real one.

      b. build+commit cycles through the actor: cycles/s, the actor's CPU
         time per cycle, and the cycle's wall time against four bare HTTP
         round trips to the same stub (and against the same four Engine API
         calls made directly), all measured in alternating rounds;
      c. get_block by hash (always the same hash) over ipc: throughput with
         8 peers x 16 in flight and latency with 1 x 1, each against a bare
         ZeroMQ ROUTER echo server measured the same way in the same run;
      e. the actor's resident memory after start, after 100,000 requests,
         after fetching 10,000 distinct blocks, and across two more rounds of
         100,000 requests.

    usage: bench_stub WORKDIR [PARTS]   (PARTS: any of "bce", default all;
    prints RESULT lines; progress on stderr). $ALYS_BENCH_SCALE (default 1)
    scales the number of cycles and requests, e.g. 0.1 for a quick look or
    for running the actor under a profiler.
    The binaries come from $ALYS_ENGINE_BIN, $ALYS_STUB_EL_BIN and
    $ALYS_ECHO_ROUTER_BIN. */
#include <czmq.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "actor_proc.h"
#include "bench_direct.h"
#include "bench_util.h"
#include "harness.h"
#include "jwt_file.h"
#include "peer.h"
#include "proto.h"
#include "stub_proc.h"

#define ROUNDS_B 10
#define CYCLES_PER_ROUND scaled(2000)
#define BARE_PER_ROUND scaled(4000)
#define DIRECT_PER_ROUND scaled(500)
#define ROUNDS_C 5
#define LOAD_PEERS 8
#define LOAD_IN_FLIGHT 16
#define LOAD_PER_PEER scaled(6000)
#define LATENCY_N scaled(4000)
#define ROUND_E scaled(100000)
#define DISTINCT_BLOCKS 10000

static const char *s_dir;
static double s_scale = 1.0;

static int scaled(int n)
{
    int m = (int) (n * s_scale);
    return m > 16 ? m : 16;
}
static uint64_t s_ts = 1000;
static uint8_t s_head[32];

static void actor_cycle(peer_t *peer)
{
    bench_actor_cycle(peer, s_head, s_ts++, s_head);
}

static void direct_cycle(bench_direct_t *d, const uint8_t genesis[32])
{
    uint8_t next[32];
    if (bench_direct_cycle(d, s_head, genesis, genesis, s_ts++, next) != 0)
        bench_die("a direct cycle failed");
    memcpy(s_head, next, 32);
}

static harness_proc_t *start_echo(const char *endpoint)
{
    const char *bin = getenv("ALYS_ECHO_ROUTER_BIN");
    char log_path[512];
    snprintf(log_path, sizeof log_path, "%s/echo.log", s_dir);
    char *argv[] = {(char *) (bin ? bin : "echo_router"), (char *) endpoint, NULL};
    harness_proc_t *p = harness_proc_spawn(argv, log_path);
    for (int i = 0; p && i < 200; i++) {
        FILE *f = fopen(log_path, "r");
        char line[32] = "";
        if (f) {
            if (!fgets(line, sizeof line, f))
                line[0] = '\0';
            fclose(f);
        }
        if (strncmp(line, "READY", 5) == 0)
            return p;
        usleep(10000);
    }
    harness_proc_destroy(&p);
    return NULL;
}

static double mib(long kb) { return (double) kb / 1024.0; }

/* ------------------------------------------------------------------- b */

static void part_b(peer_t *peer, pid_t actor_pid, bench_direct_t *direct, const uint8_t genesis[32])
{
    bench_log("b: warm-up");
    for (int i = 0; i < 200; i++) {
        actor_cycle(peer);
        direct_cycle(direct, genesis);
    }
    for (int i = 0; i < 1000; i++)
        if (bench_direct_bare(direct) != 0)
            bench_die("a bare round trip failed");
    double actor_us[ROUNDS_B], bare_us[ROUNDS_B], direct_us[ROUNDS_B];
    int64_t cpu_total = 0, cpu_loop = 0;
    long cycles_total = 0;
    for (int r = 0; r < ROUNDS_B; r++) {
        for (int step = 0; step < 3; step++) {
            int which = r % 2 ? 2 - step : step; /* alternate the order */
            int64_t t0 = bench_now_us();
            if (which == 0) {
                int64_t c0 = bench_proc_cpu_us(actor_pid);
                int64_t l0 = bench_thread_cpu_us(actor_pid, actor_pid);
                for (int i = 0; i < CYCLES_PER_ROUND; i++)
                    actor_cycle(peer);
                int64_t t1 = bench_now_us();
                cpu_total += bench_proc_cpu_us(actor_pid) - c0;
                cpu_loop += bench_thread_cpu_us(actor_pid, actor_pid) - l0;
                cycles_total += CYCLES_PER_ROUND;
                actor_us[r] = (double) (t1 - t0) / CYCLES_PER_ROUND;
            } else if (which == 1) {
                for (int i = 0; i < BARE_PER_ROUND; i++)
                    if (bench_direct_bare(direct) != 0)
                        bench_die("a bare round trip failed");
                bare_us[r] = (double) (bench_now_us() - t0) / BARE_PER_ROUND;
            } else {
                for (int i = 0; i < DIRECT_PER_ROUND; i++)
                    direct_cycle(direct, genesis);
                direct_us[r] = (double) (bench_now_us() - t0) / DIRECT_PER_ROUND;
            }
        }
        bench_log("b: round %d: actor cycle %.0f us, bare round trip %.1f us, direct cycle %.0f us",
                  r + 1, actor_us[r], bare_us[r], direct_us[r]);
    }
    double a = bench_median(actor_us, ROUNDS_B);
    double b = bench_median(bare_us, ROUNDS_B);
    double d = bench_median(direct_us, ROUNDS_B);
    double cpu = (double) cpu_total / (double) cycles_total;
    double loop = (double) cpu_loop / (double) cycles_total;
    bench_log("b: actor CPU per cycle %.0f us: %.0f us in the loop thread, %.0f us in ZeroMQ's I/O "
              "thread", cpu, loop, cpu - loop);
    bench_result("b1", "stub: build+commit cycles/s through the actor", 1e6 / a, 0, "cycles/s",
                 NULL, 0);
    bench_result("b2", "stub: actor CPU time per cycle", cpu, 1, "us", "<=", 150);
    bench_result("b2a", "stub: of that, the actor's loop thread", loop, 1, "us", NULL, 0);
    bench_result("b3", "stub: cycle wall time through the actor (median of rounds)", a, 1, "us",
                 NULL, 0);
    bench_result("b4", "stub: one bare keep-alive HTTP round trip", b, 1, "us", NULL, 0);
    bench_result("b5", "stub: cycle / four bare round trips", a / (4 * b), 2, "x", "<=", 1.5);
    bench_result("b6", "stub: the same four Engine API calls made directly", d, 1, "us", NULL, 0);
    bench_result("b7", "stub: cycle through the actor / direct cycle", a / d, 2, "x", NULL, 0);
}

/* ------------------------------------------------------------------- c */

static void part_c(const char *actor_ep, const char *echo_ep, const uint8_t hash[32])
{
    proto_get_block_args_t ga = {.block = {.kind = PROTO_SEL_HASH}};
    memcpy(ga.block.hash, hash, 32);
    bench_body_t body;
    if (bench_body(&body, 1, "get_block", &ga) != 0)
        bench_die("cannot encode get_block");
    bench_load_t load = {.peers = LOAD_PEERS, .in_flight = LOAD_IN_FLIGHT,
                         .per_peer = LOAD_PER_PEER, .bodies = &body, .n_bodies = 1};
    double actor_rps[ROUNDS_C], echo_rps[ROUNDS_C];
    for (int r = 0; r < ROUNDS_C; r++) {
        for (int step = 0; step < 2; step++) {
            bool actor = (r + step) % 2 == 0;
            long failures = 0;
            load.endpoint = actor ? actor_ep : echo_ep;
            load.check_ok = actor;
            double rps = bench_throughput(&load, &failures);
            if (failures)
                bench_die("%s", actor ? "get_block replies failed under load" : "echo replies went missing");
            (actor ? actor_rps : echo_rps)[r] = rps;
        }
        bench_log("c: round %d: actor %.0f req/s, echo %.0f req/s", r + 1, actor_rps[r], echo_rps[r]);
    }
    double a = bench_median(actor_rps, ROUNDS_C), e = bench_median(echo_rps, ROUNDS_C);
    bench_result("c1", "get_block by hash, 8 peers x 16 in flight: actor", a, 0, "req/s", NULL, 0);
    bench_result("c2", "the same against a bare ROUTER echo", e, 0, "req/s", NULL, 0);
    bench_result("c3", "throughput actor / echo", a / e, 2, "x", ">=", 0.5);

    int64_t *lat_a = calloc(ROUNDS_C * LATENCY_N, sizeof *lat_a);
    int64_t *lat_e = calloc(ROUNDS_C * LATENCY_N, sizeof *lat_e);
    for (int r = 0; r < ROUNDS_C; r++)
        for (int step = 0; step < 2; step++) {
            bool actor = (r + step) % 2 == 0;
            if (bench_latency(actor ? actor_ep : echo_ep, &body, LATENCY_N,
                              (actor ? lat_a : lat_e) + r * LATENCY_N) != 0)
                bench_die("a latency run lost a reply");
        }
    size_t n = ROUNDS_C * LATENCY_N;
    double a50 = (double) bench_percentile(lat_a, n, 50), a99 = (double) bench_percentile(lat_a, n, 99);
    double e50 = (double) bench_percentile(lat_e, n, 50), e99 = (double) bench_percentile(lat_e, n, 99);
    bench_log("c: latency actor p50 %.0f p99 %.0f us, echo p50 %.0f p99 %.0f us", a50, a99, e50, e99);
    bench_result("c4", "get_block latency, 1 peer x 1 in flight: actor p50", a50, 0, "us", NULL, 0);
    bench_result("c5", "get_block latency: actor p99", a99, 0, "us", NULL, 0);
    bench_result("c6", "echo latency p50 (p99 alongside in the log)", e50, 0, "us", NULL, 0);
    bench_result("c7", "latency p50 actor / echo", a50 / e50, 2, "x", "<=", 1.5);
    free(lat_a);
    free(lat_e);
    free(body.data);
}

/* ------------------------------------------------------------------- e */

/*  A mix of queries, so that a leak on any common path would show. */
static size_t mixed_bodies(bench_body_t *out, size_t max, const uint8_t hash[32])
{
    size_t n = 0;
    for (uint64_t i = 0; n + 4 <= max; i++) {
        proto_get_block_args_t ga = {.block = {.kind = PROTO_SEL_HASH}};
        memcpy(ga.block.hash, hash, 32);
        bench_body(&out[n++], 100 + i, "get_block", &ga);
        proto_get_block_args_t gn = {.block = {.kind = PROTO_SEL_NUMBER, .number = 1 + i * 157 % DISTINCT_BLOCKS}};
        bench_body(&out[n++], 200 + i, "get_block", &gn);
        bench_body(&out[n++], 300 + i, i % 2 ? "ping" : "status", NULL);
        bench_body(&out[n++], 400 + i, "get_sync_status", NULL);
    }
    return n;
}

static void mixed_round(const char *endpoint, bench_body_t *bodies, size_t n)
{
    bench_load_t load = {.endpoint = endpoint, .peers = LOAD_PEERS, .in_flight = LOAD_IN_FLIGHT,
                         .per_peer = ROUND_E / LOAD_PEERS, .bodies = bodies, .n_bodies = n,
                         .check_ok = true};
    long failures = 0;
    double rps = bench_throughput(&load, &failures);
    if (failures)
        bench_die("mixed requests failed");
    bench_log("e: %d mixed requests at %.0f req/s", LOAD_PEERS * (ROUND_E / LOAD_PEERS), rps);
}

static void part_e(const char *endpoint, pid_t pid, const uint8_t hash[32])
{
    long rss0 = bench_proc_rss_kb(pid);
    bench_body_t mixed[64];
    size_t n_mixed = mixed_bodies(mixed, 64, hash);
    mixed_round(endpoint, mixed, n_mixed);
    long rss1 = bench_proc_rss_kb(pid);

    bench_body_t *blocks = calloc(DISTINCT_BLOCKS, sizeof *blocks);
    for (size_t i = 0; i < DISTINCT_BLOCKS; i++) {
        proto_get_block_args_t gn = {.block = {.kind = PROTO_SEL_NUMBER, .number = 1 + i}};
        bench_body(&blocks[i], 10000 + i, "get_block", &gn);
    }
    bench_load_t load = {.endpoint = endpoint, .peers = 1, .in_flight = LOAD_IN_FLIGHT,
                         .per_peer = DISTINCT_BLOCKS, .bodies = blocks, .n_bodies = DISTINCT_BLOCKS,
                         .check_ok = true};
    long failures = 0;
    bench_throughput(&load, &failures);
    if (failures)
        bench_die("fetching distinct blocks failed (does the stub hold 10,000 blocks?)");
    long rss2 = bench_proc_rss_kb(pid);
    mixed_round(endpoint, mixed, n_mixed);
    long rss3 = bench_proc_rss_kb(pid);
    mixed_round(endpoint, mixed, n_mixed);
    long rss4 = bench_proc_rss_kb(pid);
    bench_log("e: RSS %ld, %ld, %ld, %ld, %ld KiB", rss0, rss1, rss2, rss3, rss4);
    bench_result("e1", "actor RSS after start", mib(rss0), 1, "MiB", NULL, 0);
    bench_result("e2", "actor RSS after 100,000 requests", mib(rss1), 1, "MiB", NULL, 0);
    bench_result("e3", "actor RSS after 10,000 distinct blocks fetched", mib(rss2), 1, "MiB", NULL, 0);
    bench_result("e4", "actor RSS after another 100,000 requests (round A)", mib(rss3), 1, "MiB", NULL, 0);
    bench_result("e5", "actor RSS after round B of 100,000 requests", mib(rss4), 1, "MiB", NULL, 0);
    /* RSS moves by a few hundred KiB from round to round with how many
       requests (and their HTTP buffers) happen to be in flight at the peak;
       a leak of 10 bytes per request would add 1 MiB per round */
    bench_result("e6", "RSS growth from round A to round B", (double) (rss4 - rss3), 0, "KiB", "<=",
                 1024);
    for (size_t i = 0; i < n_mixed; i++)
        free(mixed[i].data);
    for (size_t i = 0; i < DISTINCT_BLOCKS; i++)
        free(blocks[i].data);
    free(blocks);
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: bench_stub WORKDIR [PARTS]\n");
        return 2;
    }
    s_dir = argv[1];
    const char *parts = argc == 3 ? argv[2] : "bce";
    const char *scale = getenv("ALYS_BENCH_SCALE");
    if (scale && atof(scale) > 0)
        s_scale = atof(scale);
    signal(SIGPIPE, SIG_IGN);
    zsys_handler_set(NULL); /* Ctrl-C stops the benchmark */
    char jwt[512], stub_log[512], actor_log[512], actor_e_log[512];
    char actor_ep[600], actor_e_ep[600], echo_ep[600];
    snprintf(jwt, sizeof jwt, "%s/jwt.hex", s_dir);
    snprintf(stub_log, sizeof stub_log, "%s/stub.log", s_dir);
    snprintf(actor_log, sizeof actor_log, "%s/actor.log", s_dir);
    snprintf(actor_e_log, sizeof actor_e_log, "%s/actor-memory.log", s_dir);
    snprintf(actor_ep, sizeof actor_ep, "ipc://%s/actor.sock", s_dir);
    snprintf(actor_e_ep, sizeof actor_e_ep, "ipc://%s/actor-memory.sock", s_dir);
    snprintf(echo_ep, sizeof echo_ep, "ipc://%s/echo.sock", s_dir);
    if (jwt_file_write_fill(jwt, 0x33) != 0)
        bench_die("cannot write the JWT secret");
    stub_proc_t *stub = stub_proc_start(jwt, 0, NULL, stub_log);
    if (!stub)
        bench_die("the stub did not start");
    harness_proc_t *actor = actor_proc_start(actor_ep, stub_proc_url(stub), stub_proc_url(stub), jwt,
                                             NULL, actor_log);
    if (!actor)
        bench_die("the actor did not start");
    peer_t *peer = peer_new(actor_ep, "bench-chain");
    if (actor_proc_wait_ready(peer, "synced", 10000) != 0)
        bench_die("the actor did not become ready");
    bench_direct_t *direct = bench_direct_new(stub_proc_url(stub), stub_proc_url(stub), jwt);
    uint8_t genesis[32];
    if (!direct || bench_direct_block_hash(direct, "latest", genesis) != 0)
        bench_die("cannot read the genesis block");
    memcpy(s_head, genesis, 32);

    actor_cycle(peer);
    uint8_t block1[32];
    memcpy(block1, s_head, 32);
    if (strchr(parts, 'b'))
        part_b(peer, harness_proc_pid(actor), direct, genesis);

    if (strchr(parts, 'c')) {
        harness_proc_t *echo = start_echo(echo_ep);
        if (!echo)
            bench_die("the echo server did not start");
        bench_log("c: queries");
        part_c(actor_ep, echo_ep, block1);
        harness_proc_destroy(&echo);
    }
    if (!strchr(parts, 'e'))
        goto done;

    /* e needs 10,000 blocks on the stub: b leaves more, else add them */
    int64_t have = stub_proc_stat(stub, "head");
    if (have < DISTINCT_BLOCKS)
        bench_log("e: adding %lld blocks to the stub", (long long) (DISTINCT_BLOCKS - have));
    for (int64_t n = have; n < DISTINCT_BLOCKS; n++)
        direct_cycle(direct, genesis);
    bench_log("e: memory, with a fresh actor");
    harness_proc_t *actor_e = actor_proc_start(actor_e_ep, stub_proc_url(stub), stub_proc_url(stub),
                                               jwt, NULL, actor_e_log);
    peer_t *peer_e = actor_e ? peer_new(actor_e_ep, NULL) : NULL;
    if (!peer_e || actor_proc_wait_ready(peer_e, "synced", 10000) != 0)
        bench_die("the second actor did not become ready");
    usleep(200000);
    part_e(actor_e_ep, harness_proc_pid(actor_e), block1);

    peer_destroy(&peer_e);
    harness_proc_destroy(&actor_e);
done:
    peer_destroy(&peer);
    bench_direct_destroy(&direct);
    harness_proc_destroy(&actor);
    stub_proc_destroy(&stub);
    return 0;
}
