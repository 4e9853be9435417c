#include "peer.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>

/*  A decoded reply borrows strings and bytes from the frame it came in
    (msgpack-c unpacks without copying), so received bodies are kept for the
    last PEER_KEEP replies. */
#define PEER_KEEP 256

struct peer {
    zsock_t *sock;
    zframe_t *kept[PEER_KEEP];
    size_t next_kept;
    uint64_t next_id;
    proto_writer_t w;
};

peer_t *peer_new(const char *endpoint, const char *routing_id)
{
    peer_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->sock = zsock_new(ZMQ_DEALER);
    if (!self->sock) {
        free(self);
        return NULL;
    }
    if (routing_id)
        zsock_set_identity(self->sock, routing_id);
    zsock_set_linger(self->sock, 0);
    if (zsock_connect(self->sock, "%s", endpoint) != 0) {
        zsock_destroy(&self->sock);
        free(self);
        return NULL;
    }
    self->next_id = ((uint64_t) random() << 20) + 1;
    proto_writer_init(&self->w);
    return self;
}

void peer_destroy(peer_t **self_p)
{
    if (self_p && *self_p) {
        zsock_destroy(&(*self_p)->sock);
        for (size_t i = 0; i < PEER_KEEP; i++)
            zframe_destroy(&(*self_p)->kept[i]);
        proto_writer_release(&(*self_p)->w);
        free(*self_p);
        *self_p = NULL;
    }
}

void peer_send_raw(peer_t *self, const void *body, size_t len, bool with_delimiter)
{
    void *s = zsock_resolve(self->sock);
    if (with_delimiter)
        zmq_send(s, "", 0, ZMQ_SNDMORE);
    zmq_send(s, body, len, 0);
}

void peer_send_id(peer_t *self, uint64_t id, const char *op, const void *args)
{
    const proto_op_t *def = proto_op_find(op);
    proto_writer_reset(&self->w);
    bool with_args = def && def->args && args;
    proto_request_begin(&self->w.pk, id, op, with_args);
    if (with_args)
        proto_encode(def->args, args, &self->w.pk);
    peer_send_raw(self, self->w.sbuf.data, self->w.sbuf.size, true);
}

uint64_t peer_send(peer_t *self, const char *op, const void *args)
{
    uint64_t id = self->next_id++;
    peer_send_id(self, id, op, args);
    return id;
}

int peer_recv(peer_t *self, proto_reply_t *reply, int timeout_ms)
{
    zsock_set_rcvtimeo(self->sock, timeout_ms);
    zmsg_t *msg = zmsg_recv(self->sock);
    if (!msg)
        return -1;
    zframe_t *delim = zmsg_pop(msg);
    zframe_t *body = zmsg_pop(msg);
    int rc = -1;
    char err[PROTO_ERR_LEN];
    if (delim && zframe_size(delim) == 0 && body
        && proto_reply_decode(zframe_data(body), zframe_size(body), 64u << 20, reply, err,
                              sizeof err) == PROTO_OK)
        rc = 0;
    zframe_destroy(&delim);
    if (rc == 0) {
        zframe_destroy(&self->kept[self->next_kept]);
        self->kept[self->next_kept] = body;
        self->next_kept = (self->next_kept + 1) % PEER_KEEP;
    } else {
        zframe_destroy(&body);
    }
    zmsg_destroy(&msg);
    return rc;
}

int peer_call(peer_t *self, const char *op, const void *args, proto_reply_t *reply, int timeout_ms)
{
    uint64_t id = peer_send(self, op, args);
    for (;;) {
        if (peer_recv(self, reply, timeout_ms) != 0)
            return -1;
        if (reply->has_id && reply->id == id)
            return 0;
        proto_reply_release(reply);
    }
}

int peer_result(const proto_reply_t *reply, const char *op, void *out)
{
    const proto_op_t *def = proto_op_find(op);
    char err[PROTO_ERR_LEN];
    if (!reply->ok || !def)
        return -1;
    return proto_decode(def->result, reply->result, out, err, sizeof err);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*  The pid in a ping reply, or 0. */
static uint64_t reply_pid(zmq_msg_t *body)
{
    proto_reply_t r;
    char err[PROTO_ERR_LEN];
    uint64_t pid = 0;
    if (proto_reply_decode(zmq_msg_data(body), zmq_msg_size(body), 1 << 20, &r, err, sizeof err)
        != PROTO_OK)
        return 0;
    proto_ping_result_t res;
    memset(&res, 0, sizeof res);
    if (r.ok && proto_decode(proto_op_find("ping")->result, r.result, &res, err, sizeof err) == 0) {
        pid = res.pid;
        proto_free(proto_op_find("ping")->result, &res);
    }
    proto_reply_release(&r);
    return pid;
}

uint64_t peer_wait_pid(void *ctx, const char *endpoint, uint64_t not_pid, int timeout_ms)
{
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0, ivl = 5;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
    if (zmq_connect(s, endpoint) != 0) {
        zmq_close(s);
        return 0;
    }
    proto_writer_t w;
    proto_writer_init(&w);
    uint64_t found = 0, id = 1;
    int64_t deadline = mono_ms() + timeout_ms;
    while (!found && mono_ms() < deadline) {
        proto_writer_reset(&w);
        proto_request_begin(&w.pk, id++, "ping", false);
        zmq_send(s, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
        zmq_send(s, w.sbuf.data, w.sbuf.size, ZMQ_DONTWAIT);
        zmq_pollitem_t item = {.socket = s, .events = ZMQ_POLLIN};
        int64_t until = mono_ms() + 10;
        while (!found && mono_ms() < until && zmq_poll(&item, 1, 10) > 0) {
            zmq_msg_t delim, body;
            zmq_msg_init(&delim);
            zmq_msg_init(&body);
            if (zmq_msg_recv(&delim, s, 0) >= 0 && zmq_msg_more(&delim)
                && zmq_msg_recv(&body, s, 0) >= 0) {
                uint64_t pid = reply_pid(&body);
                if (pid && pid != not_pid)
                    found = pid;
            }
            zmq_msg_close(&delim);
            zmq_msg_close(&body);
        }
    }
    proto_writer_release(&w);
    zmq_close(s);
    return found;
}

int peer_connect_wave(void *ctx, const char *endpoint, int n)
{
    void **socks = calloc((size_t) n, sizeof *socks);
    zmq_pollitem_t *items = calloc((size_t) n, sizeof *items);
    if (!socks || !items) {
        free(socks);
        free(items);
        return 0;
    }
    proto_writer_t w;
    proto_writer_init(&w);
    proto_request_begin(&w.pk, 1, "ping", false);
    int opened = 0;
    for (int i = 0; i < n; i++) {
        /* libzmq hands out a socket slot only once a closed socket is
           reaped, so a wave right after another may have to wait a little */
        socks[i] = zmq_socket(ctx, ZMQ_DEALER);
        for (int tries = 0; !socks[i] && zmq_errno() == EMFILE && tries < 2000; tries++) {
            struct timespec ts = {0, 1000000L};
            nanosleep(&ts, NULL);
            socks[i] = zmq_socket(ctx, ZMQ_DEALER);
        }
        if (!socks[i])
            break;
        int linger = 0;
        zmq_setsockopt(socks[i], ZMQ_LINGER, &linger, sizeof linger);
        zmq_connect(socks[i], endpoint);
        zmq_send(socks[i], "", 0, ZMQ_SNDMORE);
        zmq_send(socks[i], w.sbuf.data, w.sbuf.size, 0);
        items[i] = (zmq_pollitem_t){.socket = socks[i], .events = ZMQ_POLLIN};
        opened++;
    }
    proto_writer_release(&w);
    int answered = 0;
    int64_t deadline = mono_ms() + 30000;
    while (answered < opened && mono_ms() < deadline) {
        if (zmq_poll(items, opened, 100) <= 0)
            continue;
        for (int i = 0; i < opened; i++) {
            if (!(items[i].revents & ZMQ_POLLIN))
                continue;
            zmq_msg_t m;
            zmq_msg_init(&m);
            while (zmq_msg_recv(&m, socks[i], ZMQ_DONTWAIT) >= 0 && zmq_msg_more(&m))
                ;
            zmq_msg_close(&m);
            items[i].events = 0;
            answered++;
        }
    }
    for (int i = 0; i < opened; i++)
        zmq_close(socks[i]);
    free(socks);
    free(items);
    return answered;
}
