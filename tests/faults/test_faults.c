/*  Fault tests: the real alys-engine against the stub execution client,
    which misbehaves on request. Each test starts its own stub (with the
    fault's flags) and its own actor, and checks the reply a peer gets: the
    error code, whether it is retryable, and that the actor keeps serving
    other peers meanwhile. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sys/wait.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "actor_proc.h"
#include "clock.h"
#include "harness.h"
#include "hex.h"
#include "jwt_file.h"
#include "peer.h"
#include "peer_check.h"
#include "proto.h"
#include "stub_proc.h"

#define CALL_TIMEOUT_MS 15000

static char *s_dir;
static char s_jwt[512];
static char s_wrong_jwt[512];
static uint64_t s_next_ts = 1000;

/*  One stub, one actor bound to its own ipc endpoint, one peer. */
typedef struct {
    stub_proc_t *stub;
    harness_proc_t *actor;
    peer_t *peer;
    char endpoint[300];
    char name[64];
} env_t;

static void env_start_with(env_t *e, const char *name, const char *const *stub_flags,
                           const char *const *actor_flags, const char *actor_jwt, bool wait_ready)
{
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    char stub_log[512], actor_log[512];
    snprintf(stub_log, sizeof stub_log, "%s/%s-stub.log", s_dir, name);
    snprintf(actor_log, sizeof actor_log, "%s/%s-actor.log", s_dir, name);
    snprintf(e->endpoint, sizeof e->endpoint, "ipc://%s/%s.sock", s_dir, name);
    e->stub = stub_proc_start(s_jwt, 0, stub_flags, stub_log);
    ck_assert_msg(e->stub != NULL, "%s: the stub did not start", name);
    const char *defaults[] = {"--timeout-multiplier", "0.5", "--log-level", "debug", NULL};
    e->actor = actor_proc_start(e->endpoint, stub_proc_url(e->stub), stub_proc_url(e->stub),
                                actor_jwt ? actor_jwt : s_jwt, actor_flags ? actor_flags : defaults,
                                actor_log);
    ck_assert_msg(e->actor != NULL, "%s: the actor did not start", name);
    e->peer = peer_new(e->endpoint, NULL);
    ck_assert_ptr_nonnull(e->peer);
    if (wait_ready)
        ck_assert_msg(actor_proc_wait_ready(e->peer, NULL, 10000) == 0,
                      "%s: the actor did not learn the fork choice", name);
}

static void env_start(env_t *e, const char *name, const char *const *stub_flags)
{
    env_start_with(e, name, stub_flags, NULL, NULL, true);
}

static void env_stop(env_t *e)
{
    peer_destroy(&e->peer);
    harness_proc_destroy(&e->actor);
    stub_proc_destroy(&e->stub);
}

/*  Calls op and asserts an ok reply, decoding the result into out. */
static void call_ok(peer_t *peer, const char *op, const void *args, void *out)
{
    peer_call_ok(peer, op, args, out, CALL_TIMEOUT_MS);
}

/*  Calls op and asserts the error `want` with its retryable flag; returns
    the reply for further checks (release it). */
static proto_reply_t call_err(peer_t *peer, const char *op, const void *args, proto_err_t want)
{
    proto_reply_t r;
    ck_assert_msg(peer_call(peer, op, args, &r, CALL_TIMEOUT_MS) == 0, "%s: no reply", op);
    ck_assert_msg(!r.ok, "%s: expected %s, got ok", op, proto_err_name(want));
    ck_assert_msg(r.error == want, "%s: expected %s, got %s: %s", op, proto_err_name(want),
                  r.error_code, r.message ? r.message : "");
    ck_assert_msg(r.retryable == proto_err_retryable(want), "%s: %s with retryable %d", op,
                  r.error_code, r.retryable);
    return r;
}

static void expect_err(peer_t *peer, const char *op, const void *args, proto_err_t want)
{
    proto_reply_t r = call_err(peer, op, args, want);
    proto_reply_release(&r);
}

static proto_build_block_args_t build_args(void)
{
    proto_build_block_args_t a = {.timestamp = s_next_ts};
    s_next_ts += 2;
    return a;
}

/*  build_block then commit_block; asserts both succeed. */
static void build_commit(peer_t *peer, const proto_build_block_args_t *args, uint8_t hash_out[32])
{
    const proto_schema_t *rs = proto_op_find("build_block")->result;
    proto_build_block_result_t built = {0};
    call_ok(peer, "build_block", args, &built);
    proto_payload_args_t commit = {.payload = built.payload};
    proto_block_hash_t committed = {0};
    call_ok(peer, "commit_block", &commit, &committed);
    ck_assert_mem_eq(committed.block_hash, built.payload.block_hash, 32);
    if (hash_out)
        memcpy(hash_out, committed.block_hash, 32);
    proto_free(rs, &built);
}

/*  build_block, which must succeed, and then commit_block of its payload,
    which must fail with want. */
static proto_reply_t build_then_commit_err(peer_t *peer, proto_err_t want)
{
    proto_build_block_args_t args = build_args();
    proto_build_block_result_t built = {0};
    call_ok(peer, "build_block", &args, &built);
    proto_payload_args_t commit = {.payload = built.payload};
    proto_reply_t r = call_err(peer, "commit_block", &commit, want);
    proto_free(proto_op_find("build_block")->result, &built);
    return r;
}

static void genesis_hash(const env_t *e, uint8_t out[32])
{
    json_t *g = harness_rpc(stub_proc_url(e->stub), "eth_getBlockByNumber",
                            json_pack("[s,b]", "earliest", 0), NULL, NULL, 0);
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(hex_decode_fixed(json_string_value(json_object_get(g, "hash")), out, 32), 0);
    json_decref(g);
}

static proto_get_block_args_t by_hash(const uint8_t hash[32])
{
    proto_get_block_args_t a = {.block = {.kind = PROTO_SEL_HASH}};
    memcpy(a.block.hash, hash, 32);
    return a;
}

static void expect_el_state(peer_t *peer, const char *want)
{
    proto_status_result_t st = {0};
    call_ok(peer, "status", NULL, &st);
    ck_assert_msg(strcmp(st.el.state, want) == 0, "el.state is %s, expected %s", st.el.state, want);
    proto_free(proto_op_find("status")->result, &st);
}

/*  The whole text of a file (the caller frees), "" when unreadable. */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return strdup("");
    char *text = NULL;
    size_t cap = 0;
    ssize_t n = getdelim(&text, &cap, '\0', f);
    fclose(f);
    if (n < 0) {
        free(text);
        return strdup("");
    }
    return text;
}

static char *actor_log(const env_t *e)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s-actor.log", s_dir, e->name);
    return read_text(path);
}

/*  The actor's metrics port, from its start line ("metrics port N"). */
static int metrics_port(const env_t *e)
{
    char *log = actor_log(e);
    const char *at = strstr(log, "metrics port ");
    int port = at ? atoi(at + strlen("metrics port ")) : -1;
    free(log);
    ck_assert_msg(port > 0, "%s: no metrics port in the actor's log", e->name);
    return port;
}

/*  One series' value from GET /metrics on 127.0.0.1:port; -1 when absent. */
static double scrape(int port, const char *series)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(connect(fd, (struct sockaddr *) &sin, sizeof sin), 0);
    const char req[] = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    ck_assert_int_eq(write(fd, req, sizeof req - 1), (ssize_t) (sizeof req - 1));
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    ssize_t n;
    while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
        len += (size_t) n;
        if (len + 1 >= cap)
            buf = realloc(buf, cap *= 2);
    }
    close(fd);
    buf[len] = '\0';
    double v = -1;
    size_t sl = strlen(series);
    for (const char *p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, series, sl) == 0 && p[sl] == ' ')
            v = strtod(p + sl + 1, NULL);
    free(buf);
    return v;
}

/*  Waits up to 3 s for the peers gauge to read want (connections close
    asynchronously); returns the last value read. */
static double peers_settle(int port, double want)
{
    double v = -1;
    for (int i = 0; i < 60; i++) {
        v = scrape(port, "alys_engine_peers");
        if (v == want)
            break;
        usleep(50 * 1000);
    }
    return v;
}

/* ------------------------------------------------------------------ tests */

/*  The peers gauge counts connections open now, not every routing id ever
    seen; a normal start logs no warning; a refused fork choice change is a
    warning that names the op and the reason. */
START_TEST(test_peers_gauge_and_log_levels)
{
    env_t e;
    env_start(&e, "peers", NULL);
    char *log = actor_log(&e);
    ck_assert_msg(!strstr(log, " warn: ") && !strstr(log, " error: "),
                  "a normal start logged a warning:\n%s", log);
    free(log);
    int port = metrics_port(&e);
    ck_assert_double_eq(peers_settle(port, 1), 1);
    peer_t *more[3];
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof name, "extra-%d", i);
        more[i] = peer_new(e.endpoint, name);
        call_ok(more[i], "ping", NULL, NULL);
    }
    ck_assert_double_eq(peers_settle(port, 4), 4);
    peer_destroy(&more[0]);
    peer_destroy(&more[1]);
    ck_assert_double_eq(peers_settle(port, 2), 2);
    /*  short-lived peers, as CLI runs are, leave nothing behind */
    for (int i = 0; i < 20; i++) {
        peer_t *p = peer_new(e.endpoint, NULL);
        call_ok(p, "ping", NULL, NULL);
        peer_destroy(&p);
    }
    ck_assert_double_eq(peers_settle(port, 2), 2);
    peer_destroy(&more[2]);

    uint8_t hash[32];
    proto_build_block_args_t args = build_args();
    build_commit(e.peer, &args, hash);
    proto_block_hash_t fin;
    memcpy(fin.block_hash, hash, 32);
    call_ok(e.peer, "finalize_block", &fin, NULL);
    expect_err(e.peer, "revert_block", &fin, PROTO_FINALIZED_CONFLICT);
    log = actor_log(&e);
    const char *w = strstr(log, " warn: revert_block id=");
    ck_assert_msg(w && strstr(w, "failed: FINALIZED_CONFLICT: "), "no warning for the refused "
                  "revert_block:\n%s", log);
    free(log);
    env_stop(&e);
}
END_TEST

/*  forkchoiceUpdated slower than its timeout: EL_TIMEOUT. While that build
    hangs, ping and reads are answered at once. */
START_TEST(test_slow_forkchoice_times_out_and_ping_stays_fast)
{
    env_t e;
    const char *const stub_flags[] = {"--delay", "engine_forkchoiceUpdatedV2:4000",
                                      "--delay", "eth_getBlockByHash:1500", NULL};
    /* 0.25: forkchoiceUpdated times out after 2 s, reads after 250 ms */
    const char *const actor_flags[] = {"--timeout-multiplier", "0.25", "--log-level", "debug",
                                       "--block-cache", "0", NULL};
    env_start_with(&e, "slow-fcu", stub_flags, actor_flags, NULL, true);

    peer_t *builder = peer_new(e.endpoint, "builder");
    proto_build_block_args_t args = build_args();
    int64_t t0 = clock_mono_ms();
    uint64_t id = peer_send(builder, "build_block", &args);
    proto_reply_t r;
    bool done = false;
    int pings = 0;
    int64_t worst_us = 0;
    while (!done && clock_mono_ms() - t0 < 10000) {
        int64_t p0 = clock_mono_us();
        call_ok(e.peer, "ping", NULL, NULL);
        int64_t took = clock_mono_us() - p0;
        if (took > worst_us)
            worst_us = took;
        pings++;
        if (peer_recv(builder, &r, 0) == 0) {
            ck_assert(r.has_id && r.id == id);
            done = true;
        } else {
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    int64_t took_ms = clock_mono_ms() - t0;
    ck_assert_msg(done, "no reply to build_block within 10 s");
    printf("slow forkchoiceUpdated: %s after %lld ms; %d pings meanwhile, the slowest %lld us\n",
           r.ok ? "ok" : r.error_code, (long long) took_ms, pings, (long long) worst_us);
    fflush(stdout);
    ck_assert_int_ge(pings, 50);
    ck_assert_msg(worst_us < 50000, "a ping took %lld us while a build was stuck",
                  (long long) worst_us);
    ck_assert_msg(!r.ok && r.error == PROTO_EL_TIMEOUT && r.retryable,
                  "build_block: expected EL_TIMEOUT, got %s: %s", r.ok ? "ok" : r.error_code,
                  r.message ? r.message : "");
    proto_reply_release(&r);
    ck_assert_msg(took_ms >= 1800 && took_ms < 4000, "EL_TIMEOUT after %lld ms, expected ~2000",
                  (long long) took_ms);

    /* a read slower than its own timeout: EL_TIMEOUT too */
    uint8_t g[32];
    genesis_hash(&e, g);
    proto_get_block_args_t ga = by_hash(g);
    expect_err(e.peer, "get_block", &ga, PROTO_EL_TIMEOUT);
    peer_destroy(&builder);
    env_stop(&e);
}
END_TEST

/*  HTTP 401 on the engine port: EL_AUTH_FAILED, not retryable, and the
    message names the JWT secret. Once injected by the stub, once for real
    with a secret that does not match. */
START_TEST(test_http_401_is_auth_failed)
{
    env_t e;
    const char *const stub_flags[] = {"--http-status", "engine_forkchoiceUpdatedV2:401", NULL};
    env_start(&e, "http-401", stub_flags);
    proto_build_block_args_t args = build_args();
    proto_reply_t r = call_err(e.peer, "build_block", &args, PROTO_EL_AUTH_FAILED);
    ck_assert_msg(strstr(r.message, "JWT secret does not match") != NULL, "message: %s", r.message);
    proto_reply_release(&r);
    expect_el_state(e.peer, "auth_failed");
    env_stop(&e);

    env_start_with(&e, "wrong-jwt", NULL, NULL, s_wrong_jwt, true);
    args = build_args();
    r = call_err(e.peer, "build_block", &args, PROTO_EL_AUTH_FAILED);
    ck_assert_msg(strstr(r.message, "JWT secret does not match") != NULL, "message: %s", r.message);
    proto_reply_release(&r);
    expect_el_state(e.peer, "auth_failed");
    /* the public methods need no JWT: reads still work */
    uint8_t g[32];
    genesis_hash(&e, g);
    proto_get_block_args_t ga = by_hash(g);
    call_ok(e.peer, "get_block", &ga, NULL);
    env_stop(&e);
}
END_TEST

/*  HTTP 500 with a body that is not JSON-RPC: EL_ERROR. */
START_TEST(test_http_500_is_el_error)
{
    env_t e;
    const char *const stub_flags[] = {"--http-status", "engine_forkchoiceUpdatedV2:500",
                                      "--http-status", "eth_getBlockByHash:500", NULL};
    env_start(&e, "http-500", stub_flags);
    proto_build_block_args_t args = build_args();
    expect_err(e.peer, "build_block", &args, PROTO_EL_ERROR);
    uint8_t g[32];
    genesis_hash(&e, g);
    proto_get_block_args_t ga = by_hash(g);
    expect_err(e.peer, "get_block", &ga, PROTO_EL_ERROR);
    call_ok(e.peer, "ping", NULL, NULL);
    env_stop(&e);
}
END_TEST

START_TEST(test_malformed_json_is_el_error)
{
    env_t e;
    const char *const stub_flags[] = {"--malformed", "engine_forkchoiceUpdatedV2",
                                      "--malformed", "eth_getBlockByHash", NULL};
    env_start(&e, "malformed", stub_flags);
    proto_build_block_args_t args = build_args();
    proto_reply_t r = call_err(e.peer, "build_block", &args, PROTO_EL_ERROR);
    ck_assert_msg(strstr(r.message, "JSON") != NULL, "message: %s", r.message);
    proto_reply_release(&r);
    uint8_t g[32];
    genesis_hash(&e, g);
    proto_get_block_args_t ga = by_hash(g);
    expect_err(e.peer, "get_block", &ga, PROTO_EL_ERROR);
    env_stop(&e);
}
END_TEST

/*  -38002 (invalid forkchoice state) from forkchoiceUpdated, and a payload
    status INVALID for the head: INVALID_FORKCHOICE. */
START_TEST(test_invalid_forkchoice)
{
    env_t e;
    const char *const stub_flags[] = {"--rpc-error", "engine_forkchoiceUpdatedV2:-38002", NULL};
    env_start(&e, "fcu-38002", stub_flags);
    proto_build_block_args_t args = build_args();
    proto_reply_t r = call_err(e.peer, "build_block", &args, PROTO_INVALID_FORKCHOICE);
    ck_assert(r.has_el_code && r.el_code == -38002);
    proto_reply_release(&r);
    uint8_t g[32];
    genesis_hash(&e, g);
    proto_update_fc_args_t ua = {0};
    memcpy(ua.head, g, 32);
    expect_err(e.peer, "update_forkchoice", &ua, PROTO_INVALID_FORKCHOICE);
    env_stop(&e);

    const char *const invalid_flags[] = {"--status", "engine_forkchoiceUpdatedV2:INVALID", NULL};
    env_start(&e, "fcu-invalid", invalid_flags);
    args = build_args();
    expect_err(e.peer, "build_block", &args, PROTO_INVALID_FORKCHOICE);
    env_stop(&e);
}
END_TEST

/*  Any other JSON-RPC error: EL_ERROR carrying the client's code. */
START_TEST(test_rpc_error_carries_el_code)
{
    env_t e;
    const char *const stub_flags[] = {"--rpc-error", "engine_newPayloadV2:-32000", NULL};
    env_start(&e, "np-32000", stub_flags);
    proto_reply_t r = build_then_commit_err(e.peer, PROTO_EL_ERROR);
    ck_assert(r.has_el_code && r.el_code == -32000);
    proto_reply_release(&r);
    env_stop(&e);
}
END_TEST

/*  SYNCING or ACCEPTED from newPayload: EL_SYNCING, retryable. */
START_TEST(test_new_payload_syncing)
{
    const char *const statuses[] = {"engine_newPayloadV2:SYNCING", "engine_newPayloadV2:ACCEPTED"};
    for (int i = 0; i < 2; i++) {
        env_t e;
        const char *const stub_flags[] = {"--status", statuses[i], NULL};
        env_start(&e, i ? "np-accepted" : "np-syncing", stub_flags);
        proto_reply_t r = build_then_commit_err(e.peer, PROTO_EL_SYNCING);
        proto_reply_release(&r);
        env_stop(&e);
    }
}
END_TEST

/*  INVALID from newPayload: INVALID_PAYLOAD, not retryable. */
START_TEST(test_new_payload_invalid)
{
    env_t e;
    const char *const stub_flags[] = {"--status", "engine_newPayloadV2:INVALID", NULL};
    env_start(&e, "np-invalid", stub_flags);
    proto_reply_t r = build_then_commit_err(e.peer, PROTO_INVALID_PAYLOAD);
    ck_assert_msg(strstr(r.message, "INVALID") != NULL, "message: %s", r.message);
    proto_reply_release(&r);
    env_stop(&e);
}
END_TEST

START_TEST(test_null_payload_id)
{
    env_t e;
    const char *const stub_flags[] = {"--null-payload-id", NULL};
    env_start(&e, "null-pid", stub_flags);
    proto_build_block_args_t args = build_args();
    expect_err(e.peer, "build_block", &args, PROTO_PAYLOAD_ID_UNAVAILABLE);
    env_stop(&e);
}
END_TEST

/*  The client dies: calls fail EL_UNAVAILABLE, whether the death comes
    between calls or in the middle of one. Once it is back on the same port,
    calls succeed again. The restarted stub has lost its chain (as a client
    with a wiped data directory would): it knows the genesis block only, and
    gets the blocks this actor built back from it. */
START_TEST(test_killed_client_then_restarted)
{
    env_t e;
    env_start(&e, "killed", NULL);
    uint8_t g[32], h1[32], h2[32];
    genesis_hash(&e, g);
    proto_build_block_args_t args = build_args();
    build_commit(e.peer, &args, h1);
    args = build_args();
    build_commit(e.peer, &args, h2);

    stub_proc_kill(e.stub);
    proto_get_block_args_t ga = by_hash(h1);
    expect_err(e.peer, "get_block", &ga, PROTO_EL_UNAVAILABLE);
    args = build_args();
    expect_err(e.peer, "build_block", &args, PROTO_EL_UNAVAILABLE);
    expect_el_state(e.peer, "offline");
    call_ok(e.peer, "ping", NULL, NULL);

    /* back, but slow; killed again while a build waits for it */
    const char *const slow[] = {"--delay", "engine_forkchoiceUpdatedV2:3000", NULL};
    ck_assert_int_eq(stub_proc_restart(e.stub, slow), 0);
    peer_t *builder = peer_new(e.endpoint, "builder");
    args = build_args();
    args.has_parent = true;
    memcpy(args.parent, g, 32);
    uint64_t id = peer_send(builder, "build_block", &args);
    struct timespec ts = {0, 400 * 1000000L};
    nanosleep(&ts, NULL);
    stub_proc_kill(e.stub);
    proto_reply_t r;
    ck_assert_int_eq(peer_recv(builder, &r, CALL_TIMEOUT_MS), 0);
    ck_assert(r.has_id && r.id == id);
    ck_assert_msg(!r.ok && r.error == PROTO_EL_UNAVAILABLE && r.retryable,
                  "build_block while the client died: expected EL_UNAVAILABLE, got %s: %s",
                  r.ok ? "ok" : r.error_code, r.message ? r.message : "");
    proto_reply_release(&r);
    peer_destroy(&builder);

    /* back for good */
    ck_assert_int_eq(stub_proc_restart(e.stub, NULL), 0);
    ga.block.kind = PROTO_SEL_TAG;
    snprintf(ga.block.tag, sizeof ga.block.tag, "latest");
    proto_get_block_result_t b = {0};
    call_ok(e.peer, "get_block", &ga, &b);
    ck_assert_uint_eq(b.block.number, 0);
    proto_free(proto_op_find("get_block")->result, &b);
    ck_assert_int_eq(actor_proc_wait_ready(e.peer, "synced", 10000), 0);
    /* a parent the client lacks and this actor never built: building on
       it cannot work yet */
    args = build_args();
    args.has_parent = true;
    memset(args.parent, 0x3c, 32);
    expect_err(e.peer, "build_block", &args, PROTO_EL_SYNCING);
    /* blocks 1 and 2 are gone with the old chain, but this actor built
       them and still holds them: building on 2 gives both to the client
       again, oldest first, then builds */
    args = build_args();
    args.has_parent = true;
    memcpy(args.parent, h2, 32);
    proto_build_block_result_t built = {0};
    call_ok(e.peer, "build_block", &args, &built);
    ck_assert_mem_eq(built.payload.parent_hash, h2, 32);
    proto_free(proto_op_find("build_block")->result, &built);
    /* asked of the client itself, not through the actor's block cache */
    char h1_hex[67];
    json_t *blk = harness_rpc(stub_proc_url(e.stub), "eth_getBlockByHash",
                              json_pack("[s,b]", hex_encode(h1, 32, h1_hex), 0), NULL, NULL, 0);
    ck_assert_msg(blk && json_is_object(blk), "the client lacks block 1 after the re-import");
    ck_assert_str_eq(json_string_value(json_object_get(blk, "number")), "0x1");
    json_decref(blk);
    args = build_args();
    args.has_parent = true;
    memcpy(args.parent, g, 32);
    build_commit(e.peer, &args, NULL);
    env_stop(&e);
}
END_TEST

/*  The stub's count of calls of one method so far. */
static int64_t method_calls(const env_t *e, const char *method)
{
    json_t *st = stub_proc_stats(e->stub);
    ck_assert_ptr_nonnull(st);
    int64_t n = json_integer_value(json_object_get(json_object_get(st, "methods"), method));
    json_decref(st);
    return n;
}

/*  Sends n get_block requests for block numbers base .. base+n-1 (distinct
    reads: nothing shared) and returns the ids. */
static void send_numbers(env_t *e, uint64_t base, int n, uint64_t *ids)
{
    for (int i = 0; i < n; i++) {
        proto_get_block_args_t a = {.block = {.kind = PROTO_SEL_NUMBER, .number = base + (uint64_t) i}};
        ids[i] = peer_send(e->peer, "get_block", &a);
    }
}

/*  Reads beyond --max-queries wait their turn; only a read that finds the
    waiting queue full (--max-query-queue) is refused with OVERLOADED, at
    once, while the others still complete. */
START_TEST(test_overloaded)
{
    env_t e;
    const char *const stub_flags[] = {"--delay", "eth_getBlockByNumber:600", NULL};
    const char *const actor_flags[] = {"--max-queries", "2", "--max-query-queue", "2",
                                       "--block-cache", "0", "--log-level", "debug",
                                       "--metrics-listen", "off", NULL};
    env_start_with(&e, "overloaded", stub_flags, actor_flags, NULL, true);
    int64_t calls_before = method_calls(&e, "eth_getBlockByNumber");
    uint64_t ids[5];
    int64_t t0 = clock_mono_ms();
    send_numbers(&e, 1000, 5, ids);
    int not_found = 0, overloaded = 0;
    for (int i = 0; i < 5; i++) {
        proto_reply_t r;
        ck_assert_int_eq(peer_recv(e.peer, &r, CALL_TIMEOUT_MS), 0);
        ck_assert(r.has_id && !r.ok);
        if (r.error == PROTO_OVERLOADED) {
            ck_assert(r.retryable && r.id == ids[4]);
            ck_assert_int_lt(clock_mono_ms() - t0, 400); /* refused at once */
            overloaded++;
        } else {
            ck_assert_msg(r.error == PROTO_BLOCK_NOT_FOUND, "got %s: %s", r.error_code, r.message);
            not_found++;
        }
        proto_reply_release(&r);
    }
    ck_assert_int_eq(not_found, 4);
    ck_assert_int_eq(overloaded, 1);
    /* two rounds of two: the waiting reads went out after the first ones */
    ck_assert_int_ge(clock_mono_ms() - t0, 1150);
    /* four reads, and at most one head check of the health timer */
    int64_t calls = method_calls(&e, "eth_getBlockByNumber") - calls_before;
    ck_assert_int_ge(calls, 4);
    ck_assert_int_le(calls, 5);
    env_stop(&e);
}
END_TEST

/*  Identical reads in flight share one execution-client call: 50 requests
    for one block while the client takes 300 ms make one call, and every
    request gets the block. */
START_TEST(test_identical_reads_share_one_call)
{
    env_t e;
    const char *const stub_flags[] = {"--delay", "eth_getBlockByHash:300", NULL};
    const char *const actor_flags[] = {"--block-cache", "0", "--metrics-listen", "off", NULL};
    env_start_with(&e, "shared-reads", stub_flags, actor_flags, NULL, true);
    uint8_t g[32];
    genesis_hash(&e, g);
    int64_t calls_before = method_calls(&e, "eth_getBlockByHash");
    proto_get_block_args_t ga = by_hash(g);
    for (int i = 0; i < 50; i++)
        peer_send(e.peer, "get_block", &ga);
    for (int i = 0; i < 50; i++) {
        proto_reply_t r;
        ck_assert_int_eq(peer_recv(e.peer, &r, CALL_TIMEOUT_MS), 0);
        ck_assert_msg(r.ok, "get_block: %s: %s", r.error_code, r.message ? r.message : "");
        proto_get_block_result_t b = {0};
        ck_assert_msg(peer_result(&r, "get_block", &b) == 0, "reply %d", i);
        ck_assert_mem_eq(b.block.hash, g, 32);
        proto_free(proto_op_find("get_block")->result, &b);
        proto_reply_release(&r);
    }
    ck_assert_int_eq(method_calls(&e, "eth_getBlockByHash") - calls_before, 1);
    /* once answered, the next identical read makes its own call */
    call_ok(e.peer, "get_block", &ga, NULL);
    ck_assert_int_eq(method_calls(&e, "eth_getBlockByHash") - calls_before, 2);
    env_stop(&e);
}
END_TEST

/*  A bounded pool: with --el-connections 2, twelve distinct reads of 300 ms
    each go out two at a time over at most two connections, and none is
    charged its 1 s timeout while it waits for a connection (the last ones
    wait 1.5 s). */
START_TEST(test_connection_pool)
{
    env_t e;
    const char *const stub_flags[] = {"--delay", "eth_getBlockByNumber:300", NULL};
    const char *const actor_flags[] = {"--el-connections", "2", "--block-cache", "0",
                                       "--metrics-listen", "off", NULL};
    env_start_with(&e, "pool", stub_flags, actor_flags, NULL, true);
    int64_t conns_before = stub_proc_stat(e.stub, "connections");
    uint64_t ids[12];
    int64_t t0 = clock_mono_ms();
    send_numbers(&e, 2000, 12, ids);
    for (int i = 0; i < 12; i++) {
        proto_reply_t r;
        ck_assert_int_eq(peer_recv(e.peer, &r, CALL_TIMEOUT_MS), 0);
        ck_assert_msg(!r.ok && r.error == PROTO_BLOCK_NOT_FOUND, "got %s: %s", r.error_code,
                      r.message ? r.message : "");
        proto_reply_release(&r);
    }
    int64_t took = clock_mono_ms() - t0;
    /* stub_proc_stat opens a connection of its own, counted at once */
    int64_t during = stub_proc_stat(e.stub, "connections") - conns_before - 1;
    printf("pool: 12 reads of 300 ms over 2 connections took %lld ms, %lld new connections\n",
           (long long) took, (long long) during);
    ck_assert_int_ge(took, 1700);
    ck_assert_msg(during <= 2, "the reads opened %lld connections", (long long) during);
    env_stop(&e);
}
END_TEST

/*  SIGTERM with a build hanging and another queued behind it: the queued one
    is answered SHUTTING_DOWN at once, new requests too, the hanging one
    SHUTTING_DOWN after the grace period, and the actor exits 0 within 2 s. */
START_TEST(test_sigterm_answers_everything)
{
    env_t e;
    const char *const stub_flags[] = {"--delay", "engine_forkchoiceUpdatedV2:6000", NULL};
    const char *const actor_flags[] = {"--log-level", "debug", NULL};
    env_start_with(&e, "sigterm", stub_flags, actor_flags, NULL, true);
    proto_build_block_args_t a1 = build_args(), a2 = build_args();
    uint64_t first = peer_send(e.peer, "build_block", &a1);
    uint64_t queued = peer_send(e.peer, "build_block", &a2);
    struct timespec ts = {0, 300 * 1000000L};
    nanosleep(&ts, NULL); /* both have arrived: one runs, one waits */
    int64_t t0 = clock_mono_ms();
    ck_assert_int_eq(harness_proc_signal(e.actor, SIGTERM), 0);
    proto_reply_t r;
    ck_assert_int_eq(peer_recv(e.peer, &r, 1000), 0);
    ck_assert(r.has_id && r.id == queued && !r.ok && r.error == PROTO_SHUTTING_DOWN && r.retryable);
    ck_assert_int_lt(clock_mono_ms() - t0, 500);
    proto_reply_release(&r);
    uint64_t late = peer_send(e.peer, "ping", NULL);
    bool late_seen = false, first_seen = false;
    while (!(late_seen && first_seen)) {
        ck_assert_int_eq(peer_recv(e.peer, &r, 3000), 0);
        ck_assert(!r.ok && r.error == PROTO_SHUTTING_DOWN);
        late_seen |= r.id == late;
        first_seen |= r.id == first;
        proto_reply_release(&r);
    }
    int status = 0;
    ck_assert_int_eq(harness_proc_wait(e.actor, 2000 - (int) (clock_mono_ms() - t0), &status), 0);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    printf("SIGTERM with a build in flight: every request answered, exit 0 after %lld ms\n",
           (long long) (clock_mono_ms() - t0));
    env_stop(&e);
}
END_TEST

/*  VmRSS of pid in KiB, or -1. */
static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

/*  Reconnect storms: 6 waves of 1,000 peers connecting at once, each with
    a ping. Every ping is answered, and once the actor is idle its periodic
    sweep returns the memory the storm left with the allocator: its resident
    size comes back to within 16 MiB of what it was before. */
START_TEST(test_memory_returned_after_reconnect_storm)
{
    env_t e;
    const char *const actor_flags[] = {"--metrics-listen", "off", NULL};
    env_start_with(&e, "reconnect-storm", NULL, actor_flags, NULL, true);
    pid_t pid = harness_proc_pid(e.actor);
    void *ctx = zmq_ctx_new();
    zmq_ctx_set(ctx, ZMQ_MAX_SOCKETS, 1100);
    ck_assert_int_eq(peer_connect_wave(ctx, e.endpoint, 10), 10);
    long before = rss_kb(pid);
    long peak = before;
    for (int w = 0; w < 6; w++) {
        ck_assert_int_eq(peer_connect_wave(ctx, e.endpoint, 1000), 1000);
        long now = rss_kb(pid);
        peak = now > peak ? now : peak;
    }
    long idle = rss_kb(pid);
    int64_t t0 = clock_mono_ms();
    while (clock_mono_ms() - t0 < 15000 && idle - before > 16 * 1024) {
        struct timespec ts = {0, 250 * 1000000L};
        nanosleep(&ts, NULL);
        idle = rss_kb(pid);
    }
    printf("reconnect storm: RSS %ld KiB before, peak %ld, %ld once idle (after %lld ms)\n", before,
           peak, idle, (long long) (clock_mono_ms() - t0));
#ifndef ALYS_SANITIZED
    ck_assert_msg(idle - before <= 16 * 1024, "RSS stayed %ld KiB above its level before the storm",
                  idle - before);
#endif
    call_ok(e.peer, "ping", NULL, NULL); /* and it still serves */
    zmq_ctx_term(ctx);
    env_stop(&e);
}
END_TEST

/*  HTTP keep-alive: 200 reads through the actor reuse a handful of TCP
    connections at most. The block cache is off so that every read reaches
    the client. */
START_TEST(test_keep_alive)
{
    env_t e;
    const char *const actor_flags[] = {"--timeout-multiplier", "0.5", "--block-cache", "0", NULL};
    env_start_with(&e, "keep-alive", NULL, actor_flags, NULL, true);
    uint8_t g[32];
    genesis_hash(&e, g);
    int64_t conns_before = stub_proc_stat(e.stub, "connections");
    int64_t reqs_before = stub_proc_stat(e.stub, "http_requests");
    proto_get_block_args_t ga = by_hash(g);
    for (int i = 0; i < 200; i++)
        call_ok(e.peer, "get_block", &ga, NULL);
    int64_t conns = stub_proc_stat(e.stub, "connections");
    int64_t reqs = stub_proc_stat(e.stub, "http_requests");
    ck_assert_int_ge(reqs - reqs_before, 200);
    /* every stub_proc_stat opens a connection of its own, counted as soon as
       it is accepted: conns_before includes its own, then two more */
    int64_t during = conns - conns_before - 2;
    int64_t total = conns - 3;
    printf("keep-alive: the actor opened %lld connections during the reads, %lld in all\n",
           (long long) during, (long long) total);
    ck_assert_msg(during <= 2, "the reads opened %lld connections", (long long) during);
    ck_assert_msg(total <= 5, "the actor opened %lld connections in all", (long long) total);
    env_stop(&e);
}
END_TEST

int main(void)
{
    s_dir = harness_tmpdir("alys-faults-");
    if (!s_dir)
        return 1;
    snprintf(s_jwt, sizeof s_jwt, "%s/jwt.hex", s_dir);
    snprintf(s_wrong_jwt, sizeof s_wrong_jwt, "%s/wrong.hex", s_dir);
    if (jwt_file_write_fill(s_jwt, 0x20) != 0 || jwt_file_write_fill(s_wrong_jwt, 0x60) != 0) {
        fprintf(stderr, "cannot write the JWT secrets into %s\n", s_dir);
        return 1;
    }
    Suite *s = suite_create("faults");
    TCase *tc = tcase_create("stub execution client");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_peers_gauge_and_log_levels);
    tcase_add_test(tc, test_slow_forkchoice_times_out_and_ping_stays_fast);
    tcase_add_test(tc, test_http_401_is_auth_failed);
    tcase_add_test(tc, test_http_500_is_el_error);
    tcase_add_test(tc, test_malformed_json_is_el_error);
    tcase_add_test(tc, test_invalid_forkchoice);
    tcase_add_test(tc, test_rpc_error_carries_el_code);
    tcase_add_test(tc, test_new_payload_syncing);
    tcase_add_test(tc, test_new_payload_invalid);
    tcase_add_test(tc, test_null_payload_id);
    tcase_add_test(tc, test_killed_client_then_restarted);
    tcase_add_test(tc, test_keep_alive);
    tcase_add_test(tc, test_overloaded);
    tcase_add_test(tc, test_identical_reads_share_one_call);
    tcase_add_test(tc, test_connection_pool);
    tcase_add_test(tc, test_memory_returned_after_reconnect_storm);
    tcase_add_test(tc, test_sigterm_answers_everything);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    /* forked: a failed assertion in one test leaves no processes behind for
       the next (its children die with it, PR_SET_PDEATHSIG) */
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (failed || getenv("ALYS_KEEP_TEST_DIRS"))
        fprintf(stderr, "test files kept in %s\n", s_dir);
    else
        harness_rmrf(s_dir);
    free(s_dir);
    return failed ? 1 : 0;
}
