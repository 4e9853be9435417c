/*  health: pings one running child over ZeroMQ with the `ping` op of the
    engine protocol (a DEALER sending [empty][msgpack request], as
    PROTOCOL-v1 asks of every DEALER peer) and counts the pings that went
    unanswered.

    One health_t belongs to one instance of a child: the supervisor creates
    it after the fork and destroys it when that instance exits, so a reply
    queued by a dead instance can never vouch for its successor. The socket
    never blocks; the caller polls health_socket() and calls health_receive()
    when it is readable, and health_tick() once per ping interval. */
#ifndef ALYS_HEALTH_H
#define ALYS_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct health health_t;

/*  Connects a DEALER to endpoint in the ZeroMQ context zmq_ctx. The
    connection is made in the background: a child that has not bound its
    endpoint yet is retried every few milliseconds, and the first ping waits
    in the socket until then. Returns NULL with the reason in err. */
health_t *health_new(void *zmq_ctx, const char *endpoint, char *err, size_t err_len);
/*  Same, as a CURVE client: curve_cert is the supervisor's certificate
    (zcert with its secret key) and curve_server_key the actor's public key
    or certificate file; both NULL for a plain socket. */
health_t *health_new_curve(void *zmq_ctx, const char *endpoint, const char *curve_cert,
                           const char *curve_server_key, char *err, size_t err_len);
void health_destroy(health_t **self_p);

/*  The libzmq socket, to put in a zmq_pollitem_t. */
void *health_socket(health_t *self);

/*  One ping interval has passed: if the previous ping is still unanswered it
    counts as missed; then a new ping is sent. Returns the number of
    consecutive misses. */
unsigned health_tick(health_t *self);

/*  Reads every reply waiting on the socket. Any well-formed ok reply to one
    of this socket's pings proves the child alive and clears the misses, even
    a late one. Malformed replies are ignored (and logged at debug level).
    Returns true when at least one such reply arrived. */
bool health_receive(health_t *self);

unsigned health_misses(const health_t *self);
/*  True once any ping was answered. */
bool health_answered(const health_t *self);
/*  The pid the child reported in its last answer (0 before the first). */
uint64_t health_reported_pid(const health_t *self);
/*  Milliseconds between sending a ping and receiving its answer, for the
    last answered ping; -1 before the first. */
int64_t health_last_rtt_ms(const health_t *self);

#endif
