/*  Integration: a real execution client (EthereumJS or Geth, as
    $ALYS_TEST_EL says), the real alys-engine, driven through a C
    DEALER peer and through alys-engine-cli. The tests run in order and share
    one chain: later tests build on what earlier ones committed. */
#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client_profile.h"
#include "clock.h"
#include "harness.h"
#include "hex.h"
#include "jwt_file.h"
#include "peer.h"
#include "peer_check.h"
#include "proto.h"

#define CALL_TIMEOUT_MS 30000
#define N_BLOCKS 20
#define N_ADDRS 4

static el_node_t *s_node;
static harness_proc_t *s_actor;
static char *s_dir;
static char s_endpoint[256];
static uint64_t s_next_ts;
static uint64_t s_expected_gwei[N_ADDRS];
static uint8_t s_hashes[64][32]; /* committed block hashes by number */
static uint64_t s_head_number;   /* relative to s_base */
static uint64_t s_base;          /* the chain's height when the suite started */
static uint64_t s_dev_nonce;     /* next nonce of the funded dev account */
static bool s_external;          /* ALYS_TEST_ENGINE_URL: someone else's client */
static bool s_has_funds;         /* the dev account can pay for transactions */
static char s_state_dir[400];
static int s_metrics_port;
/*  ok replies seen by this test, by op, to compare with the actor's metrics */
static int s_ok_build, s_ok_commit, s_ok_finalize;

static const char *engine_bin(void)
{
    const char *p = getenv("ALYS_ENGINE_BIN");
    return p ? p : "alys-engine";
}

static const char *cli_bin(void)
{
    const char *p = getenv("ALYS_CLI_BIN");
    return p ? p : "alys-engine-cli";
}

/*  The client under test: ours, or the one ALYS_TEST_ENGINE_URL names. */
static const char *engine_url(void)
{
    return s_external ? getenv("ALYS_TEST_ENGINE_URL") : el_node_engine_url(s_node);
}

static const char *rpc_url(void)
{
    return s_external ? getenv("ALYS_TEST_RPC_URL") : el_node_rpc_url(s_node);
}

static const char *jwt_path(void)
{
    return s_external ? getenv("ALYS_TEST_JWT_SECRET") : el_node_jwt_path(s_node);
}

static void addr_of(int k, uint8_t out[20])
{
    memset(out, 0, 20);
    out[0] = 0x11;
    out[19] = (uint8_t) (k + 1);
}

/*  Starts an actor; returns it once `ping` answers. */
static harness_proc_t *start_actor_with(const char *endpoint, const char *el_url,
                                        const char *el_rpc, const char *jwt, const char *log_name,
                                        char *const extra[])
{
    char log_path[512];
    snprintf(log_path, sizeof log_path, "%s/%s", s_dir, log_name);
    char *argv[32] = {(char *) engine_bin(), "--bind", (char *) endpoint, "--execution-endpoint",
                      (char *) el_url, "--execution-rpc", (char *) el_rpc, "--jwt-secret",
                      (char *) jwt, "--timeout-multiplier", "3", "--log-level", "debug"};
    int n = 13;
    for (int i = 0; extra && extra[i] && n < 31; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    harness_proc_t *p = harness_proc_spawn(argv, log_path);
    if (!p)
        return NULL;
    peer_t *peer = peer_new(endpoint, NULL);
    int64_t deadline = clock_mono_ms() + 10000;
    while (clock_mono_ms() < deadline) {
        proto_reply_t r;
        if (peer_call(peer, "ping", NULL, &r, 200) == 0) {
            bool ok = r.ok;
            proto_reply_release(&r);
            if (ok)
                break;
        }
        peer_destroy(&peer);
        peer = peer_new(endpoint, NULL);
    }
    peer_destroy(&peer);
    return p;
}

static harness_proc_t *start_actor(const char *endpoint, const char *el_url, const char *el_rpc,
                                   const char *jwt, const char *log_name)
{
    char *extra[] = {"--metrics-listen", "off", NULL};
    return start_actor_with(endpoint, el_url, el_rpc, jwt, log_name, extra);
}

/*  The main actor: it keeps its fork choice in a state directory and splits
    log queries into chunks of 3 blocks, so both paths are exercised. */
static harness_proc_t *start_main_actor(void)
{
    static char metrics[32];
    if (!s_metrics_port)
        s_metrics_port = harness_free_port();
    snprintf(metrics, sizeof metrics, "127.0.0.1:%d", s_metrics_port);
    char *extra[] = {"--state-dir", s_state_dir, "--logs-chunk", "3", "--metrics-listen", metrics, NULL};
    return start_actor_with(s_endpoint, engine_url(), rpc_url(), jwt_path(), "engine.log", extra);
}

static json_t *rpc(const char *method, json_t *params)
{
    char err[256];
    json_t *r = harness_rpc(rpc_url(), method, params, NULL, err, sizeof err);
    ck_assert_msg(r != NULL, "%s: %s", method, err);
    return r;
}

/*  Calls op and asserts the reply is ok; decodes the result into out. */
static void call_ok(peer_t *peer, const char *op, const void *args, void *out)
{
    peer_call_ok(peer, op, args, out, CALL_TIMEOUT_MS);
    s_ok_build += strcmp(op, "build_block") == 0;
    s_ok_commit += strcmp(op, "commit_block") == 0;
    s_ok_finalize += strcmp(op, "finalize_block") == 0;
}

/*  Calls op and asserts the reply is the error `want`. */
static void call_err(peer_t *peer, const char *op, const void *args, proto_err_t want)
{
    proto_reply_t r;
    ck_assert_msg(peer_call(peer, op, args, &r, CALL_TIMEOUT_MS) == 0, "%s: no reply", op);
    ck_assert_msg(!r.ok, "%s: expected %s, got ok", op, proto_err_name(want));
    ck_assert_msg(r.error == want, "%s: expected %s, got %s: %s", op, proto_err_name(want),
                  r.error_code, r.message);
    ck_assert(r.retryable == proto_err_retryable(want));
    proto_reply_release(&r);
}

/*  Builds and commits one block with `n_pegins` withdrawals; returns its hash. */
static void build_and_commit(peer_t *peer, int n_pegins, uint8_t hash_out[32])
{
    proto_build_block_args_t args = {.timestamp = s_next_ts};
    s_next_ts += 2;
    proto_withdrawal_t w[N_ADDRS];
    for (int i = 0; i < n_pegins && i < N_ADDRS; i++) {
        int k = (int) ((s_head_number + (uint64_t) i) % N_ADDRS);
        uint64_t sats = 1000 + 37 * s_head_number + (uint64_t) i;
        memset(&w[i], 0, sizeof w[i]);
        addr_of(k, w[i].address);
        w[i].amount = sats * 10; /* 1 satoshi = 10 gwei */
        w[i].index = s_head_number * 10 + (uint64_t) i;
        s_expected_gwei[k] += w[i].amount;
    }
    args.withdrawals = w;
    args.n_withdrawals = (size_t) (n_pegins < N_ADDRS ? n_pegins : N_ADDRS);
    proto_build_block_result_t built = {0};
    call_ok(peer, "build_block", &args, &built);
    ck_assert_uint_eq(built.payload.block_number, s_base + s_head_number + 1);
    ck_assert_uint_eq(built.payload.n_withdrawals, args.n_withdrawals);
    ck_assert_mem_eq(built.payload.parent_hash, s_hashes[s_head_number], 32);
    static const uint8_t dead[20] = {[18] = 0xde, [19] = 0xad};
    ck_assert_mem_eq(built.payload.fee_recipient, dead, 20);

    proto_payload_args_t commit = {.payload = built.payload};
    proto_block_hash_t committed = {0};
    call_ok(peer, "commit_block", &commit, &committed);
    ck_assert_mem_eq(committed.block_hash, built.payload.block_hash, 32);
    s_head_number++;
    memcpy(s_hashes[s_head_number], committed.block_hash, 32);
    if (hash_out)
        memcpy(hash_out, committed.block_hash, 32);
    proto_free(proto_op_find("build_block")->result, &built);
}

static void latest_hash(uint8_t out[32])
{
    json_t *b = rpc("eth_getBlockByNumber", json_pack("[s,b]", "latest", 0));
    ck_assert_int_eq(hex_decode_fixed(json_string_value(json_object_get(b, "hash")), out, 32), 0);
    json_decref(b);
}

/* ------------------------------------------------------------------ tests */

START_TEST(test_ping_and_status)
{
    peer_t *peer = peer_new(s_endpoint, NULL);
    proto_ping_result_t ping = {0};
    call_ok(peer, "ping", NULL, &ping);
    ck_assert_uint_eq(ping.protocol, 1);
    ck_assert_uint_eq(ping.pid, (uint64_t) harness_proc_pid(s_actor));
    proto_free(proto_op_find("ping")->result, &ping);

    /* the health check runs at start; give it a moment to name the client */
    proto_status_result_t st = {0};
    int64_t deadline = clock_mono_ms() + 10000;
    for (;;) {
        call_ok(peer, "status", NULL, &st);
        if ((st.el.has_client && st.forkchoice.has_head && strcmp(st.el.state, "synced") == 0)
            || clock_mono_ms() > deadline)
            break;
        proto_free(proto_op_find("status")->result, &st);
        usleep(100000);
    }
    ck_assert_str_eq(st.el.state, "synced");
    ck_assert(st.el.has_client);
    if (!s_external)
        ck_assert_str_eq(st.el.client.code, el_node_kind(s_node) == EL_KIND_GETH ? "GE" : "EJ");
    ck_assert_str_eq(st.el.endpoint, engine_url());
    ck_assert(st.forkchoice.has_head);
    ck_assert_mem_eq(st.forkchoice.head, s_hashes[0], 32);
    proto_free(proto_op_find("status")->result, &st);
    peer_destroy(&peer);
}
END_TEST

START_TEST(test_build_commit_pegins)
{
    peer_t *peer = peer_new(s_endpoint, "chain-1");
    for (int i = 0; i < N_BLOCKS; i++)
        build_and_commit(peer, 1 + i % 3, NULL);
    uint8_t latest[32];
    latest_hash(latest);
    ck_assert_mem_eq(latest, s_hashes[s_head_number], 32);
    for (int k = 0; k < N_ADDRS; k++) {
        uint8_t a[20];
        addr_of(k, a);
        char ah[43];
        json_t *bal = rpc("eth_getBalance", json_pack("[s,s]", hex_encode(a, 20, ah), "latest"));
        uint8_t got[32], want[32] = {0};
        ck_assert_int_eq(hex_u256_parse(json_string_value(bal), got), 0);
        uint64_t wei = s_expected_gwei[k] * 1000000000ULL;
        for (int i = 0; i < 8; i++)
            want[31 - i] = (uint8_t) (wei >> (8 * i));
        ck_assert_msg(memcmp(got, want, 32) == 0, "balance of %s is %s, expected %llu wei", ah,
                      json_string_value(bal), (unsigned long long) wei);
        json_decref(bal);
    }
    peer_destroy(&peer);
}
END_TEST

START_TEST(test_finalize)
{
    peer_t *peer = peer_new(s_endpoint, NULL);
    proto_block_hash_t args;
    proto_fc_hashes_t fc = {0};
    memcpy(args.block_hash, s_hashes[10], 32);
    call_ok(peer, "finalize_block", &args, &fc);
    ck_assert_mem_eq(fc.finalized, s_hashes[10], 32);
    ck_assert_mem_eq(fc.safe, s_hashes[10], 32);
    ck_assert_mem_eq(fc.head, s_hashes[s_head_number], 32);

    /* the client agrees */
    json_t *b = rpc("eth_getBlockByNumber", json_pack("[s,b]", "finalized", 0));
    uint8_t h[32];
    ck_assert_int_eq(hex_decode_fixed(json_string_value(json_object_get(b, "hash")), h, 32), 0);
    ck_assert_mem_eq(h, s_hashes[10], 32);
    json_decref(b);

    /* again: a no-op success */
    call_ok(peer, "finalize_block", &args, &fc);
    ck_assert_mem_eq(fc.finalized, s_hashes[10], 32);
    /* backwards: refused */
    memcpy(args.block_hash, s_hashes[5], 32);
    call_err(peer, "finalize_block", &args, PROTO_FINALIZED_CONFLICT);
    /* unknown block */
    memset(args.block_hash, 0x42, 32);
    call_err(peer, "finalize_block", &args, PROTO_BLOCK_NOT_FOUND);
    /* forward */
    memcpy(args.block_hash, s_hashes[15], 32);
    call_ok(peer, "finalize_block", &args, &fc);
    ck_assert_mem_eq(fc.finalized, s_hashes[15], 32);

    proto_status_result_t st = {0};
    call_ok(peer, "status", NULL, &st);
    ck_assert(st.forkchoice.has_finalized);
    ck_assert_mem_eq(st.forkchoice.finalized, s_hashes[15], 32);
    ck_assert_mem_eq(st.forkchoice.head, s_hashes[s_head_number], 32);
    proto_free(proto_op_find("status")->result, &st);
    peer_destroy(&peer);
}
END_TEST

START_TEST(test_get_block)
{
    peer_t *peer = peer_new(s_endpoint, NULL);
    const proto_schema_t *rs = proto_op_find("get_block")->result;
    proto_get_block_args_t a = {.block = {.kind = PROTO_SEL_HASH}};
    proto_get_block_result_t r = {0};

    memcpy(a.block.hash, s_hashes[7], 32);
    call_ok(peer, "get_block", &a, &r);
    ck_assert_uint_eq(r.block.number, s_base + 7);
    ck_assert_mem_eq(r.block.hash, s_hashes[7], 32);
    ck_assert_mem_eq(r.block.parent_hash, s_hashes[6], 32);
    ck_assert_uint_ge(r.block.n_withdrawals, 1);
    proto_free(rs, &r);

    a.block.kind = PROTO_SEL_NUMBER;
    a.block.number = s_base + 12;
    call_ok(peer, "get_block", &a, &r);
    ck_assert_mem_eq(r.block.hash, s_hashes[12], 32);
    proto_free(rs, &r);

    /* `pending` means `latest` (PROTOCOL.md), on every client */
    const char *tags[] = {"latest", "pending", "finalized", "safe", "earliest"};
    const uint8_t *want[] = {s_hashes[s_head_number], s_hashes[s_head_number], s_hashes[15],
                             s_hashes[15], s_hashes[0]};
    for (int i = 0; i < (s_base == 0 ? 5 : 4); i++) {
        a.block.kind = PROTO_SEL_TAG;
        snprintf(a.block.tag, sizeof a.block.tag, "%s", tags[i]);
        call_ok(peer, "get_block", &a, &r);
        ck_assert_msg(memcmp(r.block.hash, want[i], 32) == 0, "tag %s", tags[i]);
        proto_free(rs, &r);
    }

    a.block.kind = PROTO_SEL_HASH;
    memset(a.block.hash, 0x77, 32);
    call_err(peer, "get_block", &a, PROTO_BLOCK_NOT_FOUND);
    a.block.kind = PROTO_SEL_NUMBER;
    a.block.number = 100000;
    call_err(peer, "get_block", &a, PROTO_BLOCK_NOT_FOUND);
    peer_destroy(&peer);
}
END_TEST

START_TEST(test_transactions_receipts_payload)
{
    peer_t *peer = peer_new(s_endpoint, NULL);
    char tx_hash[67], err[256];
    ck_assert_msg(harness_send_raw_tx(rpc_url(), "0x2222222222222222222222222222222222222222",
                                      12345, s_dev_nonce++, tx_hash, err, sizeof err) == 0,
                  "send tx: %s", err);
    build_and_commit(peer, 1, NULL);

    proto_get_block_args_t a = {.block = {.kind = PROTO_SEL_TAG, .tag = "latest"},
                                .full_transactions = true};
    proto_get_block_result_t r = {0};
    call_ok(peer, "get_block", &a, &r);
    ck_assert_uint_eq(r.block.n_transactions, 1);
    ck_assert(r.block.full_transactions);
    uint8_t want_hash[32];
    ck_assert_int_eq(hex_decode_fixed(tx_hash, want_hash, 32), 0);
    ck_assert_mem_eq(r.block.transactions[0].hash, want_hash, 32);
    ck_assert_uint_gt(r.block.transactions[0].raw.len, 60);
    ck_assert(r.block.transactions[0].has_to);
    ck_assert_uint_eq(r.block.transactions[0].value[31], 12345 & 0xff);
    proto_free(proto_op_find("get_block")->result, &r);

    proto_tx_hash_args_t ta;
    memcpy(ta.tx_hash, want_hash, 32);
    proto_receipt_result_t rr = {0};
    call_ok(peer, "get_transaction_receipt", &ta, &rr);
    ck_assert(rr.has_receipt);
    ck_assert_uint_eq(rr.receipt.status, 1);
    ck_assert_uint_eq(rr.receipt.gas_used, 21000);
    ck_assert_uint_eq(rr.receipt.block_number, s_base + s_head_number);
    ck_assert(!rr.receipt.has_contract_address);
    proto_free(proto_op_find("get_transaction_receipt")->result, &rr);
    memset(ta.tx_hash, 0x99, 32);
    call_ok(peer, "get_transaction_receipt", &ta, &rr);
    ck_assert(!rr.has_receipt);
    proto_free(proto_op_find("get_transaction_receipt")->result, &rr);

    /* get_payload rebuilds the payload: committing it again is accepted */
    proto_block_sel_args_t pa = {.block = {.kind = PROTO_SEL_NUMBER, .number = s_base + s_head_number}};
    proto_get_payload_result_t pr = {0};
    call_ok(peer, "get_payload", &pa, &pr);
    ck_assert_mem_eq(pr.payload.block_hash, s_hashes[s_head_number], 32);
    ck_assert_uint_eq(pr.payload.n_transactions, 1);
    ck_assert_uint_eq(pr.payload.n_withdrawals, 1);
    proto_payload_args_t ca = {.payload = pr.payload};
    proto_block_hash_t committed;
    call_ok(peer, "commit_block", &ca, &committed);
    ck_assert_mem_eq(committed.block_hash, s_hashes[s_head_number], 32);
    proto_free(proto_op_find("get_payload")->result, &pr);

    /* the genesis payload, as the node asks for it */
    pa.block.number = s_base;
    call_ok(peer, "get_payload", &pa, &pr);
    ck_assert_mem_eq(pr.payload.block_hash, s_hashes[0], 32);
    ck_assert_uint_eq(pr.payload.block_number, s_base);
    proto_free(proto_op_find("get_payload")->result, &pr);

    proto_sync_status_t ss = {0};
    call_ok(peer, "get_sync_status", NULL, &ss);
    ck_assert(!ss.syncing);
    peer_destroy(&peer);
}
END_TEST

START_TEST(test_update_forkchoice)
{
    peer_t *peer = peer_new(s_endpoint, NULL);
    proto_update_fc_args_t a = {0};
    proto_update_fc_result_t r = {0};
    memcpy(a.head, s_hashes[s_head_number], 32);
    call_ok(peer, "update_forkchoice", &a, &r);
    ck_assert_str_eq(r.status, "VALID");
    ck_assert_mem_eq(r.finalized, s_hashes[15], 32);
    proto_free(proto_op_find("update_forkchoice")->result, &r);
    /* moving finalization backwards is refused before reaching the client */
    a.has_finalized = true;
    memcpy(a.finalized, s_hashes[3], 32);
    call_err(peer, "update_forkchoice", &a, PROTO_FINALIZED_CONFLICT);
    /* a head below the finalized block, or a build on such a parent, would
       revert finalized blocks */
    memcpy(a.head, s_hashes[5], 32);
    call_err(peer, "update_forkchoice", &a, PROTO_FINALIZED_CONFLICT);
    proto_build_block_args_t bb = {.timestamp = s_next_ts + 500, .has_parent = true};
    memcpy(bb.parent, s_hashes[5], 32);
    call_err(peer, "build_block", &bb, PROTO_FINALIZED_CONFLICT);
    /* an unknown head: the client cannot validate it */
    memset(a.head, 0x55, 32);
    a.has_finalized = false;
    proto_reply_t rep;
    ck_assert_int_eq(peer_call(peer, "update_forkchoice", &a, &rep, CALL_TIMEOUT_MS), 0);
    if (rep.ok) {
        ck_assert_int_eq(peer_result(&rep, "update_forkchoice", &r), 0);
        ck_assert_str_eq(r.status, "SYNCING");
        proto_free(proto_op_find("update_forkchoice")->result, &r);
    } else {
        ck_assert_msg(rep.error == PROTO_INVALID_FORKCHOICE || rep.error == PROTO_EL_SYNCING,
                      "unexpected %s", rep.error_code);
    }
    proto_reply_release(&rep);
    uint8_t latest[32];
    latest_hash(latest);
    ck_assert_mem_eq(latest, s_hashes[s_head_number], 32);
    peer_destroy(&peer);
}
END_TEST

START_TEST(test_bad_requests)
{
    peer_t *peer = peer_new(s_endpoint, NULL);
    proto_reply_t r;
    /* not msgpack at all */
    peer_send_raw(peer, "\xc1\xc1", 2, true);
    ck_assert_int_eq(peer_recv(peer, &r, 5000), 0);
    ck_assert(!r.ok && r.error == PROTO_BAD_REQUEST && !r.has_id);
    proto_reply_release(&r);
    /* no delimiter: dropped, and the actor goes on */
    peer_send_raw(peer, "\x80", 1, false);
    /* unknown op */
    call_err(peer, "no_such_op", NULL, PROTO_UNKNOWN_OP);
    /* missing args */
    call_err(peer, "build_block", NULL, PROTO_BAD_REQUEST);
    /* wrong version */
    proto_writer_t w;
    proto_writer_init(&w);
    msgpack_pack_map(&w.pk, 3);
    proto_pack_str(&w.pk, "v");
    msgpack_pack_uint64(&w.pk, 2);
    proto_pack_str(&w.pk, "id");
    msgpack_pack_uint64(&w.pk, 77);
    proto_pack_str(&w.pk, "op");
    proto_pack_str(&w.pk, "ping");
    peer_send_raw(peer, w.sbuf.data, w.sbuf.size, true);
    ck_assert_int_eq(peer_recv(peer, &r, 5000), 0);
    ck_assert(!r.ok && r.error == PROTO_UNSUPPORTED_VERSION && r.has_id && r.id == 77);
    proto_reply_release(&r);
    /* a 20-byte hash where 32 are required */
    proto_writer_reset(&w);
    proto_request_begin(&w.pk, 78, "finalize_block", true);
    msgpack_pack_map(&w.pk, 1);
    proto_pack_str(&w.pk, "block_hash");
    proto_pack_bin(&w.pk, "01234567890123456789", 20);
    peer_send_raw(peer, w.sbuf.data, w.sbuf.size, true);
    ck_assert_int_eq(peer_recv(peer, &r, 5000), 0);
    ck_assert(!r.ok && r.error == PROTO_BAD_REQUEST && r.id == 78);
    ck_assert_ptr_nonnull(strstr(r.message, "block_hash"));
    proto_reply_release(&r);
    proto_writer_release(&w);
    call_ok(peer, "ping", NULL, NULL);
    peer_destroy(&peer);
}
END_TEST

START_TEST(test_idempotent_retry)
{
    peer_t *peer = peer_new(s_endpoint, "bridge-1");
    proto_block_hash_t a;
    memcpy(a.block_hash, s_hashes[16], 32);
    proto_reply_t r1, r2;
    peer_send_id(peer, 4242, "finalize_block", &a);
    peer_send_id(peer, 4242, "finalize_block", &a); /* a retry while in flight joins it */
    ck_assert_int_eq(peer_recv(peer, &r1, CALL_TIMEOUT_MS), 0);
    ck_assert_int_eq(peer_recv(peer, &r2, CALL_TIMEOUT_MS), 0);
    ck_assert(r1.ok && r2.ok && r1.id == 4242 && r2.id == 4242);
    s_ok_finalize++; /* executed once, answered twice */
    proto_reply_release(&r1);
    proto_reply_release(&r2);
    /* a later retry gets the stored reply, even though finalizing 16 again
       after 17 would now be refused */
    memcpy(a.block_hash, s_hashes[17], 32);
    call_ok(peer, "finalize_block", &a, NULL);
    memcpy(a.block_hash, s_hashes[16], 32);
    peer_send_id(peer, 4242, "finalize_block", &a);
    ck_assert_int_eq(peer_recv(peer, &r1, CALL_TIMEOUT_MS), 0);
    ck_assert(r1.ok && r1.id == 4242);
    proto_reply_release(&r1);
    /* the same id for a different request */
    memcpy(a.block_hash, s_hashes[18], 32);
    peer_send_id(peer, 4242, "finalize_block", &a);
    ck_assert_int_eq(peer_recv(peer, &r1, CALL_TIMEOUT_MS), 0);
    ck_assert(!r1.ok && r1.error == PROTO_BAD_REQUEST);
    proto_reply_release(&r1);
    peer_destroy(&peer);
}
END_TEST

typedef struct {
    int index;
    uint64_t max_number;
    int ok, wrong, failed;
} reader_t;

static void *reader_main(void *arg)
{
    reader_t *rd = arg;
    char id[32];
    snprintf(id, sizeof id, "reader-%d", rd->index);
    peer_t *peer = peer_new(s_endpoint, id);
    unsigned seed = (unsigned) rd->index * 7919u;
    for (int i = 0; i < 200; i++) {
        proto_get_block_args_t a = {.block = {.kind = PROTO_SEL_NUMBER}};
        a.block.number = s_base + (uint64_t) rand_r(&seed) % (rd->max_number + 1);
        proto_reply_t r;
        if (peer_call(peer, "get_block", &a, &r, CALL_TIMEOUT_MS) != 0) {
            rd->failed++;
            continue;
        }
        proto_get_block_result_t b = {0};
        if (r.ok && peer_result(&r, "get_block", &b) == 0 && b.block.number == a.block.number
            && memcmp(b.block.hash, s_hashes[a.block.number - s_base], 32) == 0)
            rd->ok++;
        else
            rd->wrong++;
        proto_free(proto_op_find("get_block")->result, &b);
        proto_reply_release(&r);
    }
    peer_destroy(&peer);
    return NULL;
}

START_TEST(test_concurrent_readers_while_building)
{
    enum { READERS = 8 };
    pthread_t th[READERS];
    reader_t rd[READERS];
    for (int i = 0; i < READERS; i++) {
        rd[i] = (reader_t){.index = i, .max_number = s_head_number};
        pthread_create(&th[i], NULL, reader_main, &rd[i]);
    }
    peer_t *peer = peer_new(s_endpoint, "chain-1");
    for (int i = 0; i < 5; i++)
        build_and_commit(peer, 2, NULL);
    peer_destroy(&peer);
    int ok = 0;
    for (int i = 0; i < READERS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(rd[i].wrong == 0 && rd[i].failed == 0, "reader %d: %d wrong, %d lost", i,
                      rd[i].wrong, rd[i].failed);
        ok += rd[i].ok;
    }
    ck_assert_int_eq(ok, READERS * 200);
}
END_TEST

/*  The operator tool: build with --json, feed the payload back to commit. */
START_TEST(test_cli)
{
    char ts[32], wd[160], out_path[512], arg_payload[560];
    snprintf(ts, sizeof ts, "timestamp=%llu", (unsigned long long) s_next_ts);
    s_next_ts += 2;
    snprintf(wd, sizeof wd, "withdrawals=0x1100000000000000000000000000000000000001:500");
    s_expected_gwei[0] += 500;
    char *argv1[] = {(char *) cli_bin(), "--connect", s_endpoint, "--json", "build_block", ts, wd, NULL};
    char *out = NULL;
    int code = -1;
    ck_assert_int_eq(harness_run_capture(argv1, &out, &code, 60000), 0);
    ck_assert_msg(code == 0, "build_block via the CLI exited %d: %s", code, out);
    s_ok_build++;
    json_error_t jerr;
    json_t *doc = json_loads(out, 0, &jerr);
    ck_assert_msg(doc != NULL, "CLI output is not JSON: %s", out);
    free(out);
    ck_assert(json_is_true(json_object_get(doc, "ok")));
    json_t *payload = json_object_get(json_object_get(doc, "result"), "payload");
    ck_assert_uint_eq((uint64_t) json_integer_value(json_object_get(payload, "block_number")),
                      s_base + s_head_number + 1);
    snprintf(out_path, sizeof out_path, "%s/payload.json", s_dir);
    ck_assert_int_eq(json_dump_file(payload, out_path, 0), 0);
    const char *block_hash = json_string_value(json_object_get(payload, "block_hash"));
    char want_hash[67];
    snprintf(want_hash, sizeof want_hash, "%s", block_hash);
    json_decref(doc);

    snprintf(arg_payload, sizeof arg_payload, "payload=@%s", out_path);
    char *argv2[] = {(char *) cli_bin(), "--connect", s_endpoint, "--json", "commit_block", arg_payload, NULL};
    ck_assert_int_eq(harness_run_capture(argv2, &out, &code, 60000), 0);
    ck_assert_msg(code == 0, "commit_block via the CLI exited %d: %s", code, out);
    s_ok_commit++;
    doc = json_loads(out, 0, &jerr);
    free(out);
    ck_assert_ptr_nonnull(doc);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(doc, "result"), "block_hash")),
                     want_hash);
    json_decref(doc);
    s_head_number++;
    ck_assert_int_eq(hex_decode_fixed(want_hash, s_hashes[s_head_number], 32), 0);

    /* an error reply exits 1; a usage error exits 2 */
    char *argv3[] = {(char *) cli_bin(), "--connect", s_endpoint, "finalize_block",
                     "block_hash=0x4242424242424242424242424242424242424242424242424242424242424242", NULL};
    ck_assert_int_eq(harness_run_capture(argv3, NULL, &code, 60000), 0);
    ck_assert_int_eq(code, 1);
    char *argv4[] = {(char *) cli_bin(), "--connect", s_endpoint, "finalize_block", "block_hash=0x42", NULL};
    ck_assert_int_eq(harness_run_capture(argv4, NULL, &code, 60000), 0);
    ck_assert_int_eq(code, 2);
    char *argv5[] = {(char *) cli_bin(), "--connect", s_endpoint, "get_block", "block=latest", NULL};
    ck_assert_int_eq(harness_run_capture(argv5, &out, &code, 60000), 0);
    ck_assert_int_eq(code, 0);
    ck_assert_ptr_nonnull(strstr(out, want_hash + 2));
    free(out);
}
END_TEST

START_TEST(test_wrong_jwt)
{
    char jwt_path[512], endpoint[300];
    snprintf(jwt_path, sizeof jwt_path, "%s/wrong.hex", s_dir);
    ck_assert_int_eq(jwt_file_write_fill(jwt_path, 0x70), 0);
    snprintf(endpoint, sizeof endpoint, "ipc://%s/wrong.sock", s_dir);
    harness_proc_t *actor = start_actor(endpoint, engine_url(),
                                        rpc_url(), jwt_path, "wrong-jwt.log");
    ck_assert_ptr_nonnull(actor);
    peer_t *peer = peer_new(endpoint, NULL);
    proto_build_block_args_t args = {.timestamp = s_next_ts + 1000, .has_parent = true};
    memcpy(args.parent, s_hashes[s_head_number], 32);
    proto_reply_t r;
    ck_assert_int_eq(peer_call(peer, "build_block", &args, &r, CALL_TIMEOUT_MS), 0);
    ck_assert(!r.ok && r.error == PROTO_EL_AUTH_FAILED && !r.retryable);
    ck_assert_ptr_nonnull(strstr(r.message, "JWT secret does not match"));
    proto_reply_release(&r);
    /* reads from the public port work without the JWT; they must not make
       the actor believe the client accepts its JWT again */
    proto_get_block_args_t g = {.block = {.kind = PROTO_SEL_TAG, .tag = "latest"}};
    call_ok(peer, "get_block", &g, NULL);
    proto_status_result_t st = {0};
    call_ok(peer, "status", NULL, &st);
    ck_assert_str_eq(st.el.state, "auth_failed");
    proto_free(proto_op_find("status")->result, &st);
    peer_destroy(&peer);
    harness_proc_destroy(&actor);
}
END_TEST

START_TEST(test_unreachable_el_and_shutdown)
{
    char endpoint[300], url[64];
    snprintf(endpoint, sizeof endpoint, "ipc://%s/offline.sock", s_dir);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", harness_free_port());
    harness_proc_t *actor = start_actor(endpoint, url, url, jwt_path(), "offline.log");
    ck_assert_ptr_nonnull(actor);
    peer_t *peer = peer_new(endpoint, NULL);
    proto_get_block_args_t a = {.block = {.kind = PROTO_SEL_TAG, .tag = "latest"}};
    call_err(peer, "get_block", &a, PROTO_EL_UNAVAILABLE);
    proto_build_block_args_t b = {.timestamp = 1};
    call_err(peer, "build_block", &b, PROTO_EL_UNAVAILABLE);
    call_ok(peer, "ping", NULL, NULL);
    proto_status_result_t st = {0};
    call_ok(peer, "status", NULL, &st);
    ck_assert_str_eq(st.el.state, "offline");
    proto_free(proto_op_find("status")->result, &st);
    peer_destroy(&peer);

    /* SIGTERM: exit 0 within 2 s */
    int64_t t0 = clock_mono_ms();
    harness_proc_signal(actor, SIGTERM);
    int status = 0;
    ck_assert_int_eq(harness_proc_wait(actor, 2000, &status), 0);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    printf("actor stopped %lld ms after SIGTERM\n", (long long) (clock_mono_ms() - t0));
    harness_proc_destroy(&actor);
}
END_TEST

START_TEST(test_bad_jwt_file_is_a_startup_error)
{
    char jwt_path[512], endpoint[300];
    snprintf(jwt_path, sizeof jwt_path, "%s/short.hex", s_dir);
    FILE *f = fopen(jwt_path, "w");
    fprintf(f, "0x1234\n");
    fclose(f);
    snprintf(endpoint, sizeof endpoint, "ipc://%s/short.sock", s_dir);
    char *argv[] = {(char *) engine_bin(), "--bind", endpoint, "--jwt-secret", jwt_path, NULL};
    int code = -1;
    ck_assert_int_eq(harness_run_capture(argv, NULL, &code, 10000), 0);
    ck_assert_int_eq(code, 1);
    char *argv2[] = {(char *) engine_bin(), "--bind", endpoint, NULL};
    ck_assert_int_eq(harness_run_capture(argv2, NULL, &code, 10000), 0);
    ck_assert_int_eq(code, 2);
}
END_TEST

/* ----------------------------------------------- the rest of the contract */

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

START_TEST(test_validate_payload_and_tampering)
{
    peer_t *peer = peer_new(s_endpoint, "chain-1");
    proto_build_block_args_t args = {.timestamp = s_next_ts};
    s_next_ts += 2;
    proto_build_block_result_t built = {0};
    call_ok(peer, "build_block", &args, &built);

    proto_payload_args_t v = {.payload = built.payload};
    proto_status_only_t ok = {0};
    call_ok(peer, "validate_payload", &v, &ok);
    ck_assert_str_eq(ok.status, "VALID");
    proto_free(proto_op_find("validate_payload")->result, &ok);
    uint8_t latest[32];
    latest_hash(latest);
    ck_assert_mem_eq(latest, s_hashes[s_head_number], 32); /* the head did not move */

    /* one byte of the state root changed: refused locally by its block hash */
    proto_payload_args_t tampered = {0};
    proto_copy(&proto_payload_schema, &tampered.payload, &built.payload);
    tampered.payload.state_root[7] ^= 0x01;
    proto_reply_t r;
    ck_assert_int_eq(peer_call(peer, "validate_payload", &tampered, &r, CALL_TIMEOUT_MS), 0);
    ck_assert(!r.ok && r.error == PROTO_INVALID_PAYLOAD);
    ck_assert_ptr_nonnull(strstr(r.message, "block hash"));
    proto_reply_release(&r);
    ck_assert_int_eq(peer_call(peer, "commit_block", &tampered, &r, CALL_TIMEOUT_MS), 0);
    ck_assert(!r.ok && r.error == PROTO_INVALID_PAYLOAD);
    proto_reply_release(&r);
    /* gas used above the limit: a local field check */
    tampered.payload.state_root[7] ^= 0x01;
    tampered.payload.gas_used = tampered.payload.gas_limit + 1;
    call_err(peer, "validate_payload", &tampered, PROTO_INVALID_PAYLOAD);
    proto_free(&proto_payload_schema, &tampered.payload);
    latest_hash(latest);
    ck_assert_mem_eq(latest, s_hashes[s_head_number], 32);

    /* the untouched payload still commits */
    proto_payload_args_t commit = {.payload = built.payload};
    proto_block_hash_t committed = {0};
    call_ok(peer, "commit_block", &commit, &committed);
    s_head_number++;
    memcpy(s_hashes[s_head_number], committed.block_hash, 32);
    proto_free(proto_op_find("build_block")->result, &built);
    peer_destroy(&peer);
}
END_TEST

/*  The profile of the client the harness started (NULL for an external
    client, whose kind the suite does not know). */
static const client_profile_t *node_profile(void)
{
    if (s_external)
        return NULL;
    return client_profile_for(el_node_kind(s_node) == EL_KIND_GETH ? "geth" : "ethereumjs");
}

START_TEST(test_revert_and_rebuild)
{
    peer_t *peer = peer_new(s_endpoint, "chain-1");
    /* a revert is a forkchoiceUpdated to the parent: it moves the client's
       head only on a client whose profile says it rewinds to an ancestor */
    if (node_profile())
        ck_assert(node_profile()->rewinds_to_ancestor);
    uint8_t old_head[32], parent[32];
    memcpy(parent, s_hashes[s_head_number], 32);
    build_and_commit(peer, 1, old_head);

    proto_block_hash_t a;
    memcpy(a.block_hash, old_head, 32);
    proto_revert_result_t rr = {0};
    call_ok(peer, "revert_block", &a, &rr);
    ck_assert_mem_eq(rr.head, parent, 32);
    s_head_number--;
    uint8_t latest[32];
    latest_hash(latest);
    ck_assert_mem_eq(latest, parent, 32);

    /* a new block on the parent replaces the reverted one */
    s_next_ts += 1; /* different attributes, different block */
    uint8_t new_head[32];
    build_and_commit(peer, 2, new_head);
    ck_assert(memcmp(new_head, old_head, 32) != 0);
    proto_get_block_args_t g = {.block = {.kind = PROTO_SEL_NUMBER, .number = s_base + s_head_number}};
    proto_get_block_result_t b = {0};
    call_ok(peer, "get_block", &g, &b);
    ck_assert_mem_eq(b.block.hash, new_head, 32);
    proto_free(proto_op_find("get_block")->result, &b);

    /* once the new block is final, asking for the orphan by hash must not
       make it the answer for its number */
    proto_block_hash_t fa;
    memcpy(fa.block_hash, new_head, 32);
    call_ok(peer, "finalize_block", &fa, NULL);
    proto_get_block_args_t orphan = {.block = {.kind = PROTO_SEL_HASH}};
    memcpy(orphan.block.hash, old_head, 32);
    proto_reply_t orep;
    ck_assert_int_eq(peer_call(peer, "get_block", &orphan, &orep, CALL_TIMEOUT_MS), 0);
    proto_reply_release(&orep);
    for (int i = 0; i < 2; i++) {
        call_ok(peer, "get_block", &g, &b);
        ck_assert_mem_eq(b.block.hash, new_head, 32);
        proto_free(proto_op_find("get_block")->result, &b);
    }

    /* finalized blocks and unknown blocks cannot be reverted */
    proto_status_result_t st = status_now(peer);
    memcpy(a.block_hash, st.forkchoice.finalized, 32);
    status_free(&st);
    call_err(peer, "revert_block", &a, PROTO_FINALIZED_CONFLICT);
    memcpy(a.block_hash, s_hashes[3], 32);
    call_err(peer, "revert_block", &a, PROTO_FINALIZED_CONFLICT);
    memset(a.block_hash, 0x3c, 32);
    call_err(peer, "revert_block", &a, PROTO_BLOCK_NOT_FOUND);
    peer_destroy(&peer);
}
END_TEST

/*  A contract whose fallback logs its calldata with LOG2(topic0 = 0xAA..AA,
    topic1 = the first 32 bytes of calldata). */
static const char *const s_logger_init =
    "0x602f600c600039602f6000f3"
    "3660006000376000357f"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "366000a200";

static void word(uint8_t v, uint8_t out[32])
{
    memset(out, 0, 32);
    out[31] = v;
}

START_TEST(test_logs_and_receipts)
{
    if (!s_has_funds)
        return;
    peer_t *peer = peer_new(s_endpoint, "chain-1");
    char err[256], deploy_hash[67], call_hash[3][67];
    harness_tx_t deploy = {.data_hex = s_logger_init, .nonce = s_dev_nonce++};
    ck_assert_msg(harness_send_tx(rpc_url(), &deploy, deploy_hash, err, sizeof err) == 0, "%s", err);
    build_and_commit(peer, 0, NULL);
    proto_tx_hash_args_t ta;
    hex_decode_fixed(deploy_hash, ta.tx_hash, 32);
    proto_receipt_result_t rr = {0};
    call_ok(peer, "get_transaction_receipt", &ta, &rr);
    ck_assert(rr.has_receipt && rr.receipt.status == 1 && rr.receipt.has_contract_address);
    uint8_t contract[20];
    memcpy(contract, rr.receipt.contract_address, 20);
    proto_free(proto_op_find("get_transaction_receipt")->result, &rr);
    char contract_hex[43];
    hex_encode(contract, 20, contract_hex);

    /* three calls in one block: topic1 = 1, 2, 1 */
    const uint8_t tags[3] = {1, 2, 1};
    for (int i = 0; i < 3; i++) {
        char data[67];
        uint8_t w[32];
        word(tags[i], w);
        hex_encode(w, 32, data);
        harness_tx_t call = {.to_hex = contract_hex, .data_hex = data, .gas = 100000,
                             .nonce = s_dev_nonce++};
        ck_assert_msg(harness_send_tx(rpc_url(), &call, call_hash[i], err, sizeof err) == 0, "%s", err);
    }
    build_and_commit(peer, 1, NULL);
    uint64_t block_number = s_base + s_head_number;

    /* the block and its receipts in one request */
    proto_block_sel_args_t sel = {.block = {.kind = PROTO_SEL_HASH}};
    memcpy(sel.block.hash, s_hashes[s_head_number], 32);
    proto_block_receipts_result_t br = {0};
    call_ok(peer, "get_block_with_receipts", &sel, &br);
    ck_assert_uint_eq(br.block.n_transactions, 3);
    ck_assert_uint_eq(br.n_receipts, 3);
    for (int i = 0; i < 3; i++) {
        uint8_t h[32];
        hex_decode_fixed(call_hash[i], h, 32);
        ck_assert_mem_eq(br.block.transactions[i].hash, h, 32);
        ck_assert_mem_eq(br.receipts[i].transaction_hash, h, 32);
        ck_assert_uint_gt(br.block.transactions[i].raw.len, 0);
        ck_assert_uint_eq(br.receipts[i].status, 1);
        ck_assert_uint_eq(br.receipts[i].n_logs, 1);
        ck_assert_uint_eq(br.receipts[i].logs[0].n_topics, 2);
        ck_assert_uint_eq(br.receipts[i].logs[0].topics[1][31], tags[i]);
    }
    ck_assert_uint_gt(br.receipts[2].cumulative_gas_used, br.receipts[0].cumulative_gas_used);
    proto_free(proto_op_find("get_block_with_receipts")->result, &br);
    /* by tag too */
    sel.block.kind = PROTO_SEL_TAG;
    snprintf(sel.block.tag, sizeof sel.block.tag, "latest");
    call_ok(peer, "get_block_with_receipts", &sel, &br);
    ck_assert_uint_eq(br.n_receipts, 3);
    proto_free(proto_op_find("get_block_with_receipts")->result, &br);

    /* logs: by block hash, by range (split in chunks of 3 blocks), by topic
       alternatives in the second position, by address */
    const proto_schema_t *ls = proto_op_find("get_logs")->result;
    proto_get_logs_args_t la = {.has_block_hash = true};
    memcpy(la.block_hash, s_hashes[s_head_number], 32);
    proto_get_logs_result_t lr = {0};
    call_ok(peer, "get_logs", &la, &lr);
    ck_assert_uint_eq(lr.n_logs, 3);
    ck_assert_mem_eq(lr.logs[0].address, contract, 20);
    ck_assert_uint_eq(lr.logs[0].block_number, block_number);
    ck_assert_uint_eq(lr.logs[1].log_index, 1);
    proto_free(ls, &lr);

    proto_topic_t topics[2] = {{.any = true}, {.n = 1}};
    uint8_t one[1][32];
    word(1, one[0]);
    topics[1].hashes = one;
    proto_get_logs_args_t range = {
        .from_block = {.kind = PROTO_SEL_NUMBER, .number = s_base},
        .to_block = {.kind = PROTO_SEL_TAG, .tag = "latest"},
        .topics = topics, .n_topics = 2,
    };
    call_ok(peer, "get_logs", &range, &lr);
    ck_assert_uint_eq(lr.n_logs, 2); /* the calls with topic1 = 1 only */
    ck_assert_uint_eq(lr.logs[0].topics[1][31], 1);
    ck_assert_uint_eq(lr.logs[1].topics[1][31], 1);
    proto_free(ls, &lr);
    /* `pending` means `latest`, on every client (EthereumJS refuses the
       tag itself, and the spec's filter does not allow it) */
    snprintf(range.to_block.tag, sizeof range.to_block.tag, "pending");
    call_ok(peer, "get_logs", &range, &lr);
    ck_assert_uint_eq(lr.n_logs, 2);
    proto_free(ls, &lr);
    snprintf(range.to_block.tag, sizeof range.to_block.tag, "latest");

    uint8_t other[20];
    memset(other, 0x42, 20);
    uint8_t (*addrs)[20] = &other;
    proto_get_logs_args_t by_addr = {
        .from_block = {.kind = PROTO_SEL_NUMBER, .number = block_number - 4},
        .to_block = {.kind = PROTO_SEL_NUMBER, .number = block_number},
        .address = addrs, .n_address = 1,
    };
    call_ok(peer, "get_logs", &by_addr, &lr);
    ck_assert_uint_eq(lr.n_logs, 0);
    proto_free(ls, &lr);
    memcpy(other, contract, 20);
    call_ok(peer, "get_logs", &by_addr, &lr);
    ck_assert_uint_eq(lr.n_logs, 3);
    proto_free(ls, &lr);

    /* block_hash and a range together are a bad request */
    range.has_block_hash = true;
    call_err(peer, "get_logs", &range, PROTO_BAD_REQUEST);
    peer_destroy(&peer);
}
END_TEST

START_TEST(test_caches)
{
    peer_t *peer = peer_new(s_endpoint, "chain-1");
    /* repeated get_block by hash is served from the block cache */
    proto_get_block_args_t g = {.block = {.kind = PROTO_SEL_HASH}};
    memcpy(g.block.hash, s_hashes[9], 32);
    proto_get_block_result_t b = {0};
    call_ok(peer, "get_block", &g, &b);
    proto_free(proto_op_find("get_block")->result, &b);
    proto_status_result_t before = status_now(peer);
    for (int i = 0; i < 5; i++) {
        call_ok(peer, "get_block", &g, &b);
        ck_assert_mem_eq(b.block.hash, s_hashes[9], 32);
        proto_free(proto_op_find("get_block")->result, &b);
    }
    proto_status_result_t after = status_now(peer);
    ck_assert_uint_eq(after.actor.block_cache_hits, before.actor.block_cache_hits + 5);
    ck_assert_uint_eq(after.actor.block_cache_misses, before.actor.block_cache_misses);
    ck_assert_uint_gt(after.actor.block_cache_entries, 0);
    status_free(&before);
    status_free(&after);

    /* the same build twice on the same head reuses the payload id */
    proto_build_block_args_t args = {.timestamp = s_next_ts};
    s_next_ts += 2;
    proto_build_block_result_t b1 = {0}, b2 = {0};
    call_ok(peer, "build_block", &args, &b1);
    before = status_now(peer);
    call_ok(peer, "build_block", &args, &b2);
    after = status_now(peer);
    ck_assert_mem_eq(b1.payload_id, b2.payload_id, 8);
    ck_assert_uint_eq(after.actor.payload_cache_hits, before.actor.payload_cache_hits + 1);
    status_free(&before);
    status_free(&after);
    proto_payload_args_t commit = {.payload = b2.payload};
    proto_block_hash_t committed;
    call_ok(peer, "commit_block", &commit, &committed);
    s_head_number++;
    memcpy(s_hashes[s_head_number], committed.block_hash, 32);
    proto_free(proto_op_find("build_block")->result, &b1);
    proto_free(proto_op_find("build_block")->result, &b2);

    /* keep-alive: connections to the client are reused, not one per call */
    proto_status_result_t st = status_now(peer);
    ck_assert_uint_gt(st.actor.el_calls, 200);
    ck_assert_msg(st.actor.el_connections_opened * 10 < st.actor.el_calls,
                  "%llu connections for %llu calls", (unsigned long long) st.actor.el_connections_opened,
                  (unsigned long long) st.actor.el_calls);
    printf("keep-alive: %llu connections opened for %llu execution client calls\n",
           (unsigned long long) st.actor.el_connections_opened, (unsigned long long) st.actor.el_calls);
    status_free(&st);
    peer_destroy(&peer);
}
END_TEST


static char *http_get(const char *path, long *status)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", s_metrics_port, path);
    char *body = harness_http_get(url, status);
    ck_assert_msg(body != NULL, "GET %s failed", url);
    return body;
}

/*  The value of one series in a scrape, or -1 when absent. */
static double scraped(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return -1;
}

START_TEST(test_metrics)
{
    long status = 0;
    char *text = http_get("/metrics", &status);
    ck_assert_int_eq(status, 200);
    ck_assert_double_eq(scraped(text, "alys_engine_blocks_committed_total"), s_ok_commit);
    ck_assert_double_eq(scraped(text, "alys_engine_requests_total{op=\"commit_block\",outcome=\"ok\"}"),
                        s_ok_commit);
    ck_assert_double_eq(scraped(text, "alys_engine_blocks_built_total"), s_ok_build);
    ck_assert_double_eq(scraped(text, "alys_engine_requests_total{op=\"finalize_block\",outcome=\"ok\"}"),
                        s_ok_finalize);
    ck_assert_double_eq(scraped(text, "alys_engine_blocks_reverted_total"), 1);
    ck_assert_double_ge(scraped(text, "alys_engine_requests_total{op=\"get_block\",outcome=\"ok\"}"), 1600);
    ck_assert_double_ge(scraped(text, "alys_engine_errors_total{code=\"FINALIZED_CONFLICT\"}"), 2);
    ck_assert_double_eq(scraped(text, "alys_engine_execution_client_state{state=\"synced\"}"), 1);
    ck_assert_double_eq(scraped(text, "alys_engine_execution_client_state{state=\"offline\"}"), 0);
    ck_assert_double_ge(scraped(text, "alys_engine_cache_hits_total{cache=\"block\"}"), 5);
    ck_assert_double_ge(scraped(text, "alys_engine_cache_hits_total{cache=\"payload\"}"), 1);
    /* connections open now: the tests' peers have gone (counted in the faults suite) */
    ck_assert_double_ge(scraped(text, "alys_engine_peers"), 0);
    ck_assert_double_gt(scraped(text, "process_resident_memory_bytes"), 1e6);
    ck_assert_double_ge(scraped(text, "alys_engine_el_call_duration_seconds_count{method=\"engine_newPayload"
                                      "V2\"}") + scraped(text, "alys_engine_el_call_duration_seconds_count{method=\"engine_newPayloadV3\"}")
                            + scraped(text, "alys_engine_el_call_duration_seconds_count{method=\"engine_newPayloadV4\"}"),
                        s_ok_commit - 2);
    ck_assert_ptr_nonnull(strstr(text, "# TYPE alys_engine_request_duration_seconds histogram"));
    ck_assert_ptr_nonnull(strstr(text, "alys_engine_request_duration_seconds_bucket{op=\"build_block\",le=\"+Inf\"}"));
    printf("metrics: %g blocks built, %g committed\n", scraped(text, "alys_engine_blocks_built_total"),
           scraped(text, "alys_engine_blocks_committed_total"));

    /* every metric the dashboard plots is one the actor exports */
    char path[512];
    snprintf(path, sizeof path, "%s/deploy/grafana/engine-actor.json", getenv("ALYS_SOURCE_ROOT"));
    json_error_t jerr;
    json_t *dash = json_load_file(path, 0, &jerr);
    ck_assert_msg(dash != NULL, "%s: %s (line %d)", path, jerr.text, jerr.line);
    size_t i;
    json_t *panel;
    int exprs = 0;
    json_array_foreach(json_object_get(dash, "panels"), i, panel) {
        size_t k;
        json_t *target;
        json_array_foreach(json_object_get(panel, "targets"), k, target) {
            const char *expr = json_string_value(json_object_get(target, "expr"));
            ck_assert_ptr_nonnull(expr);
            const char *m = strstr(expr, "alys_engine_");
            if (!m)
                m = strstr(expr, "process_");
            ck_assert_msg(m != NULL, "panel expression names no metric: %s", expr);
            char name[96];
            size_t len = strspn(m, "abcdefghijklmnopqrstuvwxyz_");
            snprintf(name, sizeof name, "# TYPE %.*s", (int) len, m);
            /* histogram series end in _bucket/_sum/_count; the family is the prefix */
            char *suffix = strstr(name, "_bucket");
            if (!suffix) suffix = strstr(name, "_sum");
            if (!suffix) suffix = strstr(name, "_count");
            if (suffix) *suffix = '\0';
            ck_assert_msg(strstr(text, name) != NULL, "dashboard plots %s, which is not exported", name + 7);
            exprs++;
        }
    }
    ck_assert_int_ge(exprs, 10);
    json_decref(dash);
    free(text);

    text = http_get("/health", &status);
    ck_assert_int_eq(status, 200);
    ck_assert_ptr_nonnull(strstr(text, "synced"));
    free(text);
}
END_TEST

/*  A direct Engine API call to the client under test. Returns the result,
    or NULL with the client's JSON-RPC error code in *code (0 when the call
    failed otherwise). */
static json_t *engine_direct(const char *method, json_t *params, int64_t *code)
{
    char err[512] = "";
    json_t *r = harness_rpc(engine_url(), method, params, jwt_path(), err, sizeof err);
    long long c = 0;
    if (!r && sscanf(err, "JSON-RPC error %lld", &c) != 1)
        c = 0;
    if (code)
        *code = (int64_t) c;
    if (!r)
        printf("%s: %s\n", method, err);
    return r;
}

/*  The second recorded block of tests/data/blocks-<fork>.json as newPayload
    parameters: a valid block of another chain, whose parent this chain does
    not have. */
static json_t *foreign_block_params(const char *fork)
{
    char path[1024];
    const char *root = getenv("ALYS_SOURCE_ROOT");
    snprintf(path, sizeof path, "%s/tests/data/blocks-%s.json", root ? root : ".", fork);
    json_error_t jerr;
    json_t *doc = json_load_file(path, 0, &jerr);
    ck_assert_msg(doc != NULL, "%s: %s", path, jerr.text);
    json_t *block = json_array_get(json_object_get(doc, "blocks"), 1);
    json_t *payload = json_deep_copy(json_object_get(block, "executionPayload"));
    json_object_del(payload, "requestsHash"); /* not an ExecutionPayloadV3 member */
    json_t *params = json_pack("[o]", payload);
    if (strcmp(fork, "shanghai") != 0) {
        json_array_append_new(params, json_array());
        json_array_append(params, json_object_get(block, "parentBeaconBlockRoot"));
    }
    if (strcmp(fork, "prague") == 0)
        json_array_append(params, json_object_get(block, "executionRequests"));
    json_decref(doc);
    return params;
}

/*  The profile the actor chose predicts what the client does, wherever
    EthereumJS and Geth differ: each prediction is checked against the
    client itself with direct Engine API calls that leave its fork choice
    as it was. */
START_TEST(test_client_profile)
{
    if (s_external)
        return;
    const char *fork = getenv("ALYS_TEST_FORK");
    if (!fork)
        fork = "shanghai";
    const bool shanghai = strcmp(fork, "shanghai") == 0, prague = strcmp(fork, "prague") == 0;
    const client_profile_t *p = node_profile();
    peer_t *peer = peer_new(s_endpoint, NULL);
    proto_status_result_t st = status_now(peer);
    ck_assert_str_eq(st.el.client.code, p->code);

    /* getClientVersionV1: listed and answered, or neither */
    json_t *caps = engine_direct("engine_exchangeCapabilities",
                                 json_pack("[[s,s]]", "engine_getClientVersionV1",
                                           shanghai ? "engine_newPayloadV2" : "engine_newPayloadV3"),
                                 NULL);
    ck_assert_ptr_nonnull(caps);
    bool listed = false;
    for (size_t i = 0; i < json_array_size(caps); i++)
        listed = listed
                 || strcmp(json_string_value(json_array_get(caps, i)) ?: "", "engine_getClientVersionV1") == 0;
    json_decref(caps);
    ck_assert_msg(listed == p->client_version_v1, "%s %s engine_getClientVersionV1", p->name,
                  listed ? "lists" : "does not list");
    int64_t code = 0;
    json_t *cv = engine_direct("engine_getClientVersionV1",
                               json_pack("[{s:s,s:s,s:s,s:s}]", "code", "AL", "name", "alys-engine-test",
                                         "version", "0", "commit", "0x00000000"),
                               &code);
    ck_assert_msg((cv != NULL) == p->client_version_v1, "getClientVersionV1 answered: %d", cv != NULL);
    /* the actor named the client the way the profile says: by
       getClientVersionV1 when listed, else by web3_clientVersion */
    if (cv) {
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(cv, 0), "code")), p->code);
        ck_assert_str_eq(st.el.client.name,
                         json_string_value(json_object_get(json_array_get(cv, 0), "name")));
    } else {
        json_t *web3 = rpc("web3_clientVersion", NULL);
        const char *w = json_string_value(web3);
        ck_assert_ptr_nonnull(w);
        ck_assert_msg(strncmp(w, st.el.client.name, strlen(st.el.client.name)) == 0
                          && w[strlen(st.el.client.name)] == '/',
                      "actor says %s, web3_clientVersion %s", st.el.client.name, w);
        json_decref(web3);
    }
    json_decref(cv);

    /* an unknown payload id: a real one with its last byte changed, so that
       a version carried in the id (Geth) stays right */
    proto_build_block_args_t args = {.timestamp = s_next_ts};
    s_next_ts += 2;
    proto_build_block_result_t built = {0};
    call_ok(peer, "build_block", &args, &built);
    uint8_t id[8];
    memcpy(id, built.payload_id, 8);
    id[7] ^= 0x5a;
    char idh[19];
    const char *get = shanghai ? "engine_getPayloadV2" : prague ? "engine_getPayloadV4" : "engine_getPayloadV3";
    json_t *r = engine_direct(get, json_pack("[s]", hex_encode(id, 8, idh)), &code);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(code, p->unknown_payload_code);

    /* payload attributes with the parent's own timestamp */
    json_t *latest = rpc("eth_getBlockByNumber", json_pack("[s,b]", "latest", 0));
    char head[67], safe[67], fin[67];
    hex_encode(st.forkchoice.head, 32, head);
    hex_encode(st.forkchoice.safe, 32, safe);
    hex_encode(st.forkchoice.finalized, 32, fin);
    ck_assert_str_eq(json_string_value(json_object_get(latest, "hash")), head);
    json_t *attrs = json_pack("{s:O,s:s,s:s,s:[]}", "timestamp", json_object_get(latest, "timestamp"),
                              "prevRandao", safe, "suggestedFeeRecipient",
                              "0x000000000000000000000000000000000000dead", "withdrawals");
    if (!shanghai)
        json_object_set_new(attrs, "parentBeaconBlockRoot", json_string(safe));
    r = engine_direct(shanghai ? "engine_forkchoiceUpdatedV2" : "engine_forkchoiceUpdatedV3",
                      json_pack("[{s:s,s:s,s:s},o]", "headBlockHash", head, "safeBlockHash", safe,
                                "finalizedBlockHash", fin, attrs),
                      &code);
    json_decref(r);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(code, p->invalid_attributes_code);
    json_decref(latest);

    /* a block whose parent is unknown */
    r = engine_direct(shanghai ? "engine_newPayloadV2" : prague ? "engine_newPayloadV4" : "engine_newPayloadV3",
                      foreign_block_params(fork), &code);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(json_string_value(json_object_get(r, "status")), p->unknown_parent_status);
    json_decref(r);

    /* nothing moved, and the actor still builds and commits */
    uint8_t now[32];
    latest_hash(now);
    ck_assert_mem_eq(now, st.forkchoice.head, 32);
    proto_free(proto_op_find("build_block")->result, &built);
    status_free(&st);
    build_and_commit(peer, 1, NULL);
    peer_destroy(&peer);
}
END_TEST

/*  The execution client goes away and comes back: the actor reports it
    offline, answers EL_UNAVAILABLE meanwhile, then re-sends its last fork
    choice on its own once the client answers again. */
START_TEST(test_el_restart)
{
    if (s_external)
        return;
    long status = 0;
    char *text = http_get("/metrics", &status);
    double resent_before =
        scraped(text, "alys_engine_requests_total{op=\"update_forkchoice\",outcome=\"ok\"}");
    free(text);
    ck_assert_int_eq(el_node_stop(s_node), 0);
    peer_t *peer = peer_new(s_endpoint, NULL);
    proto_get_block_args_t g = {.block = {.kind = PROTO_SEL_TAG, .tag = "latest"}};
    call_err(peer, "get_block", &g, PROTO_EL_UNAVAILABLE);
    proto_status_result_t st = status_now(peer);
    ck_assert_str_eq(st.el.state, "offline");
    status_free(&st);
    text = http_get("/health", &status);
    ck_assert_int_eq(status, 503);
    free(text);

    ck_assert_int_eq(el_node_start(s_node), 0);
    /* the health check runs every 5 s */
    int64_t deadline = clock_mono_ms() + 20000;
    double resent = resent_before;
    while (clock_mono_ms() < deadline) {
        text = http_get("/metrics", &status);
        resent = scraped(text, "alys_engine_requests_total{op=\"update_forkchoice\",outcome=\"ok\"}");
        free(text);
        if (resent > resent_before)
            break;
        usleep(200000);
    }
    ck_assert_msg(resent > resent_before, "the fork choice was not re-sent after the client came back");
    st = status_now(peer);
    ck_assert_str_eq(st.el.state, "synced");
    ck_assert_mem_eq(st.forkchoice.head, s_hashes[s_head_number], 32);
    status_free(&st);
    uint8_t latest[32];
    latest_hash(latest);
    ck_assert_mem_eq(latest, s_hashes[s_head_number], 32);
    build_and_commit(peer, 1, NULL);
    peer_destroy(&peer);
}
END_TEST

/*  Builds a block on `parent` (not necessarily the head) and commits it. */
static void build_on(peer_t *peer, const uint8_t parent[32], uint8_t out[32])
{
    proto_build_block_args_t args = {.timestamp = s_next_ts, .has_parent = true};
    s_next_ts += 2;
    memcpy(args.parent, parent, 32);
    proto_build_block_result_t built = {0};
    call_ok(peer, "build_block", &args, &built);
    proto_payload_args_t commit = {.payload = built.payload};
    proto_block_hash_t committed = {0};
    call_ok(peer, "commit_block", &commit, &committed);
    memcpy(out, committed.block_hash, 32);
    proto_free(proto_op_find("build_block")->result, &built);
}

/*  Finality follows ancestry, not the canonical chain of the moment: a
    reorg to a side branch may finalize a block of that branch in the same
    call, and afterwards nothing may build on or move to the old branch. */
START_TEST(test_side_branch_finality)
{
    peer_t *peer = peer_new(s_endpoint, "chain-1");
    uint8_t b1[32], b2[32], c2[32], c3[32];
    build_on(peer, s_hashes[s_head_number], b1);
    build_on(peer, b1, b2);
    build_on(peer, b1, c2); /* a sibling of b2 */
    build_on(peer, c2, c3);
    /* back to the first branch */
    proto_update_fc_args_t a = {0};
    proto_update_fc_result_t r = {0};
    memcpy(a.head, b2, 32);
    call_ok(peer, "update_forkchoice", &a, &r);
    ck_assert_str_eq(r.status, "VALID");
    proto_free(proto_op_find("update_forkchoice")->result, &r);
    uint8_t latest[32];
    latest_hash(latest);
    ck_assert_mem_eq(latest, b2, 32);
    /* one call: reorg to the side branch and finalize its block c2 */
    memcpy(a.head, c3, 32);
    a.has_finalized = true;
    memcpy(a.finalized, c2, 32);
    call_ok(peer, "update_forkchoice", &a, &r);
    ck_assert_str_eq(r.status, "VALID");
    ck_assert_mem_eq(r.finalized, c2, 32);
    ck_assert_mem_eq(r.safe, c2, 32); /* safe moved with finalized */
    proto_free(proto_op_find("update_forkchoice")->result, &r);
    latest_hash(latest);
    ck_assert_mem_eq(latest, c3, 32);
    /* the old branch is now off limits */
    memset(&a, 0, sizeof a);
    memcpy(a.head, b2, 32);
    call_err(peer, "update_forkchoice", &a, PROTO_FINALIZED_CONFLICT);
    proto_build_block_args_t bb = {.timestamp = s_next_ts + 500, .has_parent = true};
    memcpy(bb.parent, b2, 32);
    call_err(peer, "build_block", &bb, PROTO_FINALIZED_CONFLICT);
    latest_hash(latest);
    ck_assert_mem_eq(latest, c3, 32);
    s_head_number += 3;
    memcpy(s_hashes[s_head_number - 2], b1, 32);
    memcpy(s_hashes[s_head_number - 1], c2, 32);
    memcpy(s_hashes[s_head_number], c3, 32);
    peer_destroy(&peer);
}
END_TEST

/*  A client that stops answering (SIGSTOP) is reported offline by the
    health check, and synced again once it answers. */
START_TEST(test_el_hung)
{
    if (s_external)
        return;
    peer_t *peer = peer_new(s_endpoint, NULL);
    ck_assert_int_eq(kill(el_node_pid(s_node), SIGSTOP), 0);
    int64_t deadline = clock_mono_ms() + 30000;
    bool offline = false;
    while (!offline && clock_mono_ms() < deadline) {
        proto_status_result_t st = status_now(peer);
        offline = strcmp(st.el.state, "offline") == 0;
        status_free(&st);
        usleep(200000);
    }
    kill(el_node_pid(s_node), SIGCONT);
    ck_assert_msg(offline, "a stopped client was still reported healthy after 30 s");
    deadline = clock_mono_ms() + 30000;
    bool synced = false;
    while (!synced && clock_mono_ms() < deadline) {
        proto_status_result_t st = status_now(peer);
        synced = strcmp(st.el.state, "synced") == 0;
        status_free(&st);
        usleep(200000);
    }
    ck_assert(synced);
    build_and_commit(peer, 1, NULL);
    peer_destroy(&peer);
}
END_TEST

/*  kill -9 and restart: the fork choice comes back from the state file. */
START_TEST(test_restart_recovers_fork_choice)
{
    peer_t *peer = peer_new(s_endpoint, NULL);
    proto_status_result_t before = status_now(peer);
    peer_destroy(&peer);
    harness_proc_signal(s_actor, SIGKILL);
    harness_proc_wait(s_actor, 5000, NULL);
    harness_proc_destroy(&s_actor);
    s_actor = start_main_actor();
    ck_assert_ptr_nonnull(s_actor);
    peer = peer_new(s_endpoint, NULL);
    /* a mutation waits for the recovery, then works on the recovered state */
    build_and_commit(peer, 1, NULL);
    proto_status_result_t after = status_now(peer);
    ck_assert(after.forkchoice.has_finalized);
    ck_assert_mem_eq(after.forkchoice.finalized, before.forkchoice.finalized, 32);
    ck_assert_mem_eq(after.forkchoice.safe, before.forkchoice.safe, 32);
    ck_assert_mem_eq(after.forkchoice.head, s_hashes[s_head_number], 32);
    status_free(&before);
    status_free(&after);
    peer_destroy(&peer);
}
END_TEST

int main(void)
{
    s_dir = harness_tmpdir("alys-engine-it-");
    snprintf(s_state_dir, sizeof s_state_dir, "%s/state", s_dir);
    mkdir(s_state_dir, 0755);
    const char *fork = getenv("ALYS_TEST_FORK");
    s_external = getenv("ALYS_TEST_ENGINE_URL") != NULL;
    if (s_external) {
        if (!getenv("ALYS_TEST_RPC_URL") || !getenv("ALYS_TEST_JWT_SECRET")) {
            fprintf(stderr, "ALYS_TEST_ENGINE_URL needs ALYS_TEST_RPC_URL and ALYS_TEST_JWT_SECRET\n");
            return 1;
        }
        s_has_funds = getenv("ALYS_TEST_DEV_FUNDED") != NULL;
        printf("testing the execution client at %s (rpc %s)\n", engine_url(), rpc_url());
    } else {
        el_node_opts_t opts = {.cancun = fork && strcmp(fork, "cancun") == 0,
                               .prague = fork && strcmp(fork, "prague") == 0};
        s_node = el_node_new(&opts);
        if (!s_node) {
            fprintf(stderr, "cannot start the execution client\n");
            return 1;
        }
        s_has_funds = true;
        printf("testing %s (%s genesis)\n", harness_el_kind_name(el_node_kind(s_node)),
               fork ? fork : "shanghai");
    }
    snprintf(s_endpoint, sizeof s_endpoint, "ipc://%s/engine.sock", s_dir);
    s_actor = start_main_actor();
    json_t *g = harness_rpc(rpc_url(), "eth_getBlockByNumber", json_pack("[s,b]", "latest", 0), NULL,
                            NULL, 0);
    uint64_t latest_ts = 0;
    if (!s_actor || !g
        || hex_decode_fixed(json_string_value(json_object_get(g, "hash")), s_hashes[0], 32) != 0
        || hex_quantity_parse(json_string_value(json_object_get(g, "number")), &s_base) != 0
        || hex_quantity_parse(json_string_value(json_object_get(g, "timestamp")), &latest_ts) != 0) {
        fprintf(stderr, "cannot start the actor or read the latest block\n");
        return 1;
    }
    json_decref(g);
    if (s_has_funds) {
        json_t *n = harness_rpc(rpc_url(), "eth_getTransactionCount",
                                json_pack("[s,s]", HARNESS_DEV_ADDR, "latest"), NULL, NULL, 0);
        hex_quantity_parse(json_string_value(n), &s_dev_nonce);
        json_decref(n);
    }
    s_next_ts = (uint64_t) time(NULL) - 3600;
    if (s_next_ts <= latest_ts)
        s_next_ts = latest_ts + 1;

    Suite *s = suite_create("engine");
    TCase *tc = tcase_create("against a real execution client");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_ping_and_status);
    tcase_add_test(tc, test_build_commit_pegins);
    tcase_add_test(tc, test_finalize);
    tcase_add_test(tc, test_get_block);
    if (s_has_funds)
        tcase_add_test(tc, test_transactions_receipts_payload);
    tcase_add_test(tc, test_update_forkchoice);
    tcase_add_test(tc, test_bad_requests);
    tcase_add_test(tc, test_idempotent_retry);
    tcase_add_test(tc, test_concurrent_readers_while_building);
    tcase_add_test(tc, test_cli);
    tcase_add_test(tc, test_validate_payload_and_tampering);
    tcase_add_test(tc, test_revert_and_rebuild);
    tcase_add_test(tc, test_logs_and_receipts);
    tcase_add_test(tc, test_caches);
    tcase_add_test(tc, test_metrics);
    tcase_add_test(tc, test_client_profile);
    tcase_add_test(tc, test_el_restart);
    tcase_add_test(tc, test_el_hung);
    tcase_add_test(tc, test_restart_recovers_fork_choice);
    /* last: EthereumJS loses side branches over a restart of its own */
    tcase_add_test(tc, test_side_branch_finality);
    tcase_add_test(tc, test_wrong_jwt);
    tcase_add_test(tc, test_unreachable_el_and_shutdown);
    tcase_add_test(tc, test_bad_jwt_file_is_a_startup_error);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);

    /* the main actor stops cleanly too */
    harness_proc_signal(s_actor, SIGTERM);
    int status = 0;
    if (harness_proc_wait(s_actor, 3000, &status) != 0 || !WIFEXITED(status)
        || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "the actor did not exit 0 on SIGTERM\n");
        failed++;
    }
    harness_proc_destroy(&s_actor);
    el_node_destroy(&s_node);
    if (!getenv("ALYS_KEEP_TEST_DIRS"))
        harness_rmrf(s_dir);
    else
        fprintf(stderr, "test files kept in %s\n", s_dir);
    free(s_dir);
    return failed ? 1 : 0;
}
