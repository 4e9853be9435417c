/*  Integration: a real EthereumJS, the real alys-engine, driven through a C
    DEALER peer and through alys-engine-cli. The tests run in order and share
    one chain: later tests build on what earlier ones committed. */
#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "harness.h"
#include "hex.h"
#include "peer.h"
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
static uint64_t s_head_number;

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

static void addr_of(int k, uint8_t out[20])
{
    memset(out, 0, 20);
    out[0] = 0x11;
    out[19] = (uint8_t) (k + 1);
}

/*  Starts an actor; returns it once `ping` answers. */
static harness_proc_t *start_actor(const char *endpoint, const char *engine_url,
                                   const char *rpc_url, const char *jwt_path, const char *log_name)
{
    char log_path[512];
    snprintf(log_path, sizeof log_path, "%s/%s", s_dir, log_name);
    char *argv[] = {(char *) engine_bin(), "--bind", (char *) endpoint, "--execution-endpoint",
                    (char *) engine_url, "--execution-rpc", (char *) rpc_url, "--jwt-secret",
                    (char *) jwt_path, "--timeout-multiplier", "3", "--log-level", "debug", NULL};
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

static json_t *rpc(const char *method, json_t *params)
{
    char err[256];
    json_t *r = harness_rpc(el_node_rpc_url(s_node), method, params, NULL, err, sizeof err);
    ck_assert_msg(r != NULL, "%s: %s", method, err);
    return r;
}

/*  Calls op and asserts the reply is ok; decodes the result into out. */
static void call_ok(peer_t *peer, const char *op, const void *args, void *out)
{
    proto_reply_t r;
    ck_assert_msg(peer_call(peer, op, args, &r, CALL_TIMEOUT_MS) == 0, "%s: no reply", op);
    ck_assert_msg(r.ok, "%s failed: %s: %s", op, r.error_code, r.message ? r.message : "");
    if (out)
        ck_assert_int_eq(peer_result(&r, op, out), 0);
    proto_reply_release(&r);
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
    ck_assert_uint_eq(built.payload.block_number, s_head_number + 1);
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
    ck_assert_str_eq(st.el.client.code, "EJ");
    ck_assert_str_eq(st.el.endpoint, el_node_engine_url(s_node));
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
    ck_assert_uint_eq(r.block.number, 7);
    ck_assert_mem_eq(r.block.hash, s_hashes[7], 32);
    ck_assert_mem_eq(r.block.parent_hash, s_hashes[6], 32);
    ck_assert_uint_ge(r.block.n_withdrawals, 1);
    proto_free(rs, &r);

    a.block.kind = PROTO_SEL_NUMBER;
    a.block.number = 12;
    call_ok(peer, "get_block", &a, &r);
    ck_assert_mem_eq(r.block.hash, s_hashes[12], 32);
    proto_free(rs, &r);

    const char *tags[] = {"latest", "finalized", "safe", "earliest"};
    const uint8_t *want[] = {s_hashes[s_head_number], s_hashes[15], s_hashes[15], s_hashes[0]};
    for (int i = 0; i < 4; i++) {
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
    ck_assert_msg(harness_send_raw_tx(el_node_rpc_url(s_node),
                                      "0x2222222222222222222222222222222222222222", 12345, 0,
                                      tx_hash, err, sizeof err) == 0,
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
    ck_assert_uint_eq(rr.receipt.block_number, s_head_number);
    ck_assert(!rr.receipt.has_contract_address);
    proto_free(proto_op_find("get_transaction_receipt")->result, &rr);
    memset(ta.tx_hash, 0x99, 32);
    call_ok(peer, "get_transaction_receipt", &ta, &rr);
    ck_assert(!rr.has_receipt);
    proto_free(proto_op_find("get_transaction_receipt")->result, &rr);

    /* get_payload rebuilds the payload: committing it again is accepted */
    proto_block_sel_args_t pa = {.block = {.kind = PROTO_SEL_NUMBER, .number = s_head_number}};
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
    pa.block.number = 0;
    call_ok(peer, "get_payload", &pa, &pr);
    ck_assert_mem_eq(pr.payload.block_hash, s_hashes[0], 32);
    ck_assert_uint_eq(pr.payload.block_number, 0);
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
        a.block.number = (uint64_t) rand_r(&seed) % (rd->max_number + 1);
        proto_reply_t r;
        if (peer_call(peer, "get_block", &a, &r, CALL_TIMEOUT_MS) != 0) {
            rd->failed++;
            continue;
        }
        proto_get_block_result_t b = {0};
        if (r.ok && peer_result(&r, "get_block", &b) == 0 && b.block.number == a.block.number
            && memcmp(b.block.hash, s_hashes[a.block.number], 32) == 0)
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
    json_error_t jerr;
    json_t *doc = json_loads(out, 0, &jerr);
    ck_assert_msg(doc != NULL, "CLI output is not JSON: %s", out);
    free(out);
    ck_assert(json_is_true(json_object_get(doc, "ok")));
    json_t *payload = json_object_get(json_object_get(doc, "result"), "payload");
    ck_assert_uint_eq((uint64_t) json_integer_value(json_object_get(payload, "block_number")),
                      s_head_number + 1);
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
    FILE *f = fopen(jwt_path, "w");
    fprintf(f, "0x%064d\n", 7);
    fclose(f);
    snprintf(endpoint, sizeof endpoint, "ipc://%s/wrong.sock", s_dir);
    harness_proc_t *actor = start_actor(endpoint, el_node_engine_url(s_node),
                                        el_node_rpc_url(s_node), jwt_path, "wrong-jwt.log");
    ck_assert_ptr_nonnull(actor);
    peer_t *peer = peer_new(endpoint, NULL);
    proto_build_block_args_t args = {.timestamp = s_next_ts + 1000, .has_parent = true};
    memcpy(args.parent, s_hashes[s_head_number], 32);
    proto_reply_t r;
    ck_assert_int_eq(peer_call(peer, "build_block", &args, &r, CALL_TIMEOUT_MS), 0);
    ck_assert(!r.ok && r.error == PROTO_EL_AUTH_FAILED && !r.retryable);
    ck_assert_ptr_nonnull(strstr(r.message, "JWT secret does not match"));
    proto_reply_release(&r);
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
    harness_proc_t *actor = start_actor(endpoint, url, url, el_node_jwt_path(s_node), "offline.log");
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

int main(void)
{
    s_dir = harness_tmpdir("alys-engine-it-");
    s_node = el_node_new(NULL);
    if (!s_node) {
        fprintf(stderr, "cannot start the execution client\n");
        return 1;
    }
    snprintf(s_endpoint, sizeof s_endpoint, "ipc://%s/engine.sock", s_dir);
    s_actor = start_actor(s_endpoint, el_node_engine_url(s_node), el_node_rpc_url(s_node),
                          el_node_jwt_path(s_node), "engine.log");
    json_t *g = harness_rpc(el_node_rpc_url(s_node), "eth_getBlockByNumber",
                            json_pack("[s,b]", "latest", 0), NULL, NULL, 0);
    if (!s_actor || !g
        || hex_decode_fixed(json_string_value(json_object_get(g, "hash")), s_hashes[0], 32) != 0) {
        fprintf(stderr, "cannot start the actor or read genesis\n");
        return 1;
    }
    json_decref(g);
    s_next_ts = (uint64_t) time(NULL) - 3600;

    Suite *s = suite_create("engine");
    TCase *tc = tcase_create("against EthereumJS");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_ping_and_status);
    tcase_add_test(tc, test_build_commit_pegins);
    tcase_add_test(tc, test_finalize);
    tcase_add_test(tc, test_get_block);
    tcase_add_test(tc, test_transactions_receipts_payload);
    tcase_add_test(tc, test_update_forkchoice);
    tcase_add_test(tc, test_bad_requests);
    tcase_add_test(tc, test_idempotent_retry);
    tcase_add_test(tc, test_concurrent_readers_while_building);
    tcase_add_test(tc, test_cli);
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
