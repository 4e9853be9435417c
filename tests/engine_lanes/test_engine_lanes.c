/*  The engine's request lanes and idempotency, seen from outside: the actor
    runs in a thread of this test through its public API (engine_new,
    engine_run, engine_destroy), against the stub execution client served
    from this process with a log of every call it receives, and a DEALER
    peer speaks the wire protocol to it.

    What is asserted is order and counts, never durations: which reply comes
    before which, which execution-client calls overlapped, how many were
    made. The stub's delays only make the overlaps that a wrong lane would
    cause long enough to be seen (hundreds of milliseconds against a few
    milliseconds of work per request), so the suite holds under valgrind. */
#include <check.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actor_proc.h"
#include "clock.h"
#include "engine.h"
#include "harness.h"
#include "jwt_file.h"
#include "peer.h"
#include "peer_check.h"
#include "proto.h"
#include "stub_proc.h"
#include "stub_server.h"

/* generous: valgrind slows the actor and the stub many times over */
#define CALL_TIMEOUT_MS 30000
#define MAX_FAULTS 8

static char *s_dir;
static char s_jwt[512];
static uint64_t s_next_ts = 1000;

/*  One stub, one actor in its own thread on its own ipc endpoint, one peer.
    A test fills config and faults between env_init and env_start. */
typedef struct {
    char name[64];
    char endpoint[300];
    char url[64];
    engine_config_t config;
    stub_fault_t faults[MAX_FAULTS];
    size_t n_faults;
    stub_server_t *stub;
    engine_t *engine;
    pthread_t thread;
    bool running;
    int run_rc;
    peer_t *peer;
} env_t;

static void env_init(env_t *e, const char *name)
{
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    snprintf(e->endpoint, sizeof e->endpoint, "ipc://%s/%s.sock", s_dir, name);
    engine_config_defaults(&e->config);
    e->config.bind = e->endpoint;
    e->config.engine_url = e->url;
    e->config.rpc_url = e->url;
    e->config.jwt_secret_path = s_jwt;
    e->config.metrics_listen = NULL;
    /* the Engine API's timeouts, four times over: no call times out under
       valgrind, and the longest delay below stays well inside them */
    e->config.timeout_multiplier = 4.0;
    /* no health checks of the timer among the calls a test counts */
    e->config.health_interval_ms = 600000;
    e->config.shutdown_grace_ms = 10000;
}

/*  Adds a stub fault given as the stub's flag argument ("METHOD:VALUE"). */
static void env_fault(env_t *e, stub_fault_kind_t kind, const char *text)
{
    char err[160];
    ck_assert_uint_lt(e->n_faults, MAX_FAULTS);
    ck_assert_msg(stub_fault_parse(kind, text, &e->faults[e->n_faults], err, sizeof err) == 0,
                  "%s", err);
    e->n_faults++;
}

static void *engine_thread(void *arg)
{
    env_t *e = arg;
    e->run_rc = engine_run(e->engine);
    return NULL;
}

static bool stub_idle(env_t *e);

/*  Waits until the actor's start-up talk with the client is over: the
    client is named in status (the last step) and every call the stub has
    seen is answered. Calls a test counts or orders then are its own. */
static void env_wait_settled(env_t *e)
{
    const proto_schema_t *rs = proto_op_find("status")->result;
    int64_t deadline = clock_mono_ms() + CALL_TIMEOUT_MS;
    for (;;) {
        proto_status_result_t st = {0};
        peer_call_ok(e->peer, "status", NULL, &st, CALL_TIMEOUT_MS);
        bool named = st.el.has_client;
        proto_free(rs, &st);
        if (named && stub_idle(e))
            return;
        ck_assert_msg(clock_mono_ms() < deadline, "%s: the actor's start did not settle", e->name);
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/*  Starts the stub and the actor, connects the peer and waits until the
    actor knows the fork choice (mutations wait for that). */
static void env_start(env_t *e)
{
    char err[256];
    stub_config_t sc = {.jwt_secret_path = s_jwt, .faults = e->faults, .n_faults = e->n_faults,
                        .log_calls = true};
    e->stub = stub_server_new(&sc, err, sizeof err);
    ck_assert_msg(e->stub != NULL, "%s: stub: %s", e->name, err);
    snprintf(e->url, sizeof e->url, "http://127.0.0.1:%d", stub_server_port(e->stub));
    e->engine = engine_new(&e->config, err, sizeof err);
    ck_assert_msg(e->engine != NULL, "%s: engine_new: %s", e->name, err);
    ck_assert_int_eq(pthread_create(&e->thread, NULL, engine_thread, e), 0);
    e->running = true;
    e->peer = peer_new(e->endpoint, NULL);
    ck_assert_ptr_nonnull(e->peer);
    ck_assert_msg(actor_proc_wait_ready(e->peer, "synced", CALL_TIMEOUT_MS) == 0,
                  "%s: the actor did not learn the fork choice", e->name);
    env_wait_settled(e);
}

/*  SIGTERM to the actor's thread (its signalfd reads it: every thread of
    this process blocks the signal, see main). */
static void env_signal(env_t *e)
{
    ck_assert_int_eq(pthread_kill(e->thread, SIGTERM), 0);
}

/*  Waits for engine_run to return; returns its result. */
static int env_join(env_t *e)
{
    ck_assert(e->running);
    ck_assert_int_eq(pthread_join(e->thread, NULL), 0);
    e->running = false;
    return e->run_rc;
}

static void env_stop(env_t *e)
{
    if (e->running) {
        env_signal(e);
        ck_assert_int_eq(env_join(e), 0);
    }
    peer_destroy(&e->peer);
    engine_destroy(&e->engine);
    stub_server_destroy(&e->stub);
}

/* ------------------------------------------------------- the stub's log */

/*  The calls logged so far (the caller frees the array). */
static stub_call_t *calls_since(env_t *e, size_t mark, size_t *n)
{
    stub_call_t *out = calloc(STUB_CALL_LOG_MAX, sizeof *out);
    ck_assert_ptr_nonnull(out);
    *n = stub_server_calls(e->stub, mark, out, STUB_CALL_LOG_MAX);
    return out;
}

/*  Whether every call the stub has seen is answered. */
static bool stub_idle(env_t *e)
{
    size_t n;
    stub_call_t *c = calls_since(e, 0, &n);
    bool idle = true;
    for (size_t i = 0; i < n; i++)
        idle &= c[i].end != 0;
    free(c);
    return idle;
}

/*  The log's length now: later calls come after this mark. */
static size_t log_mark(env_t *e)
{
    size_t n;
    free(calls_since(e, 0, &n));
    return n;
}

/*  Whether a logged call is of a method starting with prefix and, when
    needle is not NULL, has it in its params. */
static bool call_is(const stub_call_t *c, const char *prefix, const char *needle)
{
    return strncmp(c->method, prefix, strlen(prefix)) == 0
           && (!needle || strstr(c->params, needle) != NULL);
}

static size_t count_calls(env_t *e, size_t mark, const char *prefix, const char *needle)
{
    size_t n, k = 0;
    stub_call_t *c = calls_since(e, mark, &n);
    for (size_t i = 0; i < n; i++)
        k += call_is(&c[i], prefix, needle);
    free(c);
    return k;
}

/*  The index (in c) of the only call matching prefix and needle; fails the
    test when there is none or more than one. */
static size_t only_call(const stub_call_t *c, size_t n, const char *prefix, const char *needle)
{
    size_t found = n, k = 0;
    for (size_t i = 0; i < n; i++)
        if (call_is(&c[i], prefix, needle)) {
            found = i;
            k++;
        }
    ck_assert_msg(k == 1, "%zu calls of %s with %s, expected one", k, prefix,
                  needle ? needle : "any params");
    return found;
}

/*  Waits until a call matching prefix and needle has arrived at the stub. */
static void wait_call(env_t *e, size_t mark, const char *prefix, const char *needle)
{
    int64_t deadline = clock_mono_ms() + CALL_TIMEOUT_MS;
    while (count_calls(e, mark, prefix, needle) == 0) {
        ck_assert_msg(clock_mono_ms() < deadline, "no call of %s with %s arrived", prefix,
                      needle ? needle : "any params");
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/*  The most calls of the selected ones (prefix, and needle when not NULL)
    that were in flight at the same time: a sweep over their begin and end
    events in the stub's order. */
static size_t max_overlap(const stub_call_t *c, size_t n, const char *prefix, const char *needle)
{
    size_t most = 0;
    for (size_t i = 0; i < n; i++) {
        if (!call_is(&c[i], prefix, needle))
            continue;
        ck_assert_msg(c[i].end != 0, "%s was never answered", c[i].method);
        /* calls in flight just after call i began */
        size_t k = 0;
        for (size_t j = 0; j < n; j++)
            if (call_is(&c[j], prefix, needle) && c[j].begin <= c[i].begin && c[j].end > c[i].begin)
                k++;
        if (k > most)
            most = k;
    }
    return most;
}

/*  Writes calls to stderr: what a failed assertion about them looked at. */
static void dump_calls(const char *why, const stub_call_t *c, size_t n)
{
    fprintf(stderr, "%s; the stub's calls (begin end method params):\n", why);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "  %4" PRIu64 " %4" PRIu64 " %s %.120s\n", c[i].begin, c[i].end,
                c[i].method, c[i].params);
}

/*  Asserts that at most `want` of the selected calls were in flight at
    once, and that many at some point. */
static void assert_overlap(const stub_call_t *c, size_t n, const char *prefix, size_t want)
{
    size_t got = max_overlap(c, n, prefix, NULL);
    if (got != want)
        dump_calls("unexpected overlap", c, n);
    ck_assert_msg(got == want, "%zu calls of '%s' were in flight at once, expected %zu", got,
                  prefix, want);
}

/* --------------------------------------------------------- peer helpers */

static void recv_reply(peer_t *peer, proto_reply_t *r)
{
    ck_assert_msg(peer_recv(peer, r, CALL_TIMEOUT_MS) == 0, "no reply within %d ms",
                  CALL_TIMEOUT_MS);
    ck_assert(r->has_id);
}

static void assert_ok(const proto_reply_t *r);

/*  Receives n ok replies and asserts they come in the order of ids. */
static void recv_ok_in_order(peer_t *peer, const uint64_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        proto_reply_t r;
        recv_reply(peer, &r);
        ck_assert_msg(r.id == ids[i], "reply %zu is for id %" PRIu64 ", expected %" PRIu64, i,
                      r.id, ids[i]);
        assert_ok(&r);
        proto_reply_release(&r);
    }
}

/*  Asserts that r is the error want, with the table's retryable flag. */
static void assert_err(const proto_reply_t *r, proto_err_t want)
{
    ck_assert_msg(!r->ok, "id %" PRIu64 ": expected %s, got ok", r->id, proto_err_name(want));
    ck_assert_msg(r->error == want, "id %" PRIu64 ": expected %s, got %s: %s", r->id,
                  proto_err_name(want), r->error_code, r->message ? r->message : "");
    ck_assert_int_eq(r->retryable, proto_err_retryable(want));
}

static void assert_ok(const proto_reply_t *r)
{
    ck_assert_msg(r->ok, "id %" PRIu64 ": %s: %s", r->id, r->error_code,
                  r->message ? r->message : "");
}

/*  Arguments of a build on the head at the next free timestamp; needle
    receives the timestamp as the Engine API carries it, which finds the
    build's forkchoiceUpdated in the stub's log. */
static proto_build_block_args_t build_args(char *needle, size_t needle_len)
{
    proto_build_block_args_t a = {.timestamp = s_next_ts};
    snprintf(needle, needle_len, "\"timestamp\":\"0x%" PRIx64 "\"", s_next_ts);
    s_next_ts += 2;
    return a;
}

/*  The payload id of a build_block reply. */
static void reply_payload_id(const proto_reply_t *r, uint8_t id[8])
{
    proto_build_block_result_t b = {0};
    ck_assert_int_eq(peer_result(r, "build_block", &b), 0);
    memcpy(id, b.payload_id, 8);
    proto_free(proto_op_find("build_block")->result, &b);
}

/*  A transaction hash that no block holds, and its hex in needle. */
static proto_tx_hash_args_t tx_args(uint8_t fill, char *needle, size_t needle_len)
{
    proto_tx_hash_args_t a;
    memset(a.tx_hash, fill, 32);
    char *p = needle;
    p += snprintf(p, needle_len, "0x");
    for (int i = 0; i < 32 && (size_t) (p - needle) + 3 <= needle_len; i++)
        p += sprintf(p, "%02x", fill);
    return a;
}

/* ------------------------------------------------------------------ tests */

/*  Three builds sent at once run one after the other in arrival order: the
    execution-client calls they make never overlap (each build waits for the
    answer to one call before it makes the next, so an overlap can only come
    from two builds running together), their forkchoiceUpdated calls come in
    the order of the requests, and so do the replies. */
START_TEST(test_mutations_run_one_at_a_time)
{
    env_t e;
    env_init(&e, "fifo");
    env_fault(&e, STUB_FAULT_DELAY, "engine_forkchoiceUpdated*:400");
    env_start(&e);
    size_t mark = log_mark(&e);
    enum { N = 3 };
    char needle[N][64];
    uint64_t ids[N];
    for (int i = 0; i < N; i++) {
        proto_build_block_args_t a = build_args(needle[i], sizeof needle[i]);
        ids[i] = peer_send(e.peer, "build_block", &a);
    }
    recv_ok_in_order(e.peer, ids, N);
    size_t n;
    stub_call_t *c = calls_since(&e, mark, &n);
    ck_assert_uint_ge(n, N);
    assert_overlap(c, n, "", 1);
    size_t prev = 0;
    for (int i = 0; i < N; i++) {
        size_t at = only_call(c, n, "engine_forkchoiceUpdated", needle[i]);
        if (i > 0) {
            ck_assert_msg(at > prev, "build %d's forkchoiceUpdated came before build %d's", i, i - 1);
            ck_assert_uint_gt(c[at].begin, c[prev].end);
        }
        prev = at;
    }
    free(c);
    env_stop(&e);
}
END_TEST

/*  Reads run together up to max_queries; the next ones wait and start as
    running ones finish; one past max_query_queue is
    refused OVERLOADED before any delayed read is answered. ping, outside
    both lanes, is answered while the reads are stuck. */
START_TEST(test_queries_run_together_up_to_bound)
{
    env_t e;
    env_init(&e, "queries");
    e.config.max_queries = 3;
    e.config.max_query_queue = 2;
    env_fault(&e, STUB_FAULT_DELAY, "eth_getTransactionReceipt:1000");
    env_start(&e);
    size_t mark = log_mark(&e);
    enum { N = 6 };
    char needle[N][80];
    uint64_t ids[N];
    for (int i = 0; i < N; i++) {
        proto_tx_hash_args_t a = tx_args((uint8_t) (0xa0 + i), needle[i], sizeof needle[i]);
        ids[i] = peer_send(e.peer, "get_transaction_receipt", &a);
    }
    uint64_t ping = peer_send(e.peer, "ping", NULL);
    proto_reply_t r;
    /* the refusal and the ping first, before any read was answered */
    recv_reply(e.peer, &r);
    ck_assert_uint_eq(r.id, ids[N - 1]);
    assert_err(&r, PROTO_OVERLOADED);
    proto_reply_release(&r);
    recv_reply(e.peer, &r);
    ck_assert_uint_eq(r.id, ping);
    assert_ok(&r);
    proto_reply_release(&r);
    bool seen[N] = {false};
    for (int i = 0; i < N - 1; i++) {
        recv_reply(e.peer, &r);
        assert_ok(&r);
        int k = 0;
        while (k < N - 1 && ids[k] != r.id)
            k++;
        ck_assert_msg(k < N - 1 && !seen[k], "unexpected reply id %" PRIu64, r.id);
        seen[k] = true;
        proto_receipt_result_t rec = {0};
        ck_assert_int_eq(peer_result(&r, "get_transaction_receipt", &rec), 0);
        proto_free(proto_op_find("get_transaction_receipt")->result, &rec);
        proto_reply_release(&r);
    }
    size_t n;
    stub_call_t *c = calls_since(&e, mark, &n);
    assert_overlap(c, n, "eth_getTransactionReceipt", 3);
    size_t at[N - 1];
    for (int i = 0; i < N - 1; i++)
        at[i] = only_call(c, n, "eth_getTransactionReceipt", needle[i]);
    ck_assert_uint_eq(count_calls(&e, mark, "eth_getTransactionReceipt", needle[N - 1]), 0);
    /* the waiting two started only once a running one had ended (which
       of them first is the HTTP connections' race: see the next test) */
    uint64_t first_end = c[at[0]].end;
    for (int i = 1; i < 3; i++)
        if (c[at[i]].end < first_end)
            first_end = c[at[i]].end;
    ck_assert_uint_gt(c[at[3]].begin, first_end);
    ck_assert_uint_gt(c[at[4]].begin, first_end);
    free(c);
    env_stop(&e);
}
END_TEST

/*  Waiting reads start in arrival order: with one query slot, each read
    reaches the client after the one sent before it was answered, and the
    replies come in the order of the requests. */
START_TEST(test_waiting_queries_start_in_arrival_order)
{
    env_t e;
    env_init(&e, "qfifo");
    e.config.max_queries = 1;
    env_fault(&e, STUB_FAULT_DELAY, "eth_getTransactionReceipt:300");
    env_start(&e);
    size_t mark = log_mark(&e);
    enum { N = 4 };
    char needle[N][80];
    uint64_t ids[N];
    for (int i = 0; i < N; i++) {
        proto_tx_hash_args_t a = tx_args((uint8_t) (0xd0 + i), needle[i], sizeof needle[i]);
        ids[i] = peer_send(e.peer, "get_transaction_receipt", &a);
    }
    recv_ok_in_order(e.peer, ids, N);
    size_t n;
    stub_call_t *c = calls_since(&e, mark, &n);
    size_t prev = only_call(c, n, "eth_getTransactionReceipt", needle[0]);
    for (int i = 1; i < N; i++) {
        size_t at = only_call(c, n, "eth_getTransactionReceipt", needle[i]);
        ck_assert_msg(c[at].begin > c[prev].end, "read %d reached the client before read %d "
                      "was answered", i, i - 1);
        prev = at;
    }
    free(c);
    env_stop(&e);
}
END_TEST

/*  One round of the byte-bound test: five reads with one query slot; the
    first runs, the next two wait, the last two pass the queue's memory
    bound and are refused at once, before any read is answered; the three
    admitted are answered in order and each reaches the client once. */
static void byte_bound_round(env_t *e, uint8_t fill)
{
    size_t mark = log_mark(e);
    enum { N = 5, ADMITTED = 3 };
    char needle[N][80];
    uint64_t ids[N];
    for (int i = 0; i < N; i++) {
        proto_tx_hash_args_t a = tx_args((uint8_t) (fill + i), needle[i], sizeof needle[i]);
        ids[i] = peer_send(e->peer, "get_transaction_receipt", &a);
    }
    proto_reply_t r;
    for (int i = ADMITTED; i < N; i++) {
        recv_reply(e->peer, &r);
        ck_assert_uint_eq(r.id, ids[i]);
        assert_err(&r, PROTO_OVERLOADED);
        proto_reply_release(&r);
    }
    recv_ok_in_order(e->peer, ids, ADMITTED);
    for (int i = 0; i < N; i++)
        ck_assert_uint_eq(count_calls(e, mark, "eth_getTransactionReceipt", needle[i]),
                          i < ADMITTED ? 1 : 0);
}

/*  The waiting reads are bounded by memory as well as by count: with room
    for two waiting reads' bytes (and a count bound far away), a third
    waiting read is refused. A second round admits exactly as many, so the
    bytes of answered reads were given back. */
START_TEST(test_query_queue_byte_bound)
{
    env_t e;
    env_init(&e, "qbytes");
    e.config.max_queries = 1;
    e.config.max_query_queue = 1000;
    /* each waiting read counts its body (under 100 bytes here) plus a
       fixed 1 KiB of bookkeeping: two fit, three do not */
    e.config.max_query_queue_bytes = 2 * 1024 + 400;
    env_fault(&e, STUB_FAULT_DELAY, "eth_getTransactionReceipt:300");
    env_start(&e);
    byte_bound_round(&e, 0x10);
    byte_bound_round(&e, 0x40);
    env_stop(&e);
}
END_TEST

/*  With every query slot taken by slow reads and more reads waiting, a
    build still runs at once: its reply comes before any read's, and its
    forkchoiceUpdated reaches the client while the reads are unanswered. */
START_TEST(test_mutation_not_blocked_by_queries)
{
    env_t e;
    env_init(&e, "mixed");
    e.config.max_queries = 2;
    env_fault(&e, STUB_FAULT_DELAY, "eth_getTransactionReceipt:3000");
    env_start(&e);
    size_t mark = log_mark(&e);
    char tx[4][80], build[64];
    for (int i = 0; i < 4; i++) {
        proto_tx_hash_args_t a = tx_args((uint8_t) (0xb0 + i), tx[i], sizeof tx[i]);
        peer_send(e.peer, "get_transaction_receipt", &a);
    }
    wait_call(&e, mark, "eth_getTransactionReceipt", tx[1]);
    proto_build_block_args_t ba = build_args(build, sizeof build);
    uint64_t id = peer_send(e.peer, "build_block", &ba);
    proto_reply_t r;
    recv_reply(e.peer, &r);
    ck_assert_msg(r.id == id, "a read was answered before the build");
    assert_ok(&r);
    proto_reply_release(&r);
    for (int i = 0; i < 4; i++) {
        recv_reply(e.peer, &r);
        assert_ok(&r);
        proto_reply_release(&r);
    }
    size_t n;
    stub_call_t *c = calls_since(&e, mark, &n);
    size_t fcu = only_call(c, n, "engine_forkchoiceUpdated", build);
    for (int i = 0; i < 2; i++)
        ck_assert_uint_lt(c[fcu].end, c[only_call(c, n, "eth_getTransactionReceipt", tx[i])].end);
    free(c);
    env_stop(&e);
}
END_TEST

/*  max_queue bounds the mutations waiting behind the running one: with one
    running and two waiting, a fourth is refused OVERLOADED at once (first
    reply) and never reaches the client. Being retryable, it is not kept:
    the same request sent again later runs. */
START_TEST(test_mutation_queue_bound)
{
    env_t e;
    env_init(&e, "mqueue");
    e.config.max_queue = 2;
    env_fault(&e, STUB_FAULT_DELAY, "engine_forkchoiceUpdated*:800");
    env_start(&e);
    size_t mark = log_mark(&e);
    enum { N = 4 };
    char needle[N][64];
    proto_build_block_args_t args[N];
    uint64_t ids[N];
    for (int i = 0; i < N; i++) {
        args[i] = build_args(needle[i], sizeof needle[i]);
        ids[i] = peer_send(e.peer, "build_block", &args[i]);
    }
    proto_reply_t r;
    recv_reply(e.peer, &r);
    ck_assert_uint_eq(r.id, ids[N - 1]);
    assert_err(&r, PROTO_OVERLOADED);
    proto_reply_release(&r);
    recv_ok_in_order(e.peer, ids, N - 1);
    for (int i = 0; i < N - 1; i++)
        ck_assert_uint_eq(count_calls(&e, mark, "engine_forkchoiceUpdated", needle[i]), 1);
    ck_assert_uint_eq(count_calls(&e, mark, "engine_forkchoiceUpdated", needle[N - 1]), 0);
    peer_send_id(e.peer, ids[N - 1], "build_block", &args[N - 1]);
    recv_reply(e.peer, &r);
    ck_assert_uint_eq(r.id, ids[N - 1]);
    assert_ok(&r);
    proto_reply_release(&r);
    ck_assert_uint_eq(count_calls(&e, mark, "engine_forkchoiceUpdated", needle[N - 1]), 1);
    env_stop(&e);
}
END_TEST

/*  One (peer, id, body) is one execution: a retry while the build runs
    joins it, a retry after it gets the stored reply; the client sees one
    forkchoiceUpdated and one getPayload, and every reply carries the same
    payload id (the stub numbers its builds, so a second execution would
    show). The same id with another body is BAD_REQUEST and reaches no
    client; the same id from another peer is another request. */
START_TEST(test_idempotent_retries)
{
    env_t e;
    env_init(&e, "idem");
    env_fault(&e, STUB_FAULT_DELAY, "engine_forkchoiceUpdated*:600");
    env_start(&e);
    size_t mark = log_mark(&e);
    peer_t *chain = peer_new(e.endpoint, "chain-1");
    peer_t *other = peer_new(e.endpoint, "chain-2");
    peer_t *third = peer_new(e.endpoint, "chain-3");
    ck_assert(chain && other && third);
    char needle[64], needle_b[64];
    proto_build_block_args_t a = build_args(needle, sizeof needle);
    proto_build_block_args_t b = build_args(needle_b, sizeof needle_b);
    const uint64_t id = 4242;

    peer_send_id(chain, id, "build_block", &a);
    wait_call(&e, mark, "engine_forkchoiceUpdated", needle);
    peer_send_id(chain, id, "build_block", &a); /* while the first runs */
    /* a peer's requests are handled in order: once ping is answered, the
       retry has been handled, and the build's forkchoiceUpdated is still
       unanswered, so the retry came while the build ran */
    peer_call_ok(chain, "ping", NULL, NULL, CALL_TIMEOUT_MS);
    size_t n;
    stub_call_t *c = calls_since(&e, mark, &n);
    ck_assert_uint_eq(c[only_call(c, n, "engine_forkchoiceUpdated", needle)].end, 0);
    free(c);
    uint8_t pid[3][8];
    for (int i = 0; i < 2; i++) {
        proto_reply_t r;
        recv_reply(chain, &r);
        ck_assert_uint_eq(r.id, id);
        assert_ok(&r);
        reply_payload_id(&r, pid[i]);
        proto_reply_release(&r);
    }
    ck_assert_mem_eq(pid[0], pid[1], 8);
    proto_reply_t r;
    peer_send_id(chain, id, "build_block", &a); /* after it finished */
    recv_reply(chain, &r);
    ck_assert_uint_eq(r.id, id);
    assert_ok(&r);
    reply_payload_id(&r, pid[2]);
    proto_reply_release(&r);
    ck_assert_mem_eq(pid[0], pid[2], 8);
    ck_assert_uint_eq(count_calls(&e, mark, "engine_forkchoiceUpdated", needle), 1);
    ck_assert_uint_eq(count_calls(&e, mark, "engine_getPayload", NULL), 1);

    peer_send_id(chain, id, "build_block", &b); /* same id, another request */
    recv_reply(chain, &r);
    ck_assert_uint_eq(r.id, id);
    assert_err(&r, PROTO_BAD_REQUEST);
    proto_reply_release(&r);
    ck_assert_uint_eq(count_calls(&e, mark, "engine_forkchoiceUpdated", needle_b), 0);

    /* another peer's 4242 is its own: a body unlike chain-1's is no reuse */
    peer_send_id(other, id, "build_block", &b);
    recv_reply(other, &r);
    ck_assert_uint_eq(r.id, id);
    assert_ok(&r);
    proto_reply_release(&r);
    ck_assert_uint_eq(count_calls(&e, mark, "engine_forkchoiceUpdated", needle_b), 1);
    /* and chain-1's very request from a third peer is not answered from
       chain-1's stored reply: it reaches the client */
    size_t mark3 = log_mark(&e);
    peer_send_id(third, id, "build_block", &a);
    recv_reply(third, &r);
    ck_assert_uint_eq(r.id, id);
    assert_ok(&r);
    proto_reply_release(&r);
    ck_assert_uint_ge(count_calls(&e, mark3, "engine_", NULL), 1);
    peer_destroy(&chain);
    peer_destroy(&other);
    peer_destroy(&third);
    env_stop(&e);
}
END_TEST

/*  Sends build_block with this id and args from peer, expects an ok reply
    for that id. */
static void build_with_id(peer_t *peer, uint64_t id, const proto_build_block_args_t *a)
{
    proto_reply_t r;
    peer_send_id(peer, id, "build_block", a);
    recv_reply(peer, &r);
    ck_assert_uint_eq(r.id, id);
    assert_ok(&r);
    proto_reply_release(&r);
}

/*  A stored reply lives for the window only: a retry within it is answered
    without the client, a retry after it runs the build again. */
START_TEST(test_idempotency_window_ends)
{
    env_t e;
    env_init(&e, "idem-ttl");
    /* long enough that a retry sent right after the reply is surely
       inside it, even under valgrind */
    e.config.retry_window_ms = 1500;
    env_start(&e);
    char needle[64];
    proto_build_block_args_t a = build_args(needle, sizeof needle);
    build_with_id(e.peer, 5001, &a);
    size_t mark = log_mark(&e);
    build_with_id(e.peer, 5001, &a);
    ck_assert_uint_eq(count_calls(&e, mark, "", NULL), 0);
    struct timespec ts = {2, 0};
    nanosleep(&ts, NULL);
    build_with_id(e.peer, 5001, &a);
    /* a build again (the payload cache may spare it the forkchoiceUpdated,
       not the getPayload) */
    ck_assert_uint_ge(count_calls(&e, mark, "engine_", NULL), 1);
    env_stop(&e);
}
END_TEST

/*  The stored replies are bounded in number: past retry_store_max the
    oldest finished ones are dropped (a retry of one of them runs again, as
    after a restart) while the newest are still answered from the store. */
START_TEST(test_idempotency_store_bounded)
{
    env_t e;
    env_init(&e, "idem-cap");
    e.config.retry_store_max = 10;
    env_start(&e);
    enum { N = 12 };
    char needle[N][64];
    proto_build_block_args_t a[N];
    for (int i = 0; i < N; i++) {
        a[i] = build_args(needle[i], sizeof needle[i]);
        build_with_id(e.peer, 6000 + (uint64_t) i, &a[i]);
    }
    /* the newest first: each of these retries is answered from the store */
    size_t mark = log_mark(&e);
    for (int i = N - 1; i >= N - 3; i--)
        build_with_id(e.peer, 6000 + (uint64_t) i, &a[i]);
    ck_assert_uint_eq(count_calls(&e, mark, "", NULL), 0);
    /* the oldest was dropped to make room: it reaches the client again */
    build_with_id(e.peer, 6000, &a[0]);
    ck_assert_uint_ge(count_calls(&e, mark, "engine_", NULL), 1);
    env_stop(&e);
}
END_TEST

/*  Only final outcomes are kept for retries: a commit that ended with
    EL_SYNCING (retryable) runs again when retried, while a finalize that
    ended BLOCK_NOT_FOUND (final) is answered again from the stored reply
    without asking the client. */
START_TEST(test_retry_after_retryable_error_runs_again)
{
    env_t e;
    env_init(&e, "idem-err");
    env_fault(&e, STUB_FAULT_STATUS, "engine_newPayload*:SYNCING");
    env_start(&e);
    size_t mark = log_mark(&e);
    char needle[64];
    proto_build_block_args_t a = build_args(needle, sizeof needle);
    proto_build_block_result_t built = {0};
    peer_call_ok(e.peer, "build_block", &a, &built, CALL_TIMEOUT_MS);
    proto_payload_args_t commit = {.payload = built.payload};
    for (int i = 0; i < 2; i++) {
        peer_send_id(e.peer, 7001, "commit_block", &commit);
        proto_reply_t r;
        recv_reply(e.peer, &r);
        ck_assert_uint_eq(r.id, 7001);
        assert_err(&r, PROTO_EL_SYNCING);
        proto_reply_release(&r);
        ck_assert_uint_eq(count_calls(&e, mark, "engine_newPayload", NULL), (size_t) i + 1);
    }
    proto_free(proto_op_find("build_block")->result, &built);

    proto_block_hash_t unknown;
    memset(unknown.block_hash, 0x5e, 32);
    const char *hash_hex = "0x5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";
    /* however many calls the actor makes to look the block up, it makes
       them for the first request only */
    size_t asked = 0;
    for (int i = 0; i < 3; i++) {
        peer_send_id(e.peer, 7002, "finalize_block", &unknown);
        proto_reply_t r;
        recv_reply(e.peer, &r);
        ck_assert_uint_eq(r.id, 7002);
        assert_err(&r, PROTO_BLOCK_NOT_FOUND);
        proto_reply_release(&r);
        if (i == 0)
            asked = count_calls(&e, mark, "", hash_hex);
        ck_assert_uint_ge(asked, 1);
        ck_assert_uint_eq(count_calls(&e, mark, "", hash_hex), asked);
    }
    env_stop(&e);
}
END_TEST

/*  A request that fails validation is answered at once, even while a
    mutation runs (it never enters a lane), makes no client call, and the
    actor goes on serving: the running build and a later one succeed. */
START_TEST(test_bad_requests_answered_at_once)
{
    env_t e;
    env_init(&e, "badreq");
    env_fault(&e, STUB_FAULT_DELAY, "engine_forkchoiceUpdated*:1500");
    env_start(&e);
    size_t mark = log_mark(&e);
    char needle[64];
    proto_build_block_args_t a = build_args(needle, sizeof needle);
    uint64_t build = peer_send(e.peer, "build_block", &a);
    wait_call(&e, mark, "engine_forkchoiceUpdated", needle);

    peer_send_id(e.peer, 11, "no_such_op", NULL);
    peer_send_id(e.peer, 12, "build_block", NULL); /* no args: timestamp missing */
    proto_writer_t w;
    proto_writer_init(&w);
    proto_request_begin(&w.pk, 13, "build_block", true);
    msgpack_pack_map(&w.pk, 1);
    proto_pack_str(&w.pk, "timestamp");
    proto_pack_str(&w.pk, "soon");
    peer_send_raw(e.peer, w.sbuf.data, w.sbuf.size, true);
    proto_writer_reset(&w);
    proto_request_begin(&w.pk, 14, "get_block", true);
    msgpack_pack_map(&w.pk, 1);
    proto_pack_str(&w.pk, "block");
    proto_pack_bin(&w.pk, "short", 5); /* a hash must be 32 bytes */
    peer_send_raw(e.peer, w.sbuf.data, w.sbuf.size, true);
    proto_writer_release(&w);

    const struct {
        uint64_t id;
        proto_err_t err;
        const char *in_message;
    } want[] = {
        {11, PROTO_UNKNOWN_OP, "no_such_op"},
        {12, PROTO_BAD_REQUEST, "timestamp"},
        {13, PROTO_BAD_REQUEST, "timestamp"},
        {14, PROTO_BAD_REQUEST, "block"},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        proto_reply_t r;
        recv_reply(e.peer, &r);
        ck_assert_msg(r.id == want[i].id, "reply for id %" PRIu64 " where %" PRIu64
                      " was expected (the build must come last)", r.id, want[i].id);
        assert_err(&r, want[i].err);
        ck_assert_msg(r.message && strstr(r.message, want[i].in_message), "id %" PRIu64 ": '%s'",
                      r.id, r.message ? r.message : "");
        proto_reply_release(&r);
    }
    proto_reply_t r;
    recv_reply(e.peer, &r);
    ck_assert_uint_eq(r.id, build);
    assert_ok(&r);
    proto_reply_release(&r);
    /* the build's calls only */
    size_t n;
    stub_call_t *c = calls_since(&e, mark, &n);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(strstr(c[i].params, "short") == NULL && strstr(c[i].params, "soon") == NULL,
                      "a refused request reached the client: %s %s", c[i].method, c[i].params);
    free(c);
    ck_assert_uint_eq(count_calls(&e, mark, "engine_forkchoiceUpdated", NULL), 1);
    proto_build_block_args_t a2 = build_args(needle, sizeof needle);
    peer_call_ok(e.peer, "build_block", &a2, NULL, CALL_TIMEOUT_MS);
    env_stop(&e);
}
END_TEST

/*  SIGTERM with one build running and one queued, one read running and one
    waiting: the queued build and the waiting read are answered
    SHUTTING_DOWN at once (before the running ones) and never reach the
    client, so do requests that come after the signal; the running build
    and read finish within the grace period with their real answers, and
    engine_run returns 0. */
START_TEST(test_sigterm_drains_both_lanes)
{
    env_t e;
    env_init(&e, "sigterm");
    e.config.max_queries = 1;
    env_fault(&e, STUB_FAULT_DELAY, "engine_forkchoiceUpdated*:1500");
    env_fault(&e, STUB_FAULT_DELAY, "eth_getTransactionReceipt:1500");
    env_start(&e);
    size_t mark = log_mark(&e);
    char b1[64], b2[64], q1[80], q2[80];
    proto_build_block_args_t a1 = build_args(b1, sizeof b1), a2 = build_args(b2, sizeof b2);
    proto_tx_hash_args_t t1 = tx_args(0xc1, q1, sizeof q1), t2 = tx_args(0xc2, q2, sizeof q2);
    uint64_t running_build = peer_send(e.peer, "build_block", &a1);
    uint64_t queued_build = peer_send(e.peer, "build_block", &a2);
    uint64_t running_read = peer_send(e.peer, "get_transaction_receipt", &t1);
    uint64_t waiting_read = peer_send(e.peer, "get_transaction_receipt", &t2);
    wait_call(&e, mark, "engine_forkchoiceUpdated", b1);
    wait_call(&e, mark, "eth_getTransactionReceipt", q1);
    /* both later requests have arrived: ping is answered after them */
    peer_call_ok(e.peer, "ping", NULL, NULL, CALL_TIMEOUT_MS);
    env_signal(&e);

    bool queued_seen = false, waiting_seen = false;
    for (int i = 0; i < 2; i++) {
        proto_reply_t r;
        recv_reply(e.peer, &r);
        ck_assert_msg(r.id == queued_build || r.id == waiting_read,
                      "id %" PRIu64 " was answered before the queued requests", r.id);
        assert_err(&r, PROTO_SHUTTING_DOWN);
        queued_seen |= r.id == queued_build;
        waiting_seen |= r.id == waiting_read;
        proto_reply_release(&r);
    }
    ck_assert(queued_seen && waiting_seen);
    /* new requests of every kind after the signal */
    char b3[64];
    proto_build_block_args_t a3 = build_args(b3, sizeof b3);
    uint64_t late_build = peer_send(e.peer, "build_block", &a3);
    uint64_t late_ping = peer_send(e.peer, "ping", NULL);
    bool build_done = false, read_done = false, late_build_seen = false, late_ping_seen = false;
    for (int i = 0; i < 4; i++) {
        proto_reply_t r;
        recv_reply(e.peer, &r);
        if (r.id == running_build || r.id == running_read) {
            assert_ok(&r);
            build_done |= r.id == running_build;
            read_done |= r.id == running_read;
        } else {
            ck_assert_msg(r.id == late_build || r.id == late_ping, "unexpected id %" PRIu64, r.id);
            assert_err(&r, PROTO_SHUTTING_DOWN);
            late_build_seen |= r.id == late_build;
            late_ping_seen |= r.id == late_ping;
        }
        proto_reply_release(&r);
    }
    ck_assert(build_done && read_done && late_build_seen && late_ping_seen);
    ck_assert_int_eq(env_join(&e), 0);
    ck_assert_uint_eq(count_calls(&e, mark, "engine_forkchoiceUpdated", b2), 0);
    ck_assert_uint_eq(count_calls(&e, mark, "engine_forkchoiceUpdated", b3), 0);
    ck_assert_uint_eq(count_calls(&e, mark, "eth_getTransactionReceipt", q2), 0);
    /* the running build went all the way: its payload was fetched */
    ck_assert_uint_eq(count_calls(&e, mark, "engine_getPayload", NULL), 1);
    env_stop(&e);
}
END_TEST

int main(void)
{
    /* Blocked before any thread starts, so every thread inherits the mask:
       a SIGTERM aimed at the actor's thread waits for its signalfd, and
       none ends the test. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    s_dir = harness_tmpdir("alys-lanes-");
    if (!s_dir)
        return 1;
    snprintf(s_jwt, sizeof s_jwt, "%s/jwt.hex", s_dir);
    if (jwt_file_write_fill(s_jwt, 0x31) != 0) {
        fprintf(stderr, "cannot write the JWT secret into %s\n", s_dir);
        return 1;
    }
    Suite *s = suite_create("engine_lanes");
    TCase *tc = tcase_create("lanes and idempotency");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_mutations_run_one_at_a_time);
    tcase_add_test(tc, test_queries_run_together_up_to_bound);
    tcase_add_test(tc, test_waiting_queries_start_in_arrival_order);
    tcase_add_test(tc, test_query_queue_byte_bound);
    tcase_add_test(tc, test_mutation_not_blocked_by_queries);
    tcase_add_test(tc, test_mutation_queue_bound);
    tcase_add_test(tc, test_idempotent_retries);
    tcase_add_test(tc, test_idempotency_window_ends);
    tcase_add_test(tc, test_idempotency_store_bounded);
    tcase_add_test(tc, test_retry_after_retryable_error_runs_again);
    tcase_add_test(tc, test_bad_requests_answered_at_once);
    tcase_add_test(tc, test_sigterm_drains_both_lanes);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
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
