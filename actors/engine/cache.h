/*  cache: the payload cache and the block cache, owned by the loop.

    Payload cache: payloads this actor built, by payload id and by block hash,
    with the attributes key they were built from. A repeated build_block with
    identical attributes on the same parent reuses the payload id (as
    Lighthouse's payload-id cache does) and a commit_block of a built payload
    reuses its Engine API JSON and remembers its Cancun/Prague side fields.
    Bounded by count and age; the oldest is evicted first.

    Block cache: blocks by hash, least recently used evicted first, and
    number → hash for canonical blocks. Entries by hash never go stale (a hash
    names one block); the number index is cut back on revert and reorg. */
#ifndef ALYS_CACHE_H
#define ALYS_CACHE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

typedef struct {
    uint64_t hits, misses, evictions, expirations, entries;
} cache_stats_t;

/* ----------------------------------------------------------- payloads */

typedef struct payload_cache payload_cache_t;

typedef struct {
    uint8_t payload_id[8];
    uint8_t attrs_key[32];      /* digest of parent + attributes */
    uint8_t block_hash[32];
    uint8_t parent_hash[32];
    int fork;
    bool has_parent_beacon_block_root;
    uint8_t parent_beacon_block_root[32];
    proto_build_block_result_t built; /* owned */
    json_t *payload_json;            /* the executionPayload as the client sent it */
    json_t *requests_json;           /* executionRequests (Prague) or NULL */
    json_t *versioned_json;          /* blob versioned hashes (Cancun on) or NULL */
    uint8_t *encoded;                /* msgpack of built.payload, to recognise it */
    size_t encoded_len;
    int64_t created_ms;
} payload_entry_t;

payload_cache_t *payload_cache_new(size_t max_entries, int64_t ttl_ms);
void payload_cache_destroy(payload_cache_t **self_p);
/*  Takes ownership of entry (allocated with calloc; its members owned). */
void payload_cache_put(payload_cache_t *self, payload_entry_t *entry, int64_t now_ms);
/*  Borrowed; NULL when absent or expired. Counts a hit or a miss. */
payload_entry_t *payload_cache_by_attrs(payload_cache_t *self, const uint8_t key[32], int64_t now_ms);
payload_entry_t *payload_cache_by_hash(payload_cache_t *self, const uint8_t hash[32], int64_t now_ms);
/*  The hashes of head and of its cached ancestors, newest first, while
    each parent is a fresh entry; at most max. Returns how many were
    written (0 when head is not cached). Counts no hit or miss. */
size_t payload_cache_chain(payload_cache_t *self, const uint8_t head[32], int64_t now_ms,
                           uint8_t (*out)[32], size_t max);
/*  Forgets an entry (e.g. the client no longer knows its payload id). */
void payload_cache_remove(payload_cache_t *self, payload_entry_t *entry);
/*  Drops expired entries; returns how many. */
size_t payload_cache_sweep(payload_cache_t *self, int64_t now_ms);
void payload_cache_stats(const payload_cache_t *self, cache_stats_t *out);

/* ------------------------------------------------------------- blocks */

typedef struct block_cache block_cache_t;

block_cache_t *block_cache_new(size_t max_entries);
void block_cache_destroy(block_cache_t **self_p);
/*  Stores a copy of block (hash-only or full transactions kept apart).
    When canonical, also indexes number → hash. */
void block_cache_put(block_cache_t *self, const proto_block_t *block, bool canonical);
/*  Returns a borrowed block or NULL, counting a hit or miss. */
const proto_block_t *block_cache_get(block_cache_t *self, const uint8_t hash[32], bool full);
const proto_block_t *block_cache_get_number(block_cache_t *self, uint64_t number, bool full);
/*  The msgpack of the get_block result {block: b} for a block that
    block_cache_get returned, encoded on first use and kept with it: a block
    by hash never changes, so a cache hit encodes nothing. */
const uint8_t *block_cache_encoded(const proto_block_t *b, size_t *len);
/*  Forgets number → hash for every number >= from (revert, reorg). */
void block_cache_cut_numbers(block_cache_t *self, uint64_t from);
void block_cache_stats(const block_cache_t *self, cache_stats_t *out);

#endif
