#include "peer.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

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
