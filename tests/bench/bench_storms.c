/*  bench_storms: the actor under bursts, crashes and reconnects, against the
    stub execution client.

      f. a burst of reads: 8 peers x 200 get_block sent at once over 30
         distinct blocks (the stub takes 5 ms per eth_getBlockByHash, as a
         real client takes a few): every read answered with its block, the
         execution-client calls per distinct block, new connections, time;
      g. a kill -9 storm under alys-supervisor with its default policy: 100
         kills, each 300 ms after the new actor first answered; kill to
         serving (a ping answered by the new process) p50 and p99;
      h. a reconnect storm: 10 waves of 2,000 peers connecting at once (each
         sends one ping and waits for the answer, then all disconnect); the
         actor's resident memory before, right after, and once idle (its
         periodic sweep returns freed memory to the system).

    usage: bench_storms WORKDIR [PARTS]   (PARTS: any of "fgh", default all;
    prints RESULT lines; progress on stderr). The binaries come from
    $ALYS_ENGINE_BIN, $ALYS_STUB_EL_BIN and $ALYS_SUPERVISOR_BIN. */
#include <czmq.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "actor_proc.h"
#include "bench_util.h"
#include "harness.h"
#include "jwt_file.h"
#include "peer.h"
#include "proto.h"
#include "stub_proc.h"

#define BURST_PEERS 8
#define BURST_PER_PEER 200
#define BURST_BLOCKS 30
#define KILLS 100
#define WAVES 10
#define WAVE_PEERS 2000

static const char *s_dir;
static char s_jwt[512];

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int64_t stub_method(stub_proc_t *stub, const char *method)
{
    json_t *st = stub_proc_stats(stub);
    if (!st)
        bench_die("cannot read the stub's counters");
    int64_t n = json_integer_value(json_object_get(json_object_get(st, "methods"), method));
    json_decref(st);
    return n;
}

/* ------------------------------------------------------------------ f */

typedef struct {
    const char *endpoint;
    int k;
    uint8_t (*hashes)[32];
    int ok, bad;
} burster_t;

static void *burster(void *arg)
{
    burster_t *b = arg;
    peer_t *peer = peer_new(b->endpoint, NULL);
    uint64_t ids[BURST_PER_PEER];
    int which[BURST_PER_PEER];
    for (int i = 0; i < BURST_PER_PEER; i++) {
        which[i] = (b->k * 7 + i) % BURST_BLOCKS;
        proto_get_block_args_t a = {.block = {.kind = PROTO_SEL_HASH}};
        memcpy(a.block.hash, b->hashes[which[i]], 32);
        ids[i] = peer_send(peer, "get_block", &a);
    }
    for (int n = 0; n < BURST_PER_PEER; n++) {
        proto_reply_t r;
        if (peer_recv(peer, &r, 30000) != 0)
            break;
        int i = -1;
        for (int j = 0; j < BURST_PER_PEER && i < 0; j++)
            if (r.has_id && r.id == ids[j])
                i = j;
        proto_get_block_result_t res = {0};
        if (i >= 0 && r.ok && peer_result(&r, "get_block", &res) == 0
            && memcmp(res.block.hash, b->hashes[which[i]], 32) == 0)
            b->ok++;
        else
            b->bad++;
        proto_free(proto_op_find("get_block")->result, &res);
        proto_reply_release(&r);
    }
    peer_destroy(&peer);
    return NULL;
}

static void part_f(void)
{
    char stub_log[512], actor_log[512], endpoint[512];
    snprintf(stub_log, sizeof stub_log, "%s/f-stub.log", s_dir);
    snprintf(actor_log, sizeof actor_log, "%s/f-actor.log", s_dir);
    snprintf(endpoint, sizeof endpoint, "ipc://%s/f.sock", s_dir);
    const char *stub_flags[] = {"--delay", "eth_getBlockByHash:5", NULL};
    stub_proc_t *stub = stub_proc_start(s_jwt, 0, stub_flags, stub_log);
    if (!stub)
        bench_die("f: the stub did not start");
    const char *flags[] = {"--metrics-listen", "off", NULL};
    harness_proc_t *actor = actor_proc_start(endpoint, stub_proc_url(stub), stub_proc_url(stub),
                                             s_jwt, flags, actor_log);
    peer_t *peer = actor ? peer_new(endpoint, "producer") : NULL;
    if (!peer || actor_proc_wait_ready(peer, "synced", 10000) != 0)
        bench_die("f: the actor did not start");
    static uint8_t hashes[BURST_BLOCKS][32];
    proto_reply_t r;
    bench_call(peer, "status", NULL, &r);
    proto_status_result_t st = {0};
    if (peer_result(&r, "status", &st) != 0)
        bench_die("f: status");
    uint8_t head[32];
    memcpy(head, st.forkchoice.head, 32);
    proto_free(proto_op_find("status")->result, &st);
    proto_reply_release(&r);
    for (int i = 0; i < BURST_BLOCKS; i++) {
        bench_actor_cycle(peer, head, 1000 + (uint64_t) i, hashes[i]);
        memcpy(head, hashes[i], 32);
    }
    int64_t calls0 = stub_method(stub, "eth_getBlockByHash");
    int64_t conns0 = stub_proc_stat(stub, "connections");
    burster_t b[BURST_PEERS];
    pthread_t t[BURST_PEERS];
    int64_t t0 = bench_now_us();
    for (int k = 0; k < BURST_PEERS; k++) {
        b[k] = (burster_t){.endpoint = endpoint, .k = k, .hashes = hashes};
        pthread_create(&t[k], NULL, burster, &b[k]);
    }
    int ok = 0, bad = 0;
    for (int k = 0; k < BURST_PEERS; k++) {
        pthread_join(t[k], NULL);
        ok += b[k].ok;
        bad += b[k].bad;
    }
    int64_t took_us = bench_now_us() - t0;
    int64_t calls = stub_method(stub, "eth_getBlockByHash") - calls0;
    /* the stats request itself opens one connection */
    int64_t conns = stub_proc_stat(stub, "connections") - conns0 - 1;
    bench_log("f: %d answered, %d bad, %lld client calls, %lld new connections, %.1f ms", ok, bad,
              (long long) calls, (long long) conns, (double) took_us / 1000.0);
    bench_result("f1", "burst: reads answered with their block, of 1,600", ok, 0, "reads", ">=",
                 BURST_PEERS * BURST_PER_PEER);
    bench_result("f2", "burst: execution-client calls per distinct block (30 blocks)",
                 (double) calls / BURST_BLOCKS, 2, "calls", "<=", 1);
    bench_result("f3", "burst: new connections to the client (pool of 16)", (double) conns, 0,
                 "conns", "<=", 16);
    bench_result("f4", "burst: time to answer all 1,600", (double) took_us / 1000.0, 1, "ms", NULL,
                 0);
    peer_destroy(&peer);
    harness_proc_destroy(&actor);
    stub_proc_destroy(&stub);
}

/* ------------------------------------------------------------------ g */

static void part_g(void)
{
    char stub_log[512], sup_log[512], endpoint[512];
    snprintf(stub_log, sizeof stub_log, "%s/g-stub.log", s_dir);
    snprintf(sup_log, sizeof sup_log, "%s/g-supervisor.log", s_dir);
    snprintf(endpoint, sizeof endpoint, "ipc://%s/g.sock", s_dir);
    stub_proc_t *stub = stub_proc_start(s_jwt, 0, NULL, stub_log);
    if (!stub)
        bench_die("g: the stub did not start");
    const char *sup = getenv("ALYS_SUPERVISOR_BIN") ? getenv("ALYS_SUPERVISOR_BIN") : "alys-supervisor";
    char *argv[] = {(char *) sup, "--ping", endpoint, "--ping-interval", "200ms", "--",
                    (char *) actor_proc_bin(), "--bind", endpoint, "--jwt-secret", s_jwt,
                    "--execution-endpoint", (char *) stub_proc_url(stub), "--execution-rpc",
                    (char *) stub_proc_url(stub), "--metrics-listen", "off", NULL};
    harness_proc_t *p = harness_proc_spawn(argv, sup_log);
    void *ctx = zmq_ctx_new();
    uint64_t pid = p ? peer_wait_pid(ctx, endpoint, 0, 15000) : 0;
    if (!pid)
        bench_die("g: the supervised actor never answered");
    int64_t took_us[KILLS];
    int64_t t_start = bench_now_us();
    for (int i = 0; i < KILLS; i++) {
        sleep_ms(300);
        int64_t t0 = bench_now_us();
        if (kill((pid_t) pid, SIGKILL) != 0)
            bench_die("g: kill %d: no such process", i);
        uint64_t next = peer_wait_pid(ctx, endpoint, pid, 5000);
        took_us[i] = bench_now_us() - t0;
        if (!next)
            bench_die("g: kill %d: no new actor within 5 s", i);
        pid = next;
    }
    double storm_s = (double) (bench_now_us() - t_start) / 1e6;
    bool alive = harness_proc_running(p);
    bench_log("g: %d kills in %.1f s, supervisor %s", KILLS, storm_s, alive ? "running" : "GONE");
    double p50 = (double) bench_percentile(took_us, KILLS, 50) / 1000.0;
    double p99 = (double) bench_percentile(took_us, KILLS, 99) / 1000.0;
    bench_result("g1", "kill -9 storm (100 kills): kill to serving p50", p50, 1, "ms", "<=", 100);
    bench_result("g2", "kill -9 storm: kill to serving p99", p99, 1, "ms", NULL, 0);
    bench_result("g3", "kill -9 storm: supervisor still running after 100 kills", alive ? 1 : 0, 0,
                 "", ">=", 1);
    zmq_ctx_term(ctx);
    harness_proc_destroy(&p);
    stub_proc_destroy(&stub);
}

/* ------------------------------------------------------------------ h */

static void part_h(void)
{
    char stub_log[512], actor_log[512], endpoint[512];
    snprintf(stub_log, sizeof stub_log, "%s/h-stub.log", s_dir);
    snprintf(actor_log, sizeof actor_log, "%s/h-actor.log", s_dir);
    snprintf(endpoint, sizeof endpoint, "ipc://%s/h.sock", s_dir);
    stub_proc_t *stub = stub_proc_start(s_jwt, 0, NULL, stub_log);
    if (!stub)
        bench_die("h: the stub did not start");
    const char *flags[] = {"--metrics-listen", "off", NULL};
    harness_proc_t *actor = actor_proc_start(endpoint, stub_proc_url(stub), stub_proc_url(stub),
                                             s_jwt, flags, actor_log);
    if (!actor)
        bench_die("h: the actor did not start");
    pid_t pid = harness_proc_pid(actor);
    void *ctx = zmq_ctx_new();
    zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, WAVE_PEERS + 64);
    peer_connect_wave(ctx, endpoint, 10); /* warm-up */
    sleep_ms(6000);          /* past one sweep */
    long before = bench_proc_rss_kb(pid);
    long peak = before;
    int answered = 0;
    for (int w = 0; w < WAVES; w++) {
        answered += peer_connect_wave(ctx, endpoint, WAVE_PEERS);
        long rss = bench_proc_rss_kb(pid);
        if (rss > peak)
            peak = rss;
    }
    long after = bench_proc_rss_kb(pid);
    /* the sweep runs every 5 s; give it two */
    long idle = after;
    for (int i = 0; i < 24; i++) {
        sleep_ms(500);
        idle = bench_proc_rss_kb(pid);
    }
    bench_log("h: %d of %d pings answered; RSS %ld KiB before, peak %ld, %ld right after, %ld idle",
              answered, WAVES * WAVE_PEERS, before, peak, after, idle);
    bench_result("h1", "reconnect storm (10 x 2,000 peers): pings answered", answered, 0, "pings",
                 ">=", WAVES * WAVE_PEERS);
    bench_result("h2", "reconnect storm: actor RSS before", (double) before / 1024.0, 1, "MiB",
                 NULL, 0);
    bench_result("h3", "reconnect storm: actor RSS peak", (double) peak / 1024.0, 1, "MiB", NULL,
                 0);
    bench_result("h4", "reconnect storm: actor RSS once idle (10 s after)", (double) idle / 1024.0,
                 1, "MiB", NULL, 0);
    bench_result("h5", "reconnect storm: RSS growth once idle", (double) (idle - before) / 1024.0, 1,
                 "MiB", "<=", 16);
    zmq_ctx_term(ctx);
    harness_proc_destroy(&actor);
    stub_proc_destroy(&stub);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_storms WORKDIR [PARTS]\n");
        return 2;
    }
    s_dir = argv[1];
    const char *parts = argc > 2 ? argv[2] : "fgh";
    snprintf(s_jwt, sizeof s_jwt, "%s/storms-jwt.hex", s_dir);
    if (jwt_file_write_fill(s_jwt, 0x33) != 0)
        bench_die("cannot write %s", s_jwt);
    signal(SIGPIPE, SIG_IGN);
    if (strchr(parts, 'f'))
        part_f();
    if (strchr(parts, 'g'))
        part_g();
    if (strchr(parts, 'h'))
        part_h();
    return 0;
}
