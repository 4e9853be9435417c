/*  el_client: answer classification (single and batch); the bounds on
    answer sizes, per answer and in total, against a tiny HTTP server in a
    thread of this test; and calls, batches, the JWT, HTTP and JSON-RPC
    errors, timeouts, refused connections, the connection pool's order,
    abort and destroy against the stub execution client in-process. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "el_client.h"
#include "jwt_file.h"
#include "stub_server.h"

/* ---------------------------------------------------------- classification */

static el_response_t classify(const char *body, uint64_t rpc_id, size_t batch_n, bool lenient,
                              json_t **doc)
{
    el_response_t resp = {0};
    el_answer_t a = {.body = body, .len = strlen(body), .method = "m", .rpc_id = rpc_id,
                     .batch_n = batch_n, .lenient = lenient};
    *doc = NULL;
    el_classify_answer(&a, &resp, doc);
    return resp;
}

START_TEST(test_single_answers)
{
    json_t *doc;
    el_response_t r = classify("{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":\"0x1\"}", 5, 0, false, &doc);
    ck_assert_int_eq(r.err, PROTO_OK);
    ck_assert_str_eq(json_string_value(r.result), "0x1");
    json_decref(doc);
    r = classify("{\"id\":6,\"result\":\"0x1\"}", 5, 0, false, &doc);
    ck_assert_int_eq(r.err, PROTO_EL_ERROR);
    ck_assert_ptr_nonnull(strstr(r.message, "id does not match"));
    json_decref(doc);
    /* a duplicated key is refused, whichever value would have won */
    r = classify("{\"id\":5,\"result\":{\"a\":1},\"result\":{\"a\":2}}", 5, 0, false, &doc);
    ck_assert_int_eq(r.err, PROTO_EL_ERROR);
    ck_assert_ptr_nonnull(strstr(r.message, "malformed JSON"));
    json_decref(doc);
    r = classify("{\"id\":5,\"result\":{\"executionPayload\":{},\"executionPayload\":{}}}", 5, 0,
                 false, &doc);
    ck_assert_int_eq(r.err, PROTO_EL_ERROR);
    json_decref(doc);
    r = classify("{\"id\":5,\"error\":{\"code\":-38001,\"message\":\"nope\"}}", 5, 0, false, &doc);
    ck_assert_int_eq(r.err, PROTO_EL_ERROR);
    ck_assert(r.has_el_code);
    ck_assert_int_eq(r.el_code, -38001);
    json_decref(doc);
    r = classify("[1]", 5, 0, false, &doc);
    ck_assert_int_eq(r.err, PROTO_EL_ERROR);
    json_decref(doc);
}
END_TEST

START_TEST(test_batch_answers)
{
    json_t *doc;
    /* out of order is fine: results come back in call order */
    el_response_t r = classify("[{\"id\":11,\"result\":\"b\"},{\"id\":10,\"result\":\"a\"}]", 10, 2,
                               false, &doc);
    ck_assert_int_eq(r.err, PROTO_OK);
    ck_assert_str_eq(json_string_value(json_array_get(r.result, 0)), "a");
    ck_assert_str_eq(json_string_value(json_array_get(r.result, 1)), "b");
    json_decref(doc);
    /* a duplicated id (and so a missing one) is an error, lenient or not */
    const char *dup = "[{\"id\":10,\"result\":\"a\"},{\"id\":10,\"result\":\"a\"}]";
    r = classify(dup, 10, 2, false, &doc);
    ck_assert_int_eq(r.err, PROTO_EL_ERROR);
    ck_assert_ptr_nonnull(strstr(r.message, "do not match"));
    json_decref(doc);
    r = classify(dup, 10, 2, true, &doc);
    ck_assert_int_eq(r.err, PROTO_EL_ERROR);
    json_decref(doc);
    const char *dup_err = "[{\"id\":10,\"error\":{\"code\":1,\"message\":\"x\"}},"
                          "{\"id\":10,\"error\":{\"code\":1,\"message\":\"x\"}}]";
    r = classify(dup_err, 10, 2, true, &doc);
    ck_assert_int_eq(r.err, PROTO_EL_ERROR);
    json_decref(doc);
    /* an id outside the batch, no id, too few or too many members */
    r = classify("[{\"id\":10,\"result\":1},{\"id\":12,\"result\":2}]", 10, 2, false, &doc);
    ck_assert_int_eq(r.err, PROTO_EL_ERROR);
    json_decref(doc);
    r = classify("[{\"id\":10,\"result\":1},{\"result\":2}]", 10, 2, false, &doc);
    ck_assert_int_eq(r.err, PROTO_EL_ERROR);
    json_decref(doc);
    r = classify("[{\"id\":10,\"result\":1}]", 10, 2, false, &doc);
    ck_assert_int_eq(r.err, PROTO_EL_ERROR);
    json_decref(doc);
    /* lenient: a member's error leaves null, its error is kept */
    r = classify("[{\"id\":10,\"result\":1},{\"id\":11,\"error\":{\"code\":3,\"message\":\"m\"}}]",
                 10, 2, true, &doc);
    ck_assert_int_eq(r.err, PROTO_OK);
    ck_assert(json_is_null(json_array_get(r.result, 1)));
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(r.member_errors, 1), "code")), 3);
    json_decref(doc);
}
END_TEST

/* ------------------------------------------------------ a tiny HTTP server */

typedef struct {
    size_t body_size;      /* bytes of the result string */
    bool content_length;   /* announce the size, or stream until close */
    int stall_ms;          /* pause after the first bytes of the body */
} answer_plan_t;

static answer_plan_t s_plan;
static int s_listen_fd = -1;
static int s_port;

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t) w;
    }
}

/*  Reads one request, answers it with a result string of the planned size
    and the request's id, closes. */
static void *serve_one(void *arg)
{
    int fd = (int) (intptr_t) arg;
    char req[65536];
    size_t n = 0;
    ssize_t got;
    while (n < sizeof req - 1 && (got = read(fd, req + n, sizeof req - 1 - n)) > 0) {
        n += (size_t) got;
        req[n] = '\0';
        char *end = strstr(req, "\r\n\r\n");
        char *cl = strcasestr(req, "content-length:");
        if (end && cl && n >= (size_t) (end + 4 - req) + strtoul(cl + 15, NULL, 10))
            break;
    }
    req[n] = '\0';
    const char *idp = strstr(req, "\"id\":");
    long id = idp ? strtol(idp + 5, NULL, 10) : 0;
    char head[128];
    int head_len = snprintf(head, sizeof head, "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"result\":\"", id);
    size_t total = (size_t) head_len + s_plan.body_size + 2;
    char *body = malloc(total);
    memcpy(body, head, (size_t) head_len);
    memset(body + head_len, 'a', s_plan.body_size);
    memcpy(body + head_len + s_plan.body_size, "\"}", 2);
    char hdr[256];
    int hl = s_plan.content_length
                 ? snprintf(hdr, sizeof hdr, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                             "Content-Length: %zu\r\nConnection: close\r\n\r\n", total)
                 : snprintf(hdr, sizeof hdr, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                             "Connection: close\r\n\r\n");
    write_all(fd, hdr, (size_t) hl);
    size_t first = total < 1000 ? total : 1000;
    write_all(fd, body, first);
    if (s_plan.stall_ms)
        usleep((useconds_t) s_plan.stall_ms * 1000);
    write_all(fd, body + first, total - first);
    free(body);
    shutdown(fd, SHUT_WR);
    usleep(20000);
    close(fd);
    return NULL;
}

static void *accept_loop(void *arg)
{
    (void) arg;
    for (;;) {
        int fd = accept(s_listen_fd, NULL, NULL);
        if (fd < 0)
            return NULL;
        pthread_t t;
        pthread_create(&t, NULL, serve_one, (void *) (intptr_t) fd);
        pthread_detach(t);
    }
}

static int start_server(void)
{
    s_listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (s_listen_fd < 0 || bind(s_listen_fd, (struct sockaddr *) &a, sizeof a) != 0
        || listen(s_listen_fd, 16) != 0)
        return -1;
    socklen_t len = sizeof a;
    getsockname(s_listen_fd, (struct sockaddr *) &a, &len);
    s_port = ntohs(a.sin_port);
    pthread_t t;
    if (pthread_create(&t, NULL, accept_loop, NULL) != 0)
        return -1;
    pthread_detach(t);
    return 0;
}

/* -------------------------------------------------------- calls and caps */

typedef struct {
    int done;
    int want;
    proto_err_t err[4];
    size_t result_len[4];
    char message[4][256];
} outcome_t;

static void on_answer(void *ctx, el_response_t *resp)
{
    outcome_t *o = ctx;
    int i = o->done++;
    o->err[i] = resp->err;
    o->result_len[i] = resp->result ? strlen(json_string_value(resp->result)) : 0;
    snprintf(o->message[i], sizeof o->message[i], "%s", resp->message);
}

static int on_check(zloop_t *loop, int timer_id, void *arg)
{
    outcome_t *o = arg;
    return o->done >= o->want ? -1 : 0;
}

/*  Runs `calls` concurrent eth_chainId calls through a client with the
    given caps until all completed (or 10 s). */
static void run_calls(size_t max_response, size_t max_buffered, int calls, outcome_t *o)
{
    memset(o, 0, sizeof *o);
    o->want = calls;
    zloop_t *loop = zloop_new();
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", s_port);
    el_client_config_t cfg = {.engine_url = url, .rpc_url = url, .timeout_multiplier = 10,
                              .max_response = max_response, .max_buffered = max_buffered};
    el_client_t *el = el_client_new(loop, &cfg);
    ck_assert_ptr_nonnull(el);
    for (int i = 0; i < calls; i++)
        ck_assert_int_eq(el_client_call(el, EL_RPC, "eth_chainId", NULL, on_answer, o), 0);
    zloop_timer(loop, 5, 0, on_check, o);
    int id = zloop_timer(loop, 10000, 1, on_check, o);
    (void) id;
    zloop_start(loop);
    ck_assert_int_eq(o->done, calls);
    /* every call went out, and each failure was counted once */
    el_client_stats_t st;
    el_client_stats(el, &st);
    ck_assert_uint_eq(st.calls, (uint64_t) calls);
    uint64_t failed = 0;
    for (int i = 0; i < calls; i++)
        failed += o->err[i] != PROTO_OK;
    ck_assert_uint_eq(st.failures, failed);
    ck_assert_uint_eq(el_client_waiting(el), 0);
    el_client_destroy(&el);
    zloop_destroy(&loop);
}

START_TEST(test_answer_cap)
{
    outcome_t o;
    /* announced over the cap: refused before a byte is kept */
    s_plan = (answer_plan_t){.body_size = 300000, .content_length = true};
    run_calls(200000, 0, 1, &o);
    ck_assert_int_eq(o.err[0], PROTO_EL_ERROR);
    ck_assert_msg(strstr(o.message[0], "exceeds 200000 bytes"), "%s", o.message[0]);
    /* not announced: grows and fails at the cap */
    s_plan = (answer_plan_t){.body_size = 300000, .content_length = false};
    run_calls(200000, 0, 1, &o);
    ck_assert_int_eq(o.err[0], PROTO_EL_ERROR);
    ck_assert_msg(strstr(o.message[0], "exceeds 200000 bytes"), "%s", o.message[0]);
    /* under the cap, both ways */
    s_plan = (answer_plan_t){.body_size = 150000, .content_length = false};
    run_calls(200000, 0, 1, &o);
    ck_assert_int_eq(o.err[0], PROTO_OK);
    ck_assert_uint_eq(o.result_len[0], 150000);
    s_plan = (answer_plan_t){.body_size = 199000, .content_length = true};
    run_calls(200000, 0, 1, &o);
    ck_assert_int_eq(o.err[0], PROTO_OK);
    ck_assert_uint_eq(o.result_len[0], 199000);
}
END_TEST

START_TEST(test_total_cap)
{
    outcome_t o;
    /* two answers of 600 kB in flight at once against 1 MB in total: the
       second to reserve its buffer fails, retryable; the first is served */
    s_plan = (answer_plan_t){.body_size = 600000, .content_length = true, .stall_ms = 1000};
    run_calls(1000000, 1000000, 2, &o);
    int ok = (o.err[0] == PROTO_OK) + (o.err[1] == PROTO_OK);
    ck_assert_int_eq(ok, 1);
    int failed = o.err[0] == PROTO_OK ? 1 : 0;
    ck_assert_int_eq(o.err[failed], PROTO_EL_UNAVAILABLE);
    ck_assert_msg(strstr(o.message[failed], "in total"), "%s", o.message[failed]);
    ck_assert_uint_eq(o.result_len[1 - failed], 600000);
    /* one at a time, the same budget serves both: nothing stays reserved */
    s_plan = (answer_plan_t){.body_size = 600000, .content_length = true};
    run_calls(1000000, 1000000, 1, &o);
    ck_assert_int_eq(o.err[0], PROTO_OK);
    run_calls(1000000, 1000000, 1, &o);
    ck_assert_int_eq(o.err[0], PROTO_OK);
}
END_TEST


/* ------------------------------------------- against the stub execution client */

static char s_dir[64];
static char s_secret[128]; /* the stub's secret */
static char s_wrong[128];  /* another one */

/*  One call's outcome, copied out of the callback (its result is borrowed). */
typedef struct record record_t;
typedef struct {
    record_t *rec;
    const char *tag;
    bool done;
    int order;
    proto_err_t err;
    long http;
    bool has_code;
    int64_t code;
    char msg[256];
    json_t *result;
    json_t *member_errors;
    int64_t latency_us;
    el_endpoint_t endpoint;
    size_t body_len;
} slot_t;

struct record {
    int want, done;
    int observed;
    char last_observed[64];
    el_client_t *el; /* for callbacks that look at the client */
    size_t waiting_seen; /* el_client_waiting() in the first callback */
};

static void on_slot(void *ctx, el_response_t *resp)
{
    slot_t *s = ctx;
    ck_assert_msg(!s->done, "%s completed twice", s->tag);
    s->done = true;
    if (s->rec->done == 0 && s->rec->el)
        s->rec->waiting_seen = el_client_waiting(s->rec->el);
    s->order = s->rec->done++;
    s->err = resp->err;
    s->http = resp->http_status;
    s->has_code = resp->has_el_code;
    s->code = resp->el_code;
    snprintf(s->msg, sizeof s->msg, "%s", resp->message);
    s->result = resp->result ? json_deep_copy(resp->result) : NULL;
    s->member_errors = resp->member_errors ? json_deep_copy(resp->member_errors) : NULL;
    s->latency_us = resp->latency_us;
    s->endpoint = resp->endpoint;
    s->body_len = resp->body_len;
}

static void on_observe(void *ctx, const char *method, const el_response_t *resp)
{
    record_t *r = ctx;
    r->observed++;
    snprintf(r->last_observed, sizeof r->last_observed, "%s", method);
}

static void slot_release(slot_t *s)
{
    json_decref(s->result);
    json_decref(s->member_errors);
    s->result = s->member_errors = NULL;
}

static int on_record_check(zloop_t *loop, int timer_id, void *arg)
{
    record_t *r = arg;
    return r->done >= r->want ? -1 : 0;
}

static int on_timeout(zloop_t *loop, int timer_id, void *arg) { return -1; }

/*  Runs the loop until rec->want calls completed, or 10 s. */
static void run_until(zloop_t *loop, record_t *rec)
{
    int a = zloop_timer(loop, 2, 0, on_record_check, rec);
    int b = zloop_timer(loop, 10000, 1, on_timeout, NULL);
    zloop_start(loop);
    zloop_timer_end(loop, a);
    zloop_timer_end(loop, b);
    ck_assert_int_eq(rec->done, rec->want);
}

static stub_server_t *stub_start(const stub_fault_t *faults, size_t n, char *url, size_t url_len)
{
    stub_config_t cfg = {.jwt_secret_path = s_secret, .faults = faults, .n_faults = n,
                         .genesis_time = 1700000000};
    char err[256] = "";
    stub_server_t *stub = stub_server_new(&cfg, err, sizeof err);
    ck_assert_msg(stub != NULL, "stub: %s", err);
    snprintf(url, url_len, "http://127.0.0.1:%d", stub_server_port(stub));
    return stub;
}

static stub_fault_t fault(stub_fault_kind_t kind, const char *spec)
{
    stub_fault_t f;
    char err[128];
    ck_assert_msg(stub_fault_parse(kind, spec, &f, err, sizeof err) == 0, "%s", err);
    return f;
}

/*  A client of url (both endpoints) signing with the secret at jwt_path
    (NULL: no Authorization header at all). */
static el_client_t *client_new(zloop_t *loop, const char *url, const char *jwt_path,
                               jwt_auth_t **jwt, double multiplier, size_t max_response,
                               size_t max_connections)
{
    *jwt = NULL;
    if (jwt_path) {
        char err[256];
        *jwt = jwt_auth_new(jwt_path, err, sizeof err);
        ck_assert_msg(*jwt != NULL, "%s", err);
    }
    el_client_config_t cfg = {.engine_url = url, .rpc_url = url, .jwt = *jwt,
                              .timeout_multiplier = multiplier, .max_response = max_response,
                              .max_connections = max_connections};
    el_client_t *el = el_client_new(loop, &cfg);
    ck_assert_ptr_nonnull(el);
    return el;
}

static json_t *pair(const char *method, json_t *params)
{
    return json_pack("[s,o]", method, params ? params : json_array());
}

START_TEST(test_stub_calls_and_batches)
{
    char url[64];
    stub_server_t *stub = stub_start(NULL, 0, url, sizeof url);
    zloop_t *loop = zloop_new();
    jwt_auth_t *jwt;
    el_client_t *el = client_new(loop, url, s_secret, &jwt, 1, 0, 0);
    ck_assert_str_eq(el_client_url(el, EL_ENGINE), url);
    record_t rec = {0};
    el_client_set_observer(el, on_observe, &rec);

    /* one call at a time, so that each reuses the one kept-alive connection */
    slot_t chain = {.rec = &rec, .tag = "chainId"};
    ck_assert_int_eq(el_client_call(el, EL_RPC, "eth_chainId", NULL, on_slot, &chain), 0);
    ck_assert(!chain.done); /* never completes from inside the call */
    rec.want = 1;
    run_until(loop, &rec);
    ck_assert_int_eq(chain.err, PROTO_OK);
    ck_assert_int_eq(chain.http, 200);
    ck_assert_str_eq(json_string_value(chain.result), "0x405d2");
    ck_assert_int_eq(chain.endpoint, EL_RPC);
    ck_assert_uint_gt(chain.body_len, 0);
    ck_assert_int_gt(chain.latency_us, 0);
    ck_assert_int_eq(rec.observed, 1);
    ck_assert_str_eq(rec.last_observed, "eth_chainId");

    /* engine_* needs the JWT: the stub answers 401 without a valid one */
    slot_t caps = {.rec = &rec, .tag = "caps"};
    json_t *mine = json_pack("[[s]]", "engine_newPayloadV3");
    ck_assert_int_eq(el_client_call(el, EL_ENGINE, "engine_exchangeCapabilities", mine, on_slot,
                                    &caps), 0);
    rec.want = 2;
    run_until(loop, &rec);
    ck_assert_msg(caps.err == PROTO_OK, "%s", caps.msg);
    ck_assert(json_is_array(caps.result) && json_array_size(caps.result) > 3);
    ck_assert_int_eq(caps.endpoint, EL_ENGINE);

    /* params passed through verbatim */
    slot_t block = {.rec = &rec, .tag = "block"};
    ck_assert_int_eq(el_client_call_text(el, EL_RPC, "eth_getBlockByNumber", "[\"latest\",false]",
                                         on_slot, &block), 0);
    rec.want = 3;
    run_until(loop, &rec);
    ck_assert_msg(block.err == PROTO_OK, "%s", block.msg);
    ck_assert_str_eq(json_string_value(json_object_get(block.result, "number")), "0x0");
    ck_assert_uint_eq(strlen(json_string_value(json_object_get(block.result, "hash"))), 66);

    /* a batch comes back in call order */
    slot_t b1 = {.rec = &rec, .tag = "batch"};
    json_t *calls = json_pack("[o,o,o]", pair("eth_blockNumber", NULL), pair("eth_chainId", NULL),
                              pair("web3_clientVersion", NULL));
    ck_assert_int_eq(el_client_batch(el, EL_RPC, calls, on_slot, &b1), 0);
    rec.want = 4;
    run_until(loop, &rec);
    ck_assert_msg(b1.err == PROTO_OK, "%s", b1.msg);
    ck_assert_uint_eq(json_array_size(b1.result), 3);
    ck_assert_str_eq(json_string_value(json_array_get(b1.result, 0)), "0x0");
    ck_assert_str_eq(json_string_value(json_array_get(b1.result, 1)), "0x405d2");
    ck_assert_str_eq(json_string_value(json_array_get(b1.result, 2)), "alys-stub-el/0.1.0/linux/c");
    ck_assert_str_eq(rec.last_observed, "batch");

    /* a member the client does not know: the whole batch fails, or (lenient)
       leaves null with the member's error kept */
    slot_t b2 = {.rec = &rec, .tag = "strict"}, b3 = {.rec = &rec, .tag = "lenient"};
    calls = json_pack("[o,o]", pair("eth_chainId", NULL), pair("eth_noSuchMethod", NULL));
    ck_assert_int_eq(el_client_batch(el, EL_RPC, calls, on_slot, &b2), 0);
    rec.want = 5;
    run_until(loop, &rec);
    ck_assert_int_eq(b2.err, PROTO_EL_ERROR);
    ck_assert(b2.has_code);
    ck_assert_int_eq(b2.code, -32601);
    ck_assert_msg(strstr(b2.msg, "eth_noSuchMethod"), "%s", b2.msg);
    calls = json_pack("[o,o]", pair("eth_chainId", NULL), pair("eth_noSuchMethod", NULL));
    ck_assert_int_eq(el_client_batch_lenient(el, EL_RPC, calls, on_slot, &b3), 0);
    rec.want = 6;
    run_until(loop, &rec);
    ck_assert_msg(b3.err == PROTO_OK, "%s", b3.msg);
    ck_assert_str_eq(json_string_value(json_array_get(b3.result, 0)), "0x405d2");
    ck_assert(json_is_null(json_array_get(b3.result, 1)));
    ck_assert(json_is_null(json_array_get(b3.member_errors, 0)));
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(b3.member_errors, 1),
                                                        "code")), -32601);
    /* an empty batch does not start */
    ck_assert_int_eq(el_client_batch(el, EL_RPC, json_array(), on_slot, &b3), -1);

    el_client_stats_t st;
    el_client_stats(el, &st);
    ck_assert_uint_eq(st.calls, 6);
    ck_assert_uint_eq(st.failures, 1);
    ck_assert_uint_eq(st.connections_opened, 1); /* kept alive and reused */
    ck_assert_int_eq(rec.observed, 6);

    slot_t *all[] = {&chain, &caps, &block, &b1, &b2, &b3};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        slot_release(all[i]);
    el_client_destroy(&el);
    ck_assert_ptr_null(el);
    jwt_auth_destroy(&jwt);
    zloop_destroy(&loop);
    stub_server_destroy(&stub);
}
END_TEST

START_TEST(test_stub_auth_and_http_errors)
{
    char url[64];
    stub_fault_t faults[] = {
        fault(STUB_FAULT_HTTP_STATUS, "eth_syncing:401"),
        fault(STUB_FAULT_HTTP_STATUS, "eth_getLogs:503"),
        fault(STUB_FAULT_HTTP_STATUS, "eth_getTransactionReceipt:500"),
        fault(STUB_FAULT_MALFORMED, "web3_clientVersion"),
        fault(STUB_FAULT_RPC_ERROR, "eth_blockNumber:-38001"),
    };
    stub_server_t *stub = stub_start(faults, sizeof faults / sizeof *faults, url, sizeof url);
    zloop_t *loop = zloop_new();
    record_t rec = {0};

    /* no JWT, and the wrong JWT: the engine port refuses; the public
       methods need none */
    jwt_auth_t *none, *wrong, *right;
    el_client_t *el_none = client_new(loop, url, NULL, &none, 1, 0, 0);
    el_client_t *el_wrong = client_new(loop, url, s_wrong, &wrong, 1, 0, 0);
    el_client_t *el = client_new(loop, url, s_secret, &right, 1, 0, 0);
    slot_t s[8] = {{.rec = &rec, .tag = "no jwt"}, {.rec = &rec, .tag = "wrong jwt"},
                   {.rec = &rec, .tag = "no jwt, public"}, {.rec = &rec, .tag = "401"},
                   {.rec = &rec, .tag = "503"}, {.rec = &rec, .tag = "500"},
                   {.rec = &rec, .tag = "malformed"}, {.rec = &rec, .tag = "rpc error"}};
    ck_assert_int_eq(el_client_call(el_none, EL_ENGINE, "engine_exchangeCapabilities",
                                    json_pack("[[]]"), on_slot, &s[0]), 0);
    ck_assert_int_eq(el_client_call(el_wrong, EL_ENGINE, "engine_exchangeCapabilities",
                                    json_pack("[[]]"), on_slot, &s[1]), 0);
    ck_assert_int_eq(el_client_call(el_none, EL_RPC, "eth_chainId", NULL, on_slot, &s[2]), 0);
    ck_assert_int_eq(el_client_call(el, EL_RPC, "eth_syncing", NULL, on_slot, &s[3]), 0);
    ck_assert_int_eq(el_client_call(el, EL_RPC, "eth_getLogs", json_pack("[{}]"), on_slot, &s[4]),
                     0);
    ck_assert_int_eq(el_client_call(el, EL_RPC, "eth_getTransactionReceipt", NULL, on_slot, &s[5]),
                     0);
    ck_assert_int_eq(el_client_call(el, EL_RPC, "web3_clientVersion", NULL, on_slot, &s[6]), 0);
    ck_assert_int_eq(el_client_call(el, EL_RPC, "eth_blockNumber", NULL, on_slot, &s[7]), 0);
    rec.want = 8;
    run_until(loop, &rec);

    ck_assert_int_eq(s[0].err, PROTO_EL_AUTH_FAILED);
    ck_assert_int_eq(s[0].http, 401);
    ck_assert_msg(strstr(s[0].msg, "JWT secret does not match"), "%s", s[0].msg);
    ck_assert_int_eq(s[1].err, PROTO_EL_AUTH_FAILED);
    ck_assert_int_eq(s[2].err, PROTO_OK);
    ck_assert_int_eq(s[3].err, PROTO_EL_AUTH_FAILED);
    ck_assert_int_eq(s[3].http, 401);
    ck_assert_int_eq(s[4].err, PROTO_EL_UNAVAILABLE);
    ck_assert_int_eq(s[4].http, 503);
    ck_assert_msg(strstr(s[4].msg, "HTTP 503"), "%s", s[4].msg);
    ck_assert_int_eq(s[5].err, PROTO_EL_ERROR); /* a 500 with a body that is not JSON-RPC */
    ck_assert_int_eq(s[5].http, 500);
    ck_assert_int_eq(s[6].err, PROTO_EL_ERROR);
    ck_assert_msg(strstr(s[6].msg, "malformed JSON"), "%s", s[6].msg);
    ck_assert_int_eq(s[7].err, PROTO_EL_ERROR);
    ck_assert(s[7].has_code);
    ck_assert_int_eq(s[7].code, -38001);
    for (int i = 0; i < 8; i++)
        slot_release(&s[i]);

    el_client_destroy(&el_none);
    el_client_destroy(&el_wrong);
    el_client_destroy(&el);
    jwt_auth_destroy(&wrong);
    jwt_auth_destroy(&right);
    zloop_destroy(&loop);
    stub_server_destroy(&stub);
}
END_TEST

START_TEST(test_stub_timeout_and_refused)
{
    char url[64];
    stub_fault_t faults[] = {fault(STUB_FAULT_DELAY, "eth_syncing:1500")};
    stub_server_t *stub = stub_start(faults, 1, url, sizeof url);
    zloop_t *loop = zloop_new();
    record_t rec = {0};
    jwt_auth_t *jwt;
    /* eth_syncing's 1 s timeout scaled to 300 ms */
    el_client_t *el = client_new(loop, url, s_secret, &jwt, 0.3, 0, 0);
    slot_t slow = {.rec = &rec, .tag = "slow"}, quick = {.rec = &rec, .tag = "quick"};
    ck_assert_int_eq(el_client_call(el, EL_RPC, "eth_syncing", NULL, on_slot, &slow), 0);
    ck_assert_int_eq(el_client_call(el, EL_RPC, "eth_chainId", NULL, on_slot, &quick), 0);
    rec.want = 2;
    run_until(loop, &rec);
    /* the slow call does not hold up the other one */
    ck_assert_int_eq(quick.err, PROTO_OK);
    ck_assert_int_eq(quick.order, 0);
    ck_assert_int_eq(slow.err, PROTO_EL_TIMEOUT);
    ck_assert_msg(strstr(slow.msg, "within 300 ms"), "%s", slow.msg);
    ck_assert_int_ge(slow.latency_us, 290000);
    ck_assert_int_lt(slow.latency_us, 1400000);
    el_client_destroy(&el);
    jwt_auth_destroy(&jwt);

    /* a port where nothing listens: unavailable, at once */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(fd, (struct sockaddr *) &a, sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *) &a, &len);
    char dead[64];
    snprintf(dead, sizeof dead, "http://127.0.0.1:%d", ntohs(a.sin_port));
    close(fd);
    el = client_new(loop, dead, s_secret, &jwt, 1, 0, 0);
    slot_t refused = {.rec = &rec, .tag = "refused"};
    ck_assert_int_eq(el_client_call(el, EL_ENGINE, "engine_exchangeCapabilities",
                                    json_pack("[[]]"), on_slot, &refused), 0);
    rec.want = 3;
    run_until(loop, &rec);
    ck_assert_int_eq(refused.err, PROTO_EL_UNAVAILABLE);
    ck_assert_int_eq(refused.http, 0);
    ck_assert_msg(strstr(refused.msg, "cannot reach the execution client"), "%s", refused.msg);
    ck_assert_int_lt(refused.latency_us, 1000000);
    el_client_stats_t st;
    el_client_stats(el, &st);
    ck_assert_uint_eq(st.failures, 1);
    slot_release(&quick);
    el_client_destroy(&el);
    jwt_auth_destroy(&jwt);
    zloop_destroy(&loop);
    stub_server_destroy(&stub);
}
END_TEST

START_TEST(test_stub_oversized_answer)
{
    char url[64];
    stub_server_t *stub = stub_start(NULL, 0, url, sizeof url);
    zloop_t *loop = zloop_new();
    record_t rec = {0};
    jwt_auth_t *jwt;
    el_client_t *el = client_new(loop, url, s_secret, &jwt, 1, 200, 0);
    slot_t big = {.rec = &rec, .tag = "block"}, small = {.rec = &rec, .tag = "chainId"};
    ck_assert_int_eq(el_client_call_text(el, EL_RPC, "eth_getBlockByNumber", "[\"latest\",true]",
                                         on_slot, &big), 0);
    ck_assert_int_eq(el_client_call(el, EL_RPC, "eth_chainId", NULL, on_slot, &small), 0);
    rec.want = 2;
    run_until(loop, &rec);
    ck_assert_int_eq(big.err, PROTO_EL_ERROR);
    ck_assert_msg(strstr(big.msg, "exceeds 200 bytes"), "%s", big.msg);
    ck_assert_ptr_null(big.result);
    ck_assert_int_eq(small.err, PROTO_OK);
    slot_release(&small);
    el_client_destroy(&el);
    jwt_auth_destroy(&jwt);
    zloop_destroy(&loop);
    stub_server_destroy(&stub);
}
END_TEST

/*  One connection: calls wait in arrival order, fork-choice calls ahead of
    the reads already waiting but behind earlier fork-choice calls; each
    waiting call's timeout starts when it goes out. */
START_TEST(test_stub_pool_fifo)
{
    char url[64];
    stub_fault_t faults[] = {fault(STUB_FAULT_DELAY, "eth_syncing:300")};
    stub_server_t *stub = stub_start(faults, 1, url, sizeof url);
    zloop_t *loop = zloop_new();
    record_t rec = {0};
    jwt_auth_t *jwt;
    /* eth_chainId's timeout (1 s x 0.5) is shorter than the wait in line:
       it still succeeds because its clock starts when it is sent */
    el_client_t *el = client_new(loop, url, s_secret, &jwt, 0.5, 0, 1);
    rec.el = el;
    const char *methods[] = {"eth_syncing", "eth_chainId", "eth_blockNumber",
                             "engine_forkchoiceUpdatedV3", "web3_clientVersion",
                             "engine_getPayloadV3", "eth_syncing"};
    /* expected completion order of each call */
    const int expect[] = {0, 3, 4, 1, 5, 2, 6};
    enum { N = sizeof methods / sizeof *methods };
    slot_t s[N];
    for (int i = 0; i < N; i++) {
        s[i] = (slot_t) {.rec = &rec, .tag = methods[i]};
        ck_assert_int_eq(el_client_call(el, EL_ENGINE, methods[i], NULL, on_slot, &s[i]), 0);
    }
    ck_assert_uint_eq(el_client_waiting(el), N - 1);
    rec.want = N;
    run_until(loop, &rec);
    for (int i = 0; i < N; i++)
        ck_assert_msg(s[i].order == expect[i], "%s (call %d) completed as %d, expected %d",
                      methods[i], i, s[i].order, expect[i]);
    ck_assert_int_eq(s[1].err, PROTO_OK);
    ck_assert_int_eq(s[6].err, PROTO_OK);
    /* the next call leaves the line only after the first one's callback */
    ck_assert_uint_eq(rec.waiting_seen, N - 1);
    ck_assert_uint_eq(el_client_waiting(el), 0);
    el_client_stats_t st;
    el_client_stats(el, &st);
    ck_assert_uint_eq(st.calls, N);
    ck_assert_uint_eq(st.connections_opened, 1);
    for (int i = 0; i < N; i++)
        slot_release(&s[i]);
    el_client_destroy(&el);
    jwt_auth_destroy(&jwt);
    zloop_destroy(&loop);
    stub_server_destroy(&stub);
}
END_TEST

typedef struct {
    el_client_t *el;
} abort_ctx_t;

static int on_abort(zloop_t *loop, int timer_id, void *arg)
{
    abort_ctx_t *a = arg;
    el_client_abort_all(a->el, PROTO_SHUTTING_DOWN, "the actor is stopping");
    return 0;
}

START_TEST(test_stub_abort_and_destroy)
{
    char url[64];
    stub_fault_t faults[] = {fault(STUB_FAULT_DELAY, "eth_syncing:2000")};
    stub_server_t *stub = stub_start(faults, 1, url, sizeof url);
    zloop_t *loop = zloop_new();
    record_t rec = {0};
    jwt_auth_t *jwt;
    el_client_t *el = client_new(loop, url, s_secret, &jwt, 1, 0, 1);
    slot_t s[3] = {{.rec = &rec, .tag = "in flight"}, {.rec = &rec, .tag = "waiting 1"},
                   {.rec = &rec, .tag = "waiting 2"}};
    ck_assert_int_eq(el_client_call(el, EL_RPC, "eth_syncing", NULL, on_slot, &s[0]), 0);
    ck_assert_int_eq(el_client_call(el, EL_RPC, "eth_chainId", NULL, on_slot, &s[1]), 0);
    ck_assert_int_eq(el_client_call(el, EL_RPC, "eth_chainId", NULL, on_slot, &s[2]), 0);
    abort_ctx_t a = {el};
    zloop_timer(loop, 100, 1, on_abort, &a);
    rec.want = 3;
    run_until(loop, &rec);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(s[i].err, PROTO_SHUTTING_DOWN);
        ck_assert_str_eq(s[i].msg, "the actor is stopping");
    }
    /* the waiting ones end first, so none of them is sent meanwhile */
    ck_assert_int_eq(s[1].order, 0);
    ck_assert_int_eq(s[2].order, 1);
    ck_assert_int_eq(s[0].order, 2);
    ck_assert_uint_eq(el_client_waiting(el), 0);

    /* destroy with a call in flight: it completes, once */
    slot_t last = {.rec = &rec, .tag = "at destroy"};
    ck_assert_int_eq(el_client_call(el, EL_RPC, "eth_syncing", NULL, on_slot, &last), 0);
    el_client_destroy(&el);
    ck_assert(last.done);
    ck_assert_int_eq(last.err, PROTO_SHUTTING_DOWN);
    jwt_auth_destroy(&jwt);
    zloop_destroy(&loop);
    stub_server_destroy(&stub);
}
END_TEST

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* the client hangs up on answers over the cap */
    if (start_server() != 0) {
        perror("test server");
        return 1;
    }
    snprintf(s_dir, sizeof s_dir, "/tmp/alys-el-client-XXXXXX");
    if (!mkdtemp(s_dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(s_secret, sizeof s_secret, "%s/jwt.hex", s_dir);
    snprintf(s_wrong, sizeof s_wrong, "%s/wrong.hex", s_dir);
    if (jwt_file_write_fill(s_secret, 0x30) != 0 || jwt_file_write_fill(s_wrong, 0x50) != 0) {
        perror("JWT secrets");
        return 1;
    }
    Suite *s = suite_create("el_client");
    TCase *tc = tcase_create("el_client");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_single_answers);
    tcase_add_test(tc, test_batch_answers);
    tcase_add_test(tc, test_answer_cap);
    tcase_add_test(tc, test_total_cap);
    tcase_add_test(tc, test_stub_calls_and_batches);
    tcase_add_test(tc, test_stub_auth_and_http_errors);
    tcase_add_test(tc, test_stub_timeout_and_refused);
    tcase_add_test(tc, test_stub_oversized_answer);
    tcase_add_test(tc, test_stub_pool_fifo);
    tcase_add_test(tc, test_stub_abort_and_destroy);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    close(s_listen_fd);
    unlink(s_secret);
    unlink(s_wrong);
    rmdir(s_dir);
    return failed ? 1 : 0;
}
