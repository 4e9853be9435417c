/*  fork_choice: the head, safe and finalized blocks as this actor set them
    on the execution client, and the one owner of their changes.

    Every transition (a build moving the head to its parent, a commit, a
    finalization, a revert, an update_forkchoice, the recovery at start)
    goes through an fc_* call here, which persists the fork choice under
    --state-dir, bumps the generation that queries use to notice a change
    under them, and cuts the block cache's number index where numbers may
    now name other blocks. Also here: the reading of PayloadStatus answers
    and the ancestry walk that finality checks use. */
#ifndef ALYS_FORK_CHOICE_H
#define ALYS_FORK_CHOICE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "cache.h"
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
    for VALID; otherwise the error to reply with and a message. SYNCING and
    ACCEPTED return PROTO_EL_SYNCING with *syncing set, so a caller may
    treat them as a soft answer. */
proto_err_t fork_choice_read_status(json_t *status, const uint8_t *expect, bool for_payload,
                                    char *msg, size_t msg_len, bool *syncing);

/*  The hash of a block answer (eth_getBlockBy*): false for null or a
    malformed one. */
bool fork_choice_block_hash(json_t *block, uint8_t out[32]);

/*  Maps an execution client error code from forkchoiceUpdated to ours:
    -38002 invalid forkchoice state → INVALID_FORKCHOICE, else EL_ERROR. */
proto_err_t fork_choice_map_el_code(int64_t el_code);

/* ------------------------------------------------------------ the owner */

typedef struct fc fc_t;

/*  state_dir: where the fork choice is kept across restarts (NULL: not
    kept); blocks: the cache whose number index follows the head. */
fc_t *fc_new(const char *state_dir, block_cache_t *blocks);
void fc_destroy(fc_t **self_p);
const fork_choice_t *fc_get(const fc_t *self);
/*  Bumped by every transition. */
uint64_t fc_generation(const fc_t *self);
/*  True when block `number` is at or below the finalized block. */
bool fc_is_final_number(const fc_t *self, uint64_t number);
/*  [ForkchoiceState, null] for `head` with the current safe and finalized:
    absent payload attributes are an explicit null (strict clients refuse a
    one-element array). */
json_t *fc_fcu_params(const fc_t *self, const uint8_t head[32]);

/*  A build on `parent` made it the client's head. */
void fc_build_on(fc_t *self, const uint8_t parent[32]);
/*  Block `number` `hash` became the head. */
void fc_commit(fc_t *self, const uint8_t hash[32], uint64_t number);
/*  `hash` (block `number`) is safe and finalized. */
void fc_finalize(fc_t *self, const uint8_t hash[32], uint64_t number);
/*  The head went back to `parent`, block `parent_number`. */
void fc_revert(fc_t *self, const uint8_t parent[32], uint64_t parent_number);
/*  update_forkchoice: head, and safe/finalized when not NULL
    (finalized_number is the new finalized block's number). */
void fc_update(fc_t *self, const uint8_t head[32], const uint8_t *safe, const uint8_t *finalized,
               uint64_t finalized_number);

/*  Recovery at start, in two halves around one lenient JSON-RPC batch:
    fc_recovery_calls reads the state file (when there is one) and returns
    the batch that checks it against the client and reads the client's own
    latest, safe and finalized blocks; fc_recovery_adopt takes the answers:
    the client's view, where each saved hash the client still knows wins.
    Returns 0 (with *from_file saying whether the state file was used), or
    -1 when the client has no latest block. */
json_t *fc_recovery_calls(fc_t *self);
int fc_recovery_adopt(fc_t *self, json_t *answers, bool *from_file);

/* ------------------------------------------------------- the ancestry walk */

struct req;
typedef void(fc_next_fn)(struct req *req);
/*  Whether block X (number xn) descends from (or is) block T (number tn),
    answered with as few calls as the chain allows: when both are canonical
    now, yes at once; otherwise X's parents are followed back to T's height
    (at most 256 steps). On success `next` runs; otherwise the request is
    answered FINALIZED_CONFLICT naming `what`. */
void fc_check_descends(struct req *req, const uint8_t x[32], uint64_t xn, const uint8_t t[32],
                       uint64_t tn, const char *what, fc_next_fn *next);

#endif
