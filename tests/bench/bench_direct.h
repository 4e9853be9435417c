/*  bench_direct: the baseline an actor is measured against. A minimal
    Engine API client: one libcurl easy handle kept alive, a JWT made once a
    second, JSON-RPC bodies written with printf, answers read with jansson.
    It does what a build+commit through the actor asks of the execution
    client, and nothing else. */
#ifndef ALYS_BENCH_DIRECT_H
#define ALYS_BENCH_DIRECT_H

#include <stdint.h>

typedef struct bench_direct bench_direct_t;

/*  A client of engine_url (authenticated with the secret in jwt_path) and
    rpc_url (public). NULL on failure. */
bench_direct_t *bench_direct_new(const char *engine_url, const char *rpc_url, const char *jwt_path);
void bench_direct_destroy(bench_direct_t **self_p);

/*  The four calls of one block, on parent `head` with the given safe and
    finalized hashes: forkchoiceUpdatedV2 with attributes (timestamp ts, zero
    prevRandao, fee recipient 0x..dEaD, no withdrawals), getPayloadV2,
    newPayloadV2, forkchoiceUpdatedV2 to the new block. Writes the new
    block's hash. Returns 0, or -1 with a reason on stderr. */
int bench_direct_cycle(bench_direct_t *self, const uint8_t head[32], const uint8_t safe[32],
                       const uint8_t finalized[32], uint64_t ts, uint8_t new_head[32]);

/*  One bare keep-alive round trip on the public URL (eth_chainId). Returns
    0 or -1. */
int bench_direct_bare(bench_direct_t *self);

/*  eth_getBlockByNumber(tag).hash on the public URL. Returns 0 or -1. */
int bench_direct_block_hash(bench_direct_t *self, const char *tag, uint8_t out[32]);

#endif
