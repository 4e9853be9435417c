/*  Unit tests for proto: every message of the contract survives an encode,
    decode, re-encode cycle byte for byte; malformed input of every kind is
    refused with the right code and message and without leaking; and the
    helpers (pre-scan, selectors, error names, op table) agree with
    PROTOCOL.md.

    Malformed inputs are written in a compact spec (see spec_bytes) and are
    either whole frames or edits of a valid request at a key path such as
    "args.payload.extra_data". */
#include "proto.h"
#include "hex.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof *(a))
#define NVARIANTS 3

/* ------------------------------------------------------------------ bytes */

typedef struct {
    uint8_t *data;
    size_t len;
} bytes_t;

static bytes_t bytes_take(proto_writer_t *w)
{
    bytes_t b = {malloc(w->sbuf.size ? w->sbuf.size : 1), w->sbuf.size};
    ck_assert_ptr_nonnull(b.data);
    if (w->sbuf.size)
        memcpy(b.data, w->sbuf.data, w->sbuf.size);
    proto_writer_release(w);
    return b;
}

static bytes_t bytes_dup(const bytes_t *src)
{
    bytes_t b = {malloc(src->len ? src->len : 1), src->len};
    ck_assert_ptr_nonnull(b.data);
    if (src->len)
        memcpy(b.data, src->data, src->len);
    return b;
}

static void bytes_free(bytes_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

static void assert_bytes_eq(const bytes_t *want, const bytes_t *got, const char *label)
{
    size_t n = want->len < got->len ? want->len : got->len;
    size_t at = 0;
    while (at < n && want->data[at] == got->data[at])
        at++;
    ck_assert_msg(want->len == got->len && at == n,
                  "%s: encodings differ at byte %zu (%zu bytes, then %zu)", label, at, want->len,
                  got->len);
}

static bytes_t encode_obj(const proto_schema_t *schema, const void *obj)
{
    proto_writer_t w;
    proto_writer_init(&w);
    proto_encode(schema, obj, &w.pk);
    return bytes_take(&w);
}

static void *obj_new(size_t size)
{
    void *p = calloc(1, size);
    ck_assert_ptr_nonnull(p);
    return p;
}

static bool all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

/*  Builds bytes from a compact spec of space-separated tokens:
      c4, ddffffffff    hex bytes
      00*32, 81a161*13  a hex run repeated
      "text"            a msgpack str with its header (no spaces or quotes inside)
      bin:N             a msgpack bin of N bytes (0xab)
      bins:N:L          N msgpack bins of L bytes each
      @ping             a valid request {v: 1, id: 7, op: "ping"} */
static bytes_t spec_bytes(const char *spec)
{
    proto_writer_t w;
    proto_writer_init(&w);
    const char *p = spec;
    while (*p) {
        if (*p == ' ') {
            p++;
            continue;
        }
        if (*p == '"') {
            const char *end = strchr(p + 1, '"');
            ck_assert_msg(end != NULL, "spec %s: unterminated str", spec);
            size_t n = (size_t) (end - p - 1);
            msgpack_pack_str(&w.pk, n);
            msgpack_pack_str_body(&w.pk, p + 1, n);
            p = end + 1;
            continue;
        }
        char tok[160];
        size_t n = strcspn(p, " ");
        ck_assert_msg(n < sizeof tok, "spec token too long in %s", spec);
        memcpy(tok, p, n);
        tok[n] = '\0';
        p += n;
        if (strcmp(tok, "@ping") == 0) {
            proto_request_begin(&w.pk, 7, "ping", false);
        } else if (strncmp(tok, "bins:", 5) == 0 || strncmp(tok, "bin:", 4) == 0) {
            unsigned long count = 1, len;
            if (tok[3] == 's') {
                char *colon;
                count = strtoul(tok + 5, &colon, 10);
                ck_assert_msg(*colon == ':', "spec token %s", tok);
                len = strtoul(colon + 1, NULL, 10);
            } else {
                len = strtoul(tok + 4, NULL, 10);
            }
            for (unsigned long i = 0; i < count; i++) {
                msgpack_pack_bin(&w.pk, len);
                for (unsigned long j = 0; j < len; j++)
                    msgpack_sbuffer_write(&w.sbuf, "\xab", 1);
            }
        } else {
            unsigned long reps = 1;
            char *star = strchr(tok, '*');
            if (star) {
                *star = '\0';
                reps = strtoul(star + 1, NULL, 10);
            }
            uint8_t run[64];
            long k = hex_decode(tok, run, sizeof run);
            ck_assert_msg(k > 0, "spec token %s is not hex", tok);
            for (unsigned long r = 0; r < reps; r++)
                msgpack_sbuffer_write(&w.sbuf, (const char *) run, (size_t) k);
        }
    }
    return bytes_take(&w);
}

/* ----------------------------------------------------------- sample values */

static void fill(void *p, size_t n, unsigned seed)
{
    uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t) (seed * 37u + i * 11u + 3u);
}

static proto_data_t data_new(size_t n, unsigned seed)
{
    proto_data_t d = {malloc(n ? n : 1), n};
    ck_assert_ptr_nonnull(d.data);
    fill(d.data, n, seed);
    return d;
}

static char *str_new(const char *s)
{
    char *p = strdup(s);
    ck_assert_ptr_nonnull(p);
    return p;
}

static void *items_new(size_t n, size_t size)
{
    if (n == 0)
        return NULL;
    void *p = calloc(n, size);
    ck_assert_ptr_nonnull(p);
    return p;
}

static void sample_withdrawal(proto_withdrawal_t *w, unsigned seed)
{
    w->index = seed == 0 ? 0 : 1000u * seed + 1;
    w->validator_index = seed * 3u;
    fill(w->address, sizeof w->address, seed + 40);
    w->amount = seed == 2 ? UINT64_MAX : 1000000000ull * (seed + 1);
}

/*  Variant 0: every field, blob gas fields, three transactions (the last
    needs a bin16 header) and two withdrawals. Variant 1: the smallest
    payload. Variant 2: one 70 000 byte transaction (bin32) and only
    excess_blob_gas. */
static void sample_payload(proto_payload_t *p, unsigned seed, int variant)
{
    fill(p->parent_hash, 32, seed);
    fill(p->fee_recipient, 20, seed + 1);
    fill(p->state_root, 32, seed + 2);
    fill(p->receipts_root, 32, seed + 3);
    fill(p->logs_bloom, 256, seed + 4);
    fill(p->prev_randao, 32, seed + 5);
    p->block_number = 0x1234u + seed;
    p->gas_limit = 30000000;
    p->timestamp = 1700000000u + seed;
    fill(p->base_fee_per_gas, 32, seed + 6);
    fill(p->block_hash, 32, seed + 7);
    switch (variant) {
    case 0:
        p->gas_used = 63000;
        p->extra_data = data_new(32, seed + 8);
        p->n_transactions = 3;
        p->transactions = items_new(3, sizeof *p->transactions);
        p->transactions[0] = data_new(1, seed + 9);
        p->transactions[1] = data_new(120, seed + 10);
        p->transactions[2] = data_new(300, seed + 11);
        p->n_withdrawals = 2;
        p->withdrawals = items_new(2, sizeof *p->withdrawals);
        sample_withdrawal(&p->withdrawals[0], 1);
        sample_withdrawal(&p->withdrawals[1], 2);
        p->has_blob_gas_used = true;
        p->blob_gas_used = 131072;
        p->has_excess_blob_gas = true;
        p->excess_blob_gas = 0;
        break;
    case 1:
        p->extra_data = data_new(0, 0);
        break;
    default:
        p->gas_used = UINT64_MAX;
        p->extra_data = data_new(5, seed + 8);
        p->n_transactions = 1;
        p->transactions = items_new(1, sizeof *p->transactions);
        p->transactions[0] = data_new(70000, seed + 12);
        p->n_withdrawals = 1;
        p->withdrawals = items_new(1, sizeof *p->withdrawals);
        sample_withdrawal(&p->withdrawals[0], 0);
        p->has_excess_blob_gas = true;
        p->excess_blob_gas = 393216;
        break;
    }
}

static void sample_tx(proto_tx_t *t, unsigned seed, bool has_to, size_t input_len)
{
    fill(t->hash, 32, seed);
    fill(t->from, 20, seed + 1);
    t->has_to = has_to;
    if (has_to)
        fill(t->to, 20, seed + 2);
    t->nonce = seed;
    fill(t->value, 32, seed + 3);
    t->input = data_new(input_len, seed + 4);
    t->raw = data_new(input_len + 110, seed + 5);
}

/*  Transactions are full maps (every other one a contract creation with a
    nil `to`) or hashes only. */
static void sample_block(proto_block_t *b, unsigned seed, bool full, size_t n_tx)
{
    fill(b->hash, 32, seed);
    fill(b->parent_hash, 32, seed + 1);
    b->number = 100 + seed;
    b->timestamp = 1700000100u + seed;
    b->gas_limit = 30000000;
    b->gas_used = 21000 * n_tx;
    fill(b->base_fee_per_gas, 32, seed + 2);
    fill(b->fee_recipient, 20, seed + 3);
    fill(b->state_root, 32, seed + 4);
    fill(b->receipts_root, 32, seed + 5);
    fill(b->logs_bloom, 256, seed + 6);
    b->extra_data = data_new(7, seed + 7);
    fill(b->prev_randao, 32, seed + 8);
    b->n_withdrawals = n_tx ? 1 : 0;
    b->withdrawals = items_new(b->n_withdrawals, sizeof *b->withdrawals);
    if (n_tx)
        sample_withdrawal(&b->withdrawals[0], 1);
    b->full_transactions = full;
    b->n_transactions = n_tx;
    b->transactions = items_new(n_tx, sizeof *b->transactions);
    for (size_t j = 0; j < n_tx; j++) {
        unsigned s = seed + 20 * (unsigned) (j + 1);
        if (full)
            sample_tx(&b->transactions[j], s, j % 2 == 0, j * 40);
        else
            fill(b->transactions[j].hash, 32, s);
    }
}

static void sample_log(proto_log_t *l, unsigned seed, size_t n_topics)
{
    fill(l->address, 20, seed);
    l->n_topics = n_topics;
    l->topics = items_new(n_topics, sizeof *l->topics);
    for (size_t i = 0; i < n_topics; i++)
        fill(l->topics[i], 32, seed + 1 + (unsigned) i);
    l->data = data_new(seed % 3 * 32, seed + 9);
    l->block_number = 500 + seed;
    fill(l->block_hash, 32, seed + 10);
    fill(l->transaction_hash, 32, seed + 11);
    l->transaction_index = seed % 5;
    l->log_index = seed;
    l->removed = seed % 2 == 1;
}

static void sample_receipt(proto_receipt_t *r, unsigned seed, bool has_contract, size_t n_logs)
{
    fill(r->transaction_hash, 32, seed);
    fill(r->block_hash, 32, seed + 1);
    r->block_number = 500 + seed;
    r->transaction_index = seed % 7;
    r->status = has_contract ? 1 : 0;
    r->gas_used = 21000 + seed;
    r->cumulative_gas_used = 100000 + seed;
    r->has_contract_address = has_contract;
    if (has_contract)
        fill(r->contract_address, 20, seed + 2);
    r->n_logs = n_logs;
    r->logs = items_new(n_logs, sizeof *r->logs);
    for (size_t i = 0; i < n_logs; i++)
        sample_log(&r->logs[i], seed + 51 * (unsigned) (i + 1), i * 2 % 5);
}

static void topic_hashes(proto_topic_t *t, size_t n, unsigned seed)
{
    t->n = n;
    t->hashes = items_new(n, sizeof *t->hashes);
    for (size_t i = 0; i < n; i++)
        fill(t->hashes[i], 32, seed + (unsigned) i);
}

/* ------------------------------------------------- samples for each message */

static void args_build_block(void *o, int v)
{
    proto_build_block_args_t *a = o;
    a->timestamp = 1700000000u + (unsigned) v;
    if (v == 1)
        return;
    a->has_parent = true;
    fill(a->parent, 32, 60);
    a->n_withdrawals = v == 0 ? 3 : 1;
    a->withdrawals = items_new(a->n_withdrawals, sizeof *a->withdrawals);
    for (size_t i = 0; i < a->n_withdrawals; i++)
        sample_withdrawal(&a->withdrawals[i], (unsigned) i);
    if (v == 2)
        return;
    a->has_fee_recipient = true;
    fill(a->fee_recipient, 20, 61);
    a->has_prev_randao = true;
    fill(a->prev_randao, 32, 62);
    a->has_parent_beacon_block_root = true;
    fill(a->parent_beacon_block_root, 32, 63);
}

/*  Execution requests (EIP-7685: a type byte and its data): a deposit-sized
    one of 193 bytes, a short one, and an empty one. */
static proto_data_t *sample_requests(size_t *n, int v, unsigned seed)
{
    static const size_t lens[] = {193, 3, 0};
    *n = v == 0 ? 3 : v == 2 ? 1 : 0;
    proto_data_t *r = items_new(*n, sizeof *r);
    for (size_t i = 0; i < *n; i++)
        r[i] = data_new(lens[i], seed + (unsigned) i);
    return r;
}

static void result_build_block(void *o, int v)
{
    proto_build_block_result_t *r = o;
    sample_payload(&r->payload, 70, v);
    fill(r->payload_id, 8, 71 + (unsigned) v);
    fill(r->block_value, 32, 72);
    r->execution_requests = sample_requests(&r->n_execution_requests, v, 73);
}

/*  Variant 0: beacon root, two versioned hashes, three execution requests;
    variant 1: the payload alone; variant 2: an empty (not absent) list of
    execution requests and one versioned hash. */
static void args_payload(void *o, int v)
{
    proto_payload_args_t *a = o;
    sample_payload(&a->payload, 80 + (unsigned) v, v);
    if (v == 1)
        return;
    a->has_parent_beacon_block_root = v == 0;
    if (v == 0)
        fill(a->parent_beacon_block_root, 32, 84);
    a->n_versioned_hashes = v == 0 ? 2 : 1;
    a->versioned_hashes = items_new(a->n_versioned_hashes, sizeof *a->versioned_hashes);
    for (size_t i = 0; i < a->n_versioned_hashes; i++)
        fill(a->versioned_hashes[i], 32, 85 + (unsigned) i);
    a->has_execution_requests = true;
    a->execution_requests = sample_requests(&a->n_execution_requests, v == 0 ? 0 : 1, 87);
}

static void block_hash_sample(void *o, int v)
{
    fill(((proto_block_hash_t *) o)->block_hash, 32, 90 + (unsigned) v);
}

static void result_validate(void *o, int v)
{
    static const char *const status[] = {"VALID", "", "INVALID"};
    ((proto_status_only_t *) o)->status = str_new(status[v]);
}

static void result_finalize(void *o, int v)
{
    proto_fc_hashes_t *r = o;
    fill(r->head, 32, 100 + (unsigned) v);
    fill(r->safe, 32, 101 + (unsigned) v);
    fill(r->finalized, 32, 102 + (unsigned) v);
}

static void result_revert(void *o, int v)
{
    fill(((proto_revert_result_t *) o)->head, 32, 105 + (unsigned) v);
}

static void args_update_fc(void *o, int v)
{
    proto_update_fc_args_t *a = o;
    fill(a->head, 32, 110);
    a->has_safe = v == 0;
    if (a->has_safe)
        fill(a->safe, 32, 111);
    a->has_finalized = v != 1;
    if (a->has_finalized)
        fill(a->finalized, 32, 112);
}

static void result_update_fc(void *o, int v)
{
    proto_update_fc_result_t *r = o;
    r->status = str_new(v == 1 ? "SYNCING" : "VALID");
    fill(r->head, 32, 113);
    fill(r->safe, 32, 114);
    fill(r->finalized, 32, 115);
}

static void args_get_block(void *o, int v)
{
    proto_get_block_args_t *a = o;
    if (v == 0) {
        a->block.kind = PROTO_SEL_HASH;
        fill(a->block.hash, 32, 120);
    } else if (v == 1) {
        a->block.kind = PROTO_SEL_NUMBER;
        a->block.number = 0;
    } else {
        a->block.kind = PROTO_SEL_TAG;
        strcpy(a->block.tag, "finalized");
    }
    a->full_transactions = v != 1;
}

static void result_get_block(void *o, int v)
{
    proto_get_block_result_t *r = o;
    if (v == 0)
        sample_block(&r->block, 130, true, 3);
    else if (v == 1)
        sample_block(&r->block, 131, false, 4);
    else
        sample_block(&r->block, 132, false, 0);
}

/*  Variant 0 has every filter, with topics [any, one hash, three
    alternatives, one hash]; variant 1 has none; variant 2 a block hash and
    topics [two alternatives, any]. */
static void args_get_logs(void *o, int v)
{
    proto_get_logs_args_t *a = o;
    if (v == 1)
        return;
    if (v == 0) {
        a->from_block.kind = PROTO_SEL_NUMBER;
        a->from_block.number = 1;
        a->to_block.kind = PROTO_SEL_TAG;
        strcpy(a->to_block.tag, "latest");
        a->n_address = 2;
        a->address = items_new(2, sizeof *a->address);
        fill(a->address[0], 20, 140);
        fill(a->address[1], 20, 141);
        a->n_topics = 4;
        a->topics = items_new(4, sizeof *a->topics);
        a->topics[0].any = true;
        topic_hashes(&a->topics[1], 1, 142);
        topic_hashes(&a->topics[2], 3, 143);
        topic_hashes(&a->topics[3], 1, 146);
    } else {
        a->has_block_hash = true;
        fill(a->block_hash, 32, 147);
        a->n_address = 1;
        a->address = items_new(1, sizeof *a->address);
        fill(a->address[0], 20, 148);
        a->n_topics = 2;
        a->topics = items_new(2, sizeof *a->topics);
        topic_hashes(&a->topics[0], 2, 149);
        a->topics[1].any = true;
    }
}

static void result_get_logs(void *o, int v)
{
    proto_get_logs_result_t *r = o;
    static const size_t topics[] = {0, 1, 4};
    r->n_logs = v == 0 ? 3 : v == 1 ? 0 : 1;
    r->logs = items_new(r->n_logs, sizeof *r->logs);
    for (size_t i = 0; i < r->n_logs; i++)
        sample_log(&r->logs[i], 150 + (unsigned) i, v == 2 ? 3 : topics[i]);
}

static void result_sync(void *o, int v)
{
    proto_sync_status_t *r = o;
    r->syncing = v != 1;
    r->has_progress = v != 1;
    if (v == 0) {
        r->starting_block = 1;
        r->current_block = 50;
        r->highest_block = 100;
    } else if (v == 2) {
        r->current_block = UINT64_MAX - 1;
        r->highest_block = UINT64_MAX;
    }
}

static void args_tx_hash(void *o, int v)
{
    fill(((proto_tx_hash_args_t *) o)->tx_hash, 32, 160 + (unsigned) v);
}

static void result_receipt(void *o, int v)
{
    proto_receipt_result_t *r = o;
    r->has_receipt = v != 1;
    if (v == 0)
        sample_receipt(&r->receipt, 170, true, 2);
    else if (v == 2)
        sample_receipt(&r->receipt, 171, false, 0);
}

static void args_block_sel(void *o, int v)
{
    proto_selector_t *s = &((proto_block_sel_args_t *) o)->block;
    if (v == 0) {
        s->kind = PROTO_SEL_HASH;
        fill(s->hash, 32, 180);
    } else if (v == 1) {
        s->kind = PROTO_SEL_NUMBER;
        s->number = UINT64_MAX;
    } else {
        s->kind = PROTO_SEL_TAG;
        strcpy(s->tag, "earliest");
    }
}

static void result_block_receipts(void *o, int v)
{
    proto_block_receipts_result_t *r = o;
    size_t n = v == 0 ? 2 : v == 1 ? 0 : 1;
    sample_block(&r->block, 190 + (unsigned) v, true, n);
    r->n_receipts = n;
    r->receipts = items_new(n, sizeof *r->receipts);
    for (size_t i = 0; i < n; i++)
        sample_receipt(&r->receipts[i], 195 + (unsigned) i, i == 1, v == 0 ? i * 2 + 1 : 0);
}

static void result_get_payload(void *o, int v)
{
    sample_payload(&((proto_get_payload_result_t *) o)->payload, 200, v);
}

static void result_ping(void *o, int v)
{
    static const char *const version[] = {
        "0.1.0", "", "0.1.0-rc.1+a-build-tag-longer-than-thirty-one-bytes"};
    proto_ping_result_t *r = o;
    r->protocol = 1;
    r->version = str_new(version[v]);
    r->uptime_ms = v == 2 ? UINT64_MAX : 86400000u * (unsigned) v;
    r->pid = 4242 + (unsigned) v;
}

/*  Variant 0: every field known; variant 1: client and fork choice all nil;
    variant 2: only the head known. */
static void result_status(void *o, int v)
{
    static const char *const state[] = {"synced", "unknown", "offline"};
    proto_status_result_t *r = o;
    r->el.state = str_new(state[v]);
    r->el.endpoint = str_new("http://127.0.0.1:8551");
    r->el.has_client = v == 0;
    if (v == 0) {
        r->el.client.code = str_new("EJ");
        r->el.client.name = str_new("EthereumJS");
        r->el.client.version = str_new("0.10.5");
    }
    r->has_actor = v == 0;
    if (v == 0) {
        uint64_t *counter = &r->actor.requests;
        for (size_t i = 0; i < sizeof r->actor / sizeof *counter; i++)
            counter[i] = 1000 * i + 7;
    }
    r->has_fork = v != 1;
    if (r->has_fork)
        r->fork = str_new(v == 0 ? "cancun" : "prague");
    r->forkchoice.has_head = v != 1;
    fill(r->forkchoice.head, 32, 210);
    r->forkchoice.has_safe = v == 0;
    r->forkchoice.has_finalized = v == 0;
    if (v == 0) {
        fill(r->forkchoice.safe, 32, 211);
        fill(r->forkchoice.finalized, 32, 212);
    }
}

typedef void (*fill_fn)(void *obj, int variant);

typedef struct {
    const char *op;
    size_t args_size;
    fill_fn args;
    size_t result_size;
    fill_fn result;
} sample_t;

/*  The contract's ops in its order, with the C types their messages use. */
static const sample_t s_samples[] = {
    {"ping", 0, NULL, sizeof(proto_ping_result_t), result_ping},
    {"status", 0, NULL, sizeof(proto_status_result_t), result_status},
    {"build_block", sizeof(proto_build_block_args_t), args_build_block,
     sizeof(proto_build_block_result_t), result_build_block},
    {"commit_block", sizeof(proto_payload_args_t), args_payload, sizeof(proto_block_hash_t),
     block_hash_sample},
    {"validate_payload", sizeof(proto_payload_args_t), args_payload, sizeof(proto_status_only_t),
     result_validate},
    {"finalize_block", sizeof(proto_block_hash_t), block_hash_sample, sizeof(proto_fc_hashes_t),
     result_finalize},
    {"revert_block", sizeof(proto_block_hash_t), block_hash_sample, sizeof(proto_revert_result_t),
     result_revert},
    {"update_forkchoice", sizeof(proto_update_fc_args_t), args_update_fc,
     sizeof(proto_update_fc_result_t), result_update_fc},
    {"get_block", sizeof(proto_get_block_args_t), args_get_block, sizeof(proto_get_block_result_t),
     result_get_block},
    {"get_logs", sizeof(proto_get_logs_args_t), args_get_logs, sizeof(proto_get_logs_result_t),
     result_get_logs},
    {"get_sync_status", 0, NULL, sizeof(proto_sync_status_t), result_sync},
    {"get_transaction_receipt", sizeof(proto_tx_hash_args_t), args_tx_hash,
     sizeof(proto_receipt_result_t), result_receipt},
    {"get_block_with_receipts", sizeof(proto_block_sel_args_t), args_block_sel,
     sizeof(proto_block_receipts_result_t), result_block_receipts},
    {"get_payload", sizeof(proto_block_sel_args_t), args_block_sel,
     sizeof(proto_get_payload_result_t), result_get_payload},
};

static const sample_t *sample_for(const char *op)
{
    for (size_t i = 0; i < N(s_samples); i++)
        if (strcmp(s_samples[i].op, op) == 0)
            return &s_samples[i];
    ck_abort_msg("no sample for op %s", op);
    return NULL;
}

static void *sample_args(const char *op, int variant)
{
    const sample_t *s = sample_for(op);
    ck_assert_ptr_nonnull(s->args);
    void *obj = obj_new(s->args_size);
    s->args(obj, variant);
    return obj;
}

static void *sample_result(const char *op, int variant)
{
    const sample_t *s = sample_for(op);
    void *obj = obj_new(s->result_size);
    s->result(obj, variant);
    return obj;
}

static void sample_release(const proto_schema_t *schema, void *obj)
{
    proto_free(schema, obj);
    free(obj);
}

/*  A valid request for op with the args of the given variant. */
static bytes_t request_bytes(const proto_op_t *op, uint64_t id, int variant)
{
    proto_writer_t w;
    proto_writer_init(&w);
    proto_request_begin(&w.pk, id, op->name, op->args != NULL);
    if (op->args) {
        void *args = sample_args(op->name, variant);
        proto_encode(op->args, args, &w.pk);
        sample_release(op->args, args);
    }
    return bytes_take(&w);
}

/* ------------------------------------------------------------- round trips */

/*  Encodes obj, decodes the bytes into a fresh struct, and checks that the
    decoded struct, and a deep copy of it, encode to the same bytes. The frame
    is destroyed and its bytes scribbled over before re-encoding, so nothing
    decoded may point into it. */
static void check_roundtrip(const proto_schema_t *schema, const void *obj, const char *label)
{
    bytes_t first = encode_obj(schema, obj);
    bytes_t wire = bytes_dup(&first);
    char err[PROTO_ERR_LEN] = "";
    proto_frame_t *frame = proto_frame_parse(wire.data, wire.len, PROTO_MAX_FRAME_DEFAULT, err,
                                             sizeof err);
    ck_assert_msg(frame != NULL, "%s: %s", label, err);
    void *decoded = obj_new(schema->size);
    ck_assert_msg(proto_decode(schema, proto_frame_root(frame), decoded, err, sizeof err) == 0,
                  "%s: %s", label, err);
    proto_frame_destroy(&frame);
    ck_assert_ptr_null(frame);
    memset(wire.data, 0xee, wire.len);

    bytes_t second = encode_obj(schema, decoded);
    assert_bytes_eq(&first, &second, label);

    void *copy = obj_new(schema->size);
    ck_assert_int_eq(proto_copy(schema, copy, decoded), 0);
    proto_free(schema, decoded);
    ck_assert_msg(all_zero(decoded, schema->size), "%s: proto_free left data", label);
    proto_free(schema, decoded);
    bytes_t third = encode_obj(schema, copy);
    assert_bytes_eq(&first, &third, label);

    sample_release(schema, copy);
    free(decoded);
    bytes_free(&first);
    bytes_free(&second);
    bytes_free(&third);
    bytes_free(&wire);
}

/*  The samples reach every field: each top-level field is present (and not
    nil) in at least one variant, and variant 1 leaves out every OPTIONAL
    field and sends every NULLABLE one as nil. */
static void check_coverage(const proto_schema_t *schema, size_t size, fill_fn fn, const char *label)
{
    bool seen[32] = {false};
    ck_assert_uint_le(schema->n_fields, N(seen));
    for (int variant = 0; variant < NVARIANTS; variant++) {
        void *obj = obj_new(size);
        fn(obj, variant);
        bytes_t b = encode_obj(schema, obj);
        sample_release(schema, obj);
        char err[PROTO_ERR_LEN] = "";
        proto_frame_t *frame = proto_frame_parse(b.data, b.len, PROTO_MAX_FRAME_DEFAULT, err,
                                                 sizeof err);
        ck_assert_msg(frame != NULL, "%s: %s", label, err);
        for (size_t i = 0; i < schema->n_fields; i++) {
            const proto_field_t *f = &schema->fields[i];
            const msgpack_object *v = proto_map_get(proto_frame_root(frame), f->key);
            seen[i] |= v != NULL;
            if (variant == 1 && (f->flags & (PF_OPTIONAL | PF_NULLABLE)))
                ck_assert_msg(v == NULL, "%s variant 1: %s present", label, f->key);
        }
        proto_frame_destroy(&frame);
        bytes_free(&b);
    }
    for (size_t i = 0; i < schema->n_fields; i++)
        ck_assert_msg(seen[i], "%s: no sample sets %s", label, schema->fields[i].key);
}

START_TEST(test_sample_coverage)
{
    const proto_op_t *op = &proto_ops[_i];
    const sample_t *s = sample_for(op->name);
    char label[96];
    if (op->args) {
        snprintf(label, sizeof label, "%s args", op->name);
        check_coverage(op->args, s->args_size, s->args, label);
    }
    snprintf(label, sizeof label, "%s result", op->name);
    check_coverage(op->result, s->result_size, s->result, label);
}
END_TEST

START_TEST(test_op_table)
{
    static const char *const mutations[] = {"build_block",  "commit_block",
                                            "validate_payload", "finalize_block",
                                            "revert_block", "update_forkchoice"};
    ck_assert_uint_eq(proto_n_ops, N(s_samples));
    ck_assert_uint_eq(proto_n_ops, 14);
    for (size_t i = 0; i < proto_n_ops; i++) {
        const proto_op_t *op = &proto_ops[i];
        const sample_t *s = &s_samples[i];
        ck_assert_str_eq(op->name, s->op);
        ck_assert_ptr_eq(proto_op_find(op->name), op);
        ck_assert_msg((op->args != NULL) == (s->args != NULL), "%s: args", op->name);
        if (op->args)
            ck_assert_uint_eq(op->args->size, s->args_size);
        ck_assert_ptr_nonnull(op->result);
        ck_assert_uint_eq(op->result->size, s->result_size);
        bool mutation = false;
        for (size_t j = 0; j < N(mutations); j++)
            mutation |= strcmp(mutations[j], op->name) == 0;
        ck_assert_msg((op->lane == PROTO_LANE_MUTATION) == mutation, "%s: lane", op->name);
    }
    ck_assert_ptr_null(proto_op_find("frobnicate"));
    ck_assert_ptr_null(proto_op_find(""));
    ck_assert_ptr_null(proto_op_find("PING"));
    ck_assert_ptr_null(proto_op_find("get_blocks"));
    ck_assert_int_eq(PROTO_VERSION, 1);
    ck_assert_int_eq(PROTO_MAX_DEPTH, 12);
    ck_assert_uint_eq(PROTO_MAX_FRAME_DEFAULT, 4u * 1024 * 1024);
}
END_TEST

START_TEST(test_roundtrip_args)
{
    const proto_op_t *op = &proto_ops[_i / NVARIANTS];
    int variant = _i % NVARIANTS;
    if (!op->args)
        return;
    char label[96];
    snprintf(label, sizeof label, "%s args variant %d", op->name, variant);
    void *args = sample_args(op->name, variant);
    check_roundtrip(op->args, args, label);
    sample_release(op->args, args);
}
END_TEST

START_TEST(test_roundtrip_result)
{
    const proto_op_t *op = &proto_ops[_i / NVARIANTS];
    int variant = _i % NVARIANTS;
    char label[96];
    snprintf(label, sizeof label, "%s result variant %d", op->name, variant);
    void *result = sample_result(op->name, variant);
    check_roundtrip(op->result, result, label);
    sample_release(op->result, result);
}
END_TEST

/*  A request built with proto_request_begin decodes to the same envelope, and
    its args to the same bytes. */
START_TEST(test_request_envelope)
{
    const proto_op_t *op = &proto_ops[_i / NVARIANTS];
    int variant = _i % NVARIANTS;
    uint64_t id = 0x0123456789abcdefull + (uint64_t) _i;
    bytes_t req_bytes = request_bytes(op, id, variant);

    proto_request_t req;
    char err[PROTO_ERR_LEN] = "";
    proto_err_t rc = proto_request_decode(req_bytes.data, req_bytes.len, PROTO_MAX_FRAME_DEFAULT,
                                          &req, err, sizeof err);
    ck_assert_msg(rc == PROTO_OK, "%s: %s %s", op->name, proto_err_name(rc), err);
    ck_assert_ptr_nonnull(req.frame);
    ck_assert_uint_eq(req.v, 1);
    ck_assert(req.has_id);
    ck_assert_uint_eq(req.id, id);
    ck_assert_str_eq(req.op, op->name);
    ck_assert_ptr_eq(proto_op_find(req.op), op);
    if (!op->args) {
        ck_assert_ptr_null(req.args);
    } else {
        ck_assert_ptr_nonnull(req.args);
        void *args = sample_args(op->name, variant);
        bytes_t want = encode_obj(op->args, args);
        sample_release(op->args, args);
        void *decoded = obj_new(op->args->size);
        ck_assert_msg(proto_decode(op->args, req.args, decoded, err, sizeof err) == 0, "%s: %s",
                      op->name, err);
        bytes_t got = encode_obj(op->args, decoded);
        assert_bytes_eq(&want, &got, op->name);
        ck_assert_uint_gt(req_bytes.len, want.len);
        ck_assert_mem_eq(req_bytes.data + req_bytes.len - want.len, want.data, want.len);
        sample_release(op->args, decoded);
        bytes_free(&want);
        bytes_free(&got);
    }
    proto_request_release(&req);
    ck_assert_ptr_null(req.frame);
    ck_assert_ptr_null(req.args);
    bytes_free(&req_bytes);
}
END_TEST

START_TEST(test_request_id_extremes)
{
    static const uint64_t ids[] = {0, 1, 127, 128, 65535, 65536, UINT32_MAX, UINT64_MAX};
    for (size_t i = 0; i < N(ids); i++) {
        bytes_t b = request_bytes(&proto_ops[0], ids[i], 0);
        proto_request_t req;
        char err[PROTO_ERR_LEN];
        ck_assert_int_eq(proto_request_decode(b.data, b.len, b.len, &req, err, sizeof err), PROTO_OK);
        ck_assert(req.has_id);
        ck_assert_uint_eq(req.id, ids[i]);
        proto_request_release(&req);
        bytes_free(&b);
    }
}
END_TEST

/*  Every result sent with proto_reply_ok comes back from proto_reply_decode
    as the same bytes. */
START_TEST(test_reply_ok)
{
    const proto_op_t *op = &proto_ops[_i / NVARIANTS];
    int variant = _i % NVARIANTS;
    uint64_t id = 1000 + (uint64_t) _i;
    void *result = sample_result(op->name, variant);
    bytes_t want = encode_obj(op->result, result);
    proto_writer_t w;
    proto_writer_init(&w);
    proto_reply_ok(&w.pk, true, id, op->result, result);
    bytes_t wire = bytes_take(&w);
    sample_release(op->result, result);

    proto_reply_t reply;
    char err[PROTO_ERR_LEN] = "";
    ck_assert_msg(proto_reply_decode(wire.data, wire.len, PROTO_MAX_FRAME_DEFAULT, &reply, err,
                                     sizeof err) == PROTO_OK,
                  "%s: %s", op->name, err);
    ck_assert(reply.ok);
    ck_assert(reply.has_id);
    ck_assert_uint_eq(reply.id, id);
    ck_assert_ptr_nonnull(reply.result);
    ck_assert_ptr_null(reply.message);
    void *decoded = obj_new(op->result->size);
    ck_assert_msg(proto_decode(op->result, reply.result, decoded, err, sizeof err) == 0, "%s: %s",
                  op->name, err);
    bytes_t got = encode_obj(op->result, decoded);
    assert_bytes_eq(&want, &got, op->name);
    sample_release(op->result, decoded);
    proto_reply_release(&reply);
    ck_assert_ptr_null(reply.frame);
    bytes_free(&want);
    bytes_free(&got);
    bytes_free(&wire);
}
END_TEST

START_TEST(test_reply_ok_forms)
{
    proto_writer_t w;
    proto_reply_t reply;
    char err[PROTO_ERR_LEN];

    /* no id (the request was unreadable) and no result schema */
    proto_writer_init(&w);
    proto_reply_ok(&w.pk, false, 99, NULL, NULL);
    bytes_t b = bytes_take(&w);
    ck_assert_int_eq(proto_reply_decode(b.data, b.len, PROTO_MAX_FRAME_DEFAULT, &reply, err,
                                        sizeof err),
                     PROTO_OK);
    ck_assert(reply.ok);
    ck_assert(!reply.has_id);
    ck_assert_int_eq(reply.result->type, MSGPACK_OBJECT_MAP);
    ck_assert_uint_eq(reply.result->via.map.size, 0);
    proto_reply_release(&reply);
    bytes_free(&b);

    /* a result packed by hand after proto_reply_ok_begin */
    proto_writer_init(&w);
    proto_reply_ok_begin(&w.pk, true, 5);
    msgpack_pack_map(&w.pk, 1);
    proto_pack_str(&w.pk, "syncing");
    msgpack_pack_false(&w.pk);
    b = bytes_take(&w);
    ck_assert_int_eq(proto_reply_decode(b.data, b.len, PROTO_MAX_FRAME_DEFAULT, &reply, err,
                                        sizeof err),
                     PROTO_OK);
    ck_assert_uint_eq(reply.id, 5);
    proto_sync_status_t sync = {.syncing = true};
    ck_assert_int_eq(proto_decode(proto_op_find("get_sync_status")->result, reply.result, &sync, err,
                                  sizeof err),
                     0);
    ck_assert(!sync.syncing);
    ck_assert(!sync.has_progress);
    proto_reply_release(&reply);
    bytes_free(&b);
}
END_TEST

/*  Every error code, with and without el_code, survives the trip and keeps
    the retryable flag of the contract. */
START_TEST(test_reply_error)
{
    static const int64_t el_codes[] = {-38002, -32601, 0, 42, INT64_MIN, INT64_MAX};
    proto_err_t code = (proto_err_t) (1 + _i / 2);
    bool with_el = _i % 2 == 1;
    for (size_t k = 0; k < (with_el ? N(el_codes) : 1); k++) {
        char message[64];
        snprintf(message, sizeof message, "failure %d.%zu", _i, k);
        proto_writer_t w;
        proto_writer_init(&w);
        proto_reply_error(&w.pk, true, 77 + k, code, message, with_el, el_codes[k]);
        bytes_t b = bytes_take(&w);
        proto_reply_t reply;
        char err[PROTO_ERR_LEN] = "";
        ck_assert_msg(proto_reply_decode(b.data, b.len, PROTO_MAX_FRAME_DEFAULT, &reply, err,
                                         sizeof err) == PROTO_OK,
                      "%s", err);
        ck_assert(!reply.ok);
        ck_assert(reply.has_id);
        ck_assert_uint_eq(reply.id, 77 + k);
        ck_assert_ptr_null(reply.result);
        ck_assert_int_eq(reply.error, code);
        ck_assert_str_eq(reply.error_code, proto_err_name(code));
        ck_assert_str_eq(reply.message, message);
        ck_assert_int_eq(reply.retryable, proto_err_retryable(code));
        ck_assert_int_eq(reply.has_el_code, with_el);
        if (with_el)
            ck_assert_int_eq(reply.el_code, el_codes[k]);
        proto_reply_release(&reply);
        ck_assert_ptr_null(reply.message);
        bytes_free(&b);
    }
}
END_TEST

START_TEST(test_reply_error_forms)
{
    proto_writer_t w;
    proto_reply_t reply;
    char err[PROTO_ERR_LEN];

    /* no id, NULL message */
    proto_writer_init(&w);
    proto_reply_error(&w.pk, false, 0, PROTO_BAD_REQUEST, NULL, false, 0);
    bytes_t b = bytes_take(&w);
    ck_assert_int_eq(proto_reply_decode(b.data, b.len, PROTO_MAX_FRAME_DEFAULT, &reply, err,
                                        sizeof err),
                     PROTO_OK);
    ck_assert(!reply.has_id);
    ck_assert_str_eq(reply.message, "");
    ck_assert_int_eq(reply.error, PROTO_BAD_REQUEST);
    proto_reply_release(&reply);
    bytes_free(&b);

    /* a code this side does not know (a newer peer) keeps its name */
    b = spec_bytes("84 \"v\" 01 \"id\" 03 \"ok\" c2 \"error\" 84 \"code\" \"TEA_TIME\" "
                   "\"message\" \"later\" \"retryable\" c3 \"el_code\" \"not-an-int\"");
    ck_assert_int_eq(proto_reply_decode(b.data, b.len, PROTO_MAX_FRAME_DEFAULT, &reply, err,
                                        sizeof err),
                     PROTO_OK);
    ck_assert_int_eq(reply.error, PROTO_ERR_COUNT);
    ck_assert_str_eq(reply.error_code, "TEA_TIME");
    ck_assert_str_eq(reply.message, "later");
    ck_assert(reply.retryable);
    ck_assert(!reply.has_el_code);
    proto_reply_release(&reply);
    bytes_free(&b);
}
END_TEST

/* --------------------------------------------------- field by field checks */

static bytes_t edited_request(const char *op_name, const char *path, const char *spec);

/*  Decodes the args of a request for op built from sample variant. */
static void *decode_request_args(const char *op_name, int variant, proto_request_t *req,
                                 bytes_t *wire)
{
    const proto_op_t *op = proto_op_find(op_name);
    ck_assert_ptr_nonnull(op);
    *wire = request_bytes(op, 9, variant);
    char err[PROTO_ERR_LEN] = "";
    ck_assert_int_eq(proto_request_decode(wire->data, wire->len, PROTO_MAX_FRAME_DEFAULT, req, err,
                                          sizeof err),
                     PROTO_OK);
    void *args = obj_new(op->args->size);
    ck_assert_msg(proto_decode(op->args, req->args, args, err, sizeof err) == 0, "%s", err);
    return args;
}

static void release_request_args(const char *op_name, void *args, proto_request_t *req,
                                 bytes_t *wire)
{
    sample_release(proto_op_find(op_name)->args, args);
    proto_request_release(req);
    bytes_free(wire);
}

static uint8_t *filled(uint8_t *buf, size_t n, unsigned seed)
{
    fill(buf, n, seed);
    return buf;
}

START_TEST(test_fields_build_block)
{
    uint8_t x[32];
    proto_request_t req;
    bytes_t wire;
    proto_build_block_args_t *a = decode_request_args("build_block", 0, &req, &wire);
    ck_assert_uint_eq(a->timestamp, 1700000000u);
    ck_assert(a->has_parent);
    ck_assert_mem_eq(a->parent, filled(x, 32, 60), 32);
    ck_assert(a->has_fee_recipient);
    ck_assert_mem_eq(a->fee_recipient, filled(x, 20, 61), 20);
    ck_assert(a->has_prev_randao);
    ck_assert_mem_eq(a->prev_randao, filled(x, 32, 62), 32);
    ck_assert(a->has_parent_beacon_block_root);
    ck_assert_mem_eq(a->parent_beacon_block_root, filled(x, 32, 63), 32);
    ck_assert_uint_eq(a->n_withdrawals, 3);
    ck_assert_uint_eq(a->withdrawals[0].index, 0);
    ck_assert_uint_eq(a->withdrawals[0].amount, 1000000000u);
    ck_assert_uint_eq(a->withdrawals[1].index, 1001);
    ck_assert_uint_eq(a->withdrawals[1].validator_index, 3);
    ck_assert_uint_eq(a->withdrawals[2].amount, UINT64_MAX);
    ck_assert_mem_eq(a->withdrawals[2].address, filled(x, 20, 42), 20);
    release_request_args("build_block", a, &req, &wire);

    a = decode_request_args("build_block", 1, &req, &wire);
    ck_assert_uint_eq(a->timestamp, 1700000001u);
    ck_assert(!a->has_parent && !a->has_fee_recipient && !a->has_prev_randao
              && !a->has_parent_beacon_block_root);
    ck_assert_uint_eq(a->n_withdrawals, 0);
    release_request_args("build_block", a, &req, &wire);
}
END_TEST

START_TEST(test_fields_get_logs)
{
    uint8_t x[32];
    proto_request_t req;
    bytes_t wire;
    proto_get_logs_args_t *a = decode_request_args("get_logs", 0, &req, &wire);
    ck_assert_int_eq(a->from_block.kind, PROTO_SEL_NUMBER);
    ck_assert_uint_eq(a->from_block.number, 1);
    ck_assert_int_eq(a->to_block.kind, PROTO_SEL_TAG);
    ck_assert_str_eq(a->to_block.tag, "latest");
    ck_assert(!a->has_block_hash);
    ck_assert_uint_eq(a->n_address, 2);
    ck_assert_mem_eq(a->address[1], filled(x, 20, 141), 20);
    ck_assert_uint_eq(a->n_topics, 4);
    ck_assert(a->topics[0].any);
    ck_assert_uint_eq(a->topics[0].n, 0);
    ck_assert(!a->topics[1].any);
    ck_assert_uint_eq(a->topics[1].n, 1);
    ck_assert_mem_eq(a->topics[1].hashes[0], filled(x, 32, 142), 32);
    ck_assert_uint_eq(a->topics[2].n, 3);
    ck_assert_mem_eq(a->topics[2].hashes[2], filled(x, 32, 145), 32);
    ck_assert_uint_eq(a->topics[3].n, 1);
    release_request_args("get_logs", a, &req, &wire);

    a = decode_request_args("get_logs", 1, &req, &wire);
    ck_assert_int_eq(a->from_block.kind, PROTO_SEL_NONE);
    ck_assert_int_eq(a->to_block.kind, PROTO_SEL_NONE);
    ck_assert(!a->has_block_hash);
    ck_assert_uint_eq(a->n_address, 0);
    ck_assert_uint_eq(a->n_topics, 0);
    release_request_args("get_logs", a, &req, &wire);

    a = decode_request_args("get_logs", 2, &req, &wire);
    ck_assert(a->has_block_hash);
    ck_assert_mem_eq(a->block_hash, filled(x, 32, 147), 32);
    ck_assert_uint_eq(a->topics[0].n, 2);
    ck_assert(a->topics[1].any);
    release_request_args("get_logs", a, &req, &wire);
}
END_TEST

START_TEST(test_fields_get_block)
{
    proto_request_t req;
    bytes_t wire;
    proto_get_block_args_t *a = decode_request_args("get_block", 0, &req, &wire);
    ck_assert_int_eq(a->block.kind, PROTO_SEL_HASH);
    ck_assert(a->full_transactions);
    release_request_args("get_block", a, &req, &wire);
    a = decode_request_args("get_block", 1, &req, &wire);
    ck_assert_int_eq(a->block.kind, PROTO_SEL_NUMBER);
    ck_assert_uint_eq(a->block.number, 0);
    ck_assert(!a->full_transactions);
    release_request_args("get_block", a, &req, &wire);
    a = decode_request_args("get_block", 2, &req, &wire);
    ck_assert_int_eq(a->block.kind, PROTO_SEL_TAG);
    ck_assert_str_eq(a->block.tag, "finalized");
    release_request_args("get_block", a, &req, &wire);
}
END_TEST

/*  Decodes a result encoded from sample variant; also hands back the frame
    so the wire form can be inspected. */
static void *decode_result(const char *op_name, int variant, proto_frame_t **frame, bytes_t *wire)
{
    const proto_op_t *op = proto_op_find(op_name);
    void *sample = sample_result(op_name, variant);
    *wire = encode_obj(op->result, sample);
    sample_release(op->result, sample);
    char err[PROTO_ERR_LEN] = "";
    *frame = proto_frame_parse(wire->data, wire->len, PROTO_MAX_FRAME_DEFAULT, err, sizeof err);
    ck_assert_msg(*frame != NULL, "%s", err);
    void *out = obj_new(op->result->size);
    ck_assert_msg(proto_decode(op->result, proto_frame_root(*frame), out, err, sizeof err) == 0,
                  "%s", err);
    return out;
}

START_TEST(test_fields_block_transactions)
{
    uint8_t x[32];
    proto_frame_t *frame;
    bytes_t wire;
    const proto_schema_t *schema = proto_op_find("get_block")->result;

    proto_get_block_result_t *r = decode_result("get_block", 0, &frame, &wire);
    const msgpack_object *txs = proto_map_get(proto_map_get(proto_frame_root(frame), "block"),
                                              "transactions");
    ck_assert_ptr_nonnull(txs);
    ck_assert_int_eq(txs->via.array.ptr[0].type, MSGPACK_OBJECT_MAP);
    /* a contract creation sends `to` as nil, not absent */
    const msgpack_object *tx1 = &txs->via.array.ptr[1];
    bool to_seen = false;
    for (uint32_t i = 0; i < tx1->via.map.size; i++)
        if (tx1->via.map.ptr[i].key.via.str.size == 2
            && memcmp(tx1->via.map.ptr[i].key.via.str.ptr, "to", 2) == 0) {
            to_seen = true;
            ck_assert_int_eq(tx1->via.map.ptr[i].val.type, MSGPACK_OBJECT_NIL);
        }
    ck_assert(to_seen);
    ck_assert(r->block.full_transactions);
    ck_assert_uint_eq(r->block.n_transactions, 3);
    ck_assert(r->block.transactions[0].has_to);
    ck_assert_mem_eq(r->block.transactions[0].to, filled(x, 20, 152), 20);
    ck_assert(!r->block.transactions[1].has_to);
    ck_assert_uint_eq(r->block.transactions[1].nonce, 170);
    ck_assert_uint_eq(r->block.transactions[2].input.len, 80);
    ck_assert_uint_eq(r->block.transactions[2].raw.len, 190);
    ck_assert_uint_eq(r->block.extra_data.len, 7);
    ck_assert_uint_eq(r->block.n_withdrawals, 1);
    ck_assert_uint_eq(r->block.withdrawals[0].index, 1001);
    sample_release(schema, r);
    proto_frame_destroy(&frame);
    bytes_free(&wire);

    r = decode_result("get_block", 1, &frame, &wire);
    txs = proto_map_get(proto_map_get(proto_frame_root(frame), "block"), "transactions");
    ck_assert_int_eq(txs->via.array.ptr[3].type, MSGPACK_OBJECT_BIN);
    ck_assert_uint_eq(txs->via.array.ptr[3].via.bin.size, 32);
    ck_assert(!r->block.full_transactions);
    ck_assert_uint_eq(r->block.n_transactions, 4);
    ck_assert_mem_eq(r->block.transactions[3].hash, filled(x, 32, 211), 32);
    ck_assert_uint_eq(r->block.transactions[3].input.len, 0);
    sample_release(schema, r);
    proto_frame_destroy(&frame);
    bytes_free(&wire);
}
END_TEST

START_TEST(test_fields_receipts)
{
    uint8_t x[32];
    proto_frame_t *frame;
    bytes_t wire;
    const proto_schema_t *schema = proto_op_find("get_transaction_receipt")->result;
    proto_receipt_result_t *r = decode_result("get_transaction_receipt", 0, &frame, &wire);
    ck_assert(r->has_receipt);
    ck_assert(r->receipt.has_contract_address);
    ck_assert_mem_eq(r->receipt.contract_address, filled(x, 20, 172), 20);
    ck_assert_uint_eq(r->receipt.status, 1);
    ck_assert_uint_eq(r->receipt.n_logs, 2);
    ck_assert_uint_eq(r->receipt.logs[0].n_topics, 0);
    ck_assert_uint_eq(r->receipt.logs[1].n_topics, 2);
    ck_assert_mem_eq(r->receipt.logs[1].topics[1], filled(x, 32, 274), 32);
    ck_assert(r->receipt.logs[0].removed);
    ck_assert(!r->receipt.logs[1].removed);
    sample_release(schema, r);
    proto_frame_destroy(&frame);
    bytes_free(&wire);

    r = decode_result("get_transaction_receipt", 1, &frame, &wire);
    ck_assert(!r->has_receipt);
    const msgpack_object *root = proto_frame_root(frame);
    ck_assert_uint_eq(root->via.map.size, 1);
    ck_assert_int_eq(root->via.map.ptr[0].val.type, MSGPACK_OBJECT_NIL);
    sample_release(schema, r);
    proto_frame_destroy(&frame);
    bytes_free(&wire);

    r = decode_result("get_transaction_receipt", 2, &frame, &wire);
    ck_assert(r->has_receipt);
    ck_assert(!r->receipt.has_contract_address);
    ck_assert_uint_eq(r->receipt.status, 0);
    sample_release(schema, r);
    proto_frame_destroy(&frame);
    bytes_free(&wire);
}
END_TEST

/*  An array's item limit is not a byte limit for its elements: a 193-byte
    execution request is fine in a list limited to 16 items. */
START_TEST(test_array_limit_is_per_item)
{
    proto_request_t req;
    bytes_t wire;
    proto_payload_args_t *a = decode_request_args("commit_block", 0, &req, &wire);
    ck_assert(a->has_execution_requests);
    ck_assert_uint_eq(a->n_execution_requests, 3);
    ck_assert_uint_eq(a->execution_requests[0].len, 193);
    ck_assert_uint_eq(a->execution_requests[2].len, 0);
    ck_assert(a->has_parent_beacon_block_root);
    ck_assert_uint_eq(a->n_versioned_hashes, 2);
    release_request_args("commit_block", a, &req, &wire);

    a = decode_request_args("commit_block", 2, &req, &wire);
    ck_assert(a->has_execution_requests);
    ck_assert_uint_eq(a->n_execution_requests, 0);
    ck_assert(!a->has_parent_beacon_block_root);
    release_request_args("commit_block", a, &req, &wire);

    a = decode_request_args("commit_block", 1, &req, &wire);
    ck_assert(!a->has_execution_requests);
    ck_assert_uint_eq(a->n_versioned_hashes, 0);
    release_request_args("commit_block", a, &req, &wire);

    /* the item limits themselves hold */
    bytes_t b = edited_request("commit_block", "args.execution_requests", "dc 0011 bins:17:1");
    char err[PROTO_ERR_LEN] = "";
    ck_assert_int_eq(proto_request_decode(b.data, b.len, PROTO_MAX_FRAME_DEFAULT, &req, err,
                                          sizeof err),
                     PROTO_OK);
    proto_payload_args_t out = {0};
    ck_assert_int_eq(proto_decode(proto_op_find("commit_block")->args, req.args, &out, err,
                                  sizeof err),
                     -1);
    ck_assert_ptr_nonnull(strstr(err, "execution_requests: 17 items, at most 16 allowed"));
    proto_request_release(&req);
    bytes_free(&b);
}
END_TEST

START_TEST(test_fields_status_and_payload)
{
    proto_frame_t *frame;
    bytes_t wire;
    const proto_schema_t *status = proto_op_find("status")->result;
    proto_status_result_t *s = decode_result("status", 0, &frame, &wire);
    ck_assert_str_eq(s->el.state, "synced");
    ck_assert(s->el.has_client);
    ck_assert_str_eq(s->el.client.name, "EthereumJS");
    ck_assert_str_eq(s->el.endpoint, "http://127.0.0.1:8551");
    ck_assert(s->has_actor);
    ck_assert_uint_eq(s->actor.requests, 7);
    ck_assert_uint_eq(s->actor.payload_cache_entries, 13007);
    ck_assert(s->has_fork);
    ck_assert_str_eq(s->fork, "cancun");
    ck_assert(s->forkchoice.has_head && s->forkchoice.has_safe && s->forkchoice.has_finalized);
    sample_release(status, s);
    proto_frame_destroy(&frame);
    bytes_free(&wire);

    s = decode_result("status", 1, &frame, &wire);
    ck_assert_str_eq(s->el.state, "unknown");
    ck_assert(!s->el.has_client);
    ck_assert_ptr_null(s->el.client.name);
    ck_assert(!s->forkchoice.has_head && !s->forkchoice.has_safe && !s->forkchoice.has_finalized);
    ck_assert(!s->has_actor && !s->has_fork);
    ck_assert_ptr_null(s->fork);
    sample_release(status, s);
    proto_frame_destroy(&frame);
    bytes_free(&wire);

    const proto_schema_t *payload = proto_op_find("get_payload")->result;
    proto_get_payload_result_t *p = decode_result("get_payload", 0, &frame, &wire);
    ck_assert(p->payload.has_blob_gas_used);
    ck_assert_uint_eq(p->payload.blob_gas_used, 131072);
    ck_assert(p->payload.has_excess_blob_gas);
    ck_assert_uint_eq(p->payload.excess_blob_gas, 0);
    ck_assert_uint_eq(p->payload.extra_data.len, 32);
    ck_assert_uint_eq(p->payload.n_transactions, 3);
    ck_assert_uint_eq(p->payload.transactions[2].len, 300);
    ck_assert_uint_eq(p->payload.n_withdrawals, 2);
    ck_assert_uint_eq(p->payload.withdrawals[1].amount, UINT64_MAX);
    sample_release(payload, p);
    proto_frame_destroy(&frame);
    bytes_free(&wire);

    p = decode_result("get_payload", 1, &frame, &wire);
    ck_assert(!p->payload.has_blob_gas_used && !p->payload.has_excess_blob_gas);
    ck_assert_ptr_null(proto_map_get(proto_map_get(proto_frame_root(frame), "payload"),
                                     "blob_gas_used"));
    ck_assert_uint_eq(p->payload.extra_data.len, 0);
    ck_assert_uint_eq(p->payload.n_transactions, 0);
    sample_release(payload, p);
    proto_frame_destroy(&frame);
    bytes_free(&wire);

    p = decode_result("get_payload", 2, &frame, &wire);
    ck_assert(!p->payload.has_blob_gas_used);
    ck_assert_uint_eq(p->payload.excess_blob_gas, 393216);
    ck_assert_uint_eq(p->payload.transactions[0].len, 70000);
    ck_assert_uint_eq(p->payload.gas_used, UINT64_MAX);
    sample_release(payload, p);
    proto_frame_destroy(&frame);
    bytes_free(&wire);
}
END_TEST

/* ------------------------------------------------------- malformed requests */

/*  Re-packs o with the value at path (keys and array indexes joined by dots)
    replaced by raw, or removed when raw is NULL. A missing last key is
    added; every other step must exist. */
static void pack_edit(msgpack_packer *pk, const msgpack_object *o, const char *path,
                      const bytes_t *raw)
{
    const char *dot = strchr(path, '.');
    size_t klen = dot ? (size_t) (dot - path) : strlen(path);
    const char *rest = dot ? dot + 1 : NULL;
    if (o->type == MSGPACK_OBJECT_ARRAY) {
        char *end;
        unsigned long idx = strtoul(path, &end, 10);
        ck_assert_msg(end == path + klen && idx < o->via.array.size && (raw || rest),
                      "edit path %s: bad index", path);
        msgpack_pack_array(pk, o->via.array.size);
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i != idx)
                msgpack_pack_object(pk, o->via.array.ptr[i]);
            else if (rest)
                pack_edit(pk, &o->via.array.ptr[i], rest, raw);
            else
                pk->callback(pk->data, (const char *) raw->data, raw->len);
        }
        return;
    }
    ck_assert_msg(o->type == MSGPACK_OBJECT_MAP, "edit path %s: not a map", path);
    const msgpack_object_kv *hit = NULL;
    for (uint32_t i = 0; i < o->via.map.size && !hit; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == klen
            && memcmp(k->via.str.ptr, path, klen) == 0)
            hit = &o->via.map.ptr[i];
    }
    ck_assert_msg(hit || (raw && !rest), "edit path %s: no such key", path);
    uint32_t n = o->via.map.size;
    if (!hit)
        n++;
    else if (!raw && !rest)
        n--;
    msgpack_pack_map(pk, n);
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        if (kv != hit) {
            msgpack_pack_object(pk, kv->key);
            msgpack_pack_object(pk, kv->val);
        } else if (rest) {
            msgpack_pack_object(pk, kv->key);
            pack_edit(pk, &kv->val, rest, raw);
        } else if (raw) {
            msgpack_pack_object(pk, kv->key);
            pk->callback(pk->data, (const char *) raw->data, raw->len);
        }
    }
    if (!hit) {
        msgpack_pack_str(pk, klen);
        msgpack_pack_str_body(pk, path, klen);
        pk->callback(pk->data, (const char *) raw->data, raw->len);
    }
}

/*  A valid request for op (variant 0 args; a ping when op is NULL) with the
    value at path replaced by spec (removed when spec is NULL). */
static bytes_t edited_request(const char *op_name, const char *path, const char *spec)
{
    const proto_op_t *op = proto_op_find(op_name ? op_name : "ping");
    ck_assert_ptr_nonnull(op);
    bytes_t base = request_bytes(op, 7, 0);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    ck_assert_int_eq(msgpack_unpack_next(&u, (const char *) base.data, base.len, &off),
                     MSGPACK_UNPACK_SUCCESS);
    bytes_t raw = {NULL, 0};
    if (spec)
        raw = spec_bytes(spec);
    proto_writer_t w;
    proto_writer_init(&w);
    pack_edit(&w.pk, &u.data, path, spec ? &raw : NULL);
    msgpack_unpacked_destroy(&u);
    bytes_free(&raw);
    bytes_free(&base);
    return bytes_take(&w);
}

typedef struct {
    const char *name;
    const char *op;     /* the request edited (a ping when NULL); for args cases the op */
    const char *path;   /* the edit; NULL: spec is the whole frame */
    const char *spec;   /* the new value or the frame; NULL with a path: the key is removed */
    proto_err_t want;   /* from proto_request_decode; PROTO_OK: decoding the args must fail */
    const char *substr; /* in the error message */
    int has_id;         /* expected out->has_id; -1: either */
    size_t max_frame;   /* 0: the default */
} bad_case_t;

#define RAW(name, spec, sub) {name, NULL, NULL, spec, PROTO_BAD_REQUEST, sub, 0, 0}
#define ENV(name, op, path, spec, want, sub, has_id) {name, op, path, spec, want, sub, has_id, 0}
#define ARG(name, op, path, spec, sub) {name, op, "args." path, spec, PROTO_OK, sub, 1, 0}
#define BAD PROTO_BAD_REQUEST

static const bad_case_t s_bad[] = {
    /* framing: not exactly one msgpack object */
    RAW("empty frame", "", "empty frame"),
    RAW("map shorter than its count", "83 \"v\" 01", "element count 6 exceeds the 3 bytes left"),
    RAW("map missing its last value", "82 \"v\" 01 \"id\"", "truncated at byte 7"),
    RAW("truncated str", "81 \"op\" a4 7069", "length 4 exceeds the 2 bytes left"),
    RAW("truncated bin", "81 \"x\" c4 10 0000", "length 16 exceeds the 2 bytes left"),
    RAW("truncated str8 length", "81 \"x\" d9", "truncated length"),
    RAW("truncated array16 header", "dc 00", "truncated array header"),
    RAW("truncated map16 header", "de 00", "truncated map header"),
    RAW("truncated uint64", "cf 0000", "length 8 exceeds the 2 bytes left"),
    RAW("array32 of 2^32-1 items in 5 bytes", "dd ffffffff", "element count 4294967295 exceeds"),
    RAW("map32 of 2^32-1 pairs in 5 bytes", "df ffffffff", "element count 8589934590 exceeds"),
    RAW("array16 longer than the frame", "dc ffff 01 02", "element count 65535 exceeds"),
    RAW("items owed exceed the bytes left", "92 dc 0003 01", "element count 3 exceeds"),
    RAW("bin32 of 4 GiB", "c6 ffffffff", "length 4294967295 exceeds"),
    RAW("str32 of 2 GiB as op", "81 \"op\" db 7fffffff", "length 2147483647 exceeds"),
    RAW("ext32 of 4 GiB", "c9 ffffffff 01", "exceeds"),
    RAW("100 nested arrays", "91*100 c0", "nesting deeper than 12"),
    RAW("13 nested maps", "81a161*13 c0", "nesting deeper than 12"),
    RAW("reserved byte 0xc1", "c1", "invalid msgpack type byte 0xc1 at 0"),
    RAW("reserved byte as a value", "81 \"v\" c1", "invalid msgpack type byte 0xc1 at 3"),
    RAW("nil after a valid request", "@ping c0", "1 trailing bytes"),
    RAW("two requests back to back", "@ping @ping", "trailing bytes"),
    {"frame over max_frame", NULL, NULL, "@ping", BAD, "exceeds the 8 byte limit", 0, 8},
    /* the body is not a map */
    RAW("array body", "93 01 02 03", "expected a map, got array"),
    RAW("int body", "2a", "expected a map, got uint"),
    RAW("str body", "\"hello\"", "expected a map, got str"),
    RAW("nil body", "c0", "expected a map, got nil"),
    RAW("bin body", "bin:4", "expected a map, got bin of 4 bytes"),
    RAW("ext body", "d4 01 00", "expected a map, got ext"),
    RAW("float body", "cb 3ff0000000000000", "expected a map, got float"),
    /* id */
    ENV("id missing", NULL, "id", NULL, BAD, "id: missing", 0),
    ENV("id nil", NULL, "id", "c0", BAD, "id: missing", 0),
    ENV("id str", NULL, "id", "\"7\"", BAD, "id: expected uint, got str", 0),
    ENV("id -1", NULL, "id", "ff", BAD, "id: expected uint, got negative int", 0),
    ENV("id int64 min", NULL, "id", "d3 8000000000000000", BAD, "got negative int", 0),
    ENV("id float64", NULL, "id", "cb 401c000000000000", BAD, "id: expected uint, got float", 0),
    ENV("id float32", NULL, "id", "ca 40e00000", BAD, "id: expected uint, got float", 0),
    ENV("id bool", NULL, "id", "c3", BAD, "id: expected uint, got bool", 0),
    ENV("id bin", NULL, "id", "bin:8", BAD, "id: expected uint, got bin of 8 bytes", 0),
    ENV("id array", NULL, "id", "91 07", BAD, "id: expected uint, got array", 0),
    RAW("v 2 without an id: id is read first", "82 \"v\" 02 \"op\" \"ping\"", "id: missing"),
    /* v */
    ENV("v 2", NULL, "v", "02", PROTO_UNSUPPORTED_VERSION, "version 2 is not supported", 1),
    ENV("v 0", NULL, "v", "00", PROTO_UNSUPPORTED_VERSION, "version 0 is not supported", 1),
    ENV("v 2^64-1", NULL, "v", "cf ffffffffffffffff", PROTO_UNSUPPORTED_VERSION,
        "version 18446744073709551615", 1),
    ENV("v missing", NULL, "v", NULL, BAD, "v: missing", 1),
    ENV("v nil", NULL, "v", "c0", BAD, "v: missing", 1),
    ENV("v str", NULL, "v", "\"1\"", BAD, "v: expected uint, got str", 1),
    ENV("v -1", NULL, "v", "ff", BAD, "v: expected uint, got negative int", 1),
    ENV("v float", NULL, "v", "cb 3ff0000000000000", BAD, "v: expected uint, got float", 1),
    /* op */
    ENV("op int", NULL, "op", "05", BAD, "op: expected str, got uint", 1),
    ENV("op nil", NULL, "op", "c0", BAD, "op: missing", 1),
    ENV("op missing", NULL, "op", NULL, BAD, "op: missing", 1),
    ENV("op bin", NULL, "op", "c4 04 70696e67", BAD, "op: expected str, got bin of 4 bytes", 1),
    ENV("op map", NULL, "op", "80", BAD, "op: expected str, got map", 1),
    ENV("op of 40 chars", NULL, "op", "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
        PROTO_UNKNOWN_OP, "unknown op", 1),
    ENV("op of 1000 chars", NULL, "op", "da 03e8 61*1000", PROTO_UNKNOWN_OP, "unknown op", 1),
    ENV("op with a NUL byte", NULL, "op", "a5 70696e6700", PROTO_UNKNOWN_OP, "unknown op", 1),
    /* args */
    ENV("args array", "get_block", "args", "90", BAD, "args: expected map, got array", 1),
    ENV("args str", "get_block", "args", "\"latest\"", BAD, "args: expected map, got str", 1),
    ENV("args int", "get_block", "args", "2a", BAD, "args: expected map, got uint", 1),
    ENV("args bool", "get_block", "args", "c2", BAD, "args: expected map, got bool", 1),
    ENV("nesting bomb in args", "get_block", "args.block", "91*100 c0", BAD,
        "nesting deeper than 12", 0),
    ENV("array32 header in args", "get_block", "args.block", "dd ffffffff", BAD,
        "element count 4294967295", 0),
    ENV("map32 header in args", "get_block", "args.block", "df ffffffff", BAD,
        "element count 8589934590", 0),
    ENV("bin32 length in args", "get_block", "args.block", "c6 7fffffff", BAD,
        "length 2147483647 exceeds", 0),
    /* args of each op: wrong types and sizes */
    ENV("args nil", "finalize_block", "args", "c0", PROTO_OK, "args: missing", 1),
    ENV("args absent", "revert_block", "args", NULL, PROTO_OK, "args: missing", 1),
    ARG("build_block timestamp missing", "build_block", "timestamp", NULL, "timestamp: missing"),
    ARG("build_block timestamp nil", "build_block", "timestamp", "c0", "timestamp: missing"),
    ARG("build_block timestamp -1", "build_block", "timestamp", "ff",
        "timestamp: expected Quantity (uint), got negative int"),
    ARG("build_block timestamp float", "build_block", "timestamp", "cb 41d954fc40000000",
        "timestamp: expected Quantity (uint), got float"),
    ARG("build_block timestamp str", "build_block", "timestamp", "\"1700000000\"",
        "timestamp: expected Quantity (uint), got str"),
    ARG("build_block timestamp bool", "build_block", "timestamp", "c3", "got bool"),
    ARG("build_block parent of 20 bytes", "build_block", "parent", "bin:20",
        "parent: expected Hash32 (bin 32), got bin of 20 bytes"),
    ARG("build_block parent of 31 bytes", "build_block", "parent", "bin:31", "got bin of 31 bytes"),
    ARG("build_block parent of 33 bytes", "build_block", "parent", "bin:33", "got bin of 33 bytes"),
    ARG("build_block parent of 0 bytes", "build_block", "parent", "c4 00", "got bin of 0 bytes"),
    ARG("build_block parent as hex str", "build_block", "parent",
        "\"0x0000000000000000000000000000000000000000000000000000000000000000\"",
        "parent: expected Hash32 (bin 32), got str"),
    ARG("build_block fee_recipient of 32 bytes", "build_block", "fee_recipient", "bin:32",
        "fee_recipient: expected Address (bin 20), got bin of 32 bytes"),
    ARG("build_block prev_randao int", "build_block", "prev_randao", "01",
        "prev_randao: expected Hash32 (bin 32), got uint"),
    ARG("build_block parent_beacon_block_root bool", "build_block", "parent_beacon_block_root",
        "c3", "parent_beacon_block_root: expected Hash32 (bin 32), got bool"),
    ARG("build_block withdrawals map", "build_block", "withdrawals", "80",
        "withdrawals: expected array, got map"),
    ARG("build_block withdrawal not a map", "build_block", "withdrawals.0", "2a",
        "withdrawals[0]: expected map, got uint"),
    ARG("withdrawal missing amount", "build_block", "withdrawals.0.amount", NULL,
        "withdrawals[0].amount: missing"),
    ARG("withdrawal missing address", "build_block", "withdrawals.1.address", NULL,
        "withdrawals[1].address: missing"),
    ARG("withdrawal address of 19 bytes", "build_block", "withdrawals.1.address", "bin:19",
        "withdrawals[1].address: expected Address (bin 20), got bin of 19 bytes"),
    ARG("withdrawal amount -128", "build_block", "withdrawals.2.amount", "d0 80",
        "withdrawals[2].amount: expected Quantity (uint), got negative int"),
    ARG("withdrawal index str", "build_block", "withdrawals.0.index", "\"1\"",
        "withdrawals[0].index: expected Quantity (uint), got str"),
    ARG("commit_block payload missing", "commit_block", "payload", NULL, "payload: missing"),
    ARG("commit_block payload array", "commit_block", "payload", "90",
        "payload: expected map, got array"),
    ARG("payload extra_data of 33 bytes", "commit_block", "payload.extra_data", "bin:33",
        "payload.extra_data: 33 bytes, at most 32 allowed"),
    ARG("payload extra_data str", "commit_block", "payload.extra_data", "\"alys\"",
        "payload.extra_data: expected bin, got str"),
    ARG("payload logs_bloom of 255 bytes", "commit_block", "payload.logs_bloom", "bin:255",
        "payload.logs_bloom: expected logs bloom (bin 256), got bin of 255 bytes"),
    ARG("payload logs_bloom of 257 bytes", "commit_block", "payload.logs_bloom", "bin:257",
        "got bin of 257 bytes"),
    ARG("payload block_hash missing", "commit_block", "payload.block_hash", NULL,
        "payload.block_hash: missing"),
    ARG("payload base_fee_per_gas of 31 bytes", "commit_block", "payload.base_fee_per_gas",
        "bin:31", "payload.base_fee_per_gas: expected U256 (bin 32), got bin of 31 bytes"),
    ARG("payload base_fee_per_gas uint", "commit_block", "payload.base_fee_per_gas", "01",
        "payload.base_fee_per_gas: expected U256 (bin 32), got uint"),
    ARG("payload transaction str", "commit_block", "payload.transactions.1", "\"0x02\"",
        "payload.transactions[1]: expected bin, got str"),
    ARG("payload transactions map", "commit_block", "payload.transactions", "80",
        "payload.transactions: expected array, got map"),
    ARG("payload withdrawal missing amount", "commit_block", "payload.withdrawals.0.amount", NULL,
        "payload.withdrawals[0].amount: missing"),
    ARG("payload blob_gas_used -1", "commit_block", "payload.blob_gas_used", "ff",
        "payload.blob_gas_used: expected Quantity (uint), got negative int"),
    ARG("payload gas_limit float32", "commit_block", "payload.gas_limit", "ca 4b000000",
        "payload.gas_limit: expected Quantity (uint), got float"),
    ARG("commit_block versioned hash of 31 bytes", "commit_block", "versioned_hashes.1", "bin:31",
        "versioned_hashes[1]: expected Hash32 (bin 32), got bin of 31 bytes"),
    ARG("commit_block execution request str", "commit_block", "execution_requests.0", "\"0x00\"",
        "execution_requests[0]: expected bin, got str"),
    ARG("commit_block parent_beacon_block_root of 20 bytes", "commit_block",
        "parent_beacon_block_root", "bin:20",
        "parent_beacon_block_root: expected Hash32 (bin 32), got bin of 20 bytes"),
    ARG("validate_payload fee_recipient of 32 bytes", "validate_payload",
        "payload.fee_recipient", "bin:32", "payload.fee_recipient: expected Address (bin 20)"),
    ARG("validate_payload parent_hash nil", "validate_payload", "payload.parent_hash", "c0",
        "payload.parent_hash: missing"),
    ARG("finalize_block block_hash of 20 bytes", "finalize_block", "block_hash", "bin:20",
        "block_hash: expected Hash32 (bin 32), got bin of 20 bytes"),
    ARG("finalize_block args empty", "finalize_block", "block_hash", NULL, "block_hash: missing"),
    ARG("revert_block block_hash nil", "revert_block", "block_hash", "c0", "block_hash: missing"),
    ARG("update_forkchoice head missing", "update_forkchoice", "head", NULL, "head: missing"),
    ARG("update_forkchoice safe of 33 bytes", "update_forkchoice", "safe", "bin:33",
        "safe: expected Hash32 (bin 32), got bin of 33 bytes"),
    ARG("update_forkchoice finalized str", "update_forkchoice", "finalized", "\"finalized\"",
        "finalized: expected Hash32 (bin 32), got str"),
    ARG("get_block unknown tag", "get_block", "block", "\"newest\"", "block: unknown block tag"),
    ARG("get_block empty tag", "get_block", "block", "a0", "block: unknown block tag"),
    ARG("get_block tag with a NUL", "get_block", "block", "a7 6c617465737400",
        "block: unknown block tag"),
    ARG("get_block tag in capitals", "get_block", "block", "\"LATEST\"", "unknown block tag"),
    ARG("get_block tag of 18 chars", "get_block", "block", "\"latestlatestlatest\"",
        "block: expected a block hash (bin 32), number (uint) or tag (str), got str"),
    ARG("get_block block -1", "get_block", "block", "ff", "got negative int"),
    ARG("get_block block float", "get_block", "block", "cb 4059000000000000", "got float"),
    ARG("get_block block of 20 bytes", "get_block", "block", "bin:20", "got bin of 20 bytes"),
    ARG("get_block block missing", "get_block", "block", NULL, "block: missing"),
    ARG("get_block full_transactions 1", "get_block", "full_transactions", "01",
        "full_transactions: expected bool, got uint"),
    ARG("get_logs topics with 5 positions", "get_logs", "topics", "95 c0 c0 c0 c0 c0",
        "topics: 5 positions, at most 4 allowed"),
    ARG("get_logs topic of 31 bytes", "get_logs", "topics.1", "bin:31",
        "topics[1]: expected nil, Hash32 or array of Hash32, got bin of 31 bytes"),
    ARG("get_logs topic alternative of 20 bytes", "get_logs", "topics.2.1", "bin:20",
        "topics[2]: expected Hash32 (bin 32), got bin of 20 bytes"),
    ARG("get_logs topic int", "get_logs", "topics.0", "2a",
        "topics[0]: expected nil, Hash32 or array of Hash32, got uint"),
    ARG("get_logs topic with 65 alternatives", "get_logs", "topics.2", "dc 0041 bins:65:32",
        "topics[2]: 65 alternatives, at most 64 allowed"),
    ARG("get_logs topics map", "get_logs", "topics", "80", "topics: expected array, got map"),
    ARG("get_logs address not an array", "get_logs", "address", "bin:20",
        "address: expected array, got bin of 20 bytes"),
    ARG("get_logs address of 32 bytes", "get_logs", "address.1", "bin:32",
        "address[1]: expected Address (bin 20), got bin of 32 bytes"),
    ARG("get_logs 1025 addresses", "get_logs", "address", "dc 0401 bins:1025:20",
        "address: 1025 items, at most 1024 allowed"),
    ARG("get_logs from_block unknown tag", "get_logs", "from_block", "\"yesterday\"",
        "from_block: unknown block tag"),
    ARG("get_logs to_block -5", "get_logs", "to_block", "fb",
        "to_block: expected a block hash (bin 32), number (uint) or tag (str), got negative int"),
    ARG("get_logs block_hash of 20 bytes", "get_logs", "block_hash", "bin:20",
        "block_hash: expected Hash32 (bin 32), got bin of 20 bytes"),
    ARG("get_transaction_receipt tx_hash of 31 bytes", "get_transaction_receipt", "tx_hash",
        "bin:31", "tx_hash: expected Hash32 (bin 32), got bin of 31 bytes"),
    ARG("get_transaction_receipt tx_hash str", "get_transaction_receipt", "tx_hash",
        "\"0xabc\"", "tx_hash: expected Hash32 (bin 32), got str"),
    ARG("get_transaction_receipt tx_hash missing", "get_transaction_receipt", "tx_hash", NULL,
        "tx_hash: missing"),
    ARG("get_block_with_receipts block map", "get_block_with_receipts", "block", "80",
        "block: expected a block hash (bin 32), number (uint) or tag (str), got map"),
    ARG("get_payload block array", "get_payload", "block", "91 01", "got array"),
    ARG("get_payload block bool", "get_payload", "block", "c3", "got bool"),
};

START_TEST(test_bad_request)
{
    const bad_case_t *c = &s_bad[_i];
    bytes_t frame = c->path ? edited_request(c->op, c->path, c->spec) : spec_bytes(c->spec);
    proto_request_t req;
    char err[PROTO_ERR_LEN] = "";
    proto_err_t rc = proto_request_decode(frame.data, frame.len,
                                          c->max_frame ? c->max_frame : PROTO_MAX_FRAME_DEFAULT,
                                          &req, err, sizeof err);
    if (c->want != PROTO_OK) {
        ck_assert_msg(rc == c->want, "%s: got %s (%s), want %s", c->name, proto_err_name(rc), err,
                      proto_err_name(c->want));
        ck_assert_msg(strstr(err, c->substr) != NULL, "%s: message \"%s\" lacks \"%s\"", c->name,
                      err, c->substr);
        ck_assert_ptr_null(req.frame);
        ck_assert_ptr_null(req.args);
        if (c->has_id >= 0)
            ck_assert_msg(req.has_id == (c->has_id == 1), "%s: has_id %d", c->name, req.has_id);
    } else {
        ck_assert_msg(rc == PROTO_OK, "%s: envelope refused: %s", c->name, err);
        const proto_op_t *op = proto_op_find(req.op);
        ck_assert_ptr_nonnull(op);
        ck_assert_str_eq(op->name, c->op);
        void *args = obj_new(op->args->size);
        err[0] = '\0';
        int r = proto_decode(op->args, req.args, args, err, sizeof err);
        ck_assert_msg(r == -1, "%s: args accepted", c->name);
        ck_assert_msg(strstr(err, c->substr) != NULL, "%s: message \"%s\" lacks \"%s\"", c->name,
                      err, c->substr);
        ck_assert_msg(all_zero(args, op->args->size), "%s: args not cleared after failure",
                      c->name);
        free(args);
        proto_request_release(&req);
    }
    bytes_free(&frame);
}
END_TEST

/*  Inputs that look odd but are valid by the contract. */
START_TEST(test_tolerated_requests)
{
    proto_request_t req;
    char err[PROTO_ERR_LEN] = "";
    uint8_t x[32];

    /* unknown keys (also non-str ones) are ignored; ints in wider encodings
       and the positive int8 form are uints; args nil is no args */
    bytes_t b = spec_bytes("86 01 02 \"v\" cf 0000000000000001 \"id\" d0 05 \"op\" \"ping\" "
                           "\"args\" c0 \"trace\" c3");
    ck_assert_int_eq(proto_request_decode(b.data, b.len, b.len, &req, err, sizeof err), PROTO_OK);
    ck_assert_uint_eq(req.v, 1);
    ck_assert_uint_eq(req.id, 5);
    ck_assert_str_eq(req.op, "ping");
    ck_assert_ptr_null(req.args);
    proto_request_release(&req);
    bytes_free(&b);

    /* an op the table does not know passes the envelope; dispatch refuses it */
    b = edited_request(NULL, "op", "\"frobnicate\"");
    ck_assert_int_eq(proto_request_decode(b.data, b.len, PROTO_MAX_FRAME_DEFAULT, &req, err,
                                          sizeof err),
                     PROTO_OK);
    ck_assert_str_eq(req.op, "frobnicate");
    ck_assert_ptr_null(proto_op_find(req.op));
    proto_request_release(&req);
    bytes_free(&b);

    /* the longest op name that fits */
    b = edited_request(NULL, "op", "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"");
    ck_assert_int_eq(proto_request_decode(b.data, b.len, PROTO_MAX_FRAME_DEFAULT, &req, err,
                                          sizeof err),
                     PROTO_OK);
    ck_assert_uint_eq(strlen(req.op), 39);
    proto_request_release(&req);
    bytes_free(&b);

    /* nil equals absent for optional fields; unknown args keys are ignored;
       a withdrawal without index and validator_index gets 0 for both */
    b = spec_bytes("84 \"v\" 01 \"id\" 02 \"op\" \"build_block\" \"args\" 84 "
                   "\"timestamp\" ce 6553f100 \"parent\" c0 \"colour\" \"blue\" "
                   "\"withdrawals\" 91 82 \"address\" c414 00*20 \"amount\" cd 03e8");
    ck_assert_int_eq(proto_request_decode(b.data, b.len, PROTO_MAX_FRAME_DEFAULT, &req, err,
                                          sizeof err),
                     PROTO_OK);
    proto_build_block_args_t a = {0};
    const proto_schema_t *schema = proto_op_find("build_block")->args;
    ck_assert_msg(proto_decode(schema, req.args, &a, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(a.timestamp, 1700000000u);
    ck_assert(!a.has_parent);
    ck_assert_uint_eq(a.n_withdrawals, 1);
    ck_assert_uint_eq(a.withdrawals[0].amount, 1000);
    ck_assert_uint_eq(a.withdrawals[0].index, 0);
    ck_assert_uint_eq(a.withdrawals[0].validator_index, 0);
    proto_free(schema, &a);
    proto_request_release(&req);
    bytes_free(&b);

    /* a 32-byte bin is a hash selector, a uint a number */
    b = edited_request("get_block", "args.block", "cd 0100");
    ck_assert_int_eq(proto_request_decode(b.data, b.len, PROTO_MAX_FRAME_DEFAULT, &req, err,
                                          sizeof err),
                     PROTO_OK);
    proto_get_block_args_t g = {0};
    schema = proto_op_find("get_block")->args;
    ck_assert_int_eq(proto_decode(schema, req.args, &g, err, sizeof err), 0);
    ck_assert_int_eq(g.block.kind, PROTO_SEL_NUMBER);
    ck_assert_uint_eq(g.block.number, 256);
    proto_free(schema, &g);
    proto_request_release(&req);
    bytes_free(&b);

    /* one topic given as an array of one hash is the same filter as the hash */
    b = edited_request("get_logs", "args.topics", "91 91 c420 00*32");
    ck_assert_int_eq(proto_request_decode(b.data, b.len, PROTO_MAX_FRAME_DEFAULT, &req, err,
                                          sizeof err),
                     PROTO_OK);
    proto_get_logs_args_t l = {0};
    schema = proto_op_find("get_logs")->args;
    ck_assert_int_eq(proto_decode(schema, req.args, &l, err, sizeof err), 0);
    ck_assert_uint_eq(l.n_topics, 1);
    ck_assert(!l.topics[0].any);
    ck_assert_uint_eq(l.topics[0].n, 1);
    memset(x, 0, sizeof x);
    ck_assert_mem_eq(l.topics[0].hashes[0], x, 32);
    proto_free(schema, &l);
    proto_request_release(&req);
    bytes_free(&b);

    /* a frame of exactly max_frame bytes, and nesting of exactly 12 levels */
    b = spec_bytes("84 \"v\" 01 \"id\" 01 \"op\" \"ping\" \"args\" 81 \"x\" 91*10 c0");
    ck_assert_int_eq(proto_request_decode(b.data, b.len, b.len, &req, err, sizeof err), PROTO_OK);
    proto_request_release(&req);
    ck_assert_int_eq(proto_request_decode(b.data, b.len, b.len - 1, &req, err, sizeof err),
                     PROTO_BAD_REQUEST);
    bytes_free(&b);
    b = spec_bytes("84 \"v\" 01 \"id\" 01 \"op\" \"ping\" \"args\" 81 \"x\" 91*11 c0");
    ck_assert_int_eq(proto_request_decode(b.data, b.len, b.len, &req, err, sizeof err),
                     PROTO_BAD_REQUEST);
    ck_assert_ptr_nonnull(strstr(err, "nesting deeper than 12"));
    bytes_free(&b);
}
END_TEST

/* --------------------------------------------------------- malformed replies */

typedef struct {
    const char *name;
    const char *spec;
    const char *substr;
} bad_reply_t;

static const bad_reply_t s_bad_replies[] = {
    {"empty frame", "", "empty frame"},
    {"truncated", "84 \"v\" 01 \"id\" 01 \"ok\"", "truncated"},
    {"array", "92 c3 80", "not a map with a bool 'ok'"},
    {"ok missing", "82 \"v\" 01 \"id\" 01", "not a map with a bool 'ok'"},
    {"ok nil", "83 \"v\" 01 \"id\" 01 \"ok\" c0", "not a map with a bool 'ok'"},
    {"ok int", "83 \"v\" 01 \"id\" 01 \"ok\" 01", "not a map with a bool 'ok'"},
    {"ok without result", "83 \"v\" 01 \"id\" 01 \"ok\" c3", "ok without a result map"},
    {"ok with an array result", "84 \"v\" 01 \"id\" 01 \"ok\" c3 \"result\" 90",
     "ok without a result map"},
    {"id str", "84 \"v\" 01 \"id\" \"1\" \"ok\" c3 \"result\" 80", "id: expected uint or nil"},
    {"id -1", "84 \"v\" 01 \"id\" ff \"ok\" c3 \"result\" 80", "got negative int"},
    {"error missing", "83 \"v\" 01 \"id\" 01 \"ok\" c2", "malformed error map"},
    {"error not a map", "84 \"v\" 01 \"id\" 01 \"ok\" c2 \"error\" \"boom\"", "malformed error map"},
    {"error code int", "84 \"v\" 01 \"id\" 01 \"ok\" c2 \"error\" 83 \"code\" 01 \"message\" a0 "
                       "\"retryable\" c2",
     "malformed error map"},
    {"error without message", "84 \"v\" 01 \"id\" 01 \"ok\" c2 \"error\" 82 \"code\" \"INTERNAL\" "
                              "\"retryable\" c2",
     "malformed error map"},
    {"error retryable str", "84 \"v\" 01 \"id\" 01 \"ok\" c2 \"error\" 83 \"code\" \"INTERNAL\" "
                            "\"message\" a0 \"retryable\" \"no\"",
     "malformed error map"},
    {"error code of 40 chars",
     "84 \"v\" 01 \"id\" 01 \"ok\" c2 \"error\" 83 \"code\" "
     "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\" \"message\" a0 \"retryable\" c2",
     "malformed error map"},
    {"nesting bomb", "81 \"result\" 91*50 c0", "nesting deeper than 12"},
    {"array32 header", "84 \"v\" 01 \"id\" 01 \"ok\" c3 \"result\" dd ffffffff",
     "element count 4294967295"},
};

START_TEST(test_bad_reply)
{
    const bad_reply_t *c = &s_bad_replies[_i];
    bytes_t b = spec_bytes(c->spec);
    proto_reply_t reply;
    char err[PROTO_ERR_LEN] = "";
    proto_err_t rc = proto_reply_decode(b.data, b.len, PROTO_MAX_FRAME_DEFAULT, &reply, err,
                                        sizeof err);
    ck_assert_msg(rc == PROTO_BAD_REQUEST, "%s: got %s", c->name, proto_err_name(rc));
    ck_assert_msg(strstr(err, c->substr) != NULL, "%s: message \"%s\" lacks \"%s\"", c->name, err,
                  c->substr);
    ck_assert_ptr_null(reply.frame);
    ck_assert_ptr_null(reply.message);
    ck_assert_ptr_null(reply.result);
    bytes_free(&b);
}
END_TEST

/* ------------------------------------------------------------------ prescan */

static const char *const s_prescan_ok[] = {
    "c0", "c2", "c3", "00", "7f", "e0", "ff", "cc ff", "cd ffff", "ce ffffffff",
    "cf ffffffffffffffff", "d0 80", "d1 8000", "d2 80000000", "d3 8000000000000000",
    "ca 3f800000", "cb 3ff0000000000000", "a0", "\"hi\"", "d9 03 616263", "da 0003 616263",
    "db 00000003 616263", "c4 00", "c4 02 0102", "c5 0002 0102", "c6 00000002 0102", "d4 01 00",
    "d5 01 0000", "d6 01 00000000", "d7 01 00*8", "d8 01 00*16", "c7 03 01 000000",
    "c8 0003 01 000000", "c9 00000003 01 000000", "c7 00 01", "90", "80", "91 90", "dc 0000",
    "dd 00000000", "de 0000", "df 00000000", "dc 0003 01 02 03", "dd 00000002 c0 c0",
    "de 0001 01 02", "df 00000001 \"a\" 91 c0", "92 81 01 02 93 c0 c0 c0", "82 90 80 80 90",
    "@ping", "91*12 c0", "91*12 90", "91*10 92 91 c0 91 c0",
};

START_TEST(test_prescan_accepts)
{
    const char *spec = s_prescan_ok[_i];
    bytes_t b = spec_bytes(spec);
    char why[128] = "";
    ck_assert_msg(proto_prescan(b.data, b.len, PROTO_MAX_DEPTH, why, sizeof why) == 0, "%s: %s",
                  spec, why);
    /* msgpack-c agrees: the frame parses */
    proto_frame_t *f = proto_frame_parse(b.data, b.len, PROTO_MAX_FRAME_DEFAULT, why, sizeof why);
    ck_assert_msg(f != NULL, "%s: %s", spec, why);
    proto_frame_destroy(&f);
    bytes_free(&b);
}
END_TEST

static const struct {
    const char *spec;
    const char *substr;
} s_prescan_bad[] = {
    {"", "empty frame"},
    {"c1", "invalid msgpack type byte 0xc1"},
    {"91", "element count 1 exceeds the 0 bytes left"},
    {"92 01", "element count 2 exceeds the 1 bytes left"},
    {"82 01 02 03", "element count 4 exceeds the 3 bytes left"},
    {"82 \"v\" 01 \"id\"", "truncated at byte 7"},
    {"92 a3 616263", "truncated at byte 5"},
    {"c4 05 00", "length 5 exceeds the 1 bytes left"},
    {"d9", "truncated length"},
    {"da 00", "truncated length"},
    {"db 000000", "truncated length"},
    {"c4", "truncated length"},
    {"c5 00", "truncated length"},
    {"c6 000000", "truncated length"},
    {"c7 02 01 00", "length 3 exceeds the 2 bytes left"},
    {"d8 01 00*15", "length 17 exceeds the 16 bytes left"},
    {"cf 00", "length 8 exceeds the 1 bytes left"},
    {"ca", "length 4 exceeds the 0 bytes left"},
    {"dd ffffffff", "element count 4294967295 exceeds the 0 bytes left"},
    {"df 7fffffff 01", "element count 4294967294 exceeds the 1 bytes left"},
    {"dc 0002 01", "element count 2 exceeds the 1 bytes left"},
    {"93 91 c0 91", "element count 1 exceeds the 2 bytes left"},
    {"c0 c0", "1 trailing bytes after the object"},
    {"91 c0 c0", "1 trailing bytes"},
    {"91*13 c0", "nesting deeper than 12"},
    {"91*12 91 c0", "nesting deeper than 12"},
};

START_TEST(test_prescan_rejects)
{
    bytes_t b = spec_bytes(s_prescan_bad[_i].spec);
    char why[128] = "";
    ck_assert_int_eq(proto_prescan(b.data, b.len, PROTO_MAX_DEPTH, why, sizeof why), -1);
    ck_assert_msg(strstr(why, s_prescan_bad[_i].substr) != NULL, "%s: \"%s\" lacks \"%s\"",
                  s_prescan_bad[_i].spec, why, s_prescan_bad[_i].substr);
    proto_frame_t *f = proto_frame_parse(b.data, b.len, PROTO_MAX_FRAME_DEFAULT, why, sizeof why);
    ck_assert_ptr_null(f);
    bytes_free(&b);
}
END_TEST

START_TEST(test_prescan_limits)
{
    char why[64];
    bytes_t two = spec_bytes("91 91 c0");
    bytes_t three = spec_bytes("91 91 91 c0");
    bytes_t thirteen = spec_bytes("91*13 c0");
    ck_assert_int_eq(proto_prescan(two.data, two.len, 2, why, sizeof why), 0);
    ck_assert_int_eq(proto_prescan(three.data, three.len, 2, why, sizeof why), -1);
    ck_assert_str_eq(why, "nesting deeper than 2");
    /* a larger max_depth is capped at PROTO_MAX_DEPTH */
    ck_assert_int_eq(proto_prescan(thirteen.data, thirteen.len, 100, why, sizeof why), -1);
    ck_assert_str_eq(why, "nesting deeper than 12");
    /* depth 0 admits scalars and empty containers only */
    ck_assert_int_eq(proto_prescan((const uint8_t *) "\xc0", 1, 0, why, sizeof why), 0);
    ck_assert_int_eq(proto_prescan((const uint8_t *) "\x90", 1, 0, why, sizeof why), 0);
    ck_assert_int_eq(proto_prescan(two.data, two.len, 0, why, sizeof why), -1);
    /* why may be NULL, and a short one is cut, not overrun */
    ck_assert_int_eq(proto_prescan(three.data, three.len, 2, NULL, 0), -1);
    ck_assert_int_eq(proto_prescan(NULL, 0, 2, NULL, 0), -1);
    char small[8];
    memset(small, 'z', sizeof small);
    ck_assert_int_eq(proto_prescan(three.data, three.len, 2, small, 4), -1);
    ck_assert_str_eq(small, "nes");
    ck_assert_int_eq(small[4], 'z');
    bytes_free(&two);
    bytes_free(&three);
    bytes_free(&thirteen);

    /* proto_frame_parse reports the limit and the pre-scan reason */
    bytes_t ping = spec_bytes("@ping");
    char err[PROTO_ERR_LEN];
    ck_assert_ptr_null(proto_frame_parse(ping.data, ping.len, ping.len - 1, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "byte limit"));
    proto_frame_t *f = proto_frame_parse(ping.data, ping.len, ping.len, err, sizeof err);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(proto_frame_root(f)->type, MSGPACK_OBJECT_MAP);
    proto_frame_destroy(&f);
    proto_frame_destroy(&f);
    bytes_free(&ping);
}
END_TEST

/* ---------------------------------------------------------------- selectors */

START_TEST(test_selector_parse)
{
    static const char *const tags[] = {"latest", "pending", "earliest", "safe", "finalized"};
    proto_selector_t s;
    for (size_t i = 0; i < N(tags); i++) {
        ck_assert_int_eq(proto_selector_parse(tags[i], &s), 0);
        ck_assert_int_eq(s.kind, PROTO_SEL_TAG);
        ck_assert_str_eq(s.tag, tags[i]);
        ck_assert(proto_tag_valid(tags[i]));
    }
    ck_assert(!proto_tag_valid("Latest"));
    ck_assert(!proto_tag_valid(""));
    ck_assert(!proto_tag_valid("head"));

    static const struct {
        const char *text;
        uint64_t number;
    } numbers[] = {
        {"0", 0},
        {"7", 7},
        {"12345", 12345},
        {"18446744073709551615", UINT64_MAX},
        {"0x0", 0},
        {"0x1f", 31},
        {"0X1F", 31},
        {"0x123", 0x123},
        {"0xffffffffffffffff", UINT64_MAX},
        {"0x00000000000000000000000000000000000000000000000000000000000001", 1},
    };
    for (size_t i = 0; i < N(numbers); i++) {
        ck_assert_msg(proto_selector_parse(numbers[i].text, &s) == 0, "%s", numbers[i].text);
        ck_assert_msg(s.kind == PROTO_SEL_NUMBER, "%s: kind %d", numbers[i].text, s.kind);
        ck_assert_uint_eq(s.number, numbers[i].number);
    }

    uint8_t hash[32];
    char text[67];
    fill(hash, 32, 222);
    hex_encode(hash, 32, text);
    ck_assert_int_eq(proto_selector_parse(text, &s), 0);
    ck_assert_int_eq(s.kind, PROTO_SEL_HASH);
    ck_assert_mem_eq(s.hash, hash, 32);
    for (char *p = text; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char) (*p - 'a' + 'A');
    ck_assert_int_eq(proto_selector_parse(text, &s), 0);
    ck_assert_int_eq(s.kind, PROTO_SEL_HASH);
    ck_assert_mem_eq(s.hash, hash, 32);
    /* 64 zero digits: a hash, not the number 0 */
    ck_assert_int_eq(
        proto_selector_parse("0x0000000000000000000000000000000000000000000000000000000000000000",
                             &s),
        0);
    ck_assert_int_eq(s.kind, PROTO_SEL_HASH);
}
END_TEST

static const char *const s_bad_selectors[] = {
    "",
    "-1",
    "+1",
    " 1",
    "1 ",
    "\t1",
    "\t-1",
    "\n5",
    "18446744073709551616",
    "99999999999999999999999",
    "0x10000000000000000",
    "0x",
    "0xg",
    "0x-1",
    "0x+1",
    "0x 1",
    "010",
    "1e3",
    "1.5",
    "latest ",
    "Latest",
    "LATEST",
    "newest",
    "0x0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg",
    "0x0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd f",
    "0x-123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "0x0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
    "0x0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "1111111111111111111111111111111111111111111111111111111111111111",
};

START_TEST(test_selector_parse_rejects)
{
    proto_selector_t s;
    memset(&s, 0x5a, sizeof s);
    const char *text = s_bad_selectors[_i];
    ck_assert_msg(proto_selector_parse(text, &s) == -1, "\"%s\" accepted as kind %d", text, s.kind);
    ck_assert_int_eq(s.kind, PROTO_SEL_NONE);
}
END_TEST

START_TEST(test_selector_parse_null)
{
    proto_selector_t s;
    ck_assert_int_eq(proto_selector_parse(NULL, &s), -1);
    ck_assert_int_eq(s.kind, PROTO_SEL_NONE);
}
END_TEST

/*  A parsed selector travels as the wire type its kind says. */
START_TEST(test_selector_pack)
{
    static const char *const texts[] = {
        "latest", "42", "0xabcdef",
        "0xabababababababababababababababababababababababababababababababab"};
    static const msgpack_object_type types[] = {MSGPACK_OBJECT_STR, MSGPACK_OBJECT_POSITIVE_INTEGER,
                                                MSGPACK_OBJECT_POSITIVE_INTEGER,
                                                MSGPACK_OBJECT_BIN};
    for (size_t i = 0; i < N(texts); i++) {
        proto_get_block_args_t a = {0}, back = {0};
        ck_assert_int_eq(proto_selector_parse(texts[i], &a.block), 0);
        const proto_schema_t *schema = proto_op_find("get_block")->args;
        bytes_t b = encode_obj(schema, &a);
        char err[PROTO_ERR_LEN] = "";
        proto_frame_t *f = proto_frame_parse(b.data, b.len, b.len, err, sizeof err);
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(proto_map_get(proto_frame_root(f), "block")->type, types[i]);
        ck_assert_int_eq(proto_decode(schema, proto_frame_root(f), &back, err, sizeof err), 0);
        ck_assert_mem_eq(&back.block, &a.block, sizeof a.block);
        proto_frame_destroy(&f);
        bytes_free(&b);
    }
    proto_writer_t w;
    proto_writer_init(&w);
    proto_selector_t none = {0};
    proto_pack_selector(&w.pk, &none);
    ck_assert_uint_eq(w.sbuf.size, 1);
    ck_assert_int_eq((uint8_t) w.sbuf.data[0], 0xc0);
    proto_writer_release(&w);
}
END_TEST

/* ------------------------------------------------------------------- errors */

START_TEST(test_error_names)
{
    /* the table of PROTOCOL.md: code and retryable */
    static const struct {
        const char *name;
        bool retryable;
    } table[] = {
        {"BAD_REQUEST", false},        {"UNKNOWN_OP", false},
        {"UNSUPPORTED_VERSION", false}, {"EL_UNAVAILABLE", true},
        {"EL_TIMEOUT", true},          {"EL_AUTH_FAILED", false},
        {"EL_ERROR", false},           {"EL_SYNCING", true},
        {"INVALID_FORKCHOICE", false}, {"INVALID_PAYLOAD", false},
        {"PAYLOAD_ID_UNAVAILABLE", true}, {"BLOCK_NOT_FOUND", false},
        {"FINALIZED_CONFLICT", false}, {"OVERLOADED", true},
        {"SHUTTING_DOWN", true},       {"INTERNAL", false},
    };
    ck_assert_uint_eq(N(table), PROTO_ERR_COUNT - 1);
    bool seen[PROTO_ERR_COUNT] = {false};
    for (size_t i = 0; i < N(table); i++) {
        proto_err_t e = proto_err_from_name(table[i].name);
        ck_assert_msg(e > PROTO_OK && e < PROTO_ERR_COUNT, "%s unknown", table[i].name);
        ck_assert_msg(!seen[e], "%s maps to a code already seen", table[i].name);
        seen[e] = true;
        ck_assert_str_eq(proto_err_name(e), table[i].name);
        ck_assert_msg(proto_err_retryable(e) == table[i].retryable, "%s retryable",
                      table[i].name);
    }
    ck_assert_int_eq(proto_err_from_name("bad_request"), PROTO_ERR_COUNT);
    ck_assert_int_eq(proto_err_from_name(""), PROTO_ERR_COUNT);
    ck_assert_int_eq(proto_err_from_name("OK"), PROTO_ERR_COUNT);
    ck_assert_int_eq(proto_err_from_name("BAD_REQUEST "), PROTO_ERR_COUNT);
    ck_assert_str_eq(proto_err_name(PROTO_ERR_COUNT), "INTERNAL");
    ck_assert_str_eq(proto_err_name((proto_err_t) 1000), "INTERNAL");
    ck_assert(!proto_err_retryable(PROTO_ERR_COUNT));
    ck_assert(!proto_err_retryable(PROTO_OK));
}
END_TEST

/* -------------------------------------------------------------------- suite */

static Suite *proto_suite(void)
{
    Suite *s = suite_create("proto");
    TCase *tc = tcase_create("roundtrip");
    tcase_add_test(tc, test_op_table);
    tcase_add_loop_test(tc, test_sample_coverage, 0, (int) proto_n_ops);
    tcase_add_loop_test(tc, test_roundtrip_args, 0, (int) (proto_n_ops * NVARIANTS));
    tcase_add_loop_test(tc, test_roundtrip_result, 0, (int) (proto_n_ops * NVARIANTS));
    tcase_add_loop_test(tc, test_request_envelope, 0, (int) (proto_n_ops * NVARIANTS));
    tcase_add_test(tc, test_request_id_extremes);
    tcase_add_loop_test(tc, test_reply_ok, 0, (int) (proto_n_ops * NVARIANTS));
    tcase_add_test(tc, test_reply_ok_forms);
    tcase_add_loop_test(tc, test_reply_error, 0, 2 * (PROTO_ERR_COUNT - 1));
    tcase_add_test(tc, test_reply_error_forms);
    suite_add_tcase(s, tc);

    tc = tcase_create("fields");
    tcase_add_test(tc, test_fields_build_block);
    tcase_add_test(tc, test_fields_get_logs);
    tcase_add_test(tc, test_fields_get_block);
    tcase_add_test(tc, test_fields_block_transactions);
    tcase_add_test(tc, test_fields_receipts);
    tcase_add_test(tc, test_fields_status_and_payload);
    tcase_add_test(tc, test_array_limit_is_per_item);
    suite_add_tcase(s, tc);

    tc = tcase_create("malformed");
    tcase_add_loop_test(tc, test_bad_request, 0, (int) N(s_bad));
    tcase_add_test(tc, test_tolerated_requests);
    tcase_add_loop_test(tc, test_bad_reply, 0, (int) N(s_bad_replies));
    suite_add_tcase(s, tc);

    tc = tcase_create("helpers");
    tcase_add_loop_test(tc, test_prescan_accepts, 0, (int) N(s_prescan_ok));
    tcase_add_loop_test(tc, test_prescan_rejects, 0, (int) N(s_prescan_bad));
    tcase_add_test(tc, test_prescan_limits);
    tcase_add_test(tc, test_selector_parse);
    tcase_add_loop_test(tc, test_selector_parse_rejects, 0, (int) N(s_bad_selectors));
    tcase_add_test(tc, test_selector_parse_null);
    tcase_add_test(tc, test_selector_pack);
    tcase_add_test(tc, test_error_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(proto_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
