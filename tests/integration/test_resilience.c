/*  Resilience against a real EthereumJS or Geth ($ALYS_TEST_EL): a burst of
    reads from many peers, the fork choice after a build the client refused,
    a revert onto the finalized block, and restarts of the client in the
    middle of block production. The tests run in order on one chain. */
#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client_profile.h"
#include "clock.h"
#include "harness.h"
#include "hex.h"
#include "peer.h"
#include "peer_check.h"
#include "proto.h"

#define CALL_TIMEOUT_MS 30000
#define BURST_PEERS 8
#define BURST_PER_PEER 200
#define BURST_HASHES 30
#define POOL 16

static el_node_t *s_node;
static harness_proc_t *s_actor;
static char *s_dir;
static char s_endpoint[256];
static char s_state_dir[400];
static int s_metrics_port;
static uint64_t s_next_ts;
static uint8_t s_head[32]; /* what the test expects the head to be */

/* ---------------------------------------------------------------- helpers */

static harness_proc_t *start_actor(void)
{
    char log_path[512], metrics[32];
    snprintf(log_path, sizeof log_path, "%s/engine.log", s_dir);
    snprintf(metrics, sizeof metrics, "127.0.0.1:%d", s_metrics_port);
    const char *bin = getenv("ALYS_ENGINE_BIN") ? getenv("ALYS_ENGINE_BIN") : "alys-engine";
    char *argv[] = {(char *) bin, "--bind", s_endpoint, "--execution-endpoint",
                    (char *) el_node_engine_url(s_node), "--execution-rpc",
                    (char *) el_node_rpc_url(s_node), "--jwt-secret",
                    (char *) el_node_jwt_path(s_node), "--timeout-multiplier", "3", "--log-level",
                    "debug", "--state-dir", s_state_dir, "--metrics-listen", metrics, NULL};
    harness_proc_t *p = harness_proc_spawn(argv, log_path);
    if (!p)
        return NULL;
    int64_t deadline = clock_mono_ms() + 10000;
    while (clock_mono_ms() < deadline) {
        peer_t *peer = peer_new(s_endpoint, NULL);
        proto_reply_t r;
        bool ok = false;
        if (peer_call(peer, "ping", NULL, &r, 200) == 0) {
            ok = r.ok;
            proto_reply_release(&r);
        }
        peer_destroy(&peer);
        if (ok)
            return p;
    }
    harness_proc_destroy(&p);
    return NULL;
}

static void call_ok(peer_t *peer, const char *op, const void *args, void *out)
{
    peer_call_ok(peer, op, args, out, CALL_TIMEOUT_MS);
}

/*  Calls op and expects an error reply; returns its code. */
static proto_err_t call_fails(peer_t *peer, const char *op, const void *args, char *msg, size_t n)
{
    proto_reply_t r;
    ck_assert_msg(peer_call(peer, op, args, &r, CALL_TIMEOUT_MS) == 0, "%s: no reply", op);
    ck_assert_msg(!r.ok, "%s: expected an error, got ok", op);
    proto_err_t e = r.error;
    if (msg)
        snprintf(msg, n, "%s", r.message ? r.message : "");
    proto_reply_release(&r);
    return e;
}

static void latest(uint8_t out[32], uint64_t *number)
{
    char err[256];
    json_t *b = harness_rpc(el_node_rpc_url(s_node), "eth_getBlockByNumber",
                            json_pack("[s,b]", "latest", 0), NULL, err, sizeof err);
    ck_assert_msg(b != NULL, "eth_getBlockByNumber: %s", err);
    ck_assert_int_eq(hex_decode_fixed(json_string_value(json_object_get(b, "hash")), out, 32), 0);
    if (number)
        ck_assert_int_eq(hex_quantity_parse(json_string_value(json_object_get(b, "number")), number), 0);
    json_decref(b);
}

static proto_status_result_t status_now(peer_t *peer)
{
    proto_status_result_t st = {0};
    call_ok(peer, "status", NULL, &st);
    return st;
}

static void status_free(proto_status_result_t *st)
{
    proto_free(proto_op_find("status")->result, st);
}

/*  The head the actor reports and the one in its state file. */
static void assert_actor_head(peer_t *peer, const uint8_t want[32])
{
    char hex[67];
    proto_status_result_t st = status_now(peer);
    ck_assert_msg(memcmp(st.forkchoice.head, want, 32) == 0, "status head %s, expected %s",
                  hex_encode(st.forkchoice.head, 32, hex), hex_encode(want, 32, (char[67]){0}));
    status_free(&st);
    char path[512], line[200];
    snprintf(path, sizeof path, "%s/forkchoice", s_state_dir);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "no state file %s", path);
    bool found = false;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "head=", 5) == 0) {
            line[strcspn(line, "\n")] = '\0';
            ck_assert_msg(strcasecmp(line + 5, hex_encode(want, 32, hex)) == 0,
                          "state file head %s, expected %s", line + 5, hex);
            found = true;
        }
    fclose(f);
    ck_assert(found);
}

static proto_build_block_args_t next_args(void)
{
    proto_build_block_args_t a = {.timestamp = s_next_ts};
    s_next_ts += 2;
    return a;
}

/*  build_block on `parent` (NULL: the head) and commit_block. */
static void build_commit(peer_t *peer, const uint8_t *parent, uint8_t out[32])
{
    proto_build_block_args_t args = next_args();
    if (parent) {
        args.has_parent = true;
        memcpy(args.parent, parent, 32);
    }
    proto_build_block_result_t built = {0};
    call_ok(peer, "build_block", &args, &built);
    proto_payload_args_t commit = {.payload = built.payload};
    proto_block_hash_t committed = {0};
    call_ok(peer, "commit_block", &commit, &committed);
    ck_assert_mem_eq(committed.block_hash, built.payload.block_hash, 32);
    memcpy(s_head, committed.block_hash, 32);
    if (out)
        memcpy(out, committed.block_hash, 32);
    proto_free(proto_op_find("build_block")->result, &built);
}

static void finalize(peer_t *peer, const uint8_t hash[32])
{
    proto_block_hash_t a;
    memcpy(a.block_hash, hash, 32);
    call_ok(peer, "finalize_block", &a, NULL);
}

/*  The sum of every series of `family` whose labels contain `match` (NULL:
    all), from the actor's /metrics. */
static double metric_sum(const char *family, const char *match)
{
    char url[96];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", s_metrics_port);
    long status = 0;
    char *body = harness_http_get(url, &status);
    ck_assert_msg(body && status == 200, "GET %s: HTTP %ld", url, status);
    double sum = 0;
    size_t n = strlen(family);
    for (char *p = body; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, family, n) != 0 || (p[n] != '{' && p[n] != ' '))
            continue;
        char *eol = strchr(p, '\n');
        char *sp = p;
        while (*sp && *sp != ' ' && sp != eol)
            sp++;
        if (match && !memmem(p, (size_t) (sp - p), match, strlen(match)))
            continue;
        sum += strtod(sp + 1, NULL);
    }
    free(body);
    return sum;
}

/* ------------------------------------------------------------ read burst */

typedef struct {
    int k;
    uint8_t (*hashes)[32];
    int answered, wrong, errors;
    char first_error[200];
} burster_t;

/*  One peer: 200 get_block by hash sent at once, then every reply read and
    matched to its request by id. */
static void *burster_main(void *arg)
{
    burster_t *b = arg;
    char rid[32];
    snprintf(rid, sizeof rid, "burst-%d", b->k);
    peer_t *peer = peer_new(s_endpoint, rid);
    uint64_t ids[BURST_PER_PEER];
    int which[BURST_PER_PEER];
    for (int i = 0; i < BURST_PER_PEER; i++) {
        which[i] = (b->k * 7 + i) % BURST_HASHES;
        proto_get_block_args_t a = {.block = {.kind = PROTO_SEL_HASH}};
        memcpy(a.block.hash, b->hashes[which[i]], 32);
        ids[i] = peer_send(peer, "get_block", &a);
    }
    for (int n = 0; n < BURST_PER_PEER; n++) {
        proto_reply_t r;
        if (peer_recv(peer, &r, CALL_TIMEOUT_MS) != 0)
            break;
        int i = -1;
        for (int j = 0; j < BURST_PER_PEER; j++)
            if (r.has_id && ids[j] == r.id)
                i = j;
        if (i < 0 || !r.ok) {
            if (!b->first_error[0])
                snprintf(b->first_error, sizeof b->first_error, "%s: %s", r.error_code,
                         r.message ? r.message : "");
            b->errors++;
        } else {
            proto_get_block_result_t res = {0};
            if (peer_result(&r, "get_block", &res) != 0
                || memcmp(res.block.hash, b->hashes[which[i]], 32) != 0)
                b->wrong++;
            else
                b->answered++;
            proto_free(proto_op_find("get_block")->result, &res);
        }
        proto_reply_release(&r);
    }
    peer_destroy(&peer);
    return NULL;
}

/*  8 peers × 200 concurrent get_block over 30 distinct blocks: every read
    answered with its block, at most one execution-client call per block
    (identical reads in flight share one; the cache serves later ones), and
    no connections beyond the pool. */
START_TEST(test_read_burst)
{
    peer_t *peer = peer_new(s_endpoint, "producer");
    static uint8_t hashes[BURST_HASHES][32];
    for (int i = 0; i < BURST_HASHES; i++)
        build_commit(peer, NULL, hashes[i]);
    double calls_before = metric_sum("alys_engine_el_calls_total", "eth_getBlockByHash");
    double conns_before = metric_sum("alys_engine_el_connections_opened_total", NULL);
    burster_t b[BURST_PEERS];
    pthread_t t[BURST_PEERS];
    int64_t t0 = clock_mono_ms();
    for (int k = 0; k < BURST_PEERS; k++) {
        b[k] = (burster_t){.k = k, .hashes = hashes};
        pthread_create(&t[k], NULL, burster_main, &b[k]);
    }
    int answered = 0, wrong = 0, errors = 0;
    for (int k = 0; k < BURST_PEERS; k++) {
        pthread_join(t[k], NULL);
        answered += b[k].answered;
        wrong += b[k].wrong;
        errors += b[k].errors;
        ck_assert_msg(b[k].errors == 0, "peer %d: %d errors, first %s", k, b[k].errors,
                      b[k].first_error);
    }
    int64_t took = clock_mono_ms() - t0;
    double calls = metric_sum("alys_engine_el_calls_total", "eth_getBlockByHash") - calls_before;
    double conns = metric_sum("alys_engine_el_connections_opened_total", NULL) - conns_before;
    printf("burst: %d of %d answered in %lld ms, %d wrong, %d errors; %g eth_getBlockByHash calls "
           "for %d blocks, %g new connections\n",
           answered, BURST_PEERS * BURST_PER_PEER, (long long) took, wrong, errors, calls,
           BURST_HASHES, conns);
    ck_assert_int_eq(answered, BURST_PEERS * BURST_PER_PEER);
    ck_assert_int_eq(wrong, 0);
    ck_assert_msg(calls <= BURST_HASHES, "%g client calls for %d blocks", calls, BURST_HASHES);
    ck_assert_msg(conns <= POOL, "%g new connections with a pool of %d", conns, POOL);
    peer_destroy(&peer);
}
END_TEST

/* ------------------------------------------ fork choice after a failed build */

/*  build_block on a parent other than the head with attributes the client
    refuses (a timestamp not after the parent's): the client has moved its
    head to that parent anyway (the fork-choice part of the call stands), so
    the actor's head follows, in status and in the state file. */
START_TEST(test_failed_build_moves_head)
{
    peer_t *peer = peer_new(s_endpoint, "producer");
    uint8_t a[32], b[32];
    build_commit(peer, NULL, a);
    build_commit(peer, NULL, b);
    assert_actor_head(peer, b);
    proto_build_block_args_t args = {.timestamp = 1, .has_parent = true};
    memcpy(args.parent, a, 32);
    char msg[300];
    proto_err_t e = call_fails(peer, "build_block", &args, msg, sizeof msg);
    printf("build_block on the parent's parent with a stale timestamp: %s: %s\n",
           proto_err_name(e), msg);
    uint8_t head[32];
    latest(head, NULL);
    if (memcmp(head, a, 32) == 0)
        memcpy(s_head, a, 32); /* the client moved: the actor must say so */
    else
        ck_assert_mem_eq(head, b, 32);
    assert_actor_head(peer, s_head);
    /* and production goes on from there */
    build_commit(peer, NULL, NULL);
    latest(head, NULL);
    ck_assert_mem_eq(head, s_head, 32);
    assert_actor_head(peer, s_head);
    peer_destroy(&peer);
}
END_TEST

/* --------------------------------------------------- revert to finalized */

/*  Head 7, finalized 5 (numbers relative): reverting 6 would make 5, the
    finalized block itself, the head. A client that can do it (Geth) does
    it; on EthereumJS, which answers VALID and keeps its head, the actor
    refuses before the call and the way it names (a block built on the
    finalized block) works. Which of the two happens is the client
    profile's prediction (no_head_at_finalized), checked here. */
START_TEST(test_revert_to_finalized)
{
    peer_t *peer = peer_new(s_endpoint, "producer");
    uint8_t b5[32], b6[32], b7[32];
    build_commit(peer, NULL, b5);
    build_commit(peer, NULL, b6);
    build_commit(peer, NULL, b7);
    finalize(peer, b5);
    proto_block_hash_t rv;
    memcpy(rv.block_hash, b7, 32);
    proto_revert_result_t rr = {0};
    call_ok(peer, "revert_block", &rv, &rr);
    ck_assert_mem_eq(rr.head, b6, 32);
    memcpy(s_head, b6, 32);
    memcpy(rv.block_hash, b6, 32);
    proto_reply_t r;
    ck_assert_int_eq(peer_call(peer, "revert_block", &rv, &r, CALL_TIMEOUT_MS), 0);
    uint8_t head[32];
    const client_profile_t *prof =
        client_profile_for(el_node_kind(s_node) == EL_KIND_GETH ? "geth" : "ethereumjs");
    ck_assert_msg(r.ok == (prof->no_head_at_finalized == NULL),
                  "%s: the profile predicts the revert onto the finalized block is %s", prof->name,
                  prof->no_head_at_finalized ? "refused" : "done");
    if (r.ok) {
        memcpy(s_head, b5, 32);
    } else {
        printf("revert onto the finalized block: %s: %s\n", r.error_code, r.message);
        ck_assert_msg(r.error == PROTO_FINALIZED_CONFLICT, "%s: %s", r.error_code, r.message);
        ck_assert_ptr_nonnull(strstr(r.message, "build_block"));
        /* the way out: a block on the finalized block replaces 6 */
        uint8_t c6[32];
        build_commit(peer, b5, c6);
        ck_assert(memcmp(c6, b6, 32) != 0);
    }
    proto_reply_release(&r);
    latest(head, NULL);
    ck_assert_mem_eq(head, s_head, 32);
    assert_actor_head(peer, s_head);
    proto_status_result_t st = status_now(peer);
    ck_assert_mem_eq(st.forkchoice.finalized, b5, 32);
    status_free(&st);
    /* the finalized block itself is not revertible */
    memcpy(rv.block_hash, b5, 32);
    ck_assert_int_eq(call_fails(peer, "revert_block", &rv, NULL, 0), PROTO_FINALIZED_CONFLICT);
    build_commit(peer, NULL, NULL);
    peer_destroy(&peer);
}
END_TEST

/* -------------------------------------------------------- client restart */

/*  The client restarts (SIGTERM, then kill -9 twice) between two blocks
    while a build it started was never imported; whatever head it comes
    back with, the next build and commit work and the client's head is the
    actor's. */
START_TEST(test_client_restart_mid_production)
{
    peer_t *peer = peer_new(s_endpoint, "producer");
    for (int round = 0; round < 6; round++) {
        uint8_t parent[32], top[32];
        build_commit(peer, NULL, parent);
        build_commit(peer, NULL, top);
        if (round == 5) {
            /* a reorg: a sibling of the head becomes the head */
            build_commit(peer, parent, NULL);
        }
        if (round == 2) {
            /* the head moved back: a revert */
            proto_block_hash_t rv;
            memcpy(rv.block_hash, top, 32);
            call_ok(peer, "revert_block", &rv, NULL);
            memcpy(s_head, parent, 32);
        }
        /* a build that is never committed */
        proto_build_block_args_t args = next_args();
        if (round >= 3) {
            /* on the head's parent: the client's head moves back to it */
            args.has_parent = true;
            memcpy(args.parent, parent, 32);
            memcpy(s_head, parent, 32);
        }
        proto_build_block_result_t built = {0};
        call_ok(peer, "build_block", &args, &built);
        proto_free(proto_op_find("build_block")->result, &built);
        /* a clean stop first, then kill -9 */
        if (round > 0)
            kill(el_node_pid(s_node), SIGKILL);
        ck_assert_int_eq(el_node_stop(s_node), 0);
        ck_assert_int_eq(el_node_start(s_node), 0);
        uint8_t head[32];
        uint64_t n;
        latest(head, &n);
        char hh[67];
        printf("restart %d: the client came back at block %llu %s (%s the actor's head)\n", round,
               (unsigned long long) n, hex_encode(head, 32, hh),
               memcmp(head, s_head, 32) == 0 ? "equal to" : "different from");
        /* production goes on at once, with no wait for a health check */
        build_commit(peer, NULL, NULL);
        latest(head, NULL);
        ck_assert_mem_eq(head, s_head, 32);
        assert_actor_head(peer, s_head);
    }
    peer_destroy(&peer);
}
END_TEST

/*  A client whose head is not the actor's fork choice, without having been
    seen offline (as after a quick restart onto another head; simulated here
    by moving its head with a forkchoiceUpdated of our own): the actor
    notices from its periodic head check, without being asked, and sends
    its fork choice again before any mutation. */
START_TEST(test_client_head_off_fork_choice)
{
    peer_t *peer = peer_new(s_endpoint, "producer");
    uint8_t parent[32], top[32];
    build_commit(peer, NULL, parent);
    build_commit(peer, NULL, top);
    char err[256], ph[67];
    json_t *state = json_pack("{s:s,s:s,s:s}", "headBlockHash", hex_encode(parent, 32, ph),
                              "safeBlockHash", "0x0000000000000000000000000000000000000000000000000000000000000000",
                              "finalizedBlockHash", "0x0000000000000000000000000000000000000000000000000000000000000000");
    json_t *r = harness_rpc(el_node_engine_url(s_node), "engine_forkchoiceUpdatedV2",
                            json_pack("[o,n]", state), el_node_jwt_path(s_node), err, sizeof err);
    ck_assert_msg(r != NULL, "forkchoiceUpdated: %s", err);
    json_decref(r);
    uint8_t head[32];
    latest(head, NULL);
    ck_assert_mem_eq(head, parent, 32);
    int64_t t0 = clock_mono_ms();
    while (clock_mono_ms() - t0 < 15000) {
        latest(head, NULL);
        if (memcmp(head, top, 32) == 0)
            break;
        usleep(200000);
    }
    printf("the client's head was put back on the fork choice after %lld ms\n",
           (long long) (clock_mono_ms() - t0));
    ck_assert_msg(memcmp(head, top, 32) == 0, "the client's head stayed off the fork choice");
    ck_assert_double_ge(metric_sum("alys_engine_el_head_mismatches_total", NULL), 1);
    assert_actor_head(peer, top);
    build_commit(peer, NULL, NULL);
    latest(head, NULL);
    ck_assert_mem_eq(head, s_head, 32);
    peer_destroy(&peer);
}
END_TEST

int main(void)
{
    s_dir = harness_tmpdir("alys-resilience-");
    snprintf(s_state_dir, sizeof s_state_dir, "%s/state", s_dir);
    mkdir(s_state_dir, 0755);
    snprintf(s_endpoint, sizeof s_endpoint, "ipc://%s/engine.sock", s_dir);
    s_metrics_port = harness_free_port();
    s_node = el_node_new(NULL);
    if (!s_node) {
        fprintf(stderr, "cannot start the execution client\n");
        return 1;
    }
    s_actor = start_actor();
    uint64_t latest_ts = 0;
    json_t *g = harness_rpc(el_node_rpc_url(s_node), "eth_getBlockByNumber",
                            json_pack("[s,b]", "latest", 0), NULL, NULL, 0);
    if (!s_actor || !g
        || hex_quantity_parse(json_string_value(json_object_get(g, "timestamp")), &latest_ts) != 0) {
        fprintf(stderr, "cannot start the actor or read the latest block\n");
        return 1;
    }
    json_decref(g);
    s_next_ts = (uint64_t) time(NULL) - 3600;
    if (s_next_ts <= latest_ts)
        s_next_ts = latest_ts + 1;

    Suite *s = suite_create("resilience");
    TCase *tc = tcase_create("resilience");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_read_burst);
    tcase_add_test(tc, test_failed_build_moves_head);
    tcase_add_test(tc, test_revert_to_finalized);
    tcase_add_test(tc, test_client_restart_mid_production);
    tcase_add_test(tc, test_client_head_off_fork_choice);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    harness_proc_destroy(&s_actor);
    el_node_destroy(&s_node);
    if (failed || getenv("ALYS_KEEP_TEST_DIRS"))
        fprintf(stderr, "test files kept in %s\n", s_dir);
    else
        harness_rmrf(s_dir);
    free(s_dir);
    return failed ? 1 : 0;
}
