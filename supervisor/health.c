#include "health.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "curve.h"
#include "log.h"
#include "proto.h"

/*  A ping reply is a few dozen bytes; anything much larger is not from an
    engine actor, and libzmq drops the connection instead of buffering it. */
#define HEALTH_MAX_REPLY 65536
/*  A child that has not bound yet is retried this often, so that the first
    answer after a restart is not held back by libzmq's 100 ms default. */
#define HEALTH_RECONNECT_MS 10
#define HEALTH_SNDHWM 8

struct health {
    void *sock;
    char *endpoint;
    proto_writer_t writer;
    uint64_t first_id;   /* ids sent by this socket are first_id .. next_id-1 */
    uint64_t next_id;
    bool outstanding;    /* the last ping is still unanswered */
    int64_t sent_at_ms;  /* when the last ping was sent */
    unsigned misses;
    bool answered;
    uint64_t reported_pid;
    int64_t last_rtt_ms;
};

health_t *health_new(void *zmq_ctx, const char *endpoint, char *err, size_t err_len)
{
    return health_new_curve(zmq_ctx, endpoint, NULL, NULL, err, err_len);
}

health_t *health_new_curve(void *zmq_ctx, const char *endpoint, const char *curve_cert,
                           const char *curve_server_key, char *err, size_t err_len)
{
    health_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    self->endpoint = strdup(endpoint);
    self->sock = zmq_socket(zmq_ctx, ZMQ_DEALER);
    if (!self->endpoint || !self->sock) {
        snprintf(err, err_len, "cannot create a DEALER socket: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    int linger = 0, ivl = HEALTH_RECONNECT_MS, hwm = HEALTH_SNDHWM;
    int64_t max_msg = HEALTH_MAX_REPLY;
    zmq_setsockopt(self->sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(self->sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(self->sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(self->sock, ZMQ_MAXMSGSIZE, &max_msg, sizeof max_msg);
    if (curve_cert
        && curve_client_setup(self->sock, curve_cert, curve_server_key, err, err_len) != 0)
        goto fail;
    if (zmq_connect(self->sock, endpoint) != 0) {
        snprintf(err, err_len, "cannot connect to %s: %s", endpoint, zmq_strerror(zmq_errno()));
        goto fail;
    }
    proto_writer_init(&self->writer);
    /*  Ids only need to be unique per socket, and this socket lives for one
        instance of the child. */
    self->first_id = self->next_id = 1;
    self->last_rtt_ms = -1;
    return self;
fail:
    if (self->sock)
        zmq_close(self->sock);
    free(self->endpoint);
    free(self);
    return NULL;
}

void health_destroy(health_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    health_t *self = *self_p;
    zmq_close(self->sock);
    proto_writer_release(&self->writer);
    free(self->endpoint);
    free(self);
    *self_p = NULL;
}

void *health_socket(health_t *self)
{
    return self->sock;
}

/*  Sends [empty][ping request]. A full queue (a child that stopped reading)
    is not an error here: the ping simply stays unanswered and is counted as
    missed at the next tick. */
static void send_ping(health_t *self)
{
    uint64_t id = self->next_id++;
    proto_writer_reset(&self->writer);
    proto_request_begin(&self->writer.pk, id, "ping", false);
    if (zmq_send(self->sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) == 0
        && zmq_send(self->sock, self->writer.sbuf.data, self->writer.sbuf.size, ZMQ_DONTWAIT) < 0)
        log_debug("health %s: ping %llu not queued: %s", self->endpoint,
                  (unsigned long long) id, zmq_strerror(zmq_errno()));
    self->outstanding = true;
    self->sent_at_ms = clock_mono_ms();
}

unsigned health_tick(health_t *self)
{
    if (self->outstanding)
        self->misses++;
    send_ping(self);
    return self->misses;
}

/*  Checks one reply body: an ok reply whose id is one of ours. The reported
    pid is kept for the log (a wrapper script that does not exec would
    report a different pid than the one we forked). */
static bool accept_reply(health_t *self, const void *body, size_t len)
{
    proto_reply_t reply;
    char err[PROTO_ERR_LEN];
    if (proto_reply_decode(body, len, HEALTH_MAX_REPLY, &reply, err, sizeof err) != PROTO_OK) {
        log_debug("health %s: malformed reply: %s", self->endpoint, err);
        return false;
    }
    bool ours = reply.has_id && reply.id >= self->first_id && reply.id < self->next_id;
    bool good = ours && reply.ok;
    if (good) {
        proto_ping_result_t result;
        memset(&result, 0, sizeof result);
        const proto_op_t *op = proto_op_find("ping");
        if (op && proto_decode(op->result, reply.result, &result, err, sizeof err) == 0) {
            self->reported_pid = result.pid;
            proto_free(op->result, &result);
        }
        if (reply.id == self->next_id - 1)
            self->last_rtt_ms = clock_mono_ms() - self->sent_at_ms;
    } else {
        log_debug("health %s: ignoring reply (id %s, ok %d)", self->endpoint,
                  ours ? "ours" : "not ours", (int) reply.ok);
    }
    proto_reply_release(&reply);
    return good;
}

bool health_receive(health_t *self)
{
    bool alive = false;
    for (;;) {
        zmq_msg_t frames[2];
        int n = 0;
        bool more = true, truncated = false;
        while (more) {
            zmq_msg_t msg;
            zmq_msg_init(&msg);
            int rc = zmq_msg_recv(&msg, self->sock, n == 0 ? ZMQ_DONTWAIT : 0);
            if (rc < 0) {
                zmq_msg_close(&msg);
                if (n == 0)
                    return alive;
                break;
            }
            more = zmq_msg_more(&msg);
            if (n < 2)
                frames[n++] = msg;
            else {
                truncated = true;
                zmq_msg_close(&msg);
            }
        }
        if (n == 2 && !truncated && zmq_msg_size(&frames[0]) == 0
            && accept_reply(self, zmq_msg_data(&frames[1]), zmq_msg_size(&frames[1]))) {
            alive = true;
            self->answered = true;
            self->misses = 0;
            self->outstanding = false;
        }
        for (int i = 0; i < n; i++)
            zmq_msg_close(&frames[i]);
    }
}

unsigned health_misses(const health_t *self) { return self->misses; }
bool health_answered(const health_t *self) { return self->answered; }
uint64_t health_reported_pid(const health_t *self) { return self->reported_pid; }
int64_t health_last_rtt_ms(const health_t *self) { return self->last_rtt_ms; }
