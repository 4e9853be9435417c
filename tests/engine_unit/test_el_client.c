/*  el_client: answer classification (single and batch) and the bounds on
    answer sizes, per answer and in total, against a tiny HTTP server in a
    thread of this test. */
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

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* the client hangs up on answers over the cap */
    if (start_server() != 0) {
        perror("test server");
        return 1;
    }
    Suite *s = suite_create("el_client");
    TCase *tc = tcase_create("el_client");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_single_answers);
    tcase_add_test(tc, test_batch_answers);
    tcase_add_test(tc, test_answer_cap);
    tcase_add_test(tc, test_total_cap);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    close(s_listen_fd);
    return failed ? 1 : 0;
}
