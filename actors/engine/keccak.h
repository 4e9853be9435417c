/*  keccak: Keccak-256 as Ethereum uses it (the original Keccak padding, not
    FIPS 202 SHA3-256), a sponge over nettle's Keccak-f[1600] permutation.

    The context is a plain value: put it on the stack, init, update any
    number of times, final. */
#ifndef ALYS_KECCAK_H
#define ALYS_KECCAK_H

#include <nettle/sha3.h>
#include <stddef.h>
#include <stdint.h>

#define KECCAK256_RATE 136

typedef struct {
    struct sha3_state state;
    size_t absorbed; /* bytes of the current block already xored in */
} keccak256_ctx_t;

void keccak256_init(keccak256_ctx_t *ctx);
void keccak256_update(keccak256_ctx_t *ctx, const void *data, size_t len);
/*  Pads, squeezes 32 bytes into out and leaves ctx initialised again. */
void keccak256_final(keccak256_ctx_t *ctx, uint8_t out[32]);
/*  One-shot digest of data[0..len). */
void keccak256(const void *data, size_t len, uint8_t out[32]);

#endif
