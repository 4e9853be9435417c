/*  build_block: forkchoiceUpdated with payload attributes (the peg-ins as
    withdrawals) on the head or a given parent, then getPayload; the built
    payload is remembered (payload cache) for commit_block and for a retry
    with the same attributes. A parent other than the head must descend
    from the finalized block. */
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "el_json.h"
#include "hex.h"
#include "log.h"
#include "ops.h"

/* ----------------------------------------------------------- build_block */

static void attrs_key(const proto_build_block_args_t *a, const uint8_t parent[32],
                      const uint8_t fee[20], int fork, uint8_t out[32])
{
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    uint8_t buf[8];
#define PUT64(v) do { for (int i_ = 0; i_ < 8; i_++) buf[i_] = (uint8_t) ((v) >> (56 - 8 * i_)); \
                      sha256_update(&ctx, 8, buf); } while (0)
    sha256_update(&ctx, 32, parent);
    PUT64(a->timestamp);
    PUT64((uint64_t) fork);
    sha256_update(&ctx, 32, a->has_prev_randao ? a->prev_randao : ops_zero32);
    sha256_update(&ctx, 20, fee);
    sha256_update(&ctx, 32, a->has_parent_beacon_block_root ? a->parent_beacon_block_root : ops_zero32);
    PUT64((uint64_t) a->n_withdrawals);
    for (size_t i = 0; i < a->n_withdrawals; i++) {
        PUT64(a->withdrawals[i].index);
        PUT64(a->withdrawals[i].validator_index);
        sha256_update(&ctx, 20, a->withdrawals[i].address);
        PUT64(a->withdrawals[i].amount);
    }
#undef PUT64
    sha256_digest(&ctx, 32, out);
}

/*  Blob versioned hashes (EIP-4844): 0x01 then the last 31 bytes of
    sha256(commitment), from getPayload's blobsBundle. */
static json_t *versioned_hashes(json_t *bundle)
{
    json_t *out = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(bundle, "commitments"), i, c) {
        uint8_t *bytes = NULL;
        size_t len = 0;
        if (hex_decode_alloc(json_string_value(c), &bytes, &len) != 0)
            continue;
        uint8_t h[32];
        struct sha256_ctx ctx;
        sha256_init(&ctx);
        sha256_update(&ctx, len, bytes);
        sha256_digest(&ctx, 32, h);
        h[0] = 0x01;
        json_array_append_new(out, el_json_hex(h, 32));
        free(bytes);
    }
    return out;
}

static void build_remember(req_t *req, json_t *payload_json, json_t *requests_json,
                           json_t *blobs_bundle)
{
    proto_build_block_args_t *a = req->args;
    proto_build_block_result_t *r = req->result;
    const build_state_t *st = &req->st.build;
    payload_entry_t *e = calloc(1, sizeof *e);
    if (!e)
        return;
    memcpy(e->payload_id, r->payload_id, 8);
    memcpy(e->attrs_key, st->key, 32);
    memcpy(e->block_hash, r->payload.block_hash, 32);
    memcpy(e->parent_hash, r->payload.parent_hash, 32);
    e->fork = st->fork;
    e->has_parent_beacon_block_root = e->fork >= FORK_CANCUN;
    memcpy(e->parent_beacon_block_root,
           a->has_parent_beacon_block_root ? a->parent_beacon_block_root : ops_zero32, 32);
    proto_copy(req->op->result, &e->built, r);
    /* newPayload gets back the client's own values, but only the members
       of the spec's ExecutionPayload: getPayload answers may carry more */
    e->payload_json = el_json_payload_spec(payload_json, e->fork >= FORK_CANCUN ? 3 : 2);
    e->requests_json = json_incref(requests_json);
    e->versioned_json = e->fork >= FORK_CANCUN ? versioned_hashes(blobs_bundle) : NULL;
    proto_writer_t w;
    proto_writer_init(&w);
    proto_encode(&proto_payload_schema, &r->payload, &w.pk);
    e->encoded = malloc(w.sbuf.size);
    if (e->encoded) {
        memcpy(e->encoded, w.sbuf.data, w.sbuf.size);
        e->encoded_len = w.sbuf.size;
    }
    proto_writer_release(&w);
    payload_cache_put(engine_payload_cache(req->engine), e, clock_mono_ms());
}

static void build_count(req_t *req, const proto_build_block_result_t *r)
{
    metrics_t *m = engine_metrics(req->engine);
    ops_count(req, "alys_engine_blocks_built_total");
    metrics_observe(m, "alys_engine_built_block_gas_used", NULL, (double) r->payload.gas_used);
    metrics_observe(m, "alys_engine_built_block_transactions", NULL, (double) r->payload.n_transactions);
    metrics_observe(m, "alys_engine_built_block_withdrawals", NULL, (double) r->payload.n_withdrawals);
    double value = 0;
    for (int i = 0; i < 32; i++)
        value = value * 256 + r->block_value[i];
    metrics_add(m, "alys_engine_built_block_value_wei_total", NULL, value);
}

static void build_send_fcu(req_t *req);

/*  The client dropped the cached build: start a new one. */
static bool build_on_payload_failed(req_t *req, el_response_t *resp)
{
    if (!req->st.build.cached || resp->err != PROTO_EL_ERROR || !resp->has_el_code
        || !client_profile_unknown_payload(engine_profile(req->engine), resp->el_code))
        return false;
    req->st.build.cached = false;
    build_send_fcu(req);
    return true;
}

static void build_on_payload(req_t *req, el_response_t *resp)
{
    build_state_t *st = &req->st.build;
    proto_build_block_result_t *r = req_result(req);
    proto_free(&proto_payload_schema, &r->payload);
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
    json_t *requests = json_object_get(resp->result, "executionRequests");
    if (st->fork >= FORK_PRAGUE && requests) {
        /* a missing executionRequests (EthereumJS when empty) reads as [] */
        proto_build_block_result_t tmp = {0};
        json_t *wrap = json_pack("{s:O}", "executionRequests", requests);
        int rc = el_json_decode(req->op->result, wrap, &tmp, err, sizeof err);
        json_decref(wrap);
        if (rc != 0) {
            engine_reply_error(req, PROTO_EL_ERROR, "getPayload answer: %s", err);
            return;
        }
        r->execution_requests = tmp.execution_requests;
        r->n_execution_requests = tmp.n_execution_requests;
        tmp.execution_requests = NULL;
        tmp.n_execution_requests = 0;
        proto_free(req->op->result, &tmp);
    }
    if (memcmp(r->payload.parent_hash, st->parent, 32) != 0) {
        engine_reply_error(req, PROTO_EL_ERROR,
                           "execution client built on a different parent than requested");
        return;
    }
    json_t *reqs_json = st->fork >= FORK_PRAGUE ? (requests ? json_incref(requests) : json_array()) : NULL;
    build_remember(req, payload, reqs_json, json_object_get(resp->result, "blobsBundle"));
    json_decref(reqs_json);
    build_count(req, r);
    char h[67];
    log_info("built block %llu %s (%s) with %zu transactions and %zu withdrawals%s",
             (unsigned long long) r->payload.block_number, hex_encode(r->payload.block_hash, 32, h),
             fork_name((fork_t) st->fork), r->payload.n_transactions, r->payload.n_withdrawals,
             st->cached ? " (payload id reused)" : "");
    engine_reply_ok(req, r);
}

static void build_get_payload(req_t *req)
{
    proto_build_block_result_t *r = req->result;
    engine_call_or(req, EL_ENGINE, fork_get_payload_method((fork_t) req->st.build.fork),
                   json_pack("[o]", el_json_hex(r->payload_id, 8)), build_on_payload,
                   build_on_payload_failed);
}

/*  The refusal kept in the build state is the reply. */
static void build_reply_refusal(req_t *req)
{
    el_response_t *orig = &req->st.build.refusal;
    if (orig->err == PROTO_EL_ERROR && orig->has_el_code)
        orig->err = fork_choice_map_el_code(orig->el_code);
    engine_reply_el_error(req, orig);
}

/*  After the client refused a build on a parent other than the head: the
    fork-choice part of a forkchoiceUpdated stands even when its payload
    attributes are refused, so the client may have moved its head to the
    parent. The actor's head follows what the client did, then the refusal
    is the reply. */
static void build_on_latest_after_refusal(req_t *req, el_response_t *resp)
{
    const build_state_t *st = &req->st.build;
    uint8_t latest[32];
    if (json_is_object(resp->result)
        && el_json_fixed(json_object_get(resp->result, "hash"), latest, 32) == 0
        && memcmp(latest, st->parent, 32) == 0 && memcmp(ops_view(req)->head, st->parent, 32) != 0) {
        char h[67];
        log_info("the execution client refused the payload attributes but moved its head to the "
                 "parent %s: following it",
                 hex_encode(st->parent, 32, h));
        fc_build_on(ops_fc(req), st->parent);
    }
    build_reply_refusal(req);
}

static bool build_on_latest_failed(req_t *req, el_response_t *resp)
{
    build_reply_refusal(req);
    return true;
}

/*  A refusal of a build on a parent other than the head: see where the
    client's head is now before replying. */
static bool build_on_fcu_failed(req_t *req, el_response_t *resp)
{
    build_state_t *st = &req->st.build;
    if (resp->err != PROTO_EL_ERROR || !resp->has_el_code
        || memcmp(st->parent, ops_view(req)->head, 32) == 0)
        return false;
    st->refusal = *resp;
    st->refusal.result = st->refusal.member_errors = NULL;
    st->refusal.body = NULL;
    st->refusal.body_len = 0;
    engine_call_or(req, EL_RPC, "eth_getBlockByNumber", json_pack("[s,b]", "latest", 0),
                   build_on_latest_after_refusal, build_on_latest_failed);
    return true;
}

static void build_on_fcu(req_t *req, el_response_t *resp)
{
    build_state_t *st = &req->st.build;
    json_t *status = json_object_get(resp->result, "payloadStatus");
    if (ops_reimport_head(req, status, st->parent, build_send_fcu))
        return;
    if (ops_status_rejected(req, status, st->parent, false, "forkchoiceUpdated to the parent"))
        return;
    /* building on a parent makes it the client's head */
    fc_build_on(ops_fc(req), st->parent);
    json_t *pid = json_object_get(resp->result, "payloadId");
    proto_build_block_result_t *r = req_result(req);
    if (!json_is_string(pid)) {
        engine_reply_error(req, PROTO_PAYLOAD_ID_UNAVAILABLE,
                           "execution client started no payload build (payloadId is null)");
        return;
    }
    if (!r || el_json_fixed(pid, r->payload_id, 8) != 0) {
        engine_reply_error(req, PROTO_EL_ERROR, "execution client returned a malformed payloadId");
        return;
    }
    build_get_payload(req);
}

static void build_send_fcu(req_t *req)
{
    engine_t *e = req->engine;
    proto_build_block_args_t *a = req->args;
    const build_state_t *st = &req->st.build;
    json_t *wds = json_array();
    for (size_t i = 0; i < a->n_withdrawals; i++)
        json_array_append_new(wds, el_json_encode(&proto_withdrawal_schema, &a->withdrawals[i]));
    json_t *attrs = json_pack("{s:o,s:o,s:o,s:o}", "timestamp", el_json_qty(a->timestamp),
                              "prevRandao",
                              el_json_hex(a->has_prev_randao ? a->prev_randao : ops_zero32, 32),
                              "suggestedFeeRecipient",
                              el_json_hex(a->has_fee_recipient ? a->fee_recipient
                                                               : engine_config(e)->fee_recipient,
                                          20),
                              "withdrawals", wds);
    if (st->fork >= FORK_CANCUN)
        json_object_set_new(attrs, "parentBeaconBlockRoot",
                            el_json_hex(a->has_parent_beacon_block_root ? a->parent_beacon_block_root
                                                                        : ops_zero32,
                                        32));
    json_t *params = fc_fcu_params(ops_fc(req), st->parent);
    json_array_set_new(params, 1, attrs);
    engine_call_or(req, EL_ENGINE, fork_fcu_method((fork_t) st->fork), params, build_on_fcu,
                   build_on_fcu_failed);
}

static void build_on_parent(req_t *req, el_response_t *resp)
{
    const fork_choice_t *fc = ops_view(req);
    uint64_t number;
    if (!json_is_object(resp->result)
        || el_json_quantity(json_object_get(resp->result, "number"), &number) != 0) {
        build_send_fcu(req); /* unknown parents are the client's to judge (SYNCING) */
        return;
    }
    if (number <= fc->finalized_number) {
        engine_reply_error(req, PROTO_FINALIZED_CONFLICT,
                           "parent block %llu is at or below the finalized block %llu: building on it "
                           "would revert finalized blocks",
                           (unsigned long long) number, (unsigned long long) fc->finalized_number);
        return;
    }
    fc_check_descends(req, req->st.build.parent, number, fc->finalized, fc->finalized_number,
                      "the parent", build_send_fcu);
}

void op_build_block(req_t *req)
{
    engine_t *e = req->engine;
    proto_build_block_args_t *a = req->args;
    const fork_choice_t *fc = ops_view(req);
    build_state_t *st = &req->st.build;
    memcpy(st->parent, a->has_parent ? a->parent : fc->head, 32);
    st->fork = (int) fork_at(engine_schedule(e), a->timestamp);
    attrs_key(a, st->parent, a->has_fee_recipient ? a->fee_recipient : engine_config(e)->fee_recipient,
              st->fork, st->key);
    if (memcmp(st->parent, fc->head, 32) != 0 && fc->has_finalized
        && memcmp(st->parent, fc->finalized, 32) != 0) {
        /* a parent other than the head: it may not be at or below finality */
        engine_call(req, EL_RPC, "eth_getBlockByHash",
                    json_pack("[o,b]", el_json_hex(st->parent, 32), 0), build_on_parent);
        return;
    }
    payload_entry_t *hit = payload_cache_by_attrs(engine_payload_cache(e), st->key, clock_mono_ms());
    /* a client that drops a build once fetched gets a new one instead */
    if (hit && memcmp(fc->head, st->parent, 32) == 0 && engine_profile(e)->keeps_payload_after_get) {
        /* same attributes on the same head: the build already runs */
        proto_build_block_result_t *r = req_result(req);
        if (!r) {
            engine_reply_error(req, PROTO_INTERNAL, "out of memory");
            return;
        }
        memcpy(r->payload_id, hit->payload_id, 8);
        st->cached = true;
        build_get_payload(req);
        return;
    }
    build_send_fcu(req);
}

