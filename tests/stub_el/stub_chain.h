/*  stub_chain: the little chain that the stub execution client keeps so that
    its canned Engine API answers stay consistent with each other.

    A genesis block, the blocks that newPayload accepted (kept forever, found
    by hash), the canonical chain of the last forkchoiceUpdated (found by
    number), safe and finalized, and the last payload builds. A block hash is
    a SHA-256 of the block's fields: deterministic and content-bound (a
    tampered payload fails its hash check), but not a real header hash.

    Every call takes the chain's own lock, so connection threads may call in
    at the same time. Results come back as JSON text so that the block
    objects, which never change, are serialised once and then reused. */
#ifndef ALYS_STUB_CHAIN_H
#define ALYS_STUB_CHAIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct stub_chain stub_chain_t;

/*  A JSON-RPC error object to send instead of a result. */
typedef struct {
    int code;
    char message[160];
} stub_rpc_error_t;

/*  Per-call overrides from the fault flags. */
typedef struct {
    const char *force_status;   /* payloadStatus.status to answer instead (INVALID, SYNCING,
                                   ACCEPTED), NULL: none */
    bool null_payload_id;       /* forkchoiceUpdated with attributes answers payloadId null */
} stub_call_opts_t;

/*  A chain whose genesis has the given timestamp. NULL when out of memory. */
stub_chain_t *stub_chain_new(uint64_t genesis_time);
void stub_chain_destroy(stub_chain_t **self_p);

/*  Answers one JSON-RPC method. Returns the result as compact JSON text (the
    caller frees it; "null" is a valid result), or NULL with the error in err
    (-32601 for a method it does not know, -32602 for bad params, the Engine
    API's -38xxx codes where the specification asks for them). params may be
    NULL (treated as []). opts may be NULL. */
char *stub_chain_call(stub_chain_t *self, const char *method, json_t *params,
                      const stub_call_opts_t *opts, stub_rpc_error_t *err);

/*  Numbers for stub_stats: the head's number and how many blocks are known. */
void stub_chain_counts(stub_chain_t *self, uint64_t *head_number, uint64_t *n_blocks);

#endif
