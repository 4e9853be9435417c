/*  block_hash: see block_hash.h. */
#include "block_hash.h"

#include "errfmt.h"
#include "hex.h"
#include "keccak.h"
#include "rlp.h"
#include "trie.h"

#include <nettle/sha2.h>
#include <stdlib.h>
#include <string.h>

const uint8_t block_empty_ommers_hash[32] = {
    0x1d, 0xcc, 0x4d, 0xe8, 0xde, 0xc7, 0x5d, 0x7a, 0xab, 0x85, 0xb5, 0x67, 0xb6, 0xcc, 0xd4, 0x1a,
    0xd3, 0x12, 0x45, 0x1b, 0x94, 0x8a, 0x74, 0x13, 0xf0, 0xa1, 0x42, 0xfd, 0x40, 0xd4, 0x93, 0x47,
};

#define MAX_EXTRA_DATA 32

static const block_hash_extra_t s_shanghai = { .fork = BLOCK_FORK_SHANGHAI };

int block_transactions_root(const proto_payload_t *p, uint8_t out[32])
{
    return trie_ordered_root(p->transactions, p->n_transactions, out);
}

/*  Every withdrawal is encoded into one buffer first; the trie then gets
    views into it (the buffer no longer moves). */
int block_withdrawals_root(const proto_payload_t *p, uint8_t out[32])
{
    size_t n = p->n_withdrawals;
    if (n == 0)
        return trie_ordered_root(NULL, 0, out);
    rlp_t *enc = rlp_new();
    size_t *ends = calloc(n, sizeof *ends);
    proto_data_t *items = calloc(n, sizeof *items);
    int rc = -1;
    if (enc && ends && items) {
        for (size_t i = 0; i < n; i++) {
            const proto_withdrawal_t *w = &p->withdrawals[i];
            size_t mark = rlp_list_begin(enc);
            rlp_put_uint(enc, w->index);
            rlp_put_uint(enc, w->validator_index);
            rlp_put_bytes(enc, w->address, sizeof w->address);
            rlp_put_uint(enc, w->amount);
            rlp_list_end(enc, mark);
            ends[i] = rlp_len(enc);
        }
        if (rlp_ok(enc)) {
            uint8_t *base = (uint8_t *) rlp_data(enc);
            size_t start = 0;
            for (size_t i = 0; i < n; i++) {
                items[i].data = base + start;
                items[i].len = ends[i] - start;
                start = ends[i];
            }
            rc = trie_ordered_root(items, n, out);
        }
    }
    free(items);
    free(ends);
    rlp_destroy(&enc);
    return rc;
}

int block_requests_hash(const proto_data_t *requests, size_t n, uint8_t out[32],
                        char *why, size_t why_len)
{
    struct sha256_ctx outer;
    sha256_init(&outer);
    for (size_t i = 0; i < n; i++) {
        if (requests[i].len < 2)
            return errfmt(why, why_len, "executionRequests[%zu] has no request data", i);
        if (i > 0 && requests[i].data[0] <= requests[i - 1].data[0])
            return errfmt(why, why_len, "executionRequests[%zu]: type 0x%02x after 0x%02x "
                          "(types must be strictly ascending)", i, requests[i].data[0],
                          requests[i - 1].data[0]);
        struct sha256_ctx inner;
        uint8_t digest[SHA256_DIGEST_SIZE];
        sha256_init(&inner);
        sha256_update(&inner, requests[i].len, requests[i].data);
        sha256_digest(&inner, sizeof digest, digest);
        sha256_update(&outer, sizeof digest, digest);
    }
    sha256_digest(&outer, SHA256_DIGEST_SIZE, out);
    return 0;
}

/*  The header's RLP into enc, or -1 with the reason. */
static int encode_header(const proto_payload_t *p, const block_hash_extra_t *extra, rlp_t *enc,
                         char *why, size_t why_len)
{
    static const uint8_t zero_nonce[8] = { 0 };
    if (extra->fork < BLOCK_FORK_SHANGHAI || extra->fork > BLOCK_FORK_PRAGUE)
        return errfmt(why, why_len, "unknown fork %d", extra->fork);
    bool cancun = extra->fork >= BLOCK_FORK_CANCUN;
    bool prague = extra->fork >= BLOCK_FORK_PRAGUE;
    if (p->has_blob_gas_used != cancun || p->has_excess_blob_gas != cancun)
        return errfmt(why, why_len,
                      cancun ? "blobGasUsed and excessBlobGas are required from Cancun on"
                             : "blobGasUsed and excessBlobGas are not allowed before Cancun");
    if (p->extra_data.len > MAX_EXTRA_DATA)
        return errfmt(why, why_len, "extraData is %zu bytes, at most %d allowed",
                      p->extra_data.len, MAX_EXTRA_DATA);
    for (size_t i = 0; i < p->n_transactions; i++)
        if (p->transactions[i].len == 0)
            return errfmt(why, why_len, "transactions[%zu] is empty", i);

    uint8_t tx_root[32], withdrawals_root[32], requests_hash[32];
    if (block_transactions_root(p, tx_root) < 0 || block_withdrawals_root(p, withdrawals_root) < 0)
        return errfmt(why, why_len, "out of memory");
    if (prague) {
        if (extra->has_requests_hash)
            memcpy(requests_hash, extra->requests_hash, 32);
        else if (block_requests_hash(extra->requests, extra->n_requests, requests_hash,
                                     why, why_len) < 0)
            return -1;
    }

    size_t mark = rlp_list_begin(enc);
    rlp_put_bytes(enc, p->parent_hash, 32);
    rlp_put_bytes(enc, block_empty_ommers_hash, 32);
    rlp_put_bytes(enc, p->fee_recipient, 20);
    rlp_put_bytes(enc, p->state_root, 32);
    rlp_put_bytes(enc, tx_root, 32);
    rlp_put_bytes(enc, p->receipts_root, 32);
    rlp_put_bytes(enc, p->logs_bloom, 256);
    rlp_put_uint(enc, 0); /* difficulty */
    rlp_put_uint(enc, p->block_number);
    rlp_put_uint(enc, p->gas_limit);
    rlp_put_uint(enc, p->gas_used);
    rlp_put_uint(enc, p->timestamp);
    rlp_put_bytes(enc, p->extra_data.data, p->extra_data.len);
    rlp_put_bytes(enc, p->prev_randao, 32); /* mixHash */
    rlp_put_bytes(enc, zero_nonce, sizeof zero_nonce);
    rlp_put_u256(enc, p->base_fee_per_gas);
    rlp_put_bytes(enc, withdrawals_root, 32);
    if (cancun) {
        rlp_put_uint(enc, p->blob_gas_used);
        rlp_put_uint(enc, p->excess_blob_gas);
        rlp_put_bytes(enc, extra->parent_beacon_block_root, 32);
    }
    if (prague)
        rlp_put_bytes(enc, requests_hash, 32);
    rlp_list_end(enc, mark);
    return rlp_ok(enc) ? 0 : errfmt(why, why_len, "out of memory");
}

static int compute(const proto_payload_t *p, const block_hash_extra_t *extra, uint8_t out[32],
                   char *why, size_t why_len)
{
    rlp_t *enc = rlp_new();
    if (!enc)
        return errfmt(why, why_len, "out of memory");
    int rc = encode_header(p, extra ? extra : &s_shanghai, enc, why, why_len);
    if (rc == 0)
        keccak256(rlp_data(enc), rlp_len(enc), out);
    rlp_destroy(&enc);
    return rc;
}

int block_hash_compute(const proto_payload_t *p, const block_hash_extra_t *extra, uint8_t out[32])
{
    return compute(p, extra, out, NULL, 0);
}

int block_hash_verify(const proto_payload_t *p, const block_hash_extra_t *extra,
                      char *why, size_t why_len)
{
    uint8_t computed[32];
    if (compute(p, extra, computed, why, why_len) < 0)
        return -1;
    if (memcmp(computed, p->block_hash, 32) == 0)
        return 0;
    char claimed_hex[67], computed_hex[67];
    return errfmt(why, why_len, "block hash mismatch: payload says %s, computed %s",
                  hex_encode(p->block_hash, 32, claimed_hex),
                  hex_encode(computed, 32, computed_hex));
}

int payload_check_fields(const proto_payload_t *p, int fork, char *why, size_t why_len)
{
    if (fork < BLOCK_FORK_SHANGHAI || fork > BLOCK_FORK_PRAGUE)
        return errfmt(why, why_len, "unknown fork %d", fork);
    if (p->gas_used > p->gas_limit)
        return errfmt(why, why_len, "gasUsed %llu exceeds gasLimit %llu",
                      (unsigned long long) p->gas_used, (unsigned long long) p->gas_limit);
    if (p->extra_data.len > MAX_EXTRA_DATA)
        return errfmt(why, why_len, "extraData is %zu bytes, at most %d allowed",
                      p->extra_data.len, MAX_EXTRA_DATA);
    for (size_t i = 0; i < p->n_transactions; i++)
        if (p->transactions[i].len == 0)
            return errfmt(why, why_len, "transactions[%zu] is empty", i);
    bool cancun = fork >= BLOCK_FORK_CANCUN;
    if (p->has_blob_gas_used != cancun)
        return errfmt(why, why_len, cancun ? "blobGasUsed is missing (required from Cancun on)"
                                           : "blobGasUsed is not allowed before Cancun");
    if (p->has_excess_blob_gas != cancun)
        return errfmt(why, why_len, cancun ? "excessBlobGas is missing (required from Cancun on)"
                                           : "excessBlobGas is not allowed before Cancun");
    return 0;
}
