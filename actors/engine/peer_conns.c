#include "peer_conns.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct peer_conns {
    zloop_t *loop;
    zsock_t *router;
    zsock_t *events;
    size_t open;
};

/*  A monitor event is two frames: 6 bytes (the event as a native uint16,
    then a uint32 value) and the endpoint. A disconnection without a count
    to take from (a monitor started after the connection) is ignored. */
static int on_event(zloop_t *loop, zsock_t *sock, void *arg)
{
    peer_conns_t *self = arg;
    zmsg_t *msg = zmsg_recv(sock);
    if (!msg)
        return 0;
    zframe_t *head = zmsg_first(msg);
    if (head && zframe_size(head) == 6) {
        uint16_t event;
        memcpy(&event, zframe_data(head), sizeof event);
        if (event == ZMQ_EVENT_ACCEPTED)
            self->open++;
        else if (event == ZMQ_EVENT_DISCONNECTED && self->open > 0)
            self->open--;
    }
    zmsg_destroy(&msg);
    return 0;
}

peer_conns_t *peer_conns_new(zloop_t *loop, zsock_t *router)
{
    peer_conns_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "inproc://alys-engine-peer-conns-%p", (void *) self);
    if (zmq_socket_monitor(zsock_resolve(router), endpoint,
                           ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0) {
        free(self);
        return NULL;
    }
    self->loop = loop;
    self->router = router;
    self->events = zsock_new_pair(NULL);
    if (!self->events || zsock_connect(self->events, "%s", endpoint) != 0
        || zloop_reader(loop, self->events, on_event, self) != 0) {
        peer_conns_destroy(&self);
        return NULL;
    }
    return self;
}

void peer_conns_destroy(peer_conns_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    peer_conns_t *self = *self_p;
    zmq_socket_monitor(zsock_resolve(self->router), NULL, 0);
    if (self->events) {
        zloop_reader_end(self->loop, self->events);
        zsock_destroy(&self->events);
    }
    free(self);
    *self_p = NULL;
}

size_t peer_conns_open(const peer_conns_t *self)
{
    return self ? self->open : 0;
}
