/*  Unit tests of supervisor/health against an in-process ROUTER that plays
    the actor: the ping request on the wire, miss counting, late answers,
    and replies that must not count. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "health.h"
#include "proto.h"

#define ENDPOINT "inproc://health-test"

static void *s_ctx;
static void *s_router;

static void setup(void)
{
    s_ctx = zmq_ctx_new();
    ck_assert_ptr_nonnull(s_ctx);
    s_router = zmq_socket(s_ctx, ZMQ_ROUTER);
    int linger = 0;
    zmq_setsockopt(s_router, ZMQ_LINGER, &linger, sizeof linger);
    ck_assert_int_eq(zmq_bind(s_router, ENDPOINT), 0);
}

static void teardown(void)
{
    zmq_close(s_router);
    zmq_ctx_term(s_ctx);
}

typedef struct {
    char identity[256];
    size_t identity_len;
    uint64_t id;
} request_t;

/*  Receives one request at the fake actor and checks its envelope:
    [identity][empty][msgpack {v: 1, id, op: "ping"}]. */
static void recv_ping(request_t *req)
{
    zmq_pollitem_t item = {.socket = s_router, .events = ZMQ_POLLIN};
    ck_assert_int_eq(zmq_poll(&item, 1, 2000), 1);
    int n = zmq_recv(s_router, req->identity, sizeof req->identity, 0);
    ck_assert_int_gt(n, 0);
    req->identity_len = (size_t) n;
    char delim[8];
    ck_assert_int_eq(zmq_recv(s_router, delim, sizeof delim, 0), 0);
    uint8_t body[512];
    n = zmq_recv(s_router, body, sizeof body, 0);
    ck_assert_int_gt(n, 0);
    int more = 0;
    size_t more_len = sizeof more;
    zmq_getsockopt(s_router, ZMQ_RCVMORE, &more, &more_len);
    ck_assert_int_eq(more, 0);
    proto_request_t r;
    char err[PROTO_ERR_LEN];
    ck_assert_int_eq(proto_request_decode(body, (size_t) n, 4096, &r, err, sizeof err), PROTO_OK);
    ck_assert_uint_eq(r.v, 1);
    ck_assert(r.has_id);
    ck_assert_str_eq(r.op, "ping");
    ck_assert_ptr_null(r.args);
    req->id = r.id;
    proto_request_release(&r);
}

static void send_frames(const request_t *req, const void *body, size_t len, bool delimiter)
{
    zmq_send(s_router, req->identity, req->identity_len, ZMQ_SNDMORE);
    if (delimiter)
        zmq_send(s_router, "", 0, ZMQ_SNDMORE);
    zmq_send(s_router, body, len, 0);
}

static void answer(const request_t *req, uint64_t id, uint64_t pid)
{
    proto_writer_t w;
    proto_writer_init(&w);
    proto_ping_result_t result = {.protocol = 1, .version = "0.1.0", .uptime_ms = 5, .pid = pid};
    proto_reply_ok(&w.pk, true, id, proto_op_find("ping")->result, &result);
    send_frames(req, w.sbuf.data, w.sbuf.size, true);
    proto_writer_release(&w);
}

/*  Waits for the health socket to become readable and reads it. */
static bool receive(health_t *h, int timeout_ms)
{
    zmq_pollitem_t item = {.socket = health_socket(h), .events = ZMQ_POLLIN};
    if (zmq_poll(&item, 1, timeout_ms) != 1)
        return false;
    return health_receive(h);
}

START_TEST(test_answered_ping)
{
    char err[256];
    health_t *h = health_new(s_ctx, ENDPOINT, err, sizeof err);
    ck_assert_msg(h != NULL, "%s", err);
    ck_assert(!health_answered(h));
    ck_assert_int_eq(health_last_rtt_ms(h), -1);
    ck_assert_uint_eq(health_tick(h), 0);
    request_t req;
    recv_ping(&req);
    answer(&req, req.id, 4242);
    ck_assert(receive(h, 2000));
    ck_assert(health_answered(h));
    ck_assert_uint_eq(health_misses(h), 0);
    ck_assert_uint_eq(health_reported_pid(h), 4242);
    ck_assert_int_ge(health_last_rtt_ms(h), 0);
    health_destroy(&h);
    ck_assert_ptr_null(h);
    health_destroy(&h);
}
END_TEST

/*  Unanswered pings accumulate one miss per tick; any answer to one of this
    socket's pings, even an old one, shows the child is alive. */
START_TEST(test_misses_and_late_answer)
{
    char err[256];
    health_t *h = health_new(s_ctx, ENDPOINT, err, sizeof err);
    ck_assert_uint_eq(health_tick(h), 0);
    request_t first;
    recv_ping(&first);
    ck_assert_uint_eq(health_tick(h), 1);
    ck_assert_uint_eq(health_tick(h), 2);
    ck_assert_uint_eq(health_tick(h), 3);
    request_t later;
    recv_ping(&later);
    recv_ping(&later);
    recv_ping(&later);
    ck_assert_uint_gt(later.id, first.id);
    answer(&first, first.id, 1);
    ck_assert(receive(h, 2000));
    ck_assert_uint_eq(health_misses(h), 0);
    ck_assert_uint_eq(health_tick(h), 0);
    health_destroy(&h);
}
END_TEST

/*  None of these vouch for the child: an error reply, an id this socket
    never sent, a body that is not msgpack, a missing delimiter. */
START_TEST(test_replies_that_do_not_count)
{
    char err[256];
    health_t *h = health_new(s_ctx, ENDPOINT, err, sizeof err);
    health_tick(h);
    request_t req;
    recv_ping(&req);

    proto_writer_t w;
    proto_writer_init(&w);
    proto_reply_error(&w.pk, true, req.id, PROTO_SHUTTING_DOWN, "stopping", false, 0);
    send_frames(&req, w.sbuf.data, w.sbuf.size, true);
    ck_assert(!receive(h, 2000));

    answer(&req, req.id + 1000, 7);
    ck_assert(!receive(h, 2000));

    send_frames(&req, "\xc1garbage", 8, true);
    ck_assert(!receive(h, 2000));

    proto_writer_reset(&w);
    proto_ping_result_t result = {.protocol = 1, .version = "x", .uptime_ms = 1, .pid = 9};
    proto_reply_ok(&w.pk, true, req.id, proto_op_find("ping")->result, &result);
    send_frames(&req, w.sbuf.data, w.sbuf.size, false);
    ck_assert(!receive(h, 2000));
    proto_writer_release(&w);

    ck_assert(!health_answered(h));
    ck_assert_uint_eq(health_tick(h), 1);
    /* and the real answer still works afterwards */
    recv_ping(&req);
    answer(&req, req.id, 9);
    ck_assert(receive(h, 2000));
    ck_assert(health_answered(h));
    health_destroy(&h);
}
END_TEST

START_TEST(test_bad_endpoint)
{
    char err[256] = "";
    ck_assert_ptr_null(health_new(s_ctx, "no-transport", err, sizeof err));
    ck_assert(strstr(err, "no-transport") != NULL);
}
END_TEST

/*  Before the actor binds, the first ping waits in the socket and is
    delivered once it does. */
START_TEST(test_ping_before_bind)
{
    char err[256];
    char endpoint[128];
    snprintf(endpoint, sizeof endpoint, "ipc:///tmp/alys-health-%d.sock", (int) getpid());
    health_t *h = health_new(s_ctx, endpoint, err, sizeof err);
    ck_assert_msg(h != NULL, "%s", err);
    health_tick(h);
    usleep(50000);
    void *late = zmq_socket(s_ctx, ZMQ_ROUTER);
    int linger = 0;
    zmq_setsockopt(late, ZMQ_LINGER, &linger, sizeof linger);
    ck_assert_int_eq(zmq_bind(late, endpoint), 0);
    void *saved = s_router;
    s_router = late;
    request_t req;
    recv_ping(&req);
    answer(&req, req.id, 77);
    ck_assert(receive(h, 2000));
    s_router = saved;
    zmq_close(late);
    health_destroy(&h);
    unlink(endpoint + strlen("ipc://"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("health");
    TCase *tc = tcase_create("ping");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_answered_ping);
    tcase_add_test(tc, test_misses_and_late_answer);
    tcase_add_test(tc, test_replies_that_do_not_count);
    tcase_add_test(tc, test_bad_endpoint);
    tcase_add_test(tc, test_ping_before_bind);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
