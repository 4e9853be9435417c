/*  rlp: an RLP (Recursive Length Prefix) encoder into a growable buffer.

    Items are appended in order; a list is opened with rlp_list_begin and
    closed with rlp_list_end, which then writes the list's header in front of
    its payload. Allocation failures are sticky: once one happens every
    later call does nothing and rlp_ok returns false, so a caller checks
    once at the end. */
#ifndef ALYS_RLP_H
#define ALYS_RLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rlp_t rlp_t;

rlp_t *rlp_new(void);
void rlp_destroy(rlp_t **self_p);
/*  Empties the buffer (keeping its memory) and clears a failure. */
void rlp_reset(rlp_t *self);
bool rlp_ok(const rlp_t *self);

/*  A byte string; len 0 encodes as 0x80. */
void rlp_put_bytes(rlp_t *self, const uint8_t *data, size_t len);
/*  An unsigned integer as its minimal big-endian bytes (0 is the empty
    string). */
void rlp_put_uint(rlp_t *self, uint64_t value);
/*  A 256-bit big-endian unsigned integer, minimal as rlp_put_uint. */
void rlp_put_u256(rlp_t *self, const uint8_t value[32]);
/*  Appends bytes that already are one RLP item (an embedded trie node). */
void rlp_put_raw(rlp_t *self, const uint8_t *item, size_t len);

/*  Opens a list; returns the mark that rlp_list_end takes. Lists nest. */
size_t rlp_list_begin(rlp_t *self);
void rlp_list_end(rlp_t *self, size_t mark);

/*  The encoding so far; borrowed, valid until the next call that appends. */
const uint8_t *rlp_data(const rlp_t *self);
size_t rlp_len(const rlp_t *self);

#endif
