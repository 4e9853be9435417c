/*  block_hash: recomputes an ExecutionPayload's block hash locally.

    The execution client's header is rebuilt from the payload (plus what the
    Engine API passes beside it: the parent beacon block root from Cancun on,
    the execution requests from Prague on), RLP-encoded and hashed with
    Keccak-256. A payload whose blockHash does not match was corrupted or
    forged on its way, and no execution client needs to be asked.

    Header fields, in order (EIP-3675, EIP-4895, EIP-4844, EIP-4788,
    EIP-7685): parentHash, ommersHash (keccak256(RLP([]))), feeRecipient,
    stateRoot, transactionsRoot, receiptsRoot, logsBloom, difficulty (0),
    number, gasLimit, gasUsed, timestamp, extraData, prevRandao, nonce
    (8 zero bytes), baseFeePerGas, withdrawalsRoot; Cancun adds blobGasUsed,
    excessBlobGas, parentBeaconBlockRoot; Prague adds requestsHash. */
#ifndef ALYS_BLOCK_HASH_H
#define ALYS_BLOCK_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

typedef enum {
    BLOCK_FORK_SHANGHAI = 0,
    BLOCK_FORK_CANCUN = 1,
    BLOCK_FORK_PRAGUE = 2,
} block_fork_t;

/*  What the header holds beyond the payload. A NULL extra means Shanghai. */
typedef struct {
    int fork;                            /* block_fork_t */
    uint8_t parent_beacon_block_root[32]; /* Cancun and later */
    /*  Prague: the requests hash itself when has_requests_hash, else it is
        computed from requests[0..n_requests) (executionRequests of
        getPayloadV4 / newPayloadV4; none is a valid, empty list). */
    bool has_requests_hash;
    uint8_t requests_hash[32];
    const proto_data_t *requests;
    size_t n_requests;
} block_hash_extra_t;

/*  keccak256(RLP([])): every post-merge header's ommersHash. */
extern const uint8_t block_empty_ommers_hash[32];

/*  Computes the block hash of p into out. Returns 0, or -1 when there is no
    header to hash: an unknown fork, blob gas fields present before Cancun or
    missing from Cancun on, an empty transaction, invalid requests, or no
    memory (block_hash_verify says which). */
int block_hash_compute(const proto_payload_t *p, const block_hash_extra_t *extra,
                       uint8_t out[32]);

/*  Returns 0 when p->block_hash is the hash of p's header; else -1 with
    "block hash mismatch: payload says 0x.., computed 0x.." or the reason no
    hash could be computed in why (when why_len > 0). */
int block_hash_verify(const proto_payload_t *p, const block_hash_extra_t *extra,
                      char *why, size_t why_len);

/*  The header's transactionsRoot: the ordered trie of the raw (typed or
    legacy) transaction bytes. Returns 0 or -1 (an empty transaction, no
    memory). */
int block_transactions_root(const proto_payload_t *p, uint8_t out[32]);
/*  The header's withdrawalsRoot: the ordered trie of
    RLP([index, validatorIndex, address, amount]). Returns 0 or -1. */
int block_withdrawals_root(const proto_payload_t *p, uint8_t out[32]);
/*  EIP-7685 requests hash: sha256 of the concatenated sha256(request), where
    a request is its type byte followed by its data. The Engine API's list
    (engine_newPayloadV4) leaves out types without data and holds each type
    once, in ascending order; anything else is refused: returns 0, or -1 with
    the reason in why (when why_len > 0). */
int block_requests_hash(const proto_data_t *requests, size_t n, uint8_t out[32],
                        char *why, size_t why_len);

/*  Checks a payload's fields that need no state and no hashing, for the fork
    it claims (block_fork_t): gasUsed <= gasLimit, extraData at most 32
    bytes, no empty transaction, blobGasUsed and excessBlobGas present
    exactly from Cancun on. Returns 0, or -1 with the first violation in why.
    (A timestamp after the parent's needs the parent: the execution client
    checks that.) */
int payload_check_fields(const proto_payload_t *p, int fork, char *why, size_t why_len);

#endif
