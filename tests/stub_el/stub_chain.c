/*  The stub's chain: blocks by hash (uthash), the canonical chain by number,
    fork choice and recent payload builds, behind one mutex. */
#include "stub_chain.h"

#include <nettle/sha2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "hex.h"

#define N_BUILDS 16
#define GAS_LIMIT 30000000u
#define BASE_FEE 1000000000u /* 1 gwei */

/*  The root of an empty Merkle-Patricia trie: what a real client reports for
    a block without transactions or receipts. */
static const char *const s_empty_root =
    "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421";
static const char *const s_empty_uncles =
    "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347";

typedef struct {
    uint64_t index, validator_index, amount;
    uint8_t address[20];
} stub_withdrawal_t;

typedef struct {
    uint8_t *data;
    size_t len;
    uint8_t hash[32];
} stub_tx_t;

typedef struct stub_block {
    uint8_t hash[32];
    uint8_t parent_hash[32];
    uint8_t fee_recipient[20];
    uint8_t state_root[32];
    uint8_t receipts_root[32];
    uint8_t logs_bloom[256];
    uint8_t prev_randao[32];
    uint64_t number, gas_limit, gas_used, timestamp, base_fee;
    uint8_t extra_data[32];
    size_t extra_len;
    size_t n_tx;
    stub_tx_t *tx;
    size_t n_wd;
    stub_withdrawal_t *wd;
    bool v3;
    uint64_t blob_gas_used, excess_blob_gas;
    struct stub_block *parent; /* NULL for genesis */
    char *json;                /* cached eth_getBlockBy* result with tx hashes */
    UT_hash_handle hh;
} stub_block_t;

typedef struct {
    uint8_t id[8];
    stub_block_t *payload; /* owned; not part of the chain */
} stub_build_t;

struct stub_chain {
    pthread_mutex_t lock;
    stub_block_t *by_hash;   /* every accepted block, genesis included */
    stub_block_t **canon;    /* canon[n]: the canonical block at height n */
    size_t n_canon, cap_canon;
    stub_block_t *genesis, *head, *safe, *finalized;
    stub_build_t builds[N_BUILDS];
    size_t next_build;
    uint64_t build_counter;
    uint64_t n_blocks;
};

/* ------------------------------------------------------------ helpers */

static void set_err(stub_rpc_error_t *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(stub_rpc_error_t *err, int code, const char *fmt, ...)
{
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}

static json_t *jhex(const uint8_t *bytes, size_t len)
{
    char *s = hex_encode_alloc(bytes, len);
    json_t *j = s ? json_string(s) : NULL;
    free(s);
    return j;
}

static json_t *jqty(uint64_t v)
{
    char buf[24];
    return json_string(hex_quantity_format(v, buf));
}

/*  "0x" and 1..16 hex digits; leading zeros are tolerated on input. */
static int parse_qty(json_t *v, uint64_t *out)
{
    const char *s = json_string_value(v);
    if (!s || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || !s[2])
        return -1;
    s += 2;
    while (s[0] == '0' && s[1])
        s++;
    if (strlen(s) > 16)
        return -1;
    uint64_t x = 0;
    for (; *s; s++) {
        int d = (*s >= '0' && *s <= '9')   ? *s - '0'
                : (*s >= 'a' && *s <= 'f') ? *s - 'a' + 10
                : (*s >= 'A' && *s <= 'F') ? *s - 'A' + 10
                                           : -1;
        if (d < 0)
            return -1;
        x = x << 4 | (uint64_t) d;
    }
    *out = x;
    return 0;
}

static int get_fixed(json_t *obj, const char *key, uint8_t *out, size_t n)
{
    return hex_decode_fixed(json_string_value(json_object_get(obj, key)), out, n);
}

static int get_qty(json_t *obj, const char *key, uint64_t *out)
{
    return parse_qty(json_object_get(obj, key), out);
}

static void sha_u64(struct sha256_ctx *c, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t) (v >> (56 - 8 * i));
    sha256_update(c, 8, b);
}

/*  The stub's block hash: SHA-256 over every field a payload carries, in a
    fixed order, so that equal contents give equal hashes and any change to
    a payload changes its hash. */
static void block_compute_hash(const stub_block_t *b, uint8_t out[32])
{
    struct sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, 32, b->parent_hash);
    sha256_update(&c, 20, b->fee_recipient);
    sha256_update(&c, 32, b->state_root);
    sha256_update(&c, 32, b->receipts_root);
    sha256_update(&c, 256, b->logs_bloom);
    sha256_update(&c, 32, b->prev_randao);
    sha_u64(&c, b->number);
    sha_u64(&c, b->gas_limit);
    sha_u64(&c, b->gas_used);
    sha_u64(&c, b->timestamp);
    sha_u64(&c, b->extra_len);
    sha256_update(&c, b->extra_len, b->extra_data);
    sha_u64(&c, b->base_fee);
    sha_u64(&c, b->n_tx);
    for (size_t i = 0; i < b->n_tx; i++) {
        sha_u64(&c, b->tx[i].len);
        sha256_update(&c, b->tx[i].len, b->tx[i].data);
    }
    sha_u64(&c, b->n_wd);
    for (size_t i = 0; i < b->n_wd; i++) {
        sha_u64(&c, b->wd[i].index);
        sha_u64(&c, b->wd[i].validator_index);
        sha256_update(&c, 20, b->wd[i].address);
        sha_u64(&c, b->wd[i].amount);
    }
    if (b->v3) {
        sha_u64(&c, b->blob_gas_used);
        sha_u64(&c, b->excess_blob_gas);
    }
    sha256_digest(&c, 32, out);
}

static void block_free(stub_block_t *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n_tx; i++)
        free(b->tx[i].data);
    free(b->tx);
    free(b->wd);
    free(b->json);
    free(b);
}

static stub_block_t *find_block(stub_chain_t *self, const uint8_t hash[32])
{
    stub_block_t *b = NULL;
    HASH_FIND(hh, self->by_hash, hash, 32, b);
    return b;
}

static bool is_canonical(const stub_chain_t *self, const stub_block_t *b)
{
    return b->number < self->n_canon && self->canon[b->number] == b;
}

/*  True when a is b or one of b's ancestors. Walks b's side branch down to
    the canonical chain, then answers from the canonical index, so the usual
    case (b extends the canonical chain) costs a step or two. */
static bool is_ancestor(const stub_chain_t *self, const stub_block_t *a, const stub_block_t *b)
{
    while (b && !is_canonical(self, b)) {
        if (b == a)
            return true;
        b = b->parent;
    }
    return b && a->number <= b->number && is_canonical(self, a);
}

/*  Makes b the head: rewrites the canonical index from b down to where its
    branch meets the old canonical chain, and drops anything above b. */
static int set_head(stub_chain_t *self, stub_block_t *b)
{
    if (b->number + 1 > self->cap_canon) {
        size_t cap = self->cap_canon ? self->cap_canon : 1024;
        while (cap < b->number + 1)
            cap *= 2;
        stub_block_t **p = realloc(self->canon, cap * sizeof *p);
        if (!p)
            return -1;
        self->canon = p;
        self->cap_canon = cap;
    }
    for (stub_block_t *x = b; x && !is_canonical(self, x); x = x->parent)
        self->canon[x->number] = x;
    self->n_canon = b->number + 1;
    self->head = b;
    return 0;
}

/* ----------------------------------------------------------- JSON forms */

static json_t *withdrawals_json(const stub_block_t *b)
{
    json_t *a = json_array();
    for (size_t i = 0; i < b->n_wd; i++)
        json_array_append_new(a, json_pack("{s:o,s:o,s:o,s:o}", "index", jqty(b->wd[i].index),
                                           "validatorIndex", jqty(b->wd[i].validator_index),
                                           "address", jhex(b->wd[i].address, 20), "amount",
                                           jqty(b->wd[i].amount)));
    return a;
}

static json_t *raw_txs_json(const stub_block_t *b)
{
    json_t *a = json_array();
    for (size_t i = 0; i < b->n_tx; i++)
        json_array_append_new(a, jhex(b->tx[i].data, b->tx[i].len));
    return a;
}

/*  ExecutionPayloadV2, or V3 with the blob gas fields. */
static json_t *payload_json(const stub_block_t *b)
{
    json_t *p = json_object();
    json_object_set_new(p, "parentHash", jhex(b->parent_hash, 32));
    json_object_set_new(p, "feeRecipient", jhex(b->fee_recipient, 20));
    json_object_set_new(p, "stateRoot", jhex(b->state_root, 32));
    json_object_set_new(p, "receiptsRoot", jhex(b->receipts_root, 32));
    json_object_set_new(p, "logsBloom", jhex(b->logs_bloom, 256));
    json_object_set_new(p, "prevRandao", jhex(b->prev_randao, 32));
    json_object_set_new(p, "blockNumber", jqty(b->number));
    json_object_set_new(p, "gasLimit", jqty(b->gas_limit));
    json_object_set_new(p, "gasUsed", jqty(b->gas_used));
    json_object_set_new(p, "timestamp", jqty(b->timestamp));
    json_object_set_new(p, "extraData", jhex(b->extra_data, b->extra_len));
    json_object_set_new(p, "baseFeePerGas", jqty(b->base_fee));
    json_object_set_new(p, "blockHash", jhex(b->hash, 32));
    json_object_set_new(p, "transactions", raw_txs_json(b));
    json_object_set_new(p, "withdrawals", withdrawals_json(b));
    if (b->v3) {
        json_object_set_new(p, "blobGasUsed", jqty(b->blob_gas_used));
        json_object_set_new(p, "excessBlobGas", jqty(b->excess_blob_gas));
    }
    return p;
}

static json_t *tx_json(const stub_block_t *b, size_t i)
{
    static const uint8_t zero20[20];
    return json_pack("{s:o,s:o,s:n,s:s,s:s,s:o,s:o,s:o,s:o,s:s,s:s}", "hash", jhex(b->tx[i].hash, 32),
                     "from", jhex(zero20, 20), "to", "nonce", "0x0", "value", "0x0", "input",
                     jhex(b->tx[i].data, b->tx[i].len), "blockHash", jhex(b->hash, 32),
                     "blockNumber", jqty(b->number), "transactionIndex", jqty(i), "type", "0x2",
                     "gas", "0x5208");
}

/*  The eth_getBlockBy* form of a block. */
static json_t *block_json(const stub_block_t *b, bool full)
{
    static const uint8_t zero32[32];
    json_t *o = json_object();
    json_object_set_new(o, "number", jqty(b->number));
    json_object_set_new(o, "hash", jhex(b->hash, 32));
    json_object_set_new(o, "parentHash", jhex(b->parent_hash, 32));
    json_object_set_new(o, "nonce", json_string("0x0000000000000000"));
    json_object_set_new(o, "sha3Uncles", json_string(s_empty_uncles));
    json_object_set_new(o, "logsBloom", jhex(b->logs_bloom, 256));
    json_object_set_new(o, "transactionsRoot", json_string(s_empty_root));
    json_object_set_new(o, "stateRoot", jhex(b->state_root, 32));
    json_object_set_new(o, "receiptsRoot", jhex(b->receipts_root, 32));
    json_object_set_new(o, "miner", jhex(b->fee_recipient, 20));
    json_object_set_new(o, "difficulty", json_string("0x0"));
    json_object_set_new(o, "totalDifficulty", json_string("0x1"));
    json_object_set_new(o, "extraData", jhex(b->extra_data, b->extra_len));
    json_object_set_new(o, "size", jqty(600 + 100 * b->n_tx + 60 * b->n_wd));
    json_object_set_new(o, "gasLimit", jqty(b->gas_limit));
    json_object_set_new(o, "gasUsed", jqty(b->gas_used));
    json_object_set_new(o, "timestamp", jqty(b->timestamp));
    json_object_set_new(o, "baseFeePerGas", jqty(b->base_fee));
    json_object_set_new(o, "mixHash", jhex(b->prev_randao, 32));
    json_object_set_new(o, "withdrawalsRoot", json_string(s_empty_root));
    json_object_set_new(o, "withdrawals", withdrawals_json(b));
    json_t *txs = json_array();
    for (size_t i = 0; i < b->n_tx; i++)
        json_array_append_new(txs, full ? tx_json(b, i) : jhex(b->tx[i].hash, 32));
    json_object_set_new(o, "transactions", txs);
    json_object_set_new(o, "uncles", json_array());
    if (b->v3) {
        json_object_set_new(o, "blobGasUsed", jqty(b->blob_gas_used));
        json_object_set_new(o, "excessBlobGas", jqty(b->excess_blob_gas));
        json_object_set_new(o, "parentBeaconBlockRoot", jhex(zero32, 32));
    }
    return o;
}

static char *dump(json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    return s;
}

/*  A block's text is built once and kept: blocks never change. */
static char *block_text(stub_block_t *b, bool full)
{
    if (full && b->n_tx > 0)
        return dump(block_json(b, true));
    if (!b->json)
        b->json = dump(block_json(b, false));
    return b->json ? strdup(b->json) : NULL;
}

/* ------------------------------------------------------------ parsing */

static int parse_withdrawals(json_t *arr, stub_block_t *b)
{
    if (!arr || json_is_null(arr))
        return 0;
    if (!json_is_array(arr))
        return -1;
    size_t n = json_array_size(arr);
    b->wd = calloc(n ? n : 1, sizeof *b->wd);
    if (!b->wd)
        return -1;
    b->n_wd = n;
    for (size_t i = 0; i < n; i++) {
        json_t *w = json_array_get(arr, i);
        if (get_qty(w, "index", &b->wd[i].index) != 0
            || get_qty(w, "validatorIndex", &b->wd[i].validator_index) != 0
            || get_fixed(w, "address", b->wd[i].address, 20) != 0
            || get_qty(w, "amount", &b->wd[i].amount) != 0)
            return -1;
    }
    return 0;
}

/*  Reads an ExecutionPayload into a new block (not yet linked). Returns NULL
    with a reason in why when a field is missing or malformed. */
static stub_block_t *payload_parse(json_t *p, bool v3, char *why, size_t why_len)
{
    stub_block_t *b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(why, why_len, "out of memory");
        return NULL;
    }
    const char *bad = NULL;
    long extra_len;
    if (!json_is_object(p))
        bad = "payload";
    else if (get_fixed(p, "parentHash", b->parent_hash, 32) != 0)
        bad = "parentHash";
    else if (get_fixed(p, "feeRecipient", b->fee_recipient, 20) != 0)
        bad = "feeRecipient";
    else if (get_fixed(p, "stateRoot", b->state_root, 32) != 0)
        bad = "stateRoot";
    else if (get_fixed(p, "receiptsRoot", b->receipts_root, 32) != 0)
        bad = "receiptsRoot";
    else if (get_fixed(p, "logsBloom", b->logs_bloom, 256) != 0)
        bad = "logsBloom";
    else if (get_fixed(p, "prevRandao", b->prev_randao, 32) != 0)
        bad = "prevRandao";
    else if (get_qty(p, "blockNumber", &b->number) != 0)
        bad = "blockNumber";
    else if (get_qty(p, "gasLimit", &b->gas_limit) != 0)
        bad = "gasLimit";
    else if (get_qty(p, "gasUsed", &b->gas_used) != 0)
        bad = "gasUsed";
    else if (get_qty(p, "timestamp", &b->timestamp) != 0)
        bad = "timestamp";
    else if ((extra_len = hex_decode(json_string_value(json_object_get(p, "extraData")),
                                     b->extra_data, 32)) < 0)
        bad = "extraData";
    else if (get_qty(p, "baseFeePerGas", &b->base_fee) != 0)
        bad = "baseFeePerGas";
    else if (get_fixed(p, "blockHash", b->hash, 32) != 0)
        bad = "blockHash";
    else if (parse_withdrawals(json_object_get(p, "withdrawals"), b) != 0)
        bad = "withdrawals";
    else if (v3 && (get_qty(p, "blobGasUsed", &b->blob_gas_used) != 0
                    || get_qty(p, "excessBlobGas", &b->excess_blob_gas) != 0))
        bad = "blobGasUsed/excessBlobGas";
    if (!bad) {
        b->extra_len = (size_t) extra_len;
        b->v3 = v3;
        json_t *txs = json_object_get(p, "transactions");
        size_t n = json_array_size(txs);
        if (!json_is_array(txs)) {
            bad = "transactions";
        } else if (n > 0) {
            b->tx = calloc(n, sizeof *b->tx);
            if (!b->tx)
                bad = "transactions";
            for (size_t i = 0; b->tx && i < n; i++) {
                stub_tx_t *t = &b->tx[i];
                if (hex_decode_alloc(json_string_value(json_array_get(txs, i)), &t->data, &t->len)
                        != 0
                    || t->len == 0) {
                    bad = "transactions";
                    break;
                }
                b->n_tx = i + 1;
                struct sha256_ctx c;
                sha256_init(&c);
                sha256_update(&c, t->len, t->data);
                sha256_digest(&c, 32, t->hash);
            }
        }
    }
    if (bad) {
        snprintf(why, why_len, "invalid payload: %s", bad);
        block_free(b);
        return NULL;
    }
    return b;
}

/* ------------------------------------------------------------- methods */

static json_t *status_json(const char *status, const uint8_t *lvh, const char *why)
{
    return json_pack("{s:s,s:o,s:o}", "status", status, "latestValidHash",
                     lvh ? jhex(lvh, 32) : json_null(), "validationError",
                     why ? json_string(why) : json_null());
}

/*  A new empty block on parent from payload attributes. */
static stub_block_t *build_payload(const stub_block_t *parent, json_t *attrs, bool v3,
                                   stub_rpc_error_t *err)
{
    stub_block_t *b = calloc(1, sizeof *b);
    if (!b) {
        set_err(err, -32603, "out of memory");
        return NULL;
    }
    if (get_qty(attrs, "timestamp", &b->timestamp) != 0
        || get_fixed(attrs, "prevRandao", b->prev_randao, 32) != 0
        || get_fixed(attrs, "suggestedFeeRecipient", b->fee_recipient, 20) != 0
        || parse_withdrawals(json_object_get(attrs, "withdrawals"), b) != 0) {
        block_free(b);
        set_err(err, -32602, "Invalid params: malformed payload attributes");
        return NULL;
    }
    if (b->timestamp <= parent->timestamp) {
        block_free(b);
        set_err(err, -38003, "Invalid payload attributes: timestamp must be after the parent's");
        return NULL;
    }
    memcpy(b->parent_hash, parent->hash, 32);
    b->number = parent->number + 1;
    b->gas_limit = parent->gas_limit;
    b->base_fee = parent->base_fee;
    b->v3 = v3;
    memcpy(b->receipts_root, parent->receipts_root, 32);
    /* the state moves with the withdrawals (balances) and nothing else */
    struct sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, 32, parent->state_root);
    for (size_t i = 0; i < b->n_wd; i++) {
        sha256_update(&c, 20, b->wd[i].address);
        sha_u64(&c, b->wd[i].amount);
    }
    sha256_digest(&c, 32, b->state_root);
    block_compute_hash(b, b->hash);
    return b;
}

/*  engine_forkchoiceUpdatedV1..3, as the specification orders the checks:
    an unknown head is SYNCING (no build); safe and finalized must be
    ancestors of the head (-38002); a forced status (the fault flag) then
    answers before anything moves, as a client that rejects the update
    would; otherwise the head moves and, with attributes, a build starts. */
static json_t *m_forkchoice_updated(stub_chain_t *self, json_t *params, int version,
                                    const stub_call_opts_t *opts, stub_rpc_error_t *err)
{
    json_t *state = json_array_get(params, 0);
    json_t *attrs = json_array_get(params, 1);
    uint8_t head_h[32], safe_h[32], fin_h[32];
    static const uint8_t zero[32];
    if (get_fixed(state, "headBlockHash", head_h, 32) != 0
        || get_fixed(state, "safeBlockHash", safe_h, 32) != 0
        || get_fixed(state, "finalizedBlockHash", fin_h, 32) != 0
        || (attrs && !json_is_null(attrs) && !json_is_object(attrs))) {
        set_err(err, -32602, "Invalid params: malformed forkchoice state");
        return NULL;
    }
    if (json_is_null(attrs))
        attrs = NULL;
    stub_block_t *head = find_block(self, head_h);
    if (!head) /* as real clients do: it would have to sync to that head */
        return json_pack("{s:o,s:n}", "payloadStatus", status_json("SYNCING", NULL, NULL),
                         "payloadId");
    stub_block_t *safe = NULL, *fin = NULL;
    if (memcmp(fin_h, zero, 32) != 0
        && (!(fin = find_block(self, fin_h)) || !is_ancestor(self, fin, head))) {
        set_err(err, -38002, "Invalid forkchoice state: finalized block is not an ancestor of "
                             "the head");
        return NULL;
    }
    if (memcmp(safe_h, zero, 32) != 0
        && (!(safe = find_block(self, safe_h)) || !is_ancestor(self, safe, head))) {
        set_err(err, -38002, "Invalid forkchoice state: safe block is not an ancestor of the "
                             "head");
        return NULL;
    }
    if (opts && opts->force_status) {
        bool invalid = strcmp(opts->force_status, "INVALID") == 0;
        return json_pack("{s:o,s:n}", "payloadStatus",
                         status_json(opts->force_status, invalid ? head->parent_hash : NULL,
                                     invalid ? "injected by the stub" : NULL),
                         "payloadId");
    }
    if (set_head(self, head) != 0) {
        set_err(err, -32603, "out of memory");
        return NULL;
    }
    if (safe)
        self->safe = safe;
    if (fin)
        self->finalized = fin;
    json_t *pid = json_null();
    if (attrs) {
        if (version >= 3 && get_fixed(attrs, "parentBeaconBlockRoot", (uint8_t[32]){0}, 32) != 0) {
            set_err(err, -32602, "Invalid params: parentBeaconBlockRoot is required in V3");
            return NULL;
        }
        stub_block_t *p = build_payload(head, attrs, version >= 3, err);
        if (!p)
            return NULL;
        stub_build_t *slot = &self->builds[self->next_build];
        self->next_build = (self->next_build + 1) % N_BUILDS;
        block_free(slot->payload);
        slot->payload = p;
        uint64_t id = ((uint64_t) version << 56) | ++self->build_counter;
        for (int i = 0; i < 8; i++)
            slot->id[i] = (uint8_t) (id >> (56 - 8 * i));
        if (!(opts && opts->null_payload_id))
            pid = jhex(slot->id, 8);
    }
    return json_pack("{s:o,s:o}", "payloadStatus", status_json("VALID", head->hash, NULL),
                     "payloadId", pid);
}

/*  engine_getPayloadV1..3 from the last N_BUILDS builds. Asking V2 for a
    V3 build (or the reverse) is -38005, as Geth answers. */
static json_t *m_get_payload(stub_chain_t *self, json_t *params, int version,
                             stub_rpc_error_t *err)
{
    uint8_t id[8];
    if (hex_decode_fixed(json_string_value(json_array_get(params, 0)), id, 8) != 0) {
        set_err(err, -32602, "Invalid params: expected a payload id");
        return NULL;
    }
    for (size_t i = 0; i < N_BUILDS; i++) {
        stub_build_t *slot = &self->builds[i];
        if (!slot->payload || memcmp(slot->id, id, 8) != 0)
            continue;
        if (slot->payload->v3 != (version >= 3)) {
            set_err(err, -38005, "Unsupported fork");
            return NULL;
        }
        json_t *r = json_pack("{s:o,s:s}", "executionPayload", payload_json(slot->payload),
                              "blockValue", "0x0");
        if (version >= 3) {
            json_object_set_new(r, "blobsBundle", json_pack("{s:[],s:[],s:[]}", "commitments",
                                                            "proofs", "blobs"));
            json_object_set_new(r, "shouldOverrideBuilder", json_false());
        }
        return r;
    }
    set_err(err, -38001, "Unknown payload");
    return NULL;
}

/*  engine_newPayloadV1..3: a forced status first (the fault flag), then the
    hash check (INVALID with a null latestValidHash, as EthereumJS answers a
    tampered payload), a known block (VALID again), an unknown parent
    (ACCEPTED), and the checks against the parent (INVALID with the parent
    as latestValidHash). Only a VALID block is remembered. */
static json_t *m_new_payload(stub_chain_t *self, json_t *params, int version,
                             const stub_call_opts_t *opts, stub_rpc_error_t *err)
{
    char why[96];
    if (version >= 3
        && (!json_is_array(json_array_get(params, 1))
            || hex_decode_fixed(json_string_value(json_array_get(params, 2)), (uint8_t[32]){0}, 32)
                   != 0)) {
        set_err(err, -32602, "Invalid params: V3 takes versionedHashes and "
                             "parentBeaconBlockRoot");
        return NULL;
    }
    stub_block_t *b = payload_parse(json_array_get(params, 0), version >= 3, why, sizeof why);
    if (!b) {
        set_err(err, -32602, "Invalid params: %s", why);
        return NULL;
    }
    if (opts && opts->force_status) {
        bool invalid = strcmp(opts->force_status, "INVALID") == 0;
        json_t *r = status_json(opts->force_status, invalid ? b->parent_hash : NULL,
                                invalid ? "injected by the stub" : NULL);
        block_free(b);
        return r;
    }
    uint8_t h[32];
    block_compute_hash(b, h);
    if (memcmp(h, b->hash, 32) != 0) {
        block_free(b);
        return status_json("INVALID", NULL, "Invalid blockHash");
    }
    stub_block_t *known = find_block(self, b->hash);
    if (known) {
        block_free(b);
        return status_json("VALID", known->hash, NULL);
    }
    stub_block_t *parent = find_block(self, b->parent_hash);
    if (!parent) {
        block_free(b);
        return status_json("ACCEPTED", NULL, NULL);
    }
    if (b->number != parent->number + 1 || b->timestamp <= parent->timestamp
        || b->gas_used > b->gas_limit) {
        json_t *r = status_json("INVALID", parent->hash,
                                b->number != parent->number + 1 ? "wrong block number"
                                : b->gas_used > b->gas_limit    ? "gas used above the limit"
                                                                : "timestamp not after the parent's");
        block_free(b);
        return r;
    }
    b->parent = parent;
    HASH_ADD(hh, self->by_hash, hash, 32, b);
    self->n_blocks++;
    return status_json("VALID", b->hash, NULL);
}

/*  A block selector of eth_getBlockByNumber: a quantity or a tag. */
static stub_block_t *select_block(stub_chain_t *self, json_t *sel, stub_rpc_error_t *err)
{
    const char *s = json_string_value(sel);
    uint64_t n;
    if (!s) {
        set_err(err, -32602, "Invalid params: expected a block number or tag");
        return NULL;
    }
    if (strcmp(s, "latest") == 0 || strcmp(s, "pending") == 0)
        return self->head;
    if (strcmp(s, "earliest") == 0)
        return self->genesis;
    if (strcmp(s, "safe") == 0)
        return self->safe;
    if (strcmp(s, "finalized") == 0)
        return self->finalized;
    if (parse_qty(sel, &n) != 0) {
        set_err(err, -32602, "Invalid params: unknown block tag %s", s);
        return NULL;
    }
    return n < self->n_canon ? self->canon[n] : NULL;
}

static json_t *bodies_entry(const stub_block_t *b)
{
    if (!b)
        return json_null();
    return json_pack("{s:o,s:o}", "transactions", raw_txs_json(b), "withdrawals",
                     withdrawals_json(b));
}

/* ------------------------------------------------------------ public */

stub_chain_t *stub_chain_new(uint64_t genesis_time)
{
    stub_chain_t *self = calloc(1, sizeof *self);
    stub_block_t *g = calloc(1, sizeof *g);
    if (!self || !g) {
        free(self);
        free(g);
        return NULL;
    }
    pthread_mutex_init(&self->lock, NULL);
    g->timestamp = genesis_time;
    g->gas_limit = GAS_LIMIT;
    g->base_fee = BASE_FEE;
    hex_decode_fixed(s_empty_root, g->receipts_root, 32);
    static const char seed[] = "alys-stub-el genesis state";
    struct sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, sizeof seed - 1, (const uint8_t *) seed);
    sha256_digest(&c, 32, g->state_root);
    block_compute_hash(g, g->hash);
    HASH_ADD(hh, self->by_hash, hash, 32, g);
    self->n_blocks = 1;
    self->genesis = self->safe = self->finalized = g;
    if (set_head(self, g) != 0) {
        stub_chain_destroy(&self);
        return NULL;
    }
    return self;
}

void stub_chain_destroy(stub_chain_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    stub_chain_t *self = *self_p;
    stub_block_t *b, *tmp;
    HASH_ITER(hh, self->by_hash, b, tmp) {
        HASH_DEL(self->by_hash, b);
        block_free(b);
    }
    for (size_t i = 0; i < N_BUILDS; i++)
        block_free(self->builds[i].payload);
    free(self->canon);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

void stub_chain_counts(stub_chain_t *self, uint64_t *head_number, uint64_t *n_blocks)
{
    pthread_mutex_lock(&self->lock);
    *head_number = self->head->number;
    *n_blocks = self->n_blocks;
    pthread_mutex_unlock(&self->lock);
}

static const char *const s_capabilities[] = {
    "engine_exchangeCapabilities", "engine_getClientVersionV1",
    "engine_forkchoiceUpdatedV2", "engine_forkchoiceUpdatedV3",
    "engine_getPayloadV2", "engine_getPayloadV3",
    "engine_newPayloadV2", "engine_newPayloadV3",
    "engine_getPayloadBodiesByHashV1", "engine_getPayloadBodiesByRangeV1",
};

/*  The method table, as a chain of string compares: the stub answers a
    handful of methods and is never the thing being measured. Runs with the
    lock held. */
static char *call_locked(stub_chain_t *self, const char *method, json_t *params,
                         const stub_call_opts_t *opts, stub_rpc_error_t *err)
{
    int version = 0;
    size_t len = strlen(method);
    if (len > 2 && method[len - 2] == 'V' && method[len - 1] >= '1' && method[len - 1] <= '9')
        version = method[len - 1] - '0';

    if (strncmp(method, "engine_forkchoiceUpdatedV", 25) == 0 && version >= 1 && version <= 3) {
        json_t *r = m_forkchoice_updated(self, params, version, opts, err);
        return r ? dump(r) : NULL;
    }
    if (strncmp(method, "engine_getPayloadV", 18) == 0 && version >= 1 && version <= 3) {
        json_t *r = m_get_payload(self, params, version, err);
        return r ? dump(r) : NULL;
    }
    if (strncmp(method, "engine_newPayloadV", 18) == 0 && version >= 1 && version <= 3) {
        json_t *r = m_new_payload(self, params, version, opts, err);
        return r ? dump(r) : NULL;
    }
    if (strcmp(method, "eth_getBlockByHash") == 0 || strcmp(method, "eth_getBlockByNumber") == 0) {
        json_t *sel = json_array_get(params, 0);
        bool full = json_is_true(json_array_get(params, 1));
        stub_block_t *b;
        if (method[14] == 'H') {
            uint8_t h[32];
            if (hex_decode_fixed(json_string_value(sel), h, 32) != 0) {
                set_err(err, -32602, "Invalid params: expected a block hash");
                return NULL;
            }
            b = find_block(self, h);
        } else {
            err->code = 0;
            b = select_block(self, sel, err);
            if (!b && err->code)
                return NULL;
        }
        return b ? block_text(b, full) : strdup("null");
    }
    if (strcmp(method, "engine_getPayloadBodiesByHashV1") == 0) {
        json_t *hashes = json_array_get(params, 0);
        if (!json_is_array(hashes)) {
            set_err(err, -32602, "Invalid params: expected an array of hashes");
            return NULL;
        }
        json_t *out = json_array();
        for (size_t i = 0; i < json_array_size(hashes); i++) {
            uint8_t h[32];
            stub_block_t *b = NULL;
            if (hex_decode_fixed(json_string_value(json_array_get(hashes, i)), h, 32) == 0)
                b = find_block(self, h);
            json_array_append_new(out, bodies_entry(b));
        }
        return dump(out);
    }
    if (strcmp(method, "engine_getPayloadBodiesByRangeV1") == 0) {
        uint64_t start, count;
        if (parse_qty(json_array_get(params, 0), &start) != 0
            || parse_qty(json_array_get(params, 1), &count) != 0 || start == 0 || count == 0) {
            set_err(err, -32602, "Invalid params: expected start and count");
            return NULL;
        }
        if (count > 1024) {
            set_err(err, -38004, "Too large request");
            return NULL;
        }
        json_t *out = json_array();
        for (uint64_t n = start; n < start + count && n < self->n_canon; n++)
            json_array_append_new(out, bodies_entry(self->canon[n]));
        return dump(out);
    }
    if (strcmp(method, "engine_exchangeCapabilities") == 0) {
        json_t *out = json_array();
        for (size_t i = 0; i < sizeof s_capabilities / sizeof *s_capabilities; i++)
            json_array_append_new(out, json_string(s_capabilities[i]));
        return dump(out);
    }
    if (strcmp(method, "engine_getClientVersionV1") == 0)
        return strdup("[{\"code\":\"ST\",\"name\":\"alys-stub-el\",\"version\":\"0.1.0\","
                      "\"commit\":\"0x00000000\"}]");
    if (strcmp(method, "web3_clientVersion") == 0)
        return strdup("\"alys-stub-el/0.1.0/linux/c\"");
    if (strcmp(method, "eth_syncing") == 0)
        return strdup("false");
    if (strcmp(method, "eth_getTransactionReceipt") == 0)
        return strdup("null");
    if (strcmp(method, "eth_getLogs") == 0)
        return strdup("[]");
    if (strcmp(method, "eth_chainId") == 0)
        return strdup("\"0x405d2\"");
    if (strcmp(method, "net_version") == 0)
        return strdup("\"263634\"");
    if (strcmp(method, "eth_blockNumber") == 0)
        return dump(jqty(self->head->number));
    set_err(err, -32601, "Method not found: %s", method);
    return NULL;
}

char *stub_chain_call(stub_chain_t *self, const char *method, json_t *params,
                      const stub_call_opts_t *opts, stub_rpc_error_t *err)
{
    json_t *empty = NULL;
    if (!params || json_is_null(params))
        params = empty = json_array();
    if (!json_is_array(params)) {
        set_err(err, -32602, "Invalid params: params must be an array");
        return NULL;
    }
    pthread_mutex_lock(&self->lock);
    char *r = call_locked(self, method, params, opts, err);
    pthread_mutex_unlock(&self->lock);
    json_decref(empty);
    if (!r && err->code == 0)
        set_err(err, -32603, "Internal error");
    return r;
}
