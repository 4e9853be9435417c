/*  Unit tests for actors/engine/cache.c: the payload cache (by attributes
    and by block hash, TTL, oldest-first eviction) and the block cache (LRU,
    hash-only and full variants, the number index and its invalidation on
    revert and reorg). Time is passed explicitly as now_ms. */
#include "cache.h"

#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- helpers */

static void assert_stats(const cache_stats_t *st, uint64_t hits, uint64_t misses,
                         uint64_t evictions, uint64_t expirations, uint64_t entries)
{
    ck_assert_uint_eq(st->hits, hits);
    ck_assert_uint_eq(st->misses, misses);
    ck_assert_uint_eq(st->evictions, evictions);
    ck_assert_uint_eq(st->expirations, expirations);
    ck_assert_uint_eq(st->entries, entries);
}

static void key_of(uint8_t tag, uint8_t out[32])
{
    memset(out, tag, 32);
}

static void hash_of(uint8_t tag, uint8_t out[32])
{
    memset(out, 0, 32);
    out[0] = 0xb0;
    out[31] = tag;
}

/*  A payload entry as the actor builds one: every owned member allocated,
    so that a missing free shows up under valgrind. */
static payload_entry_t *entry_new(uint8_t attrs_tag, uint8_t hash_tag)
{
    payload_entry_t *e = calloc(1, sizeof *e);
    ck_assert_ptr_nonnull(e);
    key_of(attrs_tag, e->attrs_key);
    hash_of(hash_tag, e->block_hash);
    memset(e->payload_id, hash_tag, 8);
    memcpy(e->built.payload.block_hash, e->block_hash, 32);
    e->built.payload.extra_data.data = malloc(4);
    ck_assert_ptr_nonnull(e->built.payload.extra_data.data);
    memcpy(e->built.payload.extra_data.data, "alys", 4);
    e->built.payload.extra_data.len = 4;
    e->built.payload.n_transactions = 1;
    e->built.payload.transactions = calloc(1, sizeof(proto_data_t));
    e->built.payload.transactions[0].data = malloc(3);
    e->built.payload.transactions[0].len = 3;
    memset(e->built.payload.transactions[0].data, 0xab, 3);
    e->built.n_execution_requests = 1;
    e->built.execution_requests = calloc(1, sizeof(proto_data_t));
    e->built.execution_requests[0].data = malloc(2);
    e->built.execution_requests[0].len = 2;
    memset(e->built.execution_requests[0].data, 0x01, 2);
    e->payload_json = json_pack("{s:s}", "blockHash", "0x00");
    e->requests_json = json_array();
    e->encoded = malloc(16);
    memset(e->encoded, 0xee, 16);
    e->encoded_len = 16;
    return e;
}

static payload_entry_t *by_attrs(payload_cache_t *c, uint8_t tag, int64_t now)
{
    uint8_t k[32];
    key_of(tag, k);
    return payload_cache_by_attrs(c, k, now);
}

static payload_entry_t *by_hash(payload_cache_t *c, uint8_t tag, int64_t now)
{
    uint8_t h[32];
    hash_of(tag, h);
    return payload_cache_by_hash(c, h, now);
}

/*  A block with n transactions, hash-only or full, owned by the caller. */
static void block_make(proto_block_t *b, uint8_t tag, uint64_t number, size_t n_tx, bool full)
{
    memset(b, 0, sizeof *b);
    hash_of(tag, b->hash);
    hash_of((uint8_t) (tag - 1), b->parent_hash);
    b->number = number;
    b->timestamp = 1000 + number;
    b->extra_data.data = malloc(2);
    ck_assert_ptr_nonnull(b->extra_data.data);
    b->extra_data.data[0] = tag;
    b->extra_data.data[1] = (uint8_t) number;
    b->extra_data.len = 2;
    b->full_transactions = full;
    b->n_transactions = n_tx;
    b->transactions = calloc(n_tx ? n_tx : 1, sizeof *b->transactions);
    ck_assert_ptr_nonnull(b->transactions);
    for (size_t i = 0; i < n_tx; i++) {
        memset(b->transactions[i].hash, (int) (0x40 + i), 32);
        if (full) {
            memset(b->transactions[i].from, 0xf0, 20);
            b->transactions[i].nonce = i + 1;
            b->transactions[i].input.data = malloc(1);
            b->transactions[i].input.data[0] = (uint8_t) i;
            b->transactions[i].input.len = 1;
        }
    }
}

/*  Puts a block made by block_make and releases the caller's copy. */
static void block_put(block_cache_t *c, uint8_t tag, uint64_t number, size_t n_tx, bool full,
                      bool canonical)
{
    proto_block_t b;
    block_make(&b, tag, number, n_tx, full);
    block_cache_put(c, &b, canonical);
    proto_free(&proto_block_schema, &b);
}

static const proto_block_t *block_get(block_cache_t *c, uint8_t tag, bool full)
{
    uint8_t h[32];
    hash_of(tag, h);
    return block_cache_get(c, h, full);
}

static void assert_block(const proto_block_t *b, uint8_t tag, uint64_t number)
{
    ck_assert_ptr_nonnull(b);
    uint8_t h[32];
    hash_of(tag, h);
    ck_assert_mem_eq(b->hash, h, 32);
    ck_assert_uint_eq(b->number, number);
    ck_assert_uint_eq(b->extra_data.len, 2);
    ck_assert_int_eq(b->extra_data.data[0], tag);
}

/* ------------------------------------------------------------ payloads */

START_TEST(test_payload_put_get)
{
    payload_cache_t *c = payload_cache_new(8, 10000);
    ck_assert_ptr_nonnull(c);
    payload_entry_t *a = entry_new(1, 0xa1);
    payload_entry_t *b = entry_new(2, 0xa2);
    payload_cache_put(c, a, 100);
    payload_cache_put(c, b, 200);
    ck_assert_int_eq(a->created_ms, 100);
    ck_assert_int_eq(b->created_ms, 200);

    ck_assert_ptr_eq(by_attrs(c, 1, 300), a);
    ck_assert_ptr_eq(by_attrs(c, 2, 300), b);
    ck_assert_ptr_eq(by_hash(c, 0xa1, 300), a);
    ck_assert_ptr_eq(by_hash(c, 0xa2, 300), b);
    /* keys are not interchangeable */
    ck_assert_ptr_null(by_attrs(c, 3, 300));
    ck_assert_ptr_null(by_hash(c, 1, 300));
    ck_assert_ptr_null(by_hash(c, 0xa3, 300));

    cache_stats_t st;
    payload_cache_stats(c, &st);
    assert_stats(&st, 4, 3, 0, 0, 2);
    payload_cache_destroy(&c);
    ck_assert_ptr_null(c);
    payload_cache_destroy(&c);
}
END_TEST

START_TEST(test_payload_ttl)
{
    payload_cache_t *c = payload_cache_new(8, 1000);
    payload_cache_put(c, entry_new(1, 0xa1), 5000);
    payload_cache_put(c, entry_new(2, 0xa2), 5500);
    ck_assert_ptr_nonnull(by_attrs(c, 1, 5999));
    ck_assert_ptr_nonnull(by_hash(c, 0xa1, 5999));
    /* at exactly the TTL an entry is stale */
    ck_assert_ptr_null(by_attrs(c, 1, 6000));
    cache_stats_t st;
    payload_cache_stats(c, &st);
    assert_stats(&st, 2, 1, 0, 1, 1);
    /* and it is gone by either key */
    ck_assert_ptr_null(by_hash(c, 0xa1, 6000));
    payload_cache_stats(c, &st);
    assert_stats(&st, 2, 2, 0, 1, 1);

    ck_assert_ptr_nonnull(by_hash(c, 0xa2, 6499));
    ck_assert_ptr_null(by_hash(c, 0xa2, 7000));
    ck_assert_ptr_null(by_attrs(c, 2, 5600));
    payload_cache_stats(c, &st);
    assert_stats(&st, 3, 4, 0, 2, 0);
    payload_cache_destroy(&c);
}
END_TEST

START_TEST(test_payload_oldest_evicted)
{
    payload_cache_t *c = payload_cache_new(3, 100000);
    payload_cache_put(c, entry_new(1, 0xa1), 1);
    payload_cache_put(c, entry_new(2, 0xa2), 2);
    payload_cache_put(c, entry_new(3, 0xa3), 3);
    /* a read does not make an entry younger */
    ck_assert_ptr_nonnull(by_attrs(c, 1, 4));
    payload_cache_put(c, entry_new(4, 0xa4), 5);
    cache_stats_t st;
    payload_cache_stats(c, &st);
    ck_assert_uint_eq(st.evictions, 1);
    ck_assert_uint_eq(st.entries, 3);
    ck_assert_ptr_null(by_attrs(c, 1, 6));
    ck_assert_ptr_null(by_hash(c, 0xa1, 6));
    ck_assert_ptr_nonnull(by_attrs(c, 2, 6));
    ck_assert_ptr_nonnull(by_attrs(c, 3, 6));
    ck_assert_ptr_nonnull(by_attrs(c, 4, 6));

    payload_cache_put(c, entry_new(5, 0xa5), 7);
    payload_cache_put(c, entry_new(6, 0xa6), 8);
    ck_assert_ptr_null(by_attrs(c, 2, 9));
    ck_assert_ptr_null(by_attrs(c, 3, 9));
    ck_assert_ptr_nonnull(by_attrs(c, 4, 9));
    payload_cache_stats(c, &st);
    ck_assert_uint_eq(st.evictions, 3);
    ck_assert_uint_eq(st.expirations, 0);
    ck_assert_uint_eq(st.entries, 3);
    payload_cache_destroy(&c);
}
END_TEST

START_TEST(test_payload_zero_size_holds_one)
{
    payload_cache_t *c = payload_cache_new(0, 1000);
    payload_cache_put(c, entry_new(1, 0xa1), 0);
    ck_assert_ptr_nonnull(by_attrs(c, 1, 1));
    payload_cache_put(c, entry_new(2, 0xa2), 2);
    ck_assert_ptr_null(by_attrs(c, 1, 3));
    ck_assert_ptr_nonnull(by_attrs(c, 2, 3));
    cache_stats_t st;
    payload_cache_stats(c, &st);
    ck_assert_uint_eq(st.evictions, 1);
    ck_assert_uint_eq(st.entries, 1);
    payload_cache_destroy(&c);
}
END_TEST

START_TEST(test_payload_replace_same_keys)
{
    payload_cache_t *c = payload_cache_new(4, 100000);
    payload_cache_put(c, entry_new(1, 0xa1), 1);
    payload_cache_put(c, entry_new(2, 0xa2), 2);

    /* same attributes, new block: the old entry goes, by both keys */
    payload_entry_t *again = entry_new(1, 0xb1);
    payload_cache_put(c, again, 3);
    ck_assert_ptr_eq(by_attrs(c, 1, 4), again);
    ck_assert_ptr_null(by_hash(c, 0xa1, 4));
    ck_assert_ptr_eq(by_hash(c, 0xb1, 4), again);

    /* same block hash under other attributes */
    payload_entry_t *rehash = entry_new(9, 0xa2);
    payload_cache_put(c, rehash, 5);
    ck_assert_ptr_null(by_attrs(c, 2, 6));
    ck_assert_ptr_eq(by_hash(c, 0xa2, 6), rehash);

    cache_stats_t st;
    payload_cache_stats(c, &st);
    /* a replacement is not an eviction */
    ck_assert_uint_eq(st.evictions, 0);
    ck_assert_uint_eq(st.entries, 2);
    payload_cache_destroy(&c);
}
END_TEST

START_TEST(test_payload_remove)
{
    payload_cache_t *c = payload_cache_new(4, 100000);
    payload_entry_t *a = entry_new(1, 0xa1);
    payload_cache_put(c, a, 1);
    payload_cache_put(c, entry_new(2, 0xa2), 2);

    /* an entry the cache does not hold, even with the same hash, is ignored */
    payload_entry_t stranger;
    memset(&stranger, 0, sizeof stranger);
    hash_of(0xa1, stranger.block_hash);
    payload_cache_remove(c, &stranger);
    ck_assert_ptr_eq(by_hash(c, 0xa1, 3), a);

    payload_cache_remove(c, a);
    ck_assert_ptr_null(by_hash(c, 0xa1, 3));
    ck_assert_ptr_null(by_attrs(c, 1, 3));
    ck_assert_ptr_nonnull(by_attrs(c, 2, 3));
    cache_stats_t st;
    payload_cache_stats(c, &st);
    ck_assert_uint_eq(st.entries, 1);
    ck_assert_uint_eq(st.evictions, 0);
    ck_assert_uint_eq(st.expirations, 0);

    /* the slot is free again */
    payload_cache_put(c, entry_new(1, 0xa1), 4);
    ck_assert_ptr_nonnull(by_hash(c, 0xa1, 5));
    payload_cache_destroy(&c);
}
END_TEST

START_TEST(test_payload_sweep)
{
    payload_cache_t *c = payload_cache_new(8, 1000);
    ck_assert_uint_eq(payload_cache_sweep(c, 0), 0);
    payload_cache_put(c, entry_new(1, 0xa1), 0);
    payload_cache_put(c, entry_new(2, 0xa2), 500);
    payload_cache_put(c, entry_new(3, 0xa3), 900);
    ck_assert_uint_eq(payload_cache_sweep(c, 999), 0);
    ck_assert_uint_eq(payload_cache_sweep(c, 1000), 1);
    ck_assert_uint_eq(payload_cache_sweep(c, 1000), 0);
    ck_assert_uint_eq(payload_cache_sweep(c, 1899), 1);
    cache_stats_t st;
    payload_cache_stats(c, &st);
    assert_stats(&st, 0, 0, 0, 2, 1);
    ck_assert_ptr_nonnull(by_attrs(c, 3, 1899));
    ck_assert_uint_eq(payload_cache_sweep(c, 1900), 1);
    payload_cache_stats(c, &st);
    assert_stats(&st, 1, 0, 0, 3, 0);
    ck_assert_uint_eq(payload_cache_sweep(c, 100000), 0);
    payload_cache_destroy(&c);
}
END_TEST

/*  The chain of cached ancestors: newest first while each parent is a
    fresh entry, stopping at a gap, at an expired entry and at max; an
    uncached head gives none; no lookup counts as a hit or miss. */
START_TEST(test_payload_chain)
{
    payload_cache_t *c = payload_cache_new(8, 1000);
    /* a1 <- a2 <- a3 <- a4, and a6 whose parent a5 is not cached */
    for (uint8_t t = 1; t <= 6; t++) {
        if (t == 5)
            continue;
        payload_entry_t *e = entry_new(t, (uint8_t) (0xa0 + t));
        hash_of((uint8_t) (0xa0 + t - 1), e->parent_hash);
        payload_cache_put(c, e, t == 1 ? 0 : 500);
    }
    uint8_t out[8][32], h[32];
    hash_of(0xa4, h);
    ck_assert_uint_eq(payload_cache_chain(c, h, 600, out, 8), 4);
    for (int i = 0; i < 4; i++) {
        uint8_t want[32];
        hash_of((uint8_t) (0xa4 - i), want);
        ck_assert_mem_eq(out[i], want, 32);
    }
    ck_assert_uint_eq(payload_cache_chain(c, h, 600, out, 2), 2);
    /* a1 expired at 1000: the chain ends above it */
    ck_assert_uint_eq(payload_cache_chain(c, h, 1000, out, 8), 3);
    hash_of(0xa6, h);
    ck_assert_uint_eq(payload_cache_chain(c, h, 600, out, 8), 1);
    hash_of(0xa5, h);
    ck_assert_uint_eq(payload_cache_chain(c, h, 600, out, 8), 0);
    cache_stats_t st;
    payload_cache_stats(c, &st);
    assert_stats(&st, 0, 0, 0, 0, 5);
    payload_cache_destroy(&c);
}
END_TEST

/* -------------------------------------------------------------- blocks */

START_TEST(test_block_put_get)
{
    block_cache_t *c = block_cache_new(8);
    ck_assert_ptr_nonnull(c);
    proto_block_t b;
    block_make(&b, 0x10, 16, 2, false);
    block_cache_put(c, &b, false);
    /* the cache keeps its own copy */
    b.extra_data.data[0] = 0x99;
    b.transactions[0].hash[0] = 0x99;
    proto_free(&proto_block_schema, &b);

    const proto_block_t *got = block_get(c, 0x10, false);
    assert_block(got, 0x10, 16);
    ck_assert(!got->full_transactions);
    ck_assert_uint_eq(got->n_transactions, 2);
    ck_assert_int_eq(got->transactions[0].hash[0], 0x40);
    ck_assert_int_eq(got->transactions[1].hash[31], 0x41);
    ck_assert_ptr_null(block_get(c, 0x11, false));

    cache_stats_t st;
    block_cache_stats(c, &st);
    assert_stats(&st, 1, 1, 0, 0, 1);

    /* putting the same block again stores nothing new */
    block_put(c, 0x10, 16, 2, false, false);
    block_cache_stats(c, &st);
    ck_assert_uint_eq(st.entries, 1);
    block_cache_destroy(&c);
    ck_assert_ptr_null(c);
    block_cache_destroy(&c);
}
END_TEST

START_TEST(test_block_lru_order)
{
    block_cache_t *c = block_cache_new(3);
    block_put(c, 1, 1, 0, false, false);
    block_put(c, 2, 2, 0, false, false);
    block_put(c, 3, 3, 0, false, false);
    /* 1 is used again, so 2 is now the least recent */
    assert_block(block_get(c, 1, false), 1, 1);
    block_put(c, 4, 4, 0, false, false);
    cache_stats_t st;
    block_cache_stats(c, &st);
    ck_assert_uint_eq(st.evictions, 1);
    ck_assert_uint_eq(st.entries, 3);
    ck_assert_ptr_null(block_get(c, 2, false));
    /* order now (least recent first): 3, 4, 1 after these reads */
    assert_block(block_get(c, 3, false), 3, 3);
    assert_block(block_get(c, 4, false), 4, 4);
    assert_block(block_get(c, 1, false), 1, 1);
    block_put(c, 5, 5, 0, false, false);
    ck_assert_ptr_null(block_get(c, 3, false));
    block_put(c, 6, 6, 0, false, false);
    ck_assert_ptr_null(block_get(c, 4, false));
    assert_block(block_get(c, 1, false), 1, 1);
    assert_block(block_get(c, 5, false), 5, 5);
    assert_block(block_get(c, 6, false), 6, 6);
    block_cache_stats(c, &st);
    assert_stats(&st, 7, 3, 3, 0, 3);
    block_cache_destroy(&c);
}
END_TEST

START_TEST(test_block_without_reads_fifo)
{
    block_cache_t *c = block_cache_new(2);
    block_put(c, 1, 1, 0, false, false);
    block_put(c, 2, 2, 0, false, false);
    block_put(c, 3, 3, 0, false, false);
    ck_assert_ptr_null(block_get(c, 1, false));
    ck_assert_ptr_nonnull(block_get(c, 2, false));
    ck_assert_ptr_nonnull(block_get(c, 3, false));
    block_cache_destroy(&c);
}
END_TEST

START_TEST(test_block_hash_only_vs_full)
{
    block_cache_t *c = block_cache_new(8);
    block_put(c, 0x20, 32, 3, false, false);
    /* hashes alone cannot answer for full transactions */
    ck_assert_ptr_null(block_get(c, 0x20, true));
    const proto_block_t *h = block_get(c, 0x20, false);
    ck_assert_ptr_nonnull(h);
    ck_assert(!h->full_transactions);

    block_put(c, 0x20, 32, 3, true, false);
    cache_stats_t st;
    block_cache_stats(c, &st);
    ck_assert_uint_eq(st.entries, 2);
    const proto_block_t *f = block_get(c, 0x20, true);
    ck_assert_ptr_nonnull(f);
    ck_assert(f->full_transactions);
    ck_assert_uint_eq(f->n_transactions, 3);
    ck_assert_uint_eq(f->transactions[2].nonce, 3);
    ck_assert_uint_eq(f->transactions[2].input.len, 1);
    ck_assert_int_eq(f->transactions[2].input.data[0], 2);
    h = block_get(c, 0x20, false);
    ck_assert_ptr_nonnull(h);
    ck_assert(!h->full_transactions);

    /* only the full variant cached: the hash-only request misses */
    block_put(c, 0x21, 33, 1, true, false);
    ck_assert_ptr_null(block_get(c, 0x21, false));
    ck_assert_ptr_nonnull(block_get(c, 0x21, true));

    block_cache_stats(c, &st);
    assert_stats(&st, 4, 2, 0, 0, 3);
    block_cache_destroy(&c);
}
END_TEST

START_TEST(test_block_empty_is_both)
{
    /* a block without transactions is the same in either form */
    block_cache_t *c = block_cache_new(8);
    block_put(c, 0x30, 48, 0, true, false);
    assert_block(block_get(c, 0x30, true), 0x30, 48);
    assert_block(block_get(c, 0x30, false), 0x30, 48);
    block_put(c, 0x31, 49, 0, false, false);
    assert_block(block_get(c, 0x31, true), 0x31, 49);
    cache_stats_t st;
    block_cache_stats(c, &st);
    assert_stats(&st, 3, 0, 0, 0, 2);
    block_cache_destroy(&c);
}
END_TEST

START_TEST(test_block_number_index)
{
    block_cache_t *c = block_cache_new(8);
    block_put(c, 0x0a, 10, 1, false, true);
    block_put(c, 0x0b, 11, 0, false, false);
    assert_block(block_cache_get_number(c, 10, false), 0x0a, 10);
    /* a block put as non-canonical is not indexed by number */
    ck_assert_ptr_null(block_cache_get_number(c, 11, false));
    assert_block(block_get(c, 0x0b, false), 0x0b, 11);
    /* the variant still matters by number */
    ck_assert_ptr_null(block_cache_get_number(c, 10, true));
    cache_stats_t st;
    block_cache_stats(c, &st);
    assert_stats(&st, 2, 2, 0, 0, 2);

    /* seen again as canonical: now indexed */
    block_put(c, 0x0b, 11, 0, false, true);
    assert_block(block_cache_get_number(c, 11, false), 0x0b, 11);
    block_cache_stats(c, &st);
    ck_assert_uint_eq(st.entries, 2);
    block_cache_destroy(&c);
}
END_TEST

START_TEST(test_block_revert_cuts_numbers)
{
    block_cache_t *c = block_cache_new(16);
    for (uint8_t n = 10; n <= 14; n++)
        block_put(c, n, n, 0, false, true);
    /* revert to 12: numbers above it may name other blocks from now on */
    block_cache_cut_numbers(c, 13);
    assert_block(block_cache_get_number(c, 12, false), 12, 12);
    assert_block(block_cache_get_number(c, 10, false), 10, 10);
    ck_assert_ptr_null(block_cache_get_number(c, 13, false));
    ck_assert_ptr_null(block_cache_get_number(c, 14, false));
    /* a hash always names the same block */
    assert_block(block_get(c, 13, false), 13, 13);
    assert_block(block_get(c, 14, false), 14, 14);
    cache_stats_t st;
    block_cache_stats(c, &st);
    assert_stats(&st, 4, 2, 0, 0, 5);
    block_cache_destroy(&c);
}
END_TEST

START_TEST(test_block_reorg_reindexes)
{
    block_cache_t *c = block_cache_new(16);
    block_put(c, 0x0a, 10, 0, false, true);
    block_put(c, 0x0b, 11, 0, false, true);
    block_put(c, 0x0c, 12, 0, false, true);
    /* a reorg from 11 on: cut, then the new branch comes in */
    block_cache_cut_numbers(c, 11);
    ck_assert_ptr_null(block_cache_get_number(c, 11, false));
    ck_assert_ptr_null(block_cache_get_number(c, 12, false));
    block_put(c, 0x1b, 11, 0, false, true);
    assert_block(block_cache_get_number(c, 11, false), 0x1b, 11);
    ck_assert_ptr_null(block_cache_get_number(c, 12, false));
    assert_block(block_cache_get_number(c, 10, false), 0x0a, 10);
    /* the old branch is still there by hash */
    assert_block(block_get(c, 0x0b, false), 0x0b, 11);

    /* a later canonical put of the same number replaces the mapping */
    block_put(c, 0x2b, 11, 0, false, true);
    assert_block(block_cache_get_number(c, 11, false), 0x2b, 11);

    /* cutting from 0 clears the whole index */
    block_cache_cut_numbers(c, 0);
    ck_assert_ptr_null(block_cache_get_number(c, 10, false));
    ck_assert_ptr_null(block_cache_get_number(c, 11, false));
    block_cache_destroy(&c);
}
END_TEST

START_TEST(test_block_number_of_evicted_block)
{
    block_cache_t *c = block_cache_new(1);
    block_put(c, 1, 1, 0, false, true);
    block_put(c, 2, 2, 0, false, true);
    ck_assert_ptr_null(block_cache_get_number(c, 1, false));
    assert_block(block_cache_get_number(c, 2, false), 2, 2);
    cache_stats_t st;
    block_cache_stats(c, &st);
    assert_stats(&st, 1, 1, 1, 0, 1);

    /* the number index stays bounded and the newest numbers still resolve */
    for (uint64_t n = 3; n < 400; n++)
        block_put(c, (uint8_t) n, n, 0, false, true);
    assert_block(block_cache_get_number(c, 399, false), (uint8_t) 399, 399);
    block_cache_stats(c, &st);
    ck_assert_uint_eq(st.entries, 1);
    ck_assert_uint_eq(st.evictions, 398);
    block_cache_destroy(&c);
}
END_TEST

START_TEST(test_block_zero_size)
{
    block_cache_t *c = block_cache_new(0);
    ck_assert_ptr_nonnull(c);
    block_put(c, 1, 1, 2, false, true);
    block_put(c, 2, 2, 0, true, true);
    ck_assert_ptr_null(block_get(c, 1, false));
    ck_assert_ptr_null(block_get(c, 2, true));
    ck_assert_ptr_null(block_cache_get_number(c, 1, false));
    cache_stats_t st;
    block_cache_stats(c, &st);
    assert_stats(&st, 0, 3, 0, 0, 0);
    block_cache_destroy(&c);
}
END_TEST

static Suite *cache_suite(void)
{
    Suite *s = suite_create("cache");
    TCase *p = tcase_create("payload");
    tcase_add_test(p, test_payload_put_get);
    tcase_add_test(p, test_payload_ttl);
    tcase_add_test(p, test_payload_oldest_evicted);
    tcase_add_test(p, test_payload_zero_size_holds_one);
    tcase_add_test(p, test_payload_replace_same_keys);
    tcase_add_test(p, test_payload_remove);
    tcase_add_test(p, test_payload_sweep);
    tcase_add_test(p, test_payload_chain);
    suite_add_tcase(s, p);

    TCase *b = tcase_create("block");
    tcase_add_test(b, test_block_put_get);
    tcase_add_test(b, test_block_lru_order);
    tcase_add_test(b, test_block_without_reads_fifo);
    tcase_add_test(b, test_block_hash_only_vs_full);
    tcase_add_test(b, test_block_empty_is_both);
    tcase_add_test(b, test_block_number_index);
    tcase_add_test(b, test_block_revert_cuts_numbers);
    tcase_add_test(b, test_block_reorg_reindexes);
    tcase_add_test(b, test_block_number_of_evicted_block);
    tcase_add_test(b, test_block_zero_size);
    suite_add_tcase(s, b);
    return s;
}

int main(void)
{
    SRunner *runner = srunner_create(cache_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
