/*  keccak: the sponge construction around nettle's sha3_permute.

    The state is 25 little-endian 64-bit lanes; input bytes are xored in at
    byte offsets (lane i / 8, shift 8 * (i % 8)), so no block buffer is
    needed. Keccak-256: rate 136 bytes, capacity 512 bits, padding
    0x01 ... 0x80 (pad10*1 with no domain bits; SHA3-256 would use 0x06). */
#include "keccak.h"

#include <string.h>

static void xor_byte(struct sha3_state *state, size_t at, uint8_t byte)
{
    state->a[at / 8] ^= (uint64_t) byte << (8 * (at % 8));
}

void keccak256_init(keccak256_ctx_t *ctx)
{
    memset(ctx, 0, sizeof *ctx);
}

void keccak256_update(keccak256_ctx_t *ctx, const void *data, size_t len)
{
    const uint8_t *in = data;
    for (size_t i = 0; i < len; i++) {
        xor_byte(&ctx->state, ctx->absorbed++, in[i]);
        if (ctx->absorbed == KECCAK256_RATE) {
            sha3_permute(&ctx->state);
            ctx->absorbed = 0;
        }
    }
}

/*  With one byte of room left in the block, 0x01 and 0x80 land on the same
    byte (0x81), which the two xors give. */
void keccak256_final(keccak256_ctx_t *ctx, uint8_t out[32])
{
    xor_byte(&ctx->state, ctx->absorbed, 0x01);
    xor_byte(&ctx->state, KECCAK256_RATE - 1, 0x80);
    sha3_permute(&ctx->state);
    for (size_t i = 0; i < 32; i++)
        out[i] = (uint8_t) (ctx->state.a[i / 8] >> (8 * (i % 8)));
    keccak256_init(ctx);
}

void keccak256(const void *data, size_t len, uint8_t out[32])
{
    keccak256_ctx_t ctx;
    keccak256_init(&ctx);
    keccak256_update(&ctx, data, len);
    keccak256_final(&ctx, out);
}
