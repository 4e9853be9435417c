/*  The op handlers. Each is a small state machine: a start function that
    issues an execution-client call and continuations that run when its
    answer arrives. Every path ends in exactly one engine_reply_*. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alys_config.h"
#include "el_json.h"
#include "engine.h"
#include "hex.h"
#include "log.h"

static const uint8_t s_zero32[32];

/* ------------------------------------------------------------- helpers */

/*  Notes the outcome for the health state machine; on failure replies and
    returns true. fcu: a JSON-RPC -38002 is an invalid fork choice. */
static bool failed(req_t *req, el_response_t *resp, bool fcu)
{
    engine_note_el_result(req->engine, resp);
    if (resp->err == PROTO_OK)
        return false;
    if (fcu && resp->err == PROTO_EL_ERROR && resp->has_el_code
        && fork_choice_map_el_code(resp->el_code) != PROTO_EL_ERROR)
        resp->err = fork_choice_map_el_code(resp->el_code);
    engine_reply_el_error(req, resp);
    return true;
}

static void *alloc_result(req_t *req)
{
    if (!req->result)
        req->result = calloc(1, req->op->result->size);
    return req->result;
}

static char *hexs(const uint8_t *b, size_t n, char *buf)
{
    return hex_encode(b, n, buf);
}

/*  Runs req->resume once fork choice is known, reading latest, safe and
    finalized from the client if this actor has not set them yet. */
static void on_fc_batch(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, false))
        return;
    fork_choice_t *fc = engine_fork_choice(req->engine);
    if (!fc->known) {
        json_t *latest = json_array_get(resp->result, 0);
        json_t *safe = json_array_get(resp->result, 1);
        json_t *fin = json_array_get(resp->result, 2);
        if (el_json_fixed(json_object_get(latest, "hash"), fc->head, 32) != 0) {
            engine_reply_error(req, PROTO_EL_ERROR, "execution client has no latest block");
            return;
        }
        fc->has_head = true;
        fc->has_safe = el_json_fixed(json_object_get(safe, "hash"), fc->safe, 32) == 0;
        fc->has_finalized = el_json_fixed(json_object_get(fin, "hash"), fc->finalized, 32) == 0
                            && el_json_quantity(json_object_get(fin, "number"),
                                                &fc->finalized_number) == 0;
        fc->known = true;
    }
    req->resume(req);
}

static void with_fork_choice(req_t *req, op_fn *next)
{
    req->resume = next;
    if (engine_fork_choice(req->engine)->known) {
        next(req);
        return;
    }
    json_t *calls = json_pack("[[s,[s,b]],[s,[s,b]],[s,[s,b]]]", "eth_getBlockByNumber", "latest", 0,
                              "eth_getBlockByNumber", "safe", 0, "eth_getBlockByNumber",
                              "finalized", 0);
    engine_batch(req, EL_RPC, calls, on_fc_batch);
}

/*  [ForkchoiceState] for a new head with the current safe and finalized. */
static json_t *fcu_params(engine_t *e, const uint8_t head[32])
{
    fork_choice_t *fc = engine_fork_choice(e);
    return json_pack("[o]", fork_choice_state_json(head, fc->has_safe, fc->safe, fc->has_finalized,
                                                   fc->finalized));
}

static json_t *selector_params(const proto_selector_t *sel, bool full, const char **method)
{
    json_t *first;
    switch (sel->kind) {
    case PROTO_SEL_HASH:
        *method = "eth_getBlockByHash";
        first = el_json_hex(sel->hash, 32);
        break;
    case PROTO_SEL_NUMBER:
        *method = "eth_getBlockByNumber";
        first = el_json_qty(sel->number);
        break;
    default:
        *method = "eth_getBlockByNumber";
        first = json_string(sel->tag);
        break;
    }
    return json_pack("[o,b]", first, full);
}

static const char *selector_text(const proto_selector_t *sel, char *buf, size_t n)
{
    switch (sel->kind) {
    case PROTO_SEL_HASH: return hex_encode(sel->hash, 32, buf);
    case PROTO_SEL_NUMBER: snprintf(buf, n, "number %llu", (unsigned long long) sel->number); return buf;
    default: return sel->tag;
    }
}

/* ----------------------------------------------------------- ping, status */

static void op_ping(req_t *req)
{
    proto_ping_result_t r = {
        .protocol = PROTO_VERSION,
        .version = (char *) ALYS_VERSION,
        .uptime_ms = (uint64_t) engine_uptime_ms(req->engine),
        .pid = (uint64_t) getpid(),
    };
    engine_reply_ok(req, req->op->result, &r);
}

static void op_status(req_t *req)
{
    engine_t *e = req->engine;
    const el_client_info_t *ci = engine_client_info(e);
    const fork_choice_t *fc = engine_fork_choice(e);
    proto_status_result_t r = {0};
    r.el.state = (char *) el_state_name(engine_el_state(e));
    r.el.endpoint = (char *) el_client_url(engine_el(e), EL_ENGINE);
    if (ci->known) {
        r.el.has_client = true;
        r.el.client.code = (char *) ci->code;
        r.el.client.name = (char *) ci->name;
        r.el.client.version = (char *) ci->version;
    }
    r.forkchoice.has_head = fc->has_head;
    r.forkchoice.has_safe = fc->has_safe;
    r.forkchoice.has_finalized = fc->has_finalized;
    memcpy(r.forkchoice.head, fc->head, 32);
    memcpy(r.forkchoice.safe, fc->safe, 32);
    memcpy(r.forkchoice.finalized, fc->finalized, 32);
    engine_reply_ok(req, req->op->result, &r);
}

/* ----------------------------------------------------------- build_block */

static void build_on_payload(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, false))
        return;
    proto_build_block_result_t *r = req->result;
    char err[PROTO_ERR_LEN];
    json_t *payload = json_object_get(resp->result, "executionPayload");
    if (el_json_decode(&proto_payload_schema, payload, &r->payload, err, sizeof err) != 0) {
        engine_reply_error(req, PROTO_EL_ERROR, "getPayload answer: %s", err);
        return;
    }
    if (el_json_u256(json_object_get(resp->result, "blockValue"), r->block_value) != 0) {
        engine_reply_error(req, PROTO_EL_ERROR, "getPayload answer: malformed blockValue");
        return;
    }
    if (memcmp(r->payload.parent_hash, req->hash, 32) != 0) {
        engine_reply_error(req, PROTO_EL_ERROR,
                           "execution client built on a different parent than requested");
        return;
    }
    char h[67];
    log_info("built block %llu %s with %zu transactions and %zu withdrawals",
             (unsigned long long) r->payload.block_number, hexs(r->payload.block_hash, 32, h),
             r->payload.n_transactions, r->payload.n_withdrawals);
    engine_reply_ok(req, req->op->result, r);
}

static void build_on_fcu(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, true))
        return;
    char msg[256];
    bool syncing;
    proto_err_t err = fork_choice_read_status(json_object_get(resp->result, "payloadStatus"),
                                              req->hash, false, msg, sizeof msg, &syncing);
    if (err != PROTO_OK) {
        engine_reply_error(req, err, "forkchoiceUpdated to the parent: %s", msg);
        return;
    }
    /* building on a parent makes it the client's head */
    fork_choice_t *fc = engine_fork_choice(req->engine);
    memcpy(fc->head, req->hash, 32);
    fc->has_head = true;
    json_t *pid = json_object_get(resp->result, "payloadId");
    proto_build_block_result_t *r = alloc_result(req);
    if (!json_is_string(pid)) {
        engine_reply_error(req, PROTO_PAYLOAD_ID_UNAVAILABLE,
                           "execution client started no payload build (payloadId is null)");
        return;
    }
    if (!r || el_json_fixed(pid, r->payload_id, 8) != 0) {
        engine_reply_error(req, PROTO_EL_ERROR, "execution client returned a malformed payloadId");
        return;
    }
    engine_call(req, EL_ENGINE, "engine_getPayloadV2", json_pack("[O]", pid), build_on_payload);
}

static void build_send(req_t *req)
{
    engine_t *e = req->engine;
    proto_build_block_args_t *a = req->args;
    const fork_choice_t *fc = engine_fork_choice(e);
    memcpy(req->hash, a->has_parent ? a->parent : fc->head, 32);
    json_t *wds = json_array();
    for (size_t i = 0; i < a->n_withdrawals; i++) {
        const proto_withdrawal_t *w = &a->withdrawals[i];
        json_array_append_new(wds, json_pack("{s:o,s:o,s:o,s:o}", "index", el_json_qty(w->index),
                                             "validatorIndex", el_json_qty(w->validator_index),
                                             "address", el_json_hex(w->address, 20), "amount",
                                             el_json_qty(w->amount)));
    }
    json_t *attrs = json_pack("{s:o,s:o,s:o,s:o}", "timestamp", el_json_qty(a->timestamp),
                              "prevRandao",
                              el_json_hex(a->has_prev_randao ? a->prev_randao : s_zero32, 32),
                              "suggestedFeeRecipient",
                              el_json_hex(a->has_fee_recipient ? a->fee_recipient
                                                               : engine_config(e)->fee_recipient,
                                          20),
                              "withdrawals", wds);
    json_t *params = fcu_params(e, req->hash);
    json_array_append_new(params, attrs);
    engine_call(req, EL_ENGINE, "engine_forkchoiceUpdatedV2", params, build_on_fcu);
}

static void op_build_block(req_t *req) { with_fork_choice(req, build_send); }

/* ---------------------------------------------------------- commit_block */

static void commit_on_fcu(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, true))
        return;
    char msg[256];
    bool syncing;
    proto_err_t err = fork_choice_read_status(json_object_get(resp->result, "payloadStatus"),
                                              req->hash, false, msg, sizeof msg, &syncing);
    if (err != PROTO_OK) {
        engine_reply_error(req, err, "forkchoiceUpdated to the new block: %s", msg);
        return;
    }
    fork_choice_t *fc = engine_fork_choice(req->engine);
    memcpy(fc->head, req->hash, 32);
    fc->has_head = true;
    proto_block_hash_t r;
    memcpy(r.block_hash, req->hash, 32);
    char h[67];
    log_info("committed block %llu %s", (unsigned long long) req->number, hexs(req->hash, 32, h));
    engine_reply_ok(req, req->op->result, &r);
}

static void commit_on_new_payload(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, false))
        return;
    char msg[256];
    bool syncing;
    proto_err_t err = fork_choice_read_status(resp->result, req->hash, true, msg, sizeof msg,
                                              &syncing);
    if (err != PROTO_OK) {
        engine_reply_error(req, err, "newPayload: %s", msg);
        return;
    }
    engine_call(req, EL_ENGINE, "engine_forkchoiceUpdatedV2", fcu_params(req->engine, req->hash),
                commit_on_fcu);
}

/*  Local checks that need no execution client. */
static int check_payload(req_t *req, const proto_payload_t *p)
{
    if (p->gas_used > p->gas_limit) {
        engine_reply_error(req, PROTO_INVALID_PAYLOAD, "gas_used %llu exceeds gas_limit %llu",
                           (unsigned long long) p->gas_used, (unsigned long long) p->gas_limit);
        return -1;
    }
    for (size_t i = 0; i < p->n_transactions; i++)
        if (p->transactions[i].len == 0) {
            engine_reply_error(req, PROTO_INVALID_PAYLOAD, "transaction %zu is empty", i);
            return -1;
        }
    return 0;
}

static void commit_send(req_t *req)
{
    proto_payload_args_t *a = req->args;
    if (check_payload(req, &a->payload) != 0)
        return;
    memcpy(req->hash, a->payload.block_hash, 32);
    req->number = a->payload.block_number;
    json_t *payload = el_json_encode(&proto_payload_schema, &a->payload);
    engine_call(req, EL_ENGINE, "engine_newPayloadV2", json_pack("[o]", payload),
                commit_on_new_payload);
}

static void op_commit_block(req_t *req) { with_fork_choice(req, commit_send); }

/* -------------------------------------------------------- finalize_block */

static void reply_fc_hashes(req_t *req)
{
    const fork_choice_t *fc = engine_fork_choice(req->engine);
    proto_fc_hashes_t r;
    memcpy(r.head, fc->head, 32);
    memcpy(r.safe, fc->has_safe ? fc->safe : s_zero32, 32);
    memcpy(r.finalized, fc->has_finalized ? fc->finalized : s_zero32, 32);
    engine_reply_ok(req, req->op->result, &r);
}

static void finalize_on_fcu(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, true))
        return;
    fork_choice_t *fc = engine_fork_choice(req->engine);
    char msg[256];
    bool syncing;
    proto_err_t err = fork_choice_read_status(json_object_get(resp->result, "payloadStatus"),
                                              fc->head, false, msg, sizeof msg, &syncing);
    if (err != PROTO_OK) {
        engine_reply_error(req, err, "forkchoiceUpdated with the new finalized block: %s", msg);
        return;
    }
    memcpy(fc->safe, req->hash, 32);
    memcpy(fc->finalized, req->hash, 32);
    fc->has_safe = fc->has_finalized = true;
    fc->finalized_number = req->number;
    char h[67];
    log_info("finalized block %llu %s", (unsigned long long) req->number, hexs(req->hash, 32, h));
    reply_fc_hashes(req);
}

static void finalize_on_canonical(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, false))
        return;
    uint8_t canonical[32];
    if (json_is_null(resp->result)
        || el_json_fixed(json_object_get(resp->result, "hash"), canonical, 32) != 0
        || memcmp(canonical, req->hash, 32) != 0) {
        engine_reply_error(req, PROTO_FINALIZED_CONFLICT,
                           "block %llu is not on the canonical chain: it cannot be finalized",
                           (unsigned long long) req->number);
        return;
    }
    fork_choice_t *fc = engine_fork_choice(req->engine);
    json_t *state = fork_choice_state_json(fc->head, true, req->hash, true, req->hash);
    engine_call(req, EL_ENGINE, "engine_forkchoiceUpdatedV2", json_pack("[o]", state),
                finalize_on_fcu);
}

static void finalize_on_block(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, false))
        return;
    char h[67];
    if (json_is_null(resp->result)) {
        engine_reply_error(req, PROTO_BLOCK_NOT_FOUND, "no block %s", hexs(req->hash, 32, h));
        return;
    }
    if (el_json_quantity(json_object_get(resp->result, "number"), &req->number) != 0) {
        engine_reply_error(req, PROTO_EL_ERROR, "block without a number");
        return;
    }
    const fork_choice_t *fc = engine_fork_choice(req->engine);
    if (fc->has_finalized && req->number <= fc->finalized_number) {
        engine_reply_error(req, PROTO_FINALIZED_CONFLICT,
                           "finalizing block %llu would move finalization backwards from block %llu",
                           (unsigned long long) req->number,
                           (unsigned long long) fc->finalized_number);
        return;
    }
    engine_call(req, EL_RPC, "eth_getBlockByNumber",
                json_pack("[o,b]", el_json_qty(req->number), 0), finalize_on_canonical);
}

static void finalize_send(req_t *req)
{
    proto_block_hash_t *a = req->args;
    const fork_choice_t *fc = engine_fork_choice(req->engine);
    memcpy(req->hash, a->block_hash, 32);
    if (fc->has_finalized && memcmp(fc->finalized, a->block_hash, 32) == 0) {
        reply_fc_hashes(req); /* already finalized: a no-op */
        return;
    }
    engine_call(req, EL_RPC, "eth_getBlockByHash", json_pack("[o,b]", el_json_hex(req->hash, 32), 0),
                finalize_on_block);
}

static void op_finalize_block(req_t *req) { with_fork_choice(req, finalize_send); }

/* ----------------------------------------------------- update_forkchoice */

static void ufc_on_fcu(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, true))
        return;
    proto_update_fc_args_t *a = req->args;
    fork_choice_t *fc = engine_fork_choice(req->engine);
    char msg[256];
    bool syncing;
    proto_err_t err = fork_choice_read_status(json_object_get(resp->result, "payloadStatus"),
                                              a->head, false, msg, sizeof msg, &syncing);
    if (err != PROTO_OK && !syncing) {
        engine_reply_error(req, err, "forkchoiceUpdated: %s", msg);
        return;
    }
    proto_update_fc_result_t r = {.status = syncing ? "SYNCING" : "VALID"};
    memcpy(r.head, a->head, 32);
    memcpy(r.safe, a->has_safe ? a->safe : (fc->has_safe ? fc->safe : s_zero32), 32);
    memcpy(r.finalized, a->has_finalized ? a->finalized : (fc->has_finalized ? fc->finalized : s_zero32), 32);
    if (!syncing) {
        memcpy(fc->head, a->head, 32);
        fc->has_head = true;
        if (a->has_safe) {
            memcpy(fc->safe, a->safe, 32);
            fc->has_safe = true;
        }
        if (a->has_finalized) {
            memcpy(fc->finalized, a->finalized, 32);
            fc->has_finalized = true;
            fc->finalized_number = req->number;
        }
    }
    engine_reply_ok(req, req->op->result, &r);
}

static void ufc_send(req_t *req)
{
    proto_update_fc_args_t *a = req->args;
    const fork_choice_t *fc = engine_fork_choice(req->engine);
    const uint8_t *safe = a->has_safe ? a->safe : fc->safe;
    const uint8_t *fin = a->has_finalized ? a->finalized : fc->finalized;
    json_t *state = fork_choice_state_json(a->head, a->has_safe || fc->has_safe, safe,
                                           a->has_finalized || fc->has_finalized, fin);
    engine_call(req, EL_ENGINE, "engine_forkchoiceUpdatedV2", json_pack("[o]", state), ufc_on_fcu);
}

static void ufc_on_finalized_block(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, false))
        return;
    proto_update_fc_args_t *a = req->args;
    char h[67];
    if (json_is_null(resp->result)) {
        engine_reply_error(req, PROTO_BLOCK_NOT_FOUND, "no finalized block %s",
                           hexs(a->finalized, 32, h));
        return;
    }
    if (el_json_quantity(json_object_get(resp->result, "number"), &req->number) != 0) {
        engine_reply_error(req, PROTO_EL_ERROR, "block without a number");
        return;
    }
    const fork_choice_t *fc = engine_fork_choice(req->engine);
    if (fc->has_finalized && req->number < fc->finalized_number) {
        engine_reply_error(req, PROTO_FINALIZED_CONFLICT,
                           "finalized block %llu is behind the current finalized block %llu",
                           (unsigned long long) req->number,
                           (unsigned long long) fc->finalized_number);
        return;
    }
    ufc_send(req);
}

static void ufc_check(req_t *req)
{
    proto_update_fc_args_t *a = req->args;
    const fork_choice_t *fc = engine_fork_choice(req->engine);
    if (a->has_finalized && !(fc->has_finalized && memcmp(fc->finalized, a->finalized, 32) == 0)) {
        engine_call(req, EL_RPC, "eth_getBlockByHash",
                    json_pack("[o,b]", el_json_hex(a->finalized, 32), 0), ufc_on_finalized_block);
        return;
    }
    req->number = fc->finalized_number;
    ufc_send(req);
}

static void op_update_forkchoice(req_t *req) { with_fork_choice(req, ufc_check); }

/* ------------------------------------------------------------- get_block */

/*  Fills tx.raw from engine_getPayloadBodiesByHashV1, which returns the
    canonical encodings that eth_getBlockBy* does not. */
static int fill_raw(req_t *req, json_t *bodies, proto_tx_t *txs, size_t n)
{
    json_t *list = json_object_get(json_array_get(bodies, 0), "transactions");
    if (json_array_size(list) != n) {
        engine_reply_error(req, PROTO_EL_ERROR,
                           "execution client returned %zu transaction encodings for %zu transactions",
                           json_array_size(list), n);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (hex_decode_alloc(json_string_value(json_array_get(list, i)), &txs[i].raw.data,
                             &txs[i].raw.len) != 0) {
            engine_reply_error(req, PROTO_EL_ERROR, "malformed transaction encoding %zu", i);
            return -1;
        }
    return 0;
}

static void get_block_on_bodies(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, false))
        return;
    proto_get_block_result_t *r = req->result;
    if (fill_raw(req, resp->result, r->block.transactions, r->block.n_transactions) != 0)
        return;
    engine_reply_ok(req, req->op->result, r);
}

static void get_block_on_block(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, false))
        return;
    proto_get_block_args_t *a = req->args;
    char buf[80];
    if (json_is_null(resp->result)) {
        engine_reply_error(req, PROTO_BLOCK_NOT_FOUND, "no block %s",
                           selector_text(&a->block, buf, sizeof buf));
        return;
    }
    proto_get_block_result_t *r = alloc_result(req);
    char err[PROTO_ERR_LEN];
    if (!r || el_json_decode(&proto_block_schema, resp->result, &r->block, err, sizeof err) != 0) {
        engine_reply_error(req, PROTO_EL_ERROR, "block from the execution client: %s", err);
        return;
    }
    if (a->full_transactions && r->block.n_transactions > 0) {
        r->block.full_transactions = true;
        engine_call(req, EL_ENGINE, "engine_getPayloadBodiesByHashV1",
                    json_pack("[[o]]", el_json_hex(r->block.hash, 32)), get_block_on_bodies);
        return;
    }
    engine_reply_ok(req, req->op->result, r);
}

static void op_get_block(req_t *req)
{
    proto_get_block_args_t *a = req->args;
    const char *method;
    json_t *params = selector_params(&a->block, a->full_transactions, &method);
    engine_call(req, EL_RPC, method, params, get_block_on_block);
}

/* ----------------------------------------------------------- get_payload */

static void get_payload_on_bodies(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, false))
        return;
    proto_get_payload_result_t *r = req->result;
    json_t *list = json_object_get(json_array_get(resp->result, 0), "transactions");
    size_t n = json_array_size(list);
    r->payload.transactions = calloc(n ? n : 1, sizeof(proto_data_t));
    if (!r->payload.transactions) {
        engine_reply_error(req, PROTO_INTERNAL, "out of memory");
        return;
    }
    r->payload.n_transactions = n;
    for (size_t i = 0; i < n; i++)
        if (hex_decode_alloc(json_string_value(json_array_get(list, i)),
                             &r->payload.transactions[i].data,
                             &r->payload.transactions[i].len) != 0) {
            engine_reply_error(req, PROTO_EL_ERROR, "malformed transaction encoding %zu", i);
            return;
        }
    engine_reply_ok(req, req->op->result, r);
}

/*  A payload is the block header's fields plus the raw transactions and the
    withdrawals; it is read from the block, then the bodies. */
static void get_payload_on_block(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, false))
        return;
    proto_block_sel_args_t *a = req->args;
    char buf[80];
    if (json_is_null(resp->result)) {
        engine_reply_error(req, PROTO_BLOCK_NOT_FOUND, "no block %s",
                           selector_text(&a->block, buf, sizeof buf));
        return;
    }
    proto_block_t block = {0};
    char err[PROTO_ERR_LEN];
    if (el_json_decode(&proto_block_schema, resp->result, &block, err, sizeof err) != 0) {
        engine_reply_error(req, PROTO_EL_ERROR, "block from the execution client: %s", err);
        return;
    }
    proto_get_payload_result_t *r = alloc_result(req);
    proto_payload_t *p = &r->payload;
    memcpy(p->parent_hash, block.parent_hash, 32);
    memcpy(p->fee_recipient, block.fee_recipient, 20);
    memcpy(p->state_root, block.state_root, 32);
    memcpy(p->receipts_root, block.receipts_root, 32);
    memcpy(p->logs_bloom, block.logs_bloom, 256);
    memcpy(p->prev_randao, block.prev_randao, 32);
    p->block_number = block.number;
    p->gas_limit = block.gas_limit;
    p->gas_used = block.gas_used;
    p->timestamp = block.timestamp;
    p->extra_data = block.extra_data;
    block.extra_data = (proto_data_t){0};
    memcpy(p->base_fee_per_gas, block.base_fee_per_gas, 32);
    memcpy(p->block_hash, block.hash, 32);
    p->withdrawals = block.withdrawals;
    p->n_withdrawals = block.n_withdrawals;
    block.withdrawals = NULL;
    block.n_withdrawals = 0;
    p->has_blob_gas_used =
        el_json_quantity(json_object_get(resp->result, "blobGasUsed"), &p->blob_gas_used) == 0;
    p->has_excess_blob_gas =
        el_json_quantity(json_object_get(resp->result, "excessBlobGas"), &p->excess_blob_gas) == 0;
    size_t n_tx = block.n_transactions;
    proto_free(&proto_block_schema, &block);
    if (n_tx == 0) {
        engine_reply_ok(req, req->op->result, r);
        return;
    }
    engine_call(req, EL_ENGINE, "engine_getPayloadBodiesByHashV1",
                json_pack("[[o]]", el_json_hex(p->block_hash, 32)), get_payload_on_bodies);
}

static void op_get_payload(req_t *req)
{
    proto_block_sel_args_t *a = req->args;
    const char *method;
    json_t *params = selector_params(&a->block, false, &method);
    engine_call(req, EL_RPC, method, params, get_payload_on_block);
}

/* ------------------------------------------------------- get_sync_status */

static void sync_on_answer(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, false))
        return;
    proto_sync_status_t r = {0};
    if (json_is_object(resp->result)) {
        r.syncing = true;
        r.has_progress =
            el_json_quantity(json_object_get(resp->result, "startingBlock"), &r.starting_block) == 0
            && el_json_quantity(json_object_get(resp->result, "currentBlock"), &r.current_block) == 0
            && el_json_quantity(json_object_get(resp->result, "highestBlock"), &r.highest_block) == 0;
    } else if (!json_is_false(resp->result)) {
        engine_reply_error(req, PROTO_EL_ERROR, "eth_syncing answered neither false nor an object");
        return;
    }
    engine_reply_ok(req, req->op->result, &r);
}

static void op_get_sync_status(req_t *req)
{
    engine_call(req, EL_RPC, "eth_syncing", NULL, sync_on_answer);
}

/* ----------------------------------------------- get_transaction_receipt */

static void receipt_on_answer(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, false))
        return;
    proto_receipt_result_t *r = alloc_result(req);
    if (!r) {
        engine_reply_error(req, PROTO_INTERNAL, "out of memory");
        return;
    }
    if (!json_is_null(resp->result)) {
        char err[PROTO_ERR_LEN];
        if (el_json_decode(&proto_receipt_schema, resp->result, &r->receipt, err, sizeof err) != 0) {
            engine_reply_error(req, PROTO_EL_ERROR, "receipt from the execution client: %s", err);
            return;
        }
        r->has_receipt = true;
    }
    engine_reply_ok(req, req->op->result, r);
}

static void op_get_transaction_receipt(req_t *req)
{
    proto_tx_hash_args_t *a = req->args;
    engine_call(req, EL_RPC, "eth_getTransactionReceipt",
                json_pack("[o]", el_json_hex(a->tx_hash, 32)), receipt_on_answer);
}

/* ------------------------------------------------------------ the table */

const op_def_t engine_ops[] = {
    {"ping", op_ping},
    {"status", op_status},
    {"build_block", op_build_block},
    {"commit_block", op_commit_block},
    {"finalize_block", op_finalize_block},
    {"update_forkchoice", op_update_forkchoice},
    {"get_block", op_get_block},
    {"get_sync_status", op_get_sync_status},
    {"get_transaction_receipt", op_get_transaction_receipt},
    {"get_payload", op_get_payload},
};
const size_t engine_n_ops = sizeof engine_ops / sizeof *engine_ops;
