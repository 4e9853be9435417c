/*  peer_check: Check assertions over peer calls, shared by the suites that
    drive the actor through a peer. */
#ifndef ALYS_PEER_CHECK_H
#define ALYS_PEER_CHECK_H

#include "peer.h"

/*  Calls op with args and fails the running test unless an ok reply comes
    within timeout_ms; decodes the result into out (by the op's result
    schema) when out is not NULL. */
void peer_call_ok(peer_t *peer, const char *op, const void *args, void *out, int timeout_ms);

#endif
