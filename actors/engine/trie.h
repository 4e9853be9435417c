/*  trie: the root of an Ethereum Merkle Patricia trie built in memory.

    trie_ordered_root is the construction behind a block header's
    transactionsRoot, receiptsRoot and withdrawalsRoot: value i is stored
    under the key RLP(i). The general trie_root takes arbitrary distinct
    keys. Nothing is kept: the nodes are encoded bottom-up and hashed. */
#ifndef ALYS_TRIE_H
#define ALYS_TRIE_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/*  keccak256(RLP("")), the root of a trie with no entries. */
extern const uint8_t trie_empty_root[32];

/*  Root of the trie mapping RLP(i) to values[i] for i < n. Values must not be
    empty (an empty value means "absent" in a trie). Returns 0, or -1 for an
    empty value or when memory runs out. */
int trie_ordered_root(const proto_data_t *values, size_t n, uint8_t root[32]);

/*  Root of the trie mapping keys[i] to values[i]. Keys must be distinct and
    values non-empty. Returns 0 or -1. */
int trie_root(const proto_data_t *keys, const proto_data_t *values, size_t n, uint8_t root[32]);

#endif
