/*  Unit tests for actors/engine/el_json.c: the execution client's JSON
    (ExecutionPayload, blocks with hash-only and full transactions, logs,
    receipts, withdrawals) to and from the contract's structs. Inputs are
    written the way the Engine API and JSON-RPC spell them, so that a
    decode followed by an encode must give the same JSON back. */
#include "el_json.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- helpers */

/*  "0x" followed by n bytes of fill, as a new JSON string. */
static json_t *hexfill(uint8_t fill, size_t n)
{
    char *s = malloc(2 * n + 3);
    ck_assert_ptr_nonnull(s);
    s[0] = '0';
    s[1] = 'x';
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        s[2 + 2 * i] = digits[fill >> 4];
        s[3 + 2 * i] = digits[fill & 15];
    }
    s[2 + 2 * n] = '\0';
    json_t *j = json_string(s);
    free(s);
    return j;
}

static void assert_filled(const uint8_t *p, uint8_t fill, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(p[i] == fill, "byte %zu is %02x, not %02x", i, p[i], fill);
}

/*  Expects obj (consumed) to be refused for schema with an error that
    contains want. The struct must come back empty. */
static void decode_bad(const proto_schema_t *schema, json_t *obj, const char *want)
{
    ck_assert_ptr_nonnull(obj);
    uint8_t *out = calloc(1, schema->size);
    ck_assert_ptr_nonnull(out);
    char err[PROTO_ERR_LEN] = "";
    int rc = el_json_decode(schema, obj, out, err, sizeof err);
    char *dump = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    bool zero = true;
    for (size_t i = 0; i < schema->size; i++)
        zero = zero && out[i] == 0;
    if (rc == 0)
        proto_free(schema, out);
    free(out);
    char shown[160];
    snprintf(shown, sizeof shown, "%.150s", dump ? dump : "?");
    free(dump);
    ck_assert_msg(rc == -1, "accepted %s", shown);
    ck_assert_msg(strstr(err, want) != NULL, "error '%s' lacks '%s'", err, want);
    ck_assert_msg(zero, "struct not cleared after a failed decode");
}

/*  Decodes obj, encodes the result and expects the same JSON back. */
static void assert_round_trip(const proto_schema_t *schema, json_t *obj)
{
    uint8_t *out = calloc(1, schema->size);
    ck_assert_ptr_nonnull(out);
    char err[PROTO_ERR_LEN] = "";
    ck_assert_msg(el_json_decode(schema, obj, out, err, sizeof err) == 0, "%s", err);
    json_t *back = el_json_encode(schema, out);
    proto_free(schema, out);
    free(out);
    ck_assert_ptr_nonnull(back);
    char *a = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    char *b = json_dumps(back, JSON_COMPACT | JSON_SORT_KEYS);
    bool same = json_equal(obj, back);
    json_decref(back);
    if (!same)
        ck_abort_msg("round trip differs:\n in  %.400s\n out %.400s", a, b);
    free(a);
    free(b);
}

/* -------------------------------------------------------------- fixtures */

static json_t *withdrawal_json(uint64_t index, uint8_t addr_fill, const char *amount)
{
    char idx[24];
    snprintf(idx, sizeof idx, "0x%llx", (unsigned long long) index);
    return json_pack("{s:s, s:s, s:o, s:s}", "index", idx, "validatorIndex", "0x3e8", "address",
                     hexfill(addr_fill, 20), "amount", amount);
}

/*  An ExecutionPayloadV3 as a client sends it. */
static json_t *payload_json(void)
{
    json_t *txs = json_pack("[s, s]", "0x02f86b0180843b9aca00", "0x");
    json_t *wds = json_pack("[o, o]", withdrawal_json(0, 0x71, "0x64"),
                            withdrawal_json(1, 0x72, "0xffffffffffffffff"));
    json_t *p = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:o,"
                          " s:o, s:o, s:s, s:s}",
                          "parentHash", hexfill(0x11, 32), "feeRecipient", hexfill(0x22, 20),
                          "stateRoot", hexfill(0x33, 32), "receiptsRoot", hexfill(0x44, 32),
                          "logsBloom", hexfill(0x0f, 256), "prevRandao", hexfill(0x55, 32),
                          "blockNumber", "0x1b4", "gasLimit", "0x1c9c380", "gasUsed", "0x5208",
                          "timestamp", "0x65f0a1b2", "extraData", "0x616c7973",
                          "baseFeePerGas", "0x7", "blockHash", hexfill(0x66, 32),
                          "transactions", txs, "withdrawals", wds,
                          "blobGasUsed", "0x20000", "excessBlobGas", "0x0");
    ck_assert_ptr_nonnull(p);
    return p;
}

static json_t *full_tx_json(uint8_t fill, bool create)
{
    json_t *t = json_pack("{s:o, s:o, s:o, s:s, s:s, s:s}", "hash", hexfill(fill, 32), "from",
                          hexfill((uint8_t) (fill + 1), 20), "to",
                          create ? json_null() : hexfill((uint8_t) (fill + 2), 20), "nonce",
                          create ? "0x0" : "0x2a", "value",
                          create ? "0x0" : "0xde0b6b3a7640000", "input",
                          create ? "0x6080604052" : "0x");
    ck_assert_ptr_nonnull(t);
    return t;
}

/*  A block from eth_getBlockByHash; transactions as given. */
static json_t *block_json(json_t *txs)
{
    json_t *b = json_pack("{s:o, s:o, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:s, s:o,"
                          " s:[o], s:o}",
                          "hash", hexfill(0xb1, 32), "parentHash", hexfill(0xb0, 32),
                          "number", "0x10", "timestamp", "0x6500", "gasLimit", "0x1c9c380",
                          "gasUsed", "0x0", "baseFeePerGas", "0x3b9aca00", "miner",
                          hexfill(0xfe, 20), "stateRoot", hexfill(0x01, 32), "receiptsRoot",
                          hexfill(0x02, 32), "logsBloom", hexfill(0x00, 256), "extraData", "0x",
                          "mixHash", hexfill(0x03, 32), "withdrawals",
                          withdrawal_json(7, 0x99, "0x1"), "transactions", txs);
    ck_assert_ptr_nonnull(b);
    return b;
}

static json_t *log_json(size_t n_topics)
{
    json_t *topics = json_array();
    for (size_t i = 0; i < n_topics; i++)
        json_array_append_new(topics, hexfill((uint8_t) (0xe0 + i), 32));
    json_t *l = json_pack("{s:o, s:o, s:s, s:s, s:o, s:o, s:s, s:s, s:b}", "address",
                          hexfill(0xad, 20), "topics", topics, "data", "0x00000001", "blockNumber",
                          "0x10", "blockHash", hexfill(0xb1, 32), "transactionHash",
                          hexfill(0xc1, 32), "transactionIndex", "0x0", "logIndex", "0x3",
                          "removed", 0);
    ck_assert_ptr_nonnull(l);
    return l;
}

static json_t *receipt_json(bool create)
{
    json_t *r = json_pack("{s:o, s:o, s:s, s:s, s:s, s:s, s:s, s:o, s:[o, o]}",
                          "transactionHash", hexfill(0xc1, 32), "blockHash", hexfill(0xb1, 32),
                          "blockNumber", "0x10", "transactionIndex", "0x0", "status", "0x1",
                          "gasUsed", "0x5208", "cumulativeGasUsed", "0xa410", "contractAddress",
                          create ? hexfill(0xcc, 20) : json_null(), "logs", log_json(2),
                          log_json(0));
    ck_assert_ptr_nonnull(r);
    return r;
}

/*  A copy of obj with key set to value (value consumed). */
static json_t *with(json_t *obj, const char *key, json_t *value)
{
    json_t *c = json_deep_copy(obj);
    ck_assert_ptr_nonnull(c);
    json_object_set_new(c, key, value);
    return c;
}

static json_t *without(json_t *obj, const char *key)
{
    json_t *c = json_deep_copy(obj);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(json_object_del(c, key), 0);
    return c;
}

/* ------------------------------------------------------------ payloads */

START_TEST(test_payload_decode)
{
    json_t *j = payload_json();
    proto_payload_t p;
    memset(&p, 0, sizeof p);
    char err[PROTO_ERR_LEN] = "";
    ck_assert_msg(el_json_decode(&proto_payload_schema, j, &p, err, sizeof err) == 0, "%s", err);
    json_decref(j);

    assert_filled(p.parent_hash, 0x11, 32);
    assert_filled(p.fee_recipient, 0x22, 20);
    assert_filled(p.state_root, 0x33, 32);
    assert_filled(p.receipts_root, 0x44, 32);
    assert_filled(p.logs_bloom, 0x0f, 256);
    assert_filled(p.prev_randao, 0x55, 32);
    assert_filled(p.block_hash, 0x66, 32);
    ck_assert_uint_eq(p.block_number, 436);
    ck_assert_uint_eq(p.gas_limit, 30000000);
    ck_assert_uint_eq(p.gas_used, 21000);
    ck_assert_uint_eq(p.timestamp, 0x65f0a1b2);
    ck_assert_uint_eq(p.extra_data.len, 4);
    ck_assert_mem_eq(p.extra_data.data, "alys", 4);
    assert_filled(p.base_fee_per_gas, 0, 31);
    ck_assert_int_eq(p.base_fee_per_gas[31], 7);

    ck_assert_uint_eq(p.n_transactions, 2);
    ck_assert_uint_eq(p.transactions[0].len, 10);
    ck_assert_int_eq(p.transactions[0].data[0], 0x02);
    ck_assert_int_eq(p.transactions[0].data[9], 0x00);
    ck_assert_uint_eq(p.transactions[1].len, 0);

    ck_assert_uint_eq(p.n_withdrawals, 2);
    ck_assert_uint_eq(p.withdrawals[0].index, 0);
    ck_assert_uint_eq(p.withdrawals[0].validator_index, 1000);
    assert_filled(p.withdrawals[0].address, 0x71, 20);
    ck_assert_uint_eq(p.withdrawals[0].amount, 100);
    ck_assert_uint_eq(p.withdrawals[1].index, 1);
    assert_filled(p.withdrawals[1].address, 0x72, 20);
    ck_assert_uint_eq(p.withdrawals[1].amount, UINT64_MAX);

    ck_assert(p.has_blob_gas_used);
    ck_assert_uint_eq(p.blob_gas_used, 0x20000);
    ck_assert(p.has_excess_blob_gas);
    ck_assert_uint_eq(p.excess_blob_gas, 0);
    proto_free(&proto_payload_schema, &p);
    ck_assert_ptr_null(p.transactions);
}
END_TEST

START_TEST(test_payload_round_trip)
{
    json_t *j = payload_json();
    assert_round_trip(&proto_payload_schema, j);

    /* a Shanghai payload has no blob fields, and none come back */
    json_t *v2 = without(j, "blobGasUsed");
    json_object_del(v2, "excessBlobGas");
    assert_round_trip(&proto_payload_schema, v2);
    proto_payload_t p;
    memset(&p, 0, sizeof p);
    char err[PROTO_ERR_LEN];
    ck_assert_int_eq(el_json_decode(&proto_payload_schema, v2, &p, err, sizeof err), 0);
    ck_assert(!p.has_blob_gas_used);
    ck_assert(!p.has_excess_blob_gas);
    json_t *enc = el_json_encode(&proto_payload_schema, &p);
    ck_assert_ptr_null(json_object_get(enc, "blobGasUsed"));
    ck_assert_ptr_null(json_object_get(enc, "excessBlobGas"));
    ck_assert_uint_eq(json_object_size(enc), 15);
    json_decref(enc);
    proto_free(&proto_payload_schema, &p);
    json_decref(v2);

    /* empty lists and a full 32-byte extraData */
    json_t *empty = with(j, "transactions", json_array());
    json_object_set_new(empty, "withdrawals", json_array());
    json_object_set_new(empty, "extraData", hexfill(0xee, 32));
    assert_round_trip(&proto_payload_schema, empty);
    json_decref(empty);
    json_decref(j);
}
END_TEST

START_TEST(test_payload_leading_zeros)
{
    json_t *j = payload_json();
    json_t *z = with(j, "blockNumber", json_string("0x000001b4"));
    json_object_set_new(z, "gasUsed", json_string("0x0000"));
    json_object_set_new(z, "baseFeePerGas", json_string("0x0007"));
    json_object_set_new(z, "timestamp", json_string("0X65F0A1B2"));
    proto_payload_t p;
    memset(&p, 0, sizeof p);
    char err[PROTO_ERR_LEN] = "";
    ck_assert_msg(el_json_decode(&proto_payload_schema, z, &p, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(p.block_number, 436);
    ck_assert_uint_eq(p.gas_used, 0);
    ck_assert_uint_eq(p.timestamp, 0x65f0a1b2);
    ck_assert_int_eq(p.base_fee_per_gas[31], 7);
    /* and the encoder writes them minimally */
    json_t *enc = el_json_encode(&proto_payload_schema, &p);
    ck_assert_str_eq(json_string_value(json_object_get(enc, "blockNumber")), "0x1b4");
    ck_assert_str_eq(json_string_value(json_object_get(enc, "gasUsed")), "0x0");
    ck_assert_str_eq(json_string_value(json_object_get(enc, "baseFeePerGas")), "0x7");
    ck_assert_str_eq(json_string_value(json_object_get(enc, "timestamp")), "0x65f0a1b2");
    json_decref(enc);
    proto_free(&proto_payload_schema, &p);
    json_decref(z);
    json_decref(j);
}
END_TEST

START_TEST(test_payload_rejects_sizes)
{
    json_t *j = payload_json();
    const proto_schema_t *s = &proto_payload_schema;
    decode_bad(s, with(j, "parentHash", hexfill(0x11, 31)), "parentHash: expected a 32-byte hex hash");
    decode_bad(s, with(j, "blockHash", hexfill(0x11, 33)), "blockHash: expected a 32-byte hex hash");
    decode_bad(s, with(j, "feeRecipient", hexfill(0x22, 19)), "feeRecipient: expected a 20-byte");
    decode_bad(s, with(j, "feeRecipient", hexfill(0x22, 32)), "feeRecipient: expected a 20-byte");
    decode_bad(s, with(j, "logsBloom", hexfill(0x0f, 255)), "logsBloom: expected a 256-byte");
    decode_bad(s, with(j, "extraData", hexfill(0xee, 33)), "extraData: 33 bytes, at most 32 allowed");
    decode_bad(s, with(j, "gasLimit", json_string("0x10000000000000000")),
               "gasLimit: expected a 64-bit hex quantity");
    decode_bad(s, with(j, "baseFeePerGas",
                       json_string("0x10000000000000000000000000000000000000000000000000000000000000000")),
               "baseFeePerGas: expected a 256-bit quantity");
    json_decref(j);
}
END_TEST

START_TEST(test_payload_rejects_non_hex)
{
    json_t *j = payload_json();
    const proto_schema_t *s = &proto_payload_schema;
    decode_bad(s, with(j, "stateRoot",
                       json_string("0xzz33333333333333333333333333333333333333333333333333333333333333")),
               "stateRoot: expected a 32-byte hex hash");
    decode_bad(s, with(j, "extraData", json_string("0x61z")), "extraData: expected hex data");
    decode_bad(s, with(j, "extraData", json_string("0x616")), "extraData: expected hex data");
    decode_bad(s, with(j, "blockNumber", json_string("0x1g")), "blockNumber: expected a 64-bit");
    decode_bad(s, with(j, "blockNumber", json_string("0x")), "blockNumber: expected a 64-bit");
    decode_bad(s, with(j, "blockNumber", json_string("436")), "blockNumber: expected a 64-bit");
    decode_bad(s, with(j, "blockNumber", json_integer(436)), "blockNumber: expected a 64-bit");
    decode_bad(s, with(j, "parentHash", json_integer(1)), "parentHash: expected");
    decode_bad(s, with(j, "transactions", json_string("0x")), "transactions: expected an array");
    decode_bad(s, with(j, "transactions", json_pack("[s, s]", "0x00", "0x0")),
               "transactions[1]: expected hex data");
    json_decref(j);
    decode_bad(s, json_pack("[]"), "payload: expected an object");
}
END_TEST

START_TEST(test_payload_rejects_missing)
{
    json_t *j = payload_json();
    const proto_schema_t *s = &proto_payload_schema;
    const char *required[] = {"parentHash", "feeRecipient", "stateRoot", "receiptsRoot",
                              "logsBloom", "prevRandao", "blockNumber", "gasLimit", "gasUsed",
                              "timestamp", "extraData", "baseFeePerGas", "blockHash"};
    for (size_t i = 0; i < sizeof required / sizeof *required; i++) {
        char want[64];
        snprintf(want, sizeof want, "%s: missing", required[i]);
        decode_bad(s, without(j, required[i]), want);
        decode_bad(s, with(j, required[i], json_null()), want);
    }
    json_decref(j);
}
END_TEST

START_TEST(test_payload_rejects_nested)
{
    /* an error in a later field frees what the earlier ones allocated */
    json_t *j = payload_json();
    const proto_schema_t *s = &proto_payload_schema;
    json_t *bad = json_deep_copy(j);
    json_t *w1 = json_array_get(json_object_get(bad, "withdrawals"), 1);
    json_object_set_new(w1, "address", hexfill(0x72, 21));
    decode_bad(s, bad, "withdrawals[1].address: expected a 20-byte hex address");

    bad = json_deep_copy(j);
    json_object_del(json_array_get(json_object_get(bad, "withdrawals"), 0), "amount");
    decode_bad(s, bad, "withdrawals[0].amount: missing");

    decode_bad(s, with(j, "withdrawals", json_pack("[i]", 1)), "withdrawals[0].withdrawal: expected an object");
    decode_bad(s, with(j, "withdrawals", json_object()), "withdrawals: expected an array");
    decode_bad(s, with(j, "blobGasUsed", json_string("0xq")), "blobGasUsed: expected");
    json_decref(j);
}
END_TEST

/* ---------------------------------------------------------- withdrawals */

START_TEST(test_withdrawal)
{
    json_t *w = withdrawal_json(0x2a, 0x99, "0x3b9aca00");
    proto_withdrawal_t d;
    memset(&d, 0, sizeof d);
    char err[PROTO_ERR_LEN] = "";
    ck_assert_msg(el_json_decode(&proto_withdrawal_schema, w, &d, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(d.index, 42);
    ck_assert_uint_eq(d.validator_index, 1000);
    ck_assert_uint_eq(d.amount, 1000000000);
    assert_filled(d.address, 0x99, 20);
    assert_round_trip(&proto_withdrawal_schema, w);

    /* index and validatorIndex default to zero and are always written */
    json_t *min = json_pack("{s:o, s:s}", "address", hexfill(0x01, 20), "amount", "0x0");
    memset(&d, 0, sizeof d);
    ck_assert_int_eq(el_json_decode(&proto_withdrawal_schema, min, &d, err, sizeof err), 0);
    ck_assert_uint_eq(d.index, 0);
    ck_assert_uint_eq(d.validator_index, 0);
    json_t *enc = el_json_encode(&proto_withdrawal_schema, &d);
    ck_assert_str_eq(json_string_value(json_object_get(enc, "index")), "0x0");
    ck_assert_str_eq(json_string_value(json_object_get(enc, "validatorIndex")), "0x0");
    ck_assert_str_eq(json_string_value(json_object_get(enc, "amount")), "0x0");
    ck_assert_uint_eq(json_object_size(enc), 4);
    json_decref(enc);
    json_decref(min);

    decode_bad(&proto_withdrawal_schema, without(w, "address"), "address: missing");
    decode_bad(&proto_withdrawal_schema, with(w, "index", json_string("0x-1")), "index: expected");
    json_decref(w);
}
END_TEST

/* --------------------------------------------------------------- blocks */

START_TEST(test_block_hash_only)
{
    json_t *txs = json_array();
    json_array_append_new(txs, hexfill(0xc1, 32));
    json_array_append_new(txs, hexfill(0xc2, 32));
    json_t *j = block_json(txs);
    proto_block_t b;
    memset(&b, 0, sizeof b);
    char err[PROTO_ERR_LEN] = "";
    ck_assert_msg(el_json_decode(&proto_block_schema, j, &b, err, sizeof err) == 0, "%s", err);
    assert_filled(b.hash, 0xb1, 32);
    assert_filled(b.parent_hash, 0xb0, 32);
    assert_filled(b.fee_recipient, 0xfe, 20);
    assert_filled(b.prev_randao, 0x03, 32);
    ck_assert_uint_eq(b.number, 16);
    ck_assert_uint_eq(b.timestamp, 0x6500);
    ck_assert_int_eq(b.base_fee_per_gas[28], 0x3b);
    ck_assert_int_eq(b.base_fee_per_gas[31], 0x00);
    ck_assert_uint_eq(b.extra_data.len, 0);
    ck_assert_uint_eq(b.n_withdrawals, 1);
    ck_assert_uint_eq(b.withdrawals[0].index, 7);
    ck_assert(!b.full_transactions);
    ck_assert_uint_eq(b.n_transactions, 2);
    assert_filled(b.transactions[0].hash, 0xc1, 32);
    assert_filled(b.transactions[1].hash, 0xc2, 32);
    proto_free(&proto_block_schema, &b);

    assert_round_trip(&proto_block_schema, j);

    /* what the schema does not name is ignored */
    json_t *extra = with(j, "totalDifficulty", json_string("0x0"));
    json_object_set_new(extra, "uncles", json_array());
    json_object_set_new(extra, "size", json_string("0x2a0"));
    memset(&b, 0, sizeof b);
    ck_assert_int_eq(el_json_decode(&proto_block_schema, extra, &b, err, sizeof err), 0);
    json_t *enc = el_json_encode(&proto_block_schema, &b);
    ck_assert(json_equal(enc, j));
    json_decref(enc);
    proto_free(&proto_block_schema, &b);
    json_decref(extra);
    json_decref(j);
}
END_TEST

START_TEST(test_block_full_transactions)
{
    json_t *txs = json_pack("[o, o]", full_tx_json(0xc1, false), full_tx_json(0xd1, true));
    json_t *j = block_json(txs);
    proto_block_t b;
    memset(&b, 0, sizeof b);
    char err[PROTO_ERR_LEN] = "";
    ck_assert_msg(el_json_decode(&proto_block_schema, j, &b, err, sizeof err) == 0, "%s", err);
    ck_assert(b.full_transactions);
    ck_assert_uint_eq(b.n_transactions, 2);

    const proto_tx_t *t = &b.transactions[0];
    assert_filled(t->hash, 0xc1, 32);
    assert_filled(t->from, 0xc2, 20);
    ck_assert(t->has_to);
    assert_filled(t->to, 0xc3, 20);
    ck_assert_uint_eq(t->nonce, 42);
    /* 1 ether = 0x0de0b6b3a7640000 */
    ck_assert_int_eq(t->value[24], 0x0d);
    ck_assert_int_eq(t->value[31], 0x00);
    ck_assert_int_eq(t->value[25], 0xe0);
    ck_assert_uint_eq(t->input.len, 0);

    t = &b.transactions[1];
    assert_filled(t->hash, 0xd1, 32);
    ck_assert(!t->has_to);
    ck_assert_uint_eq(t->nonce, 0);
    ck_assert_uint_eq(t->input.len, 5);
    ck_assert_int_eq(t->input.data[0], 0x60);
    ck_assert_int_eq(t->input.data[4], 0x52);
    ck_assert_uint_eq(t->raw.len, 0);
    proto_free(&proto_block_schema, &b);

    assert_round_trip(&proto_block_schema, j);

    /* a client's extra transaction fields are ignored */
    json_t *tx = full_tx_json(0xc1, false);
    json_object_set_new(tx, "gas", json_string("0x5208"));
    json_object_set_new(tx, "type", json_string("0x2"));
    json_object_set_new(tx, "chainId", json_string("0x1"));
    json_t *j2 = block_json(json_pack("[o]", tx));
    memset(&b, 0, sizeof b);
    ck_assert_msg(el_json_decode(&proto_block_schema, j2, &b, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(b.n_transactions, 1);
    json_t *enc = el_json_encode(&proto_block_schema, &b);
    json_t *enc_tx = json_array_get(json_object_get(enc, "transactions"), 0);
    ck_assert_ptr_null(json_object_get(enc_tx, "gas"));
    ck_assert_str_eq(json_string_value(json_object_get(enc_tx, "nonce")), "0x2a");
    json_decref(enc);
    proto_free(&proto_block_schema, &b);
    json_decref(j2);
    json_decref(j);
}
END_TEST

START_TEST(test_block_empty_and_defaults)
{
    json_t *j = block_json(json_array());
    json_object_del(j, "withdrawals");
    proto_block_t b;
    memset(&b, 0, sizeof b);
    char err[PROTO_ERR_LEN] = "";
    ck_assert_msg(el_json_decode(&proto_block_schema, j, &b, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(b.n_transactions, 0);
    ck_assert(!b.full_transactions);
    ck_assert_uint_eq(b.n_withdrawals, 0);
    json_t *enc = el_json_encode(&proto_block_schema, &b);
    ck_assert(json_is_array(json_object_get(enc, "withdrawals")));
    ck_assert_uint_eq(json_array_size(json_object_get(enc, "withdrawals")), 0);
    ck_assert(json_is_array(json_object_get(enc, "transactions")));
    ck_assert_uint_eq(json_array_size(json_object_get(enc, "transactions")), 0);
    json_decref(enc);
    proto_free(&proto_block_schema, &b);
    json_decref(j);
}
END_TEST

START_TEST(test_block_rejects)
{
    json_t *j = block_json(json_pack("[o]", full_tx_json(0xc1, false)));
    const proto_schema_t *s = &proto_block_schema;
    decode_bad(s, with(j, "miner", hexfill(0xfe, 21)), "miner: expected a 20-byte");
    decode_bad(s, with(j, "mixHash", hexfill(0x03, 31)), "mixHash: expected a 32-byte");
    decode_bad(s, with(j, "extraData", hexfill(0x01, 33)), "extraData: 33 bytes, at most 32 allowed");
    decode_bad(s, without(j, "number"), "number: missing");
    decode_bad(s, without(j, "hash"), "hash: missing");
    decode_bad(s, with(j, "transactions", json_object()), "transactions: expected an array");

    json_t *bad_tx = full_tx_json(0xc1, false);
    json_object_del(bad_tx, "from");
    decode_bad(s, with(j, "transactions", json_pack("[o, o]", full_tx_json(0xd1, true), bad_tx)),
               "transactions[1].from: missing");
    json_t *short_to = full_tx_json(0xc1, false);
    json_object_set_new(short_to, "to", hexfill(1, 19));
    decode_bad(s, with(j, "transactions", json_pack("[o]", short_to)),
               "transactions[0].to: expected a 20-byte");
    decode_bad(s, with(j, "transactions", json_pack("[o, o]", hexfill(0xc1, 32), hexfill(0xc2, 31))),
               "transactions[1]: expected a transaction hash");
    /* hashes and objects do not mix */
    decode_bad(s, with(j, "transactions", json_pack("[o, o]", hexfill(0xc1, 32), full_tx_json(2, false))),
               "transactions[1]: expected a transaction hash");
    decode_bad(s, with(j, "transactions", json_pack("[o, o]", full_tx_json(2, false), hexfill(0xc1, 32))),
               "transactions[1].transaction: expected an object");
    json_decref(j);
}
END_TEST

/* ----------------------------------------------------------------- logs */

START_TEST(test_log)
{
    for (size_t n = 0; n <= 4; n++) {
        json_t *l = log_json(n);
        proto_log_t d;
        memset(&d, 0, sizeof d);
        char err[PROTO_ERR_LEN] = "";
        ck_assert_msg(el_json_decode(&proto_log_schema, l, &d, err, sizeof err) == 0, "%s", err);
        ck_assert_uint_eq(d.n_topics, n);
        for (size_t i = 0; i < n; i++)
            assert_filled(d.topics[i], (uint8_t) (0xe0 + i), 32);
        assert_filled(d.address, 0xad, 20);
        ck_assert_uint_eq(d.data.len, 4);
        ck_assert_int_eq(d.data.data[3], 1);
        ck_assert_uint_eq(d.block_number, 16);
        assert_filled(d.block_hash, 0xb1, 32);
        assert_filled(d.transaction_hash, 0xc1, 32);
        ck_assert_uint_eq(d.transaction_index, 0);
        ck_assert_uint_eq(d.log_index, 3);
        ck_assert(!d.removed);
        proto_free(&proto_log_schema, &d);
        assert_round_trip(&proto_log_schema, l);
        json_decref(l);
    }

    json_t *l = log_json(1);
    json_t *removed = with(l, "removed", json_true());
    proto_log_t d;
    memset(&d, 0, sizeof d);
    char err[PROTO_ERR_LEN];
    ck_assert_int_eq(el_json_decode(&proto_log_schema, removed, &d, err, sizeof err), 0);
    ck_assert(d.removed);
    proto_free(&proto_log_schema, &d);
    assert_round_trip(&proto_log_schema, removed);
    json_decref(removed);

    json_t *five = log_json(5);
    decode_bad(&proto_log_schema, five, "topics: 5 items, at most 4 allowed");
    decode_bad(&proto_log_schema, with(l, "removed", json_string("false")), "removed: expected a boolean");
    decode_bad(&proto_log_schema, without(l, "removed"), "removed: missing");
    decode_bad(&proto_log_schema, with(l, "topics", json_pack("[o, o]", hexfill(1, 32), hexfill(2, 20))),
               "topics[1]: expected a 32-byte hex hash");
    decode_bad(&proto_log_schema, with(l, "data", json_string("0xabc")), "data: expected hex data");
    decode_bad(&proto_log_schema, without(l, "logIndex"), "logIndex: missing");
    json_decref(l);
}
END_TEST

/* ------------------------------------------------------------- receipts */

START_TEST(test_receipt)
{
    for (int create = 0; create < 2; create++) {
        json_t *r = receipt_json(create);
        proto_receipt_t d;
        memset(&d, 0, sizeof d);
        char err[PROTO_ERR_LEN] = "";
        ck_assert_msg(el_json_decode(&proto_receipt_schema, r, &d, err, sizeof err) == 0, "%s", err);
        assert_filled(d.transaction_hash, 0xc1, 32);
        assert_filled(d.block_hash, 0xb1, 32);
        ck_assert_uint_eq(d.block_number, 16);
        ck_assert_uint_eq(d.status, 1);
        ck_assert_uint_eq(d.gas_used, 21000);
        ck_assert_uint_eq(d.cumulative_gas_used, 42000);
        ck_assert_int_eq(d.has_contract_address, create);
        if (create)
            assert_filled(d.contract_address, 0xcc, 20);
        ck_assert_uint_eq(d.n_logs, 2);
        ck_assert_uint_eq(d.logs[0].n_topics, 2);
        ck_assert_uint_eq(d.logs[1].n_topics, 0);
        proto_free(&proto_receipt_schema, &d);
        ck_assert_ptr_null(d.logs);
        /* contractAddress comes back as null for a call */
        assert_round_trip(&proto_receipt_schema, r);
        json_decref(r);
    }

    /* an absent contractAddress reads as none and is written as null */
    json_t *r = receipt_json(false);
    json_t *absent = without(r, "contractAddress");
    proto_receipt_t d;
    memset(&d, 0, sizeof d);
    char err[PROTO_ERR_LEN];
    ck_assert_int_eq(el_json_decode(&proto_receipt_schema, absent, &d, err, sizeof err), 0);
    ck_assert(!d.has_contract_address);
    json_t *enc = el_json_encode(&proto_receipt_schema, &d);
    ck_assert(json_is_null(json_object_get(enc, "contractAddress")));
    json_decref(enc);
    proto_free(&proto_receipt_schema, &d);
    json_decref(absent);

    const proto_schema_t *s = &proto_receipt_schema;
    decode_bad(s, without(r, "cumulativeGasUsed"), "cumulativeGasUsed: missing");
    decode_bad(s, with(r, "status", json_string("0x")), "status: expected a 64-bit");
    decode_bad(s, with(r, "contractAddress", hexfill(0xcc, 32)), "contractAddress: expected a 20-byte");
    json_t *bad = json_deep_copy(r);
    json_object_set_new(json_array_get(json_object_get(bad, "logs"), 1), "address", json_string("0x"));
    decode_bad(s, bad, "logs[1].address: expected a 20-byte");
    json_decref(r);
}
END_TEST

/* -------------------------------------------------------------- helpers */

START_TEST(test_value_helpers)
{
    uint64_t q = 99;
    json_t *v;
    const struct {
        const char *text;
        int rc;
        uint64_t value;
    } qs[] = {
        {"0x0", 0, 0},
        {"0x00", 0, 0},
        {"0x1", 0, 1},
        {"0x0001", 0, 1},
        {"0x00000000000000000000ffffffffffffffff", 0, UINT64_MAX},
        {"0xABCDEF", 0, 0xabcdef},
        {"0x10000000000000000", -1, 0},
        {"0x", -1, 0},
        {"1", -1, 0},
        {"", -1, 0},
        {"0x1 ", -1, 0},
        {"0xg", -1, 0},
        {"0x-1", -1, 0},
    };
    for (size_t i = 0; i < sizeof qs / sizeof *qs; i++) {
        v = json_string(qs[i].text);
        q = 99;
        int rc = el_json_quantity(v, &q);
        json_decref(v);
        ck_assert_msg(rc == qs[i].rc, "'%s' gave %d", qs[i].text, rc);
        if (rc == 0)
            ck_assert_uint_eq(q, qs[i].value);
        else
            ck_assert_uint_eq(q, 99);
    }
    v = json_integer(5);
    ck_assert_int_eq(el_json_quantity(v, &q), -1);
    json_decref(v);
    ck_assert_int_eq(el_json_quantity(NULL, &q), -1);

    uint8_t u[32];
    v = json_string("0x00000000000000000000000000000000000000000000000000000000000000000000ff");
    ck_assert_int_eq(el_json_u256(v, u), 0);
    assert_filled(u, 0, 31);
    ck_assert_int_eq(u[31], 0xff);
    json_decref(v);
    /* 64 significant digits fit, 65 do not */
    char wide[70] = "0x1";
    memset(wide + 3, 'f', 63);
    wide[66] = '\0';
    v = json_string(wide);
    ck_assert_int_eq(el_json_u256(v, u), 0);
    ck_assert_int_eq(u[0], 0x1f);
    ck_assert_int_eq(u[31], 0xff);
    json_decref(v);
    wide[66] = 'f';
    wide[67] = '\0';
    v = json_string(wide);
    ck_assert_int_eq(el_json_u256(v, u), -1);
    json_decref(v);

    uint8_t h[4];
    v = json_string("0xdeadbeef");
    ck_assert_int_eq(el_json_fixed(v, h, 4), 0);
    ck_assert_int_eq(h[0], 0xde);
    ck_assert_int_eq(el_json_fixed(v, h, 3), -1);
    ck_assert_int_eq(el_json_fixed(v, h, 5), -1);
    json_decref(v);
    ck_assert_int_eq(el_json_fixed(NULL, h, 4), -1);

    const uint8_t bytes[] = {0x00, 0xff, 0x10};
    v = el_json_hex(bytes, 3);
    ck_assert_str_eq(json_string_value(v), "0x00ff10");
    json_decref(v);
    v = el_json_hex(bytes, 0);
    ck_assert_str_eq(json_string_value(v), "0x");
    json_decref(v);
    v = el_json_qty(0);
    ck_assert_str_eq(json_string_value(v), "0x0");
    json_decref(v);
    v = el_json_qty(4096);
    ck_assert_str_eq(json_string_value(v), "0x1000");
    json_decref(v);
}
END_TEST

/* ------------------------------------------------- execution requests */

/*  getPayloadV4's executionRequests are decoded with the build_block result
    schema, whose field limits the array to 16 items. decode_scalar applies
    the field's max_len to each PF_DATA element as a byte limit, so every
    real request (a withdrawal request is 77 bytes, a deposit 193) is
    refused: "executionRequests[0]: 77 bytes, at most 16 allowed". This
    test fails until el_json.c uses max_len as a byte limit only for a
    PF_DATA field (f->type == PF_DATA), as the msgpack codec (proto/codec.c) does. */
START_TEST(test_execution_requests_sizes)
{
    const proto_schema_t *s = proto_op_find("build_block")->result;
    json_t *reqs = json_array();
    json_t *w = hexfill(0x01, 77);  /* type 0x01 then 76 bytes */
    json_t *c = hexfill(0x02, 117); /* type 0x02 then 116 bytes */
    json_array_append_new(reqs, w);
    json_array_append_new(reqs, c);
    json_t *wrap = json_pack("{s:o}", "executionRequests", reqs);
    proto_build_block_result_t r;
    memset(&r, 0, sizeof r);
    char err[PROTO_ERR_LEN] = "";
    int rc = el_json_decode(s, wrap, &r, err, sizeof err);
    json_decref(wrap);
    size_t n = r.n_execution_requests;
    size_t len0 = n > 0 ? r.execution_requests[0].len : 0;
    size_t len1 = n > 1 ? r.execution_requests[1].len : 0;
    if (rc == 0)
        proto_free(s, &r);
    ck_assert_msg(rc == 0, "refused real-sized execution requests: %s", err);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(len0, 77);
    ck_assert_uint_eq(len1, 117);
}
END_TEST

START_TEST(test_execution_requests_limits)
{
    const proto_schema_t *s = proto_op_find("build_block")->result;
    /* small requests, and the item limit */
    json_t *reqs = json_array();
    for (int i = 0; i < 16; i++)
        json_array_append_new(reqs, json_string("0x0001"));
    json_t *wrap = json_pack("{s:O}", "executionRequests", reqs);
    proto_build_block_result_t r;
    memset(&r, 0, sizeof r);
    char err[PROTO_ERR_LEN] = "";
    ck_assert_msg(el_json_decode(s, wrap, &r, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(r.n_execution_requests, 16);
    ck_assert_uint_eq(r.execution_requests[15].len, 2);
    proto_free(s, &r);
    json_decref(wrap);

    json_array_append_new(reqs, json_string("0x0001"));
    decode_bad(s, json_pack("{s:O}", "executionRequests", reqs), "17 items, at most 16 allowed");
    json_decref(reqs);
}
END_TEST

/*  el_json_payload_spec keeps exactly the spec's ExecutionPayload members
    for the version, in the spec's order, and reduces withdrawals to theirs. */
START_TEST(test_payload_spec_members)
{
    json_t *p = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:[s],s:[{s:s,s:s,s:s,s:s,s:s}],"
                          "s:s,s:s,s:s,s:s}",
                          "requestsHash", "0xe3", "blockHash", "0x0b", "parentHash", "0x01",
                          "feeRecipient", "0x02", "stateRoot", "0x03", "receiptsRoot", "0x04",
                          "logsBloom", "0x05", "prevRandao", "0x06", "blockNumber", "0x7",
                          "gasLimit", "0x8", "gasUsed", "0x9", "timestamp", "0xa",
                          "extraData", "0x", "transactions", "0xf8", "withdrawals", "index",
                          "0x0", "validatorIndex", "0x1", "address", "0x11", "amount", "0x2",
                          "note", "x", "baseFeePerGas", "0xc", "excessBlobGas", "0x0",
                          "blobGasUsed", "0x0", "blockAccessList", "0x");
    ck_assert_ptr_nonnull(p);
    static const char *const v3[] = {"parentHash", "feeRecipient", "stateRoot", "receiptsRoot",
                                     "logsBloom", "prevRandao", "blockNumber", "gasLimit",
                                     "gasUsed", "timestamp", "extraData", "baseFeePerGas",
                                     "blockHash", "transactions", "withdrawals", "blobGasUsed",
                                     "excessBlobGas"};
    json_t *out = el_json_payload_spec(p, 3);
    ck_assert_uint_eq(json_object_size(out), 17);
    const char *key;
    json_t *value;
    size_t k = 0;
    json_object_foreach(out, key, value) {
        ck_assert_str_eq(key, v3[k]);
        ck_assert(json_equal(value, json_object_get(p, key)) || strcmp(key, "withdrawals") == 0);
        k++;
    }
    json_t *w = json_array_get(json_object_get(out, "withdrawals"), 0);
    ck_assert_uint_eq(json_object_size(w), 4);
    ck_assert_ptr_null(json_object_get(w, "note"));
    ck_assert_str_eq(json_string_value(json_object_get(w, "amount")), "0x2");
    ck_assert_ptr_null(json_object_get(out, "requestsHash"));
    /* the input is not changed */
    ck_assert_ptr_nonnull(json_object_get(p, "requestsHash"));
    json_decref(out);

    out = el_json_payload_spec(p, 2);
    ck_assert_uint_eq(json_object_size(out), 15);
    ck_assert_ptr_null(json_object_get(out, "blobGasUsed"));
    ck_assert_ptr_nonnull(json_object_get(out, "withdrawals"));
    json_decref(out);
    out = el_json_payload_spec(p, 1);
    ck_assert_uint_eq(json_object_size(out), 14);
    json_decref(out);

    ck_assert_ptr_null(el_json_payload_spec(p, 4));
    ck_assert_ptr_null(el_json_payload_spec(p, 0));
    json_t *arr = json_array();
    ck_assert_ptr_null(el_json_payload_spec(arr, 3));
    ck_assert_ptr_null(el_json_payload_spec(NULL, 3));
    json_decref(arr);
    json_decref(p);
}
END_TEST

static Suite *el_json_suite(void)
{
    Suite *s = suite_create("el_json");
    TCase *payload = tcase_create("payload");
    tcase_add_test(payload, test_payload_decode);
    tcase_add_test(payload, test_payload_round_trip);
    tcase_add_test(payload, test_payload_leading_zeros);
    tcase_add_test(payload, test_payload_rejects_sizes);
    tcase_add_test(payload, test_payload_rejects_non_hex);
    tcase_add_test(payload, test_payload_rejects_missing);
    tcase_add_test(payload, test_payload_rejects_nested);
    tcase_add_test(payload, test_withdrawal);
    suite_add_tcase(s, payload);

    TCase *block = tcase_create("block");
    tcase_add_test(block, test_block_hash_only);
    tcase_add_test(block, test_block_full_transactions);
    tcase_add_test(block, test_block_empty_and_defaults);
    tcase_add_test(block, test_block_rejects);
    suite_add_tcase(s, block);

    TCase *logs = tcase_create("logs_receipts");
    tcase_add_test(logs, test_log);
    tcase_add_test(logs, test_receipt);
    suite_add_tcase(s, logs);

    TCase *values = tcase_create("values");
    tcase_add_test(values, test_value_helpers);
    tcase_add_test(values, test_execution_requests_limits);
    tcase_add_test(values, test_execution_requests_sizes);
    tcase_add_test(values, test_payload_spec_members);
    suite_add_tcase(s, values);
    return s;
}

int main(void)
{
    SRunner *runner = srunner_create(el_json_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
