#include "cache.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <utlist.h>

/* ----------------------------------------------------------- payloads */

typedef struct pnode {
    payload_entry_t *entry;
    UT_hash_handle by_attrs, by_hash;
    struct pnode *prev, *next; /* insertion order, oldest first (utlist DL) */
} pnode_t;

struct payload_cache {
    size_t max_entries;
    int64_t ttl_ms;
    pnode_t *attrs_index, *hash_index;
    pnode_t *oldest; /* the insertion-order list; its prev is the newest */
    size_t count;
    cache_stats_t stats;
};

payload_cache_t *payload_cache_new(size_t max_entries, int64_t ttl_ms)
{
    payload_cache_t *self = calloc(1, sizeof *self);
    if (self) {
        self->max_entries = max_entries ? max_entries : 1;
        self->ttl_ms = ttl_ms;
    }
    return self;
}

static void entry_free(payload_entry_t *e)
{
    proto_free(proto_op_find("build_block")->result, &e->built);
    json_decref(e->payload_json);
    json_decref(e->requests_json);
    json_decref(e->versioned_json);
    free(e->encoded);
    free(e);
}

static void pnode_unlink(payload_cache_t *self, pnode_t *n)
{
    HASH_DELETE(by_attrs, self->attrs_index, n);
    HASH_DELETE(by_hash, self->hash_index, n);
    DL_DELETE(self->oldest, n);
    self->count--;
    self->stats.entries = self->count;
    entry_free(n->entry);
    free(n);
}

void payload_cache_destroy(payload_cache_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    payload_cache_t *self = *self_p;
    while (self->oldest)
        pnode_unlink(self, self->oldest);
    free(self);
    *self_p = NULL;
}

static pnode_t *find_attrs(payload_cache_t *self, const uint8_t key[32])
{
    pnode_t *n = NULL;
    HASH_FIND(by_attrs, self->attrs_index, key, 32, n);
    return n;
}

static pnode_t *find_hash(payload_cache_t *self, const uint8_t hash[32])
{
    pnode_t *n = NULL;
    HASH_FIND(by_hash, self->hash_index, hash, 32, n);
    return n;
}

void payload_cache_put(payload_cache_t *self, payload_entry_t *entry, int64_t now_ms)
{
    pnode_t *old = find_attrs(self, entry->attrs_key);
    if (old)
        pnode_unlink(self, old);
    old = find_hash(self, entry->block_hash);
    if (old)
        pnode_unlink(self, old);
    while (self->count >= self->max_entries) {
        pnode_unlink(self, self->oldest);
        self->stats.evictions++;
    }
    pnode_t *n = calloc(1, sizeof *n);
    if (!n) {
        entry_free(entry);
        return;
    }
    entry->created_ms = now_ms;
    n->entry = entry;
    HASH_ADD_KEYPTR(by_attrs, self->attrs_index, entry->attrs_key, 32, n);
    HASH_ADD_KEYPTR(by_hash, self->hash_index, entry->block_hash, 32, n);
    DL_APPEND(self->oldest, n);
    self->count++;
    self->stats.entries = self->count;
}

static payload_entry_t *fresh(payload_cache_t *self, pnode_t *n, int64_t now_ms)
{
    if (n && now_ms - n->entry->created_ms >= self->ttl_ms) {
        pnode_unlink(self, n);
        self->stats.expirations++;
        n = NULL;
    }
    if (n)
        self->stats.hits++;
    else
        self->stats.misses++;
    return n ? n->entry : NULL;
}

payload_entry_t *payload_cache_by_attrs(payload_cache_t *self, const uint8_t key[32], int64_t now_ms)
{
    return fresh(self, find_attrs(self, key), now_ms);
}

payload_entry_t *payload_cache_by_hash(payload_cache_t *self, const uint8_t hash[32], int64_t now_ms)
{
    return fresh(self, find_hash(self, hash), now_ms);
}

size_t payload_cache_chain(payload_cache_t *self, const uint8_t head[32], int64_t now_ms,
                           uint8_t (*out)[32], size_t max)
{
    size_t n = 0;
    pnode_t *p = find_hash(self, head);
    while (p && n < max && now_ms - p->entry->created_ms < self->ttl_ms) {
        memcpy(out[n++], p->entry->block_hash, 32);
        p = find_hash(self, p->entry->parent_hash);
    }
    return n;
}

void payload_cache_remove(payload_cache_t *self, payload_entry_t *entry)
{
    pnode_t *n = find_hash(self, entry->block_hash);
    if (n && n->entry == entry)
        pnode_unlink(self, n);
}

size_t payload_cache_sweep(payload_cache_t *self, int64_t now_ms)
{
    size_t dropped = 0;
    while (self->oldest && now_ms - self->oldest->entry->created_ms >= self->ttl_ms) {
        pnode_unlink(self, self->oldest);
        self->stats.expirations++;
        dropped++;
    }
    return dropped;
}

void payload_cache_stats(const payload_cache_t *self, cache_stats_t *out) { *out = self->stats; }

/* ------------------------------------------------------------- blocks */

typedef struct {
    uint8_t hash[32];
    uint8_t full;
} bkey_t;

typedef struct bnode {
    bkey_t key;
    proto_block_t block;
    uint8_t *encoded;
    size_t encoded_len;
    UT_hash_handle hh;
} bnode_t;

typedef struct nnode {
    uint64_t number;
    uint8_t hash[32];
    UT_hash_handle hh;
} nnode_t;

struct block_cache {
    size_t max_entries;
    bnode_t *blocks; /* uthash keeps insertion order: the head is least recent */
    nnode_t *numbers;
    cache_stats_t stats;
};

block_cache_t *block_cache_new(size_t max_entries)
{
    block_cache_t *self = calloc(1, sizeof *self);
    if (self)
        self->max_entries = max_entries;
    return self;
}

static void bnode_free(block_cache_t *self, bnode_t *n)
{
    HASH_DEL(self->blocks, n);
    proto_free(&proto_block_schema, &n->block);
    free(n->encoded);
    free(n);
    self->stats.entries = HASH_COUNT(self->blocks);
}

void block_cache_destroy(block_cache_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    block_cache_t *self = *self_p;
    bnode_t *b, *btmp;
    HASH_ITER(hh, self->blocks, b, btmp) bnode_free(self, b);
    nnode_t *n, *ntmp;
    HASH_ITER(hh, self->numbers, n, ntmp) {
        HASH_DEL(self->numbers, n);
        free(n);
    }
    free(self);
    *self_p = NULL;
}

static void index_number(block_cache_t *self, uint64_t number, const uint8_t hash[32])
{
    nnode_t *n = NULL;
    /* the index outlives evicted blocks; keep it within a few times the cache */
    if (HASH_COUNT(self->numbers) > 4 * self->max_entries + 64) {
        nnode_t *tmp;
        size_t drop = HASH_COUNT(self->numbers) / 2;
        HASH_ITER(hh, self->numbers, n, tmp) {
            if (drop-- == 0)
                break;
            HASH_DEL(self->numbers, n);
            free(n);
        }
        n = NULL;
    }
    HASH_FIND(hh, self->numbers, &number, sizeof number, n);
    if (!n) {
        n = calloc(1, sizeof *n);
        if (!n)
            return;
        n->number = number;
        HASH_ADD(hh, self->numbers, number, sizeof n->number, n);
    }
    memcpy(n->hash, hash, 32);
}

void block_cache_put(block_cache_t *self, const proto_block_t *block, bool canonical)
{
    if (self->max_entries == 0)
        return;
    if (canonical)
        index_number(self, block->number, block->hash);
    bkey_t key;
    memset(&key, 0, sizeof key);
    memcpy(key.hash, block->hash, 32);
    key.full = block->full_transactions && block->n_transactions > 0;
    bnode_t *n = NULL;
    HASH_FIND(hh, self->blocks, &key, sizeof key, n);
    if (n)
        return;
    while (HASH_COUNT(self->blocks) >= self->max_entries) {
        bnode_free(self, self->blocks);
        self->stats.evictions++;
    }
    n = calloc(1, sizeof *n);
    if (!n)
        return;
    n->key = key;
    proto_copy(&proto_block_schema, &n->block, block);
    HASH_ADD(hh, self->blocks, key, sizeof n->key, n);
    self->stats.entries = HASH_COUNT(self->blocks);
}

const proto_block_t *block_cache_get(block_cache_t *self, const uint8_t hash[32], bool full)
{
    bkey_t key;
    memset(&key, 0, sizeof key);
    memcpy(key.hash, hash, 32);
    key.full = full;
    bnode_t *n = NULL;
    HASH_FIND(hh, self->blocks, &key, sizeof key, n);
    if (!n && full) {
        /* a block without transactions is the same either way */
        key.full = 0;
        HASH_FIND(hh, self->blocks, &key, sizeof key, n);
        if (n && n->block.n_transactions > 0)
            n = NULL;
    }
    if (!n) {
        self->stats.misses++;
        return NULL;
    }
    /* most recently used goes to the back */
    HASH_DEL(self->blocks, n);
    HASH_ADD(hh, self->blocks, key, sizeof n->key, n);
    self->stats.hits++;
    return &n->block;
}

const proto_block_t *block_cache_get_number(block_cache_t *self, uint64_t number, bool full)
{
    nnode_t *n = NULL;
    HASH_FIND(hh, self->numbers, &number, sizeof number, n);
    if (!n) {
        self->stats.misses++;
        return NULL;
    }
    return block_cache_get(self, n->hash, full);
}

void block_cache_cut_numbers(block_cache_t *self, uint64_t from)
{
    nnode_t *n, *tmp;
    HASH_ITER(hh, self->numbers, n, tmp) {
        if (n->number >= from) {
            HASH_DEL(self->numbers, n);
            free(n);
        }
    }
}

const uint8_t *block_cache_encoded(const proto_block_t *b, size_t *len)
{
    bnode_t *n = (bnode_t *) ((uint8_t *) b - offsetof(bnode_t, block));
    if (!n->encoded) {
        proto_writer_t w;
        proto_writer_init(&w);
        msgpack_pack_map(&w.pk, 1);
        proto_pack_str(&w.pk, "block");
        proto_encode(&proto_block_schema, &n->block, &w.pk);
        n->encoded = malloc(w.sbuf.size);
        if (n->encoded) {
            memcpy(n->encoded, w.sbuf.data, w.sbuf.size);
            n->encoded_len = w.sbuf.size;
        }
        proto_writer_release(&w);
    }
    *len = n->encoded_len;
    return n->encoded;
}

void block_cache_stats(const block_cache_t *self, cache_stats_t *out) { *out = self->stats; }
