/*  bench_real: what the actor adds on a real execution client. A
    build+commit through the actor (DEALER over ipc) against the same four
    Engine API calls made directly by a minimal keep-alive client, on the
    same execution client and the same chain, alternating in rounds.

    usage: bench_real WORKDIR [ethereumjs|geth]
    (prints RESULT lines a1-a3 for EthereumJS, a4-a6 for Geth; progress on
    stderr) */
#include <czmq.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actor_proc.h"
#include "bench_direct.h"
#include "bench_util.h"
#include "harness.h"
#include "peer.h"

#define ROUNDS 15
#define PER_ROUND 8
#define WARMUP 5

static uint8_t s_head[32], s_safe[32], s_fin[32];
static uint64_t s_ts;

static double cycle_ms(bool actor, peer_t *peer, bench_direct_t *direct)
{
    uint8_t next[32];
    int64_t t0 = bench_now_us();
    if (actor)
        bench_actor_cycle(peer, s_head, s_ts, next);
    else if (bench_direct_cycle(direct, s_head, s_safe, s_fin, s_ts, next) != 0)
        bench_die("a direct cycle failed");
    int64_t took = bench_now_us() - t0;
    s_ts++;
    memcpy(s_head, next, 32);
    return (double) took / 1000.0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3
        || (argc == 3 && strcmp(argv[2], "ethereumjs") != 0 && strcmp(argv[2], "geth") != 0)) {
        fprintf(stderr, "usage: bench_real WORKDIR [ethereumjs|geth]\n");
        return 2;
    }
    const char *dir = argv[1];
    el_node_opts_t opts = {.client = argc == 3 && strcmp(argv[2], "geth") == 0 ? EL_KIND_GETH
                                                                                : EL_KIND_ETHEREUMJS};
    const bool geth = opts.client == EL_KIND_GETH;
    const char *name = geth ? "Geth" : "EthereumJS";
    signal(SIGPIPE, SIG_IGN);
    zsys_handler_set(NULL); /* Ctrl-C stops the benchmark */
    char actor_log[512], endpoint[600];
    snprintf(actor_log, sizeof actor_log, "%s/actor-real-%s.log", dir, harness_el_kind_name(opts.client));
    snprintf(endpoint, sizeof endpoint, "ipc://%s/actor-real-%s.sock", dir, harness_el_kind_name(opts.client));
    bench_log("a: starting %s", name);
    el_node_t *node = el_node_new(&opts);
    if (!node)
        bench_die("the execution client did not start");
    harness_proc_t *actor = actor_proc_start(endpoint, el_node_engine_url(node),
                                             el_node_rpc_url(node), el_node_jwt_path(node), NULL,
                                             actor_log);
    peer_t *peer = actor ? peer_new(endpoint, "bench-chain") : NULL;
    if (!peer || actor_proc_wait_ready(peer, "synced", 20000) != 0)
        bench_die("the actor did not become ready");
    bench_direct_t *direct = bench_direct_new(el_node_engine_url(node), el_node_rpc_url(node),
                                              el_node_jwt_path(node));
    if (!direct || bench_direct_block_hash(direct, "latest", s_head) != 0)
        bench_die("cannot read the latest block");
    /* the actor sends the client's own safe and finalized blocks (zero when
       it has none): so does the direct client */
    if (bench_direct_block_hash(direct, "safe", s_safe) != 0)
        memset(s_safe, 0, 32);
    if (bench_direct_block_hash(direct, "finalized", s_fin) != 0)
        memset(s_fin, 0, 32);
    s_ts = (uint64_t) time(NULL) - 3600;

    for (int i = 0; i < WARMUP; i++) {
        cycle_ms(true, peer, direct);
        cycle_ms(false, peer, direct);
    }
    double actor_ms[ROUNDS * PER_ROUND], direct_ms[ROUNDS * PER_ROUND];
    size_t n = 0;
    for (int r = 0; r < ROUNDS; r++) {
        bool actor_first = r % 2 == 0;
        for (int step = 0; step < 2; step++) {
            bool use_actor = actor_first == (step == 0);
            for (int i = 0; i < PER_ROUND; i++)
                (use_actor ? actor_ms : direct_ms)[n + (size_t) i] =
                    cycle_ms(use_actor, peer, direct);
        }
        n += PER_ROUND;
        bench_log("a: %s: round %d of %d done", name, r + 1, ROUNDS);
    }
    double a = bench_median(actor_ms, n), d = bench_median(direct_ms, n);
    bench_log("a: %s: median cycle %.2f ms through the actor, %.2f ms direct", name, a, d);
    char label[128];
    snprintf(label, sizeof label, "%s: build+commit through the actor (median)", name);
    bench_result(geth ? "a4" : "a1", label, a, 2, "ms", NULL, 0);
    snprintf(label, sizeof label, "%s: the same four calls made directly (median)", name);
    bench_result(geth ? "a5" : "a2", label, d, 2, "ms", NULL, 0);
    snprintf(label, sizeof label, "%s: actor / direct", name);
    bench_result(geth ? "a6" : "a3", label, a / d, 3, "x", "<=", 1.05);
    bench_direct_destroy(&direct);
    peer_destroy(&peer);
    harness_proc_destroy(&actor);
    el_node_destroy(&node);
    return 0;
}
