/*  peer_conns: how many peers are connected to the actor's ROUTER now.

    The peer table keyed by routing id cannot say this: a routing id stays
    in it after its peer has gone, and every CLI run brings a new one. The
    connections themselves can: a libzmq socket monitor reports each
    accepted connection and each disconnection, and this module keeps the
    difference, read from the actor's own loop. */
#ifndef ALYS_PEER_CONNS_H
#define ALYS_PEER_CONNS_H

#include <czmq.h>
#include <stddef.h>

typedef struct peer_conns peer_conns_t;

/*  Starts monitoring router (before its bind, so that no connection is
    missed) and reads its events in loop.
    Returns NULL when the monitor cannot be set up (the caller keeps going
    without the count). */
peer_conns_t *peer_conns_new(zloop_t *loop, zsock_t *router);

/*  Stops the monitor; call before the router and the loop are destroyed.
    Safe on NULL and twice. */
void peer_conns_destroy(peer_conns_t **self_p);

/*  Connections open now (0 for NULL). */
size_t peer_conns_open(const peer_conns_t *self);

#endif
