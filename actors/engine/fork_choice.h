/*  fork_choice: the head, safe and finalized blocks as this actor last set
    them on the execution client, and the reading of the Engine API's
    PayloadStatus answers. */
#ifndef ALYS_FORK_CHOICE_H
#define ALYS_FORK_CHOICE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "proto.h"

typedef struct {
    bool known;               /* read from the client (or set by us) at least once */
    bool has_head, has_safe, has_finalized;
    uint8_t head[32], safe[32], finalized[32];
    uint64_t finalized_number;
} fork_choice_t;

/*  The ForkchoiceStateV1 JSON for (head, safe, finalized); unknown safe or
    finalized are sent as the zero hash, as the Engine API allows. */
json_t *fork_choice_state_json(const uint8_t head[32], bool has_safe, const uint8_t safe[32],
                               bool has_finalized, const uint8_t finalized[32]);

/*  Reads a PayloadStatusV1 object. `expect` is the hash that must be
    latestValidHash when the status is VALID (NULL to skip). Returns PROTO_OK
    for VALID; otherwise the error to reply with and a message. When
    `syncing_ok`, SYNCING and ACCEPTED return PROTO_EL_SYNCING with *syncing set
    so the caller may treat it as a soft answer. */
proto_err_t fork_choice_read_status(json_t *status, const uint8_t *expect, bool for_payload,
                                    char *msg, size_t msg_len, bool *syncing);

/*  Maps an execution client error code from forkchoiceUpdated to ours:
    -38002 invalid forkchoice state → INVALID_FORKCHOICE, else EL_ERROR. */
proto_err_t fork_choice_map_el_code(int64_t el_code);

#endif
