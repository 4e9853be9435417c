/*  Crash recovery with real processes: a real execution client
    (EthereumJS or Geth, as $ALYS_TEST_EL says), alys-supervisor and the
    actor under it, and a chain-actor-like client that builds, commits and
    finalizes blocks in a loop with Lazy Pirate retries. The actor is killed
    with SIGKILL in the middle; the loop must finish, every block it
    committed must be in the chain, and the restarted actor must report the
    finalized block the client last set. */
#include <check.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "harness.h"
#include "hex.h"
#include "peer.h"
#include "proto.h"

#define BLOCKS 30
#define KILL_AFTER 8 /* committed blocks */

static char *s_dir;
static char s_endpoint[300];
static pid_t s_kill_after_send; /* kill this pid right after the next request goes out */

typedef struct {
    peer_t *peer;
    uint64_t next_id;
    int resends;     /* requests sent again after a lost reply */
    int retryable;   /* retryable error replies absorbed */
} lp_client_t;

/*  Lazy Pirate: one request, a reply deadline, and on silence a new socket
    with the same routing id and the same request id. Returns 0 with an ok
    reply in *out, or -1 when the retries ran out or a final error came. */
static int lp_call(lp_client_t *c, const char *op, const void *args, proto_reply_t *out)
{
    uint64_t id = c->next_id++;
    int backoff_ms = 50;
    for (int attempt = 0; attempt < 40; attempt++) {
        peer_send_id(c->peer, id, op, args);
        if (s_kill_after_send) {
            /* the request is on its way or running: its reply dies with the
               actor (a fast client such as Geth answers a commit in a few ms,
               so the kill must come sooner than that) */
            usleep(200);
            kill(s_kill_after_send, SIGKILL);
            s_kill_after_send = 0;
        }
        int64_t deadline = clock_mono_ms() + 3000;
        bool got = false;
        while (clock_mono_ms() < deadline) {
            proto_reply_t r;
            if (peer_recv(c->peer, &r, (int) (deadline - clock_mono_ms())) != 0)
                break;
            if (!r.has_id || r.id != id) {
                proto_reply_release(&r);
                continue;
            }
            got = true;
            if (r.ok) {
                *out = r;
                return 0;
            }
            if (!r.retryable) {
                fprintf(stderr, "%s: %s: %s\n", op, r.error_code, r.message);
                proto_reply_release(&r);
                return -1;
            }
            c->retryable++;
            proto_reply_release(&r);
            break;
        }
        if (!got) {
            /* the reply was lost (the actor died with it): reconnect */
            c->resends++;
            peer_destroy(&c->peer);
            c->peer = peer_new(s_endpoint, "chain-1");
        }
        usleep((useconds_t) backoff_ms * 1000);
        backoff_ms = backoff_ms < 800 ? backoff_ms * 2 : 800;
    }
    return -1;
}

static uint64_t ping_pid(peer_t *peer, int timeout_ms)
{
    proto_reply_t r;
    uint64_t pid = 0;
    if (peer_call(peer, "ping", NULL, &r, timeout_ms) == 0) {
        proto_ping_result_t p = {0};
        if (peer_result(&r, "ping", &p) == 0)
            pid = p.pid;
        proto_free(proto_op_find("ping")->result, &p);
        proto_reply_release(&r);
    }
    return pid;
}

START_TEST(test_kill9_while_producing_blocks)
{
    el_node_t *node = el_node_new(NULL);
    ck_assert_ptr_nonnull(node);
    char state_dir[400], log_path[400];
    snprintf(state_dir, sizeof state_dir, "%s/state", s_dir);
    mkdir(state_dir, 0755);
    snprintf(s_endpoint, sizeof s_endpoint, "ipc://%s/engine.sock", s_dir);
    snprintf(log_path, sizeof log_path, "%s/supervisor.log", s_dir);
    char *argv[] = {(char *) getenv("ALYS_SUPERVISOR_BIN"), "--ping", s_endpoint, "--ping-interval",
                    "500ms", "--intensity", "10", "--period", "30s", "--", (char *) getenv("ALYS_ENGINE_BIN"),
                    "--bind", s_endpoint, "--execution-endpoint", (char *) el_node_engine_url(node),
                    "--execution-rpc", (char *) el_node_rpc_url(node), "--jwt-secret",
                    (char *) el_node_jwt_path(node), "--state-dir", state_dir, "--metrics-listen", "off",
                    "--timeout-multiplier", "3", NULL};
    harness_proc_t *sup = harness_proc_spawn(argv, log_path);
    ck_assert_ptr_nonnull(sup);
    peer_t *pinger = peer_new(s_endpoint, "pinger");
    uint64_t pid = 0;
    for (int i = 0; i < 50 && !pid; i++)
        pid = ping_pid(pinger, 200);
    ck_assert_msg(pid != 0, "the actor did not come up under the supervisor");

    lp_client_t c = {.peer = peer_new(s_endpoint, "chain-1"), .next_id = 1000};
    uint8_t committed[BLOCKS][32], last_finalized[32] = {0};
    uint64_t ts = (uint64_t) time(NULL) - 1000;
    int64_t kill_to_ping_us = -1;
    for (int i = 0; i < BLOCKS; i++) {
        proto_build_block_args_t b = {.timestamp = ts + 2 * (uint64_t) i};
        proto_withdrawal_t w = {.amount = 10 * (1000 + (uint64_t) i), .index = (uint64_t) i};
        w.address[19] = 0x77;
        b.withdrawals = &w;
        b.n_withdrawals = 1;
        proto_reply_t r;
        ck_assert_msg(lp_call(&c, "build_block", &b, &r) == 0, "build %d failed", i);
        proto_build_block_result_t built = {0};
        ck_assert_int_eq(peer_result(&r, "build_block", &built), 0);
        proto_reply_release(&r);

        if (i == KILL_AFTER) {
            /* between build and commit: the commit goes to the new actor,
               which never saw this payload */
            int64_t t0 = clock_mono_us();
            ck_assert_int_eq(kill((pid_t) pid, SIGKILL), 0);
            uint64_t next = 0;
            while (clock_mono_us() - t0 < 5000000) {
                next = ping_pid(pinger, 100);
                if (next && next != pid)
                    break;
                peer_destroy(&pinger);
                pinger = peer_new(s_endpoint, "pinger");
            }
            kill_to_ping_us = clock_mono_us() - t0;
            ck_assert_msg(next && next != pid, "no new actor after kill -9");
            pid = next;
        }
        if (i == KILL_AFTER + 3)
            s_kill_after_send = (pid_t) pid; /* a second crash, while the commit is in flight */
        proto_payload_args_t ca = {.payload = built.payload};
        ck_assert_msg(lp_call(&c, "commit_block", &ca, &r) == 0, "commit %d failed", i);
        proto_block_hash_t h = {0};
        ck_assert_int_eq(peer_result(&r, "commit_block", &h), 0);
        proto_reply_release(&r);
        memcpy(committed[i], h.block_hash, 32);
        proto_free(proto_op_find("build_block")->result, &built);

        if (i % 5 == 4) {
            proto_block_hash_t fa;
            memcpy(fa.block_hash, committed[i - 2], 32);
            ck_assert_msg(lp_call(&c, "finalize_block", &fa, &r) == 0, "finalize at %d failed", i);
            proto_reply_release(&r);
            memcpy(last_finalized, committed[i - 2], 32);
        }
        if (i == KILL_AFTER + 3) {
            uint64_t next = 0;
            for (int k = 0; k < 50 && (!next || next == pid); k++) {
                peer_destroy(&pinger);
                pinger = peer_new(s_endpoint, "pinger");
                next = ping_pid(pinger, 200);
            }
            ck_assert_msg(next && next != pid, "no new actor after the second kill");
            pid = next;
        }
    }
    printf("kill -9 -> first ping from the restarted actor: %.1f ms (target < 250 ms)\n",
           (double) kill_to_ping_us / 1000.0);
    printf("client: %d requests re-sent after lost replies, %d retryable errors absorbed\n",
           c.resends, c.retryable);

    /* every committed block is in the canonical chain */
    for (int i = 0; i < BLOCKS; i++) {
        char hex[67];
        json_t *b = harness_rpc(el_node_rpc_url(node), "eth_getBlockByHash",
                                json_pack("[s,b]", hex_encode(committed[i], 32, hex), 0), NULL,
                                NULL, 0);
        ck_assert_msg(json_is_object(b), "committed block %d (%s) is missing", i, hex);
        json_t *canon = harness_rpc(el_node_rpc_url(node), "eth_getBlockByNumber",
                                    json_pack("[O,b]", json_object_get(b, "number"), 0), NULL, NULL, 0);
        ck_assert_str_eq(json_string_value(json_object_get(canon, "hash")), hex);
        json_decref(canon);
        json_decref(b);
    }
    /* the restarted actor knows the finalized block the client set */
    proto_reply_t r;
    ck_assert_int_eq(lp_call(&c, "status", NULL, &r), 0);
    proto_status_result_t st = {0};
    ck_assert_int_eq(peer_result(&r, "status", &st), 0);
    ck_assert(st.forkchoice.has_finalized);
    ck_assert_mem_eq(st.forkchoice.finalized, last_finalized, 32);
    ck_assert_mem_eq(st.forkchoice.head, committed[BLOCKS - 1], 32);
    proto_free(proto_op_find("status")->result, &st);
    proto_reply_release(&r);
    ck_assert_int_lt(kill_to_ping_us, 2000000);
    ck_assert_int_ge(c.resends, 1); /* the commit whose reply was lost went out again */

    peer_destroy(&c.peer);
    peer_destroy(&pinger);
    harness_proc_signal(sup, SIGTERM);
    int status = 0;
    ck_assert_int_eq(harness_proc_wait(sup, 10000, &status), 0);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    harness_proc_destroy(&sup);
    el_node_destroy(&node);
}
END_TEST

int main(void)
{
    s_dir = harness_tmpdir("alys-crash-");
    Suite *s = suite_create("crash");
    TCase *tc = tcase_create("kill -9 under the supervisor");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_kill9_while_producing_blocks);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (!getenv("ALYS_KEEP_TEST_DIRS"))
        harness_rmrf(s_dir);
    free(s_dir);
    return failed ? 1 : 0;
}
