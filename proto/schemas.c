/*  The contract's messages as schema tables (PROTOCOL.md is the prose form).
    Each row: msgpack key, Engine API / JSON-RPC key, type, where it lives. */
#include "proto.h"

#include <stddef.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof *(a))
#define SCHEMA(var, label, type, fields) \
    const proto_schema_t var = {label, sizeof(type), fields, N(fields)}
#define LOCAL_SCHEMA(var, label, type, fields) \
    static const proto_schema_t var = {label, sizeof(type), fields, N(fields)}

/*  Field constructors. */
#define REQ(T, key, json, type, member) \
    {key, json, type, offsetof(T, member), PF_REQUIRED, 0, NULL, 0, 0, 0}
#define OPT(T, key, json, type, member, has) \
    {key, json, type, offsetof(T, member), PF_OPTIONAL, offsetof(T, has), NULL, 0, 0, 0}
#define NUL(T, key, json, type, member, has) \
    {key, json, type, offsetof(T, member), PF_NULLABLE, offsetof(T, has), NULL, 0, 0, 0}
#define DATA(T, key, json, member, max) \
    {key, json, PF_DATA, offsetof(T, member), PF_REQUIRED, 0, NULL, 0, 0, max}
#define SUB(T, key, json, member, sub) \
    {key, json, PF_STRUCT, offsetof(T, member), PF_REQUIRED, 0, &sub, 0, 0, 0}
#define NULSUB(T, key, json, member, has, sub) \
    {key, json, PF_STRUCT, offsetof(T, member), PF_NULLABLE, offsetof(T, has), &sub, 0, 0, 0}
#define ARR(T, key, json, member, count, sub, max) \
    {key, json, PF_ARRAY, offsetof(T, member), PF_REQUIRED, 0, &sub, PF_STRUCT, offsetof(T, count), max}
#define OPTARR(T, key, json, member, count, sub, max) \
    {key, json, PF_ARRAY, offsetof(T, member), PF_DEFAULTED, 0, &sub, PF_STRUCT, offsetof(T, count), max}
#define DEF(T, key, json, type, member) \
    {key, json, type, offsetof(T, member), PF_DEFAULTED, 0, NULL, 0, 0, 0}
#define SARR(T, key, json, member, count, elem, max) \
    {key, json, PF_ARRAY, offsetof(T, member), PF_REQUIRED, 0, NULL, elem, offsetof(T, count), max}
#define OPTSARR(T, key, json, member, count, elem, max) \
    {key, json, PF_ARRAY, offsetof(T, member), PF_DEFAULTED, 0, NULL, elem, offsetof(T, count), max}


/* ------------------------------------------------------------ value types */

static const proto_field_t s_withdrawal[] = {
    REQ(proto_withdrawal_t, "address", "address", PF_ADDRESS, address),
    REQ(proto_withdrawal_t, "amount", "amount", PF_QUANTITY, amount),
    DEF(proto_withdrawal_t, "index", "index", PF_QUANTITY, index),
    DEF(proto_withdrawal_t, "validator_index", "validatorIndex", PF_QUANTITY, validator_index),
};
SCHEMA(proto_withdrawal_schema, "withdrawal", proto_withdrawal_t, s_withdrawal);

#define P proto_payload_t
static const proto_field_t s_payload[] = {
    REQ(P, "parent_hash", "parentHash", PF_HASH32, parent_hash),
    REQ(P, "fee_recipient", "feeRecipient", PF_ADDRESS, fee_recipient),
    REQ(P, "state_root", "stateRoot", PF_HASH32, state_root),
    REQ(P, "receipts_root", "receiptsRoot", PF_HASH32, receipts_root),
    REQ(P, "logs_bloom", "logsBloom", PF_BLOOM, logs_bloom),
    REQ(P, "prev_randao", "prevRandao", PF_HASH32, prev_randao),
    REQ(P, "block_number", "blockNumber", PF_QUANTITY, block_number),
    REQ(P, "gas_limit", "gasLimit", PF_QUANTITY, gas_limit),
    REQ(P, "gas_used", "gasUsed", PF_QUANTITY, gas_used),
    REQ(P, "timestamp", "timestamp", PF_QUANTITY, timestamp),
    DATA(P, "extra_data", "extraData", extra_data, 32),
    REQ(P, "base_fee_per_gas", "baseFeePerGas", PF_U256, base_fee_per_gas),
    REQ(P, "block_hash", "blockHash", PF_HASH32, block_hash),
    SARR(P, "transactions", "transactions", transactions, n_transactions, PF_DATA, 0),
    ARR(P, "withdrawals", "withdrawals", withdrawals, n_withdrawals, proto_withdrawal_schema, 0),
    OPT(P, "blob_gas_used", "blobGasUsed", PF_QUANTITY, blob_gas_used, has_blob_gas_used),
    OPT(P, "excess_blob_gas", "excessBlobGas", PF_QUANTITY, excess_blob_gas, has_excess_blob_gas),
};
#undef P
SCHEMA(proto_payload_schema, "payload", proto_payload_t, s_payload);

#define T proto_tx_t
static const proto_field_t s_tx[] = {
    REQ(T, "hash", "hash", PF_HASH32, hash),
    REQ(T, "from", "from", PF_ADDRESS, from),
    NUL(T, "to", "to", PF_ADDRESS, to, has_to),
    REQ(T, "nonce", "nonce", PF_QUANTITY, nonce),
    REQ(T, "value", "value", PF_U256, value),
    DATA(T, "input", "input", input, 0),
    DATA(T, "raw", NULL, raw, 0),
};
#undef T
SCHEMA(proto_tx_schema, "transaction", proto_tx_t, s_tx);

#define B proto_block_t
static const proto_field_t s_block[] = {
    REQ(B, "hash", "hash", PF_HASH32, hash),
    REQ(B, "parent_hash", "parentHash", PF_HASH32, parent_hash),
    REQ(B, "number", "number", PF_QUANTITY, number),
    REQ(B, "timestamp", "timestamp", PF_QUANTITY, timestamp),
    REQ(B, "gas_limit", "gasLimit", PF_QUANTITY, gas_limit),
    REQ(B, "gas_used", "gasUsed", PF_QUANTITY, gas_used),
    REQ(B, "base_fee_per_gas", "baseFeePerGas", PF_U256, base_fee_per_gas),
    REQ(B, "fee_recipient", "miner", PF_ADDRESS, fee_recipient),
    REQ(B, "state_root", "stateRoot", PF_HASH32, state_root),
    REQ(B, "receipts_root", "receiptsRoot", PF_HASH32, receipts_root),
    REQ(B, "logs_bloom", "logsBloom", PF_BLOOM, logs_bloom),
    DATA(B, "extra_data", "extraData", extra_data, 32),
    REQ(B, "prev_randao", "mixHash", PF_HASH32, prev_randao),
    OPTARR(B, "withdrawals", "withdrawals", withdrawals, n_withdrawals, proto_withdrawal_schema, 0),
    {"transactions", "transactions", PF_TXLIST, offsetof(B, transactions), PF_REQUIRED,
     offsetof(B, full_transactions), NULL, 0, offsetof(B, n_transactions), 0},
};
#undef B
SCHEMA(proto_block_schema, "block", proto_block_t, s_block);

#define L proto_log_t
static const proto_field_t s_log[] = {
    REQ(L, "address", "address", PF_ADDRESS, address),
    SARR(L, "topics", "topics", topics, n_topics, PF_HASH32, 4),
    DATA(L, "data", "data", data, 0),
    REQ(L, "block_number", "blockNumber", PF_QUANTITY, block_number),
    REQ(L, "block_hash", "blockHash", PF_HASH32, block_hash),
    REQ(L, "transaction_hash", "transactionHash", PF_HASH32, transaction_hash),
    REQ(L, "transaction_index", "transactionIndex", PF_QUANTITY, transaction_index),
    REQ(L, "log_index", "logIndex", PF_QUANTITY, log_index),
    REQ(L, "removed", "removed", PF_BOOL, removed),
};
#undef L
SCHEMA(proto_log_schema, "log", proto_log_t, s_log);

#define R proto_receipt_t
static const proto_field_t s_receipt[] = {
    REQ(R, "transaction_hash", "transactionHash", PF_HASH32, transaction_hash),
    REQ(R, "block_hash", "blockHash", PF_HASH32, block_hash),
    REQ(R, "block_number", "blockNumber", PF_QUANTITY, block_number),
    REQ(R, "transaction_index", "transactionIndex", PF_QUANTITY, transaction_index),
    REQ(R, "status", "status", PF_QUANTITY, status),
    REQ(R, "gas_used", "gasUsed", PF_QUANTITY, gas_used),
    REQ(R, "cumulative_gas_used", "cumulativeGasUsed", PF_QUANTITY, cumulative_gas_used),
    NUL(R, "contract_address", "contractAddress", PF_ADDRESS, contract_address, has_contract_address),
    ARR(R, "logs", "logs", logs, n_logs, proto_log_schema, 0),
};
#undef R
SCHEMA(proto_receipt_schema, "receipt", proto_receipt_t, s_receipt);

/* -------------------------------------------------------------- op schemas */

static const proto_field_t s_ping_result[] = {
    REQ(proto_ping_result_t, "protocol", NULL, PF_QUANTITY, protocol),
    REQ(proto_ping_result_t, "version", NULL, PF_STR, version),
    REQ(proto_ping_result_t, "uptime_ms", NULL, PF_QUANTITY, uptime_ms),
    REQ(proto_ping_result_t, "pid", NULL, PF_QUANTITY, pid),
};
LOCAL_SCHEMA(s_ping_result_schema, "result", proto_ping_result_t, s_ping_result);

static const proto_field_t s_client[] = {
    REQ(proto_client_t, "code", NULL, PF_STR, code),
    REQ(proto_client_t, "name", NULL, PF_STR, name),
    REQ(proto_client_t, "version", NULL, PF_STR, version),
};
LOCAL_SCHEMA(s_client_schema, "client", proto_client_t, s_client);

static const proto_field_t s_el_status[] = {
    REQ(proto_el_status_t, "state", NULL, PF_STR, state),
    NULSUB(proto_el_status_t, "client", NULL, client, has_client, s_client_schema),
    REQ(proto_el_status_t, "endpoint", NULL, PF_STR, endpoint),
};
LOCAL_SCHEMA(s_el_status_schema, "el", proto_el_status_t, s_el_status);

static const proto_field_t s_forkchoice[] = {
    NUL(proto_forkchoice_t, "head", NULL, PF_HASH32, head, has_head),
    NUL(proto_forkchoice_t, "safe", NULL, PF_HASH32, safe, has_safe),
    NUL(proto_forkchoice_t, "finalized", NULL, PF_HASH32, finalized, has_finalized),
};
LOCAL_SCHEMA(s_forkchoice_schema, "forkchoice", proto_forkchoice_t, s_forkchoice);

#define AS proto_actor_stats_t
static const proto_field_t s_actor_stats[] = {
    REQ(AS, "requests", NULL, PF_QUANTITY, requests),
    REQ(AS, "mutations_queued", NULL, PF_QUANTITY, mutations_queued),
    REQ(AS, "queries_in_flight", NULL, PF_QUANTITY, queries_in_flight),
    REQ(AS, "el_calls", NULL, PF_QUANTITY, el_calls),
    REQ(AS, "el_failures", NULL, PF_QUANTITY, el_failures),
    REQ(AS, "el_connections_opened", NULL, PF_QUANTITY, el_connections_opened),
    REQ(AS, "dropped_envelopes", NULL, PF_QUANTITY, dropped_envelopes),
    REQ(AS, "unroutable_replies", NULL, PF_QUANTITY, unroutable_replies),
    REQ(AS, "block_cache_hits", NULL, PF_QUANTITY, block_cache_hits),
    REQ(AS, "block_cache_misses", NULL, PF_QUANTITY, block_cache_misses),
    REQ(AS, "block_cache_entries", NULL, PF_QUANTITY, block_cache_entries),
    REQ(AS, "payload_cache_hits", NULL, PF_QUANTITY, payload_cache_hits),
    REQ(AS, "payload_cache_misses", NULL, PF_QUANTITY, payload_cache_misses),
    REQ(AS, "payload_cache_entries", NULL, PF_QUANTITY, payload_cache_entries),
};
#undef AS
LOCAL_SCHEMA(s_actor_stats_schema, "actor", proto_actor_stats_t, s_actor_stats);

static const proto_field_t s_status_result[] = {
    SUB(proto_status_result_t, "el", NULL, el, s_el_status_schema),
    SUB(proto_status_result_t, "forkchoice", NULL, forkchoice, s_forkchoice_schema),
    {"actor", NULL, PF_STRUCT, offsetof(proto_status_result_t, actor), PF_OPTIONAL,
     offsetof(proto_status_result_t, has_actor), &s_actor_stats_schema, 0, 0, 0},
    OPT(proto_status_result_t, "fork", NULL, PF_STR, fork, has_fork),
};
LOCAL_SCHEMA(s_status_result_schema, "result", proto_status_result_t, s_status_result);

#define A proto_build_block_args_t
static const proto_field_t s_build_args[] = {
    REQ(A, "timestamp", NULL, PF_QUANTITY, timestamp),
    OPT(A, "parent", NULL, PF_HASH32, parent, has_parent),
    OPTARR(A, "withdrawals", NULL, withdrawals, n_withdrawals, proto_withdrawal_schema, 0),
    OPT(A, "fee_recipient", NULL, PF_ADDRESS, fee_recipient, has_fee_recipient),
    OPT(A, "prev_randao", NULL, PF_HASH32, prev_randao, has_prev_randao),
    OPT(A, "parent_beacon_block_root", NULL, PF_HASH32, parent_beacon_block_root,
        has_parent_beacon_block_root),
};
#undef A
LOCAL_SCHEMA(s_build_args_schema, "args", proto_build_block_args_t, s_build_args);

static const proto_field_t s_build_result[] = {
    SUB(proto_build_block_result_t, "payload", NULL, payload, proto_payload_schema),
    REQ(proto_build_block_result_t, "payload_id", NULL, PF_PAYLOAD_ID, payload_id),
    REQ(proto_build_block_result_t, "block_value", NULL, PF_U256, block_value),
    {"execution_requests", "executionRequests", PF_ARRAY,
     offsetof(proto_build_block_result_t, execution_requests), PF_DEFAULTED, 0, NULL, PF_DATA,
     offsetof(proto_build_block_result_t, n_execution_requests), 16},
};
LOCAL_SCHEMA(s_build_result_schema, "result", proto_build_block_result_t, s_build_result);

#define PA proto_payload_args_t
static const proto_field_t s_payload_args[] = {
    SUB(PA, "payload", NULL, payload, proto_payload_schema),
    OPT(PA, "parent_beacon_block_root", NULL, PF_HASH32, parent_beacon_block_root,
        has_parent_beacon_block_root),
    OPTSARR(PA, "versioned_hashes", NULL, versioned_hashes, n_versioned_hashes, PF_HASH32, 4096),
    {"execution_requests", NULL, PF_ARRAY, offsetof(PA, execution_requests), PF_OPTIONAL,
     offsetof(PA, has_execution_requests), NULL, PF_DATA, offsetof(PA, n_execution_requests), 16},
};
#undef PA
LOCAL_SCHEMA(s_payload_args_schema, "args", proto_payload_args_t, s_payload_args);

static const proto_field_t s_block_hash[] = {
    REQ(proto_block_hash_t, "block_hash", NULL, PF_HASH32, block_hash),
};
LOCAL_SCHEMA(s_block_hash_schema, "args", proto_block_hash_t, s_block_hash);

static const proto_field_t s_status_only[] = {
    REQ(proto_status_only_t, "status", NULL, PF_STR, status),
};
LOCAL_SCHEMA(s_status_only_schema, "result", proto_status_only_t, s_status_only);

static const proto_field_t s_fc_hashes[] = {
    REQ(proto_fc_hashes_t, "head", NULL, PF_HASH32, head),
    REQ(proto_fc_hashes_t, "safe", NULL, PF_HASH32, safe),
    REQ(proto_fc_hashes_t, "finalized", NULL, PF_HASH32, finalized),
};
LOCAL_SCHEMA(s_fc_hashes_schema, "result", proto_fc_hashes_t, s_fc_hashes);

static const proto_field_t s_revert_result[] = {
    REQ(proto_revert_result_t, "head", NULL, PF_HASH32, head),
};
LOCAL_SCHEMA(s_revert_result_schema, "result", proto_revert_result_t, s_revert_result);

static const proto_field_t s_update_fc_args[] = {
    REQ(proto_update_fc_args_t, "head", NULL, PF_HASH32, head),
    OPT(proto_update_fc_args_t, "safe", NULL, PF_HASH32, safe, has_safe),
    OPT(proto_update_fc_args_t, "finalized", NULL, PF_HASH32, finalized, has_finalized),
};
LOCAL_SCHEMA(s_update_fc_args_schema, "args", proto_update_fc_args_t, s_update_fc_args);

static const proto_field_t s_update_fc_result[] = {
    REQ(proto_update_fc_result_t, "status", NULL, PF_STR, status),
    REQ(proto_update_fc_result_t, "head", NULL, PF_HASH32, head),
    REQ(proto_update_fc_result_t, "safe", NULL, PF_HASH32, safe),
    REQ(proto_update_fc_result_t, "finalized", NULL, PF_HASH32, finalized),
};
LOCAL_SCHEMA(s_update_fc_result_schema, "result", proto_update_fc_result_t, s_update_fc_result);

static const proto_field_t s_get_block_args[] = {
    REQ(proto_get_block_args_t, "block", NULL, PF_SELECTOR, block),
    DEF(proto_get_block_args_t, "full_transactions", NULL, PF_BOOL, full_transactions),
};
LOCAL_SCHEMA(s_get_block_args_schema, "args", proto_get_block_args_t, s_get_block_args);

static const proto_field_t s_get_block_result[] = {
    SUB(proto_get_block_result_t, "block", NULL, block, proto_block_schema),
};
LOCAL_SCHEMA(s_get_block_result_schema, "result", proto_get_block_result_t, s_get_block_result);

#define G proto_get_logs_args_t
static const proto_field_t s_get_logs_args[] = {
    {"from_block", NULL, PF_SELECTOR, offsetof(G, from_block), PF_OPTIONAL, 0, NULL, 0, 0, 0},
    {"to_block", NULL, PF_SELECTOR, offsetof(G, to_block), PF_OPTIONAL, 0, NULL, 0, 0, 0},
    OPT(G, "block_hash", NULL, PF_HASH32, block_hash, has_block_hash),
    OPTSARR(G, "address", NULL, address, n_address, PF_ADDRESS, 1024),
    {"topics", NULL, PF_TOPICS, offsetof(G, topics), PF_DEFAULTED, 0, NULL, 0, offsetof(G, n_topics), 4},
};
#undef G
LOCAL_SCHEMA(s_get_logs_args_schema, "args", proto_get_logs_args_t, s_get_logs_args);

static const proto_field_t s_get_logs_result[] = {
    ARR(proto_get_logs_result_t, "logs", NULL, logs, n_logs, proto_log_schema, 0),
};
LOCAL_SCHEMA(s_get_logs_result_schema, "result", proto_get_logs_result_t, s_get_logs_result);

#define S proto_sync_status_t
static const proto_field_t s_sync_result[] = {
    REQ(S, "syncing", NULL, PF_BOOL, syncing),
    OPT(S, "starting_block", NULL, PF_QUANTITY, starting_block, has_progress),
    OPT(S, "current_block", NULL, PF_QUANTITY, current_block, has_progress),
    OPT(S, "highest_block", NULL, PF_QUANTITY, highest_block, has_progress),
};
#undef S
LOCAL_SCHEMA(s_sync_result_schema, "result", proto_sync_status_t, s_sync_result);

static const proto_field_t s_tx_hash_args[] = {
    REQ(proto_tx_hash_args_t, "tx_hash", NULL, PF_HASH32, tx_hash),
};
LOCAL_SCHEMA(s_tx_hash_args_schema, "args", proto_tx_hash_args_t, s_tx_hash_args);

static const proto_field_t s_receipt_result[] = {
    NULSUB(proto_receipt_result_t, "receipt", NULL, receipt, has_receipt, proto_receipt_schema),
};
LOCAL_SCHEMA(s_receipt_result_schema, "result", proto_receipt_result_t, s_receipt_result);

static const proto_field_t s_block_sel_args[] = {
    REQ(proto_block_sel_args_t, "block", NULL, PF_SELECTOR, block),
};
LOCAL_SCHEMA(s_block_sel_args_schema, "args", proto_block_sel_args_t, s_block_sel_args);

static const proto_field_t s_block_receipts_result[] = {
    SUB(proto_block_receipts_result_t, "block", NULL, block, proto_block_schema),
    ARR(proto_block_receipts_result_t, "receipts", NULL, receipts, n_receipts, proto_receipt_schema, 0),
};
LOCAL_SCHEMA(s_block_receipts_result_schema, "result", proto_block_receipts_result_t,
             s_block_receipts_result);

static const proto_field_t s_get_payload_result[] = {
    SUB(proto_get_payload_result_t, "payload", NULL, payload, proto_payload_schema),
};
LOCAL_SCHEMA(s_get_payload_result_schema, "result", proto_get_payload_result_t,
             s_get_payload_result);

/* ---------------------------------------------------------------- op table */

const proto_op_t proto_ops[] = {
    {"ping", PROTO_LANE_NONE, NULL, &s_ping_result_schema},
    {"status", PROTO_LANE_NONE, NULL, &s_status_result_schema},
    {"build_block", PROTO_LANE_MUTATION, &s_build_args_schema, &s_build_result_schema},
    {"commit_block", PROTO_LANE_MUTATION, &s_payload_args_schema, &s_block_hash_schema},
    {"validate_payload", PROTO_LANE_MUTATION, &s_payload_args_schema, &s_status_only_schema},
    {"finalize_block", PROTO_LANE_MUTATION, &s_block_hash_schema, &s_fc_hashes_schema},
    {"revert_block", PROTO_LANE_MUTATION, &s_block_hash_schema, &s_revert_result_schema},
    {"update_forkchoice", PROTO_LANE_MUTATION, &s_update_fc_args_schema, &s_update_fc_result_schema},
    {"get_block", PROTO_LANE_QUERY, &s_get_block_args_schema, &s_get_block_result_schema},
    {"get_logs", PROTO_LANE_QUERY, &s_get_logs_args_schema, &s_get_logs_result_schema},
    {"get_sync_status", PROTO_LANE_QUERY, NULL, &s_sync_result_schema},
    {"get_transaction_receipt", PROTO_LANE_QUERY, &s_tx_hash_args_schema, &s_receipt_result_schema},
    {"get_block_with_receipts", PROTO_LANE_QUERY, &s_block_sel_args_schema,
     &s_block_receipts_result_schema},
    {"get_payload", PROTO_LANE_QUERY, &s_block_sel_args_schema, &s_get_payload_result_schema},
};
const size_t proto_n_ops = N(proto_ops);

const proto_op_t *proto_op_find(const char *name)
{
    for (size_t i = 0; i < proto_n_ops; i++)
        if (strcmp(proto_ops[i].name, name) == 0)
            return &proto_ops[i];
    return NULL;
}
