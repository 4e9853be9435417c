/*  The op handlers. Each is a small state machine: a start function that
    issues an execution-client call and continuations that run when its
    answer arrives. Every path ends in exactly one engine_reply_*.

    Mutations run only once the fork choice is known (the engine's lane
    waits for its recovery), one at a time, so they read and write
    engine_fork_choice() freely. */
#include <nettle/sha2.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "alys_config.h"
#include "block_hash.h"
#include "clock.h"
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

/*  Replies EL_ERROR with the code and message of a lenient batch member's
    JSON-RPC error object. */
static void reply_member_error(req_t *req, json_t *error)
{
    json_t *code = json_object_get(error, "code");
    const char *msg = json_string_value(json_object_get(error, "message"));
    el_response_t e = {.err = PROTO_EL_ERROR, .has_el_code = json_is_integer(code),
                       .el_code = json_integer_value(code)};
    snprintf(e.message, sizeof e.message, "execution client error %lld: %s", (long long) e.el_code,
             msg ? msg : "(no message)");
    engine_reply_el_error(req, &e);
}

static void *alloc_result(req_t *req)
{
    if (!req->result)
        req->result = calloc(1, req->op->result->size);
    return req->result;
}

static char *hexs(const uint8_t *b, size_t n, char *buf) { return hex_encode(b, n, buf); }

/*  [ForkchoiceState, null] for a new head with the current safe and
    finalized. The spec's second parameter is not optional: absent payload
    attributes are an explicit null (as Lighthouse and Lodestar send it), and
    strict clients (Geth) reject a one-element array. */
static json_t *fcu_params(engine_t *e, const uint8_t head[32])
{
    fork_choice_t *fc = engine_fork_choice(e);
    return json_pack("[o,n]", fork_choice_state_json(head, fc->has_safe, fc->safe, fc->has_finalized,
                                                     fc->finalized));
}

static void set_head(req_t *req, const uint8_t head[32])
{
    fork_choice_t *fc = engine_fork_choice(req->engine);
    memcpy(fc->head, head, 32);
    fc->has_head = true;
    engine_fc_changed(req->engine);
}

/*  A block selector as the client's JSON-RPC takes it. `pending` means
    `latest` (PROTOCOL.md): Alys blocks are built by build_block, so no
    client has a pending block worth asking for, clients answer the tag
    differently (EthereumJS refuses it in eth_getLogs, Geth serves a block
    of its own), and the spec's log filter does not allow it. */
static json_t *selector_json(const proto_selector_t *sel)
{
    switch (sel->kind) {
    case PROTO_SEL_HASH: return el_json_hex(sel->hash, 32);
    case PROTO_SEL_NUMBER: return el_json_qty(sel->number);
    default: return json_string(strcmp(sel->tag, "pending") == 0 ? "latest" : sel->tag);
    }
}

static json_t *selector_params(const proto_selector_t *sel, bool full, const char **method)
{
    *method = sel->kind == PROTO_SEL_HASH ? "eth_getBlockByHash" : "eth_getBlockByNumber";
    return json_pack("[o,b]", selector_json(sel), full);
}

static const char *selector_text(const proto_selector_t *sel, char *buf, size_t n)
{
    switch (sel->kind) {
    case PROTO_SEL_HASH: return hex_encode(sel->hash, 32, buf);
    case PROTO_SEL_NUMBER: snprintf(buf, n, "number %llu", (unsigned long long) sel->number); return buf;
    default: return sel->tag;
    }
}

static void count(req_t *req, const char *family)
{
    metrics_add(engine_metrics(req->engine), family, NULL, 1);
}

/*  Reads a PayloadStatus and replies on anything but VALID. */
static bool status_rejected(req_t *req, json_t *status, const uint8_t *expect, bool for_payload,
                            const char *what)
{
    const char *s = json_string_value(json_object_get(status, "status"));
    char labels[128];
    snprintf(labels, sizeof labels, "method=\"%s\",status=\"%s\"",
             for_payload ? "newPayload" : "forkchoiceUpdated", s ? s : "missing");
    metrics_add(engine_metrics(req->engine), "alys_engine_payload_status_total", labels, 1);
    char msg[256];
    bool syncing;
    proto_err_t err = fork_choice_read_status(status, expect, for_payload, msg, sizeof msg, &syncing);
    if (err == PROTO_OK)
        return false;
    engine_reply_error(req, err, "%s: %s", what, msg);
    return true;
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
    r.has_actor = true;
    engine_stats(e, &r.actor);
    r.has_fork = true;
    r.fork = (char *) fork_name(fork_at(engine_schedule(e), (uint64_t) time(NULL)));
    engine_reply_ok(req, req->op->result, &r);
}

/* ----------------------------------------------------------- build_block */

/*  Build state kept in req->scratch: {"fork": n, "key": hex, "cached": bool}. */

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
    sha256_update(&ctx, 32, a->has_prev_randao ? a->prev_randao : s_zero32);
    sha256_update(&ctx, 20, fee);
    sha256_update(&ctx, 32, a->has_parent_beacon_block_root ? a->parent_beacon_block_root : s_zero32);
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

static int build_fork(req_t *req) { return (int) json_integer_value(json_object_get(req->scratch, "fork")); }

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
    payload_entry_t *e = calloc(1, sizeof *e);
    if (!e)
        return;
    memcpy(e->payload_id, r->payload_id, 8);
    hex_decode_fixed(json_string_value(json_object_get(req->scratch, "key")), e->attrs_key, 32);
    memcpy(e->block_hash, r->payload.block_hash, 32);
    memcpy(e->parent_hash, r->payload.parent_hash, 32);
    e->fork = build_fork(req);
    e->has_parent_beacon_block_root = e->fork >= FORK_CANCUN;
    memcpy(e->parent_beacon_block_root,
           a->has_parent_beacon_block_root ? a->parent_beacon_block_root : s_zero32, 32);
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

static void build_send_fcu(req_t *req);
static bool reimport_head(req_t *req, json_t *status, const uint8_t head[32], op_fn *retry);
static void check_descends(req_t *req, const uint8_t x[32], uint64_t xn, const uint8_t t[32],
                           uint64_t tn, const char *what, op_fn *next);

static void build_on_payload(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    engine_t *e = req->engine;
    bool cached = json_is_true(json_object_get(req->scratch, "cached"));
    if (cached && resp->err == PROTO_EL_ERROR && resp->has_el_code
        && client_profile_unknown_payload(engine_profile(e), resp->el_code)) {
        /* the client dropped that build: start a new one */
        json_object_set_new(req->scratch, "cached", json_false());
        build_send_fcu(req);
        return;
    }
    if (failed(req, resp, false))
        return;
    proto_build_block_result_t *r = alloc_result(req);
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
    if (build_fork(req) >= FORK_PRAGUE && requests) {
        /* a missing executionRequests (EthereumJS when empty) reads as [] */
        proto_build_block_result_t tmp = {0};
        json_t *wrap = json_pack("{s:O}", "executionRequests", requests);
        if (el_json_decode(req->op->result, wrap, &tmp, err, sizeof err) != 0) {
            json_decref(wrap);
            engine_reply_error(req, PROTO_EL_ERROR, "getPayload answer: %s", err);
            return;
        }
        json_decref(wrap);
        r->execution_requests = tmp.execution_requests;
        r->n_execution_requests = tmp.n_execution_requests;
        tmp.execution_requests = NULL;
        tmp.n_execution_requests = 0;
        proto_free(req->op->result, &tmp);
    }
    if (memcmp(r->payload.parent_hash, req->hash, 32) != 0) {
        engine_reply_error(req, PROTO_EL_ERROR,
                           "execution client built on a different parent than requested");
        return;
    }
    json_t *reqs_json = build_fork(req) >= FORK_PRAGUE ? (requests ? json_incref(requests) : json_array()) : NULL;
    build_remember(req, payload, reqs_json, json_object_get(resp->result, "blobsBundle"));
    json_decref(reqs_json);
    metrics_t *m = engine_metrics(req->engine);
    count(req, "alys_engine_blocks_built_total");
    metrics_observe(m, "alys_engine_built_block_gas_used", NULL, (double) r->payload.gas_used);
    metrics_observe(m, "alys_engine_built_block_transactions", NULL, (double) r->payload.n_transactions);
    metrics_observe(m, "alys_engine_built_block_withdrawals", NULL, (double) r->payload.n_withdrawals);
    double value = 0;
    for (int i = 0; i < 32; i++)
        value = value * 256 + r->block_value[i];
    metrics_add(m, "alys_engine_built_block_value_wei_total", NULL, value);
    char h[67];
    log_info("built block %llu %s (%s) with %zu transactions and %zu withdrawals%s",
             (unsigned long long) r->payload.block_number, hexs(r->payload.block_hash, 32, h),
             fork_name((fork_t) build_fork(req)), r->payload.n_transactions,
             r->payload.n_withdrawals, cached ? " (payload id reused)" : "");
    engine_reply_ok(req, req->op->result, r);
}

static void build_get_payload(req_t *req)
{
    proto_build_block_result_t *r = req->result;
    engine_call(req, EL_ENGINE, fork_get_payload_method((fork_t) build_fork(req)),
                json_pack("[o]", el_json_hex(r->payload_id, 8)), build_on_payload);
}

/*  After the client refused a build on a parent other than the head: the
    fork-choice part of a forkchoiceUpdated stands even when its payload
    attributes are refused, so the client may have moved its head to the
    parent. The actor's head follows what the client did, then the refusal
    (kept in scratch) is the reply. */
static void build_on_latest_after_refusal(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    engine_note_el_result(req->engine, resp);
    uint8_t latest[32];
    const fork_choice_t *fc = engine_fork_choice(req->engine);
    if (resp->err == PROTO_OK && json_is_object(resp->result)
        && el_json_fixed(json_object_get(resp->result, "hash"), latest, 32) == 0
        && memcmp(latest, req->hash, 32) == 0 && memcmp(fc->head, req->hash, 32) != 0) {
        char h[67];
        log_info("the execution client refused the payload attributes but moved its head to the "
                 "parent %s: following it",
                 hexs(req->hash, 32, h));
        set_head(req, req->hash);
    }
    json_t *refusal = json_object_get(req->scratch, "refusal");
    el_response_t orig = {.err = (proto_err_t) json_integer_value(json_object_get(refusal, "err")),
                          .has_el_code = json_is_integer(json_object_get(refusal, "code")),
                          .el_code = json_integer_value(json_object_get(refusal, "code"))};
    snprintf(orig.message, sizeof orig.message, "%s",
             json_string_value(json_object_get(refusal, "message")) ?: "");
    failed(req, &orig, true);
}

static void build_on_fcu(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (resp->err == PROTO_EL_ERROR && resp->has_el_code
        && memcmp(req->hash, engine_fork_choice(req->engine)->head, 32) != 0) {
        /* the client answered with an error: see where its head is now */
        engine_note_el_result(req->engine, resp);
        json_object_set_new(req->scratch, "refusal",
                            json_pack("{s:i,s:I,s:s}", "err", (int) resp->err, "code",
                                      (json_int_t) resp->el_code, "message", resp->message));
        engine_call(req, EL_RPC, "eth_getBlockByNumber", json_pack("[s,b]", "latest", 0),
                    build_on_latest_after_refusal);
        return;
    }
    if (failed(req, resp, true))
        return;
    if (reimport_head(req, json_object_get(resp->result, "payloadStatus"), req->hash,
                      build_send_fcu))
        return;
    if (status_rejected(req, json_object_get(resp->result, "payloadStatus"), req->hash, false,
                        "forkchoiceUpdated to the parent"))
        return;
    /* building on a parent makes it the client's head */
    set_head(req, req->hash);
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
    build_get_payload(req);
}

static void build_send_fcu(req_t *req)
{
    engine_t *e = req->engine;
    proto_build_block_args_t *a = req->args;
    int fork = build_fork(req);
    json_t *wds = json_array();
    for (size_t i = 0; i < a->n_withdrawals; i++)
        json_array_append_new(wds, el_json_encode(&proto_withdrawal_schema, &a->withdrawals[i]));
    json_t *attrs = json_pack("{s:o,s:o,s:o,s:o}", "timestamp", el_json_qty(a->timestamp),
                              "prevRandao",
                              el_json_hex(a->has_prev_randao ? a->prev_randao : s_zero32, 32),
                              "suggestedFeeRecipient",
                              el_json_hex(a->has_fee_recipient ? a->fee_recipient
                                                               : engine_config(e)->fee_recipient,
                                          20),
                              "withdrawals", wds);
    if (fork >= FORK_CANCUN)
        json_object_set_new(attrs, "parentBeaconBlockRoot",
                            el_json_hex(a->has_parent_beacon_block_root ? a->parent_beacon_block_root
                                                                        : s_zero32,
                                        32));
    json_t *params = fcu_params(e, req->hash);
    json_array_set_new(params, 1, attrs);
    engine_call(req, EL_ENGINE, fork_fcu_method((fork_t) fork), params, build_on_fcu);
}

static void build_on_parent(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, false))
        return;
    const fork_choice_t *fc = engine_fork_choice(req->engine);
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
    check_descends(req, req->hash, number, fc->finalized, fc->finalized_number, "the parent",
                   build_send_fcu);
}

static void op_build_block(req_t *req)
{
    engine_t *e = req->engine;
    proto_build_block_args_t *a = req->args;
    const fork_choice_t *fc = engine_fork_choice(e);
    if (engine_el_state(e) == EL_STATE_SYNCING) {
        engine_reply_error(req, PROTO_EL_SYNCING,
                           "the execution client is syncing: it cannot build blocks yet");
        return;
    }
    memcpy(req->hash, a->has_parent ? a->parent : fc->head, 32);
    int fork = (int) fork_at(engine_schedule(e), a->timestamp);
    uint8_t key[32];
    attrs_key(a, req->hash, a->has_fee_recipient ? a->fee_recipient : engine_config(e)->fee_recipient,
              fork, key);
    char keyhex[67];
    req->scratch = json_pack("{s:i,s:s,s:b}", "fork", fork, "key", hex_encode(key, 32, keyhex),
                             "cached", 0);
    if (memcmp(req->hash, fc->head, 32) != 0 && fc->has_finalized
        && memcmp(req->hash, fc->finalized, 32) != 0) {
        /* a parent other than the head: it may not be at or below finality */
        engine_call(req, EL_RPC, "eth_getBlockByHash",
                    json_pack("[o,b]", el_json_hex(req->hash, 32), 0), build_on_parent);
        return;
    }
    payload_entry_t *hit = payload_cache_by_attrs(engine_payload_cache(e), key, clock_mono_ms());
    /* a client that drops a build once fetched gets a new one instead */
    if (hit && memcmp(fc->head, req->hash, 32) == 0 && engine_profile(e)->keeps_payload_after_get) {
        /* same attributes on the same head: the build already runs */
        proto_build_block_result_t *r = alloc_result(req);
        memcpy(r->payload_id, hit->payload_id, 8);
        json_object_set_new(req->scratch, "cached", json_true());
        build_get_payload(req);
        return;
    }
    build_send_fcu(req);
}

/* ------------------------------------------- commit_block, validate_payload */

/*  Everything newPayload needs beside the payload. A payload this actor built
    brings its own (from the payload cache), else the request's. */
typedef struct {
    int fork;
    json_t *payload;        /* new reference */
    uint8_t pbbr[32];
    json_t *versioned;      /* new reference */
    json_t *requests;       /* new reference or NULL */
    bool from_cache;
} np_input_t;

static int np_input(req_t *req, np_input_t *in)
{
    proto_payload_args_t *a = req->args;
    engine_t *e = req->engine;
    memset(in, 0, sizeof *in);
    in->fork = (int) fork_at(engine_schedule(e), a->payload.timestamp);
    payload_entry_t *hit = payload_cache_by_hash(engine_payload_cache(e), a->payload.block_hash,
                                                 clock_mono_ms());
    if (hit && hit->encoded) {
        proto_writer_t w;
        proto_writer_init(&w);
        proto_encode(&proto_payload_schema, &a->payload, &w.pk);
        bool same = w.sbuf.size == hit->encoded_len && memcmp(w.sbuf.data, hit->encoded, w.sbuf.size) == 0;
        proto_writer_release(&w);
        if (same && hit->fork == in->fork) {
            in->payload = json_incref(hit->payload_json);
            memcpy(in->pbbr, hit->parent_beacon_block_root, 32);
            in->requests = hit->requests_json ? json_incref(hit->requests_json) : NULL;
            in->versioned = hit->versioned_json ? json_incref(hit->versioned_json) : NULL;
            in->from_cache = true;
        }
    }
    if (!in->payload) {
        in->payload = el_json_encode(&proto_payload_schema, &a->payload);
        if (a->has_parent_beacon_block_root)
            memcpy(in->pbbr, a->parent_beacon_block_root, 32);
        if (in->fork >= FORK_PRAGUE) {
            in->requests = json_array();
            for (size_t i = 0; i < a->n_execution_requests; i++)
                json_array_append_new(in->requests, el_json_hex(a->execution_requests[i].data,
                                                                a->execution_requests[i].len));
        }
    }
    /* an explicit root from the request wins over the remembered one */
    if (a->has_parent_beacon_block_root)
        memcpy(in->pbbr, a->parent_beacon_block_root, 32);
    if (in->versioned && a->n_versioned_hashes == 0)
        return 0; /* remembered from the build */
    json_decref(in->versioned);
    in->versioned = json_array();
    for (size_t i = 0; i < a->n_versioned_hashes; i++)
        json_array_append_new(in->versioned, el_json_hex(a->versioned_hashes[i], 32));
    return 0;
}

static void np_input_release(np_input_t *in)
{
    json_decref(in->payload);
    json_decref(in->versioned);
    json_decref(in->requests);
}

/*  Checks that need no execution client, including the block hash. Replies
    INVALID_PAYLOAD and returns -1 on a failure. */
static int check_payload(req_t *req, const np_input_t *in)
{
    proto_payload_args_t *a = req->args;
    const proto_payload_t *p = &a->payload;
    char why[256];
    if (payload_check_fields(p, (fork_t) in->fork, 0, why, sizeof why) != 0) {
        engine_reply_error(req, PROTO_INVALID_PAYLOAD, "%s", why);
        return -1;
    }
    block_hash_extra_t extra = {.fork = in->fork};
    memcpy(extra.parent_beacon_block_root, in->pbbr, 32);
    proto_data_t *reqs = NULL;
    size_t n_reqs = 0;
    if (in->fork >= FORK_PRAGUE) {
        n_reqs = json_array_size(in->requests);
        reqs = calloc(n_reqs ? n_reqs : 1, sizeof *reqs);
        for (size_t i = 0; reqs && i < n_reqs; i++)
            hex_decode_alloc(json_string_value(json_array_get(in->requests, i)), &reqs[i].data,
                             &reqs[i].len);
        extra.requests = reqs;
        extra.n_requests = n_reqs;
    }
    int rc = block_hash_verify(p, &extra, why, sizeof why);
    for (size_t i = 0; reqs && i < n_reqs; i++)
        free(reqs[i].data);
    free(reqs);
    if (rc != 0) {
        engine_reply_error(req, PROTO_INVALID_PAYLOAD, "%s", why);
        return -1;
    }
    return 0;
}

static void send_new_payload(req_t *req, np_input_t *in, el_callback_fn *cb)
{
    json_t *params = json_pack("[O]", in->payload);
    if (in->fork >= FORK_CANCUN) {
        json_array_append(params, in->versioned);
        json_array_append_new(params, el_json_hex(in->pbbr, 32));
    }
    if (in->fork >= FORK_PRAGUE)
        json_array_append_new(params, in->requests ? json_incref(in->requests) : json_array());
    req->scratch = json_pack("{s:i}", "fork", in->fork);
    engine_call(req, EL_ENGINE, fork_new_payload_method((fork_t) in->fork), params, cb);
}

/* ------------------------------------------ re-import after a client restart */

static void on_reimported(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, false))
        return;
    if (status_rejected(req, resp->result, NULL, true, "newPayload of the head again"))
        return;
    req->resume(req);
}

/*  A client that restarted may answer SYNCING for a head it had imported:
    EthereumJS does for a head that a reorg made canonical before its
    restart, though that block is still its latest. When the head is a block
    this actor built and still holds, it goes to the client again
    (newPayload) and `retry` runs once it is VALID; once per request. Returns
    true when that started (the request continues there). */
static bool reimport_head(req_t *req, json_t *status, const uint8_t head[32], op_fn *retry)
{
    const char *st = json_string_value(json_object_get(status, "status"));
    if (!st || strcmp(st, "SYNCING") != 0 || req->attempts > 0 || engine_aborting(req->engine))
        return false;
    payload_entry_t *e = payload_cache_by_hash(engine_payload_cache(req->engine), head, clock_mono_ms());
    if (!e || !e->payload_json)
        return false;
    char h[67];
    log_warn("the execution client answered SYNCING for block %s, which it had imported (did it "
             "restart?): importing it again",
             hexs(head, 32, h));
    req->attempts++;
    req->resume = retry;
    np_input_t in = {.fork = e->fork,
                     .payload = json_incref(e->payload_json),
                     .versioned = e->versioned_json ? json_incref(e->versioned_json) : json_array(),
                     .requests = e->requests_json ? json_incref(e->requests_json) : NULL};
    memcpy(in.pbbr, e->parent_beacon_block_root, 32);
    json_t *keep = req->scratch; /* send_new_payload uses scratch for the fork */
    req->scratch = NULL;
    send_new_payload(req, &in, on_reimported);
    json_decref(req->scratch);
    req->scratch = keep;
    np_input_release(&in);
    return true;
}

static void commit_on_fcu(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, true))
        return;
    if (status_rejected(req, json_object_get(resp->result, "payloadStatus"), req->hash, false,
                        "forkchoiceUpdated to the new block"))
        return;
    set_head(req, req->hash);
    /* numbers at and above this block may have named other blocks before */
    block_cache_cut_numbers(engine_block_cache(req->engine), req->number);
    proto_block_hash_t r;
    memcpy(r.block_hash, req->hash, 32);
    char h[67];
    log_info("committed block %llu %s", (unsigned long long) req->number, hexs(req->hash, 32, h));
    count(req, "alys_engine_blocks_committed_total");
    engine_reply_ok(req, req->op->result, &r);
}

static void commit_on_new_payload(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, false))
        return;
    if (status_rejected(req, resp->result, req->hash, true, "newPayload"))
        return;
    int fork = (int) json_integer_value(json_object_get(req->scratch, "fork"));
    engine_call(req, EL_ENGINE, fork_fcu_method((fork_t) fork), fcu_params(req->engine, req->hash),
                commit_on_fcu);
}

static void op_commit_block(req_t *req)
{
    proto_payload_args_t *a = req->args;
    memcpy(req->hash, a->payload.block_hash, 32);
    req->number = a->payload.block_number;
    np_input_t in;
    np_input(req, &in);
    /* a payload we built was checked by the client that built it */
    if (in.from_cache || check_payload(req, &in) == 0)
        send_new_payload(req, &in, commit_on_new_payload);
    np_input_release(&in);
}

static void validate_on_new_payload(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, false))
        return;
    if (status_rejected(req, resp->result, req->hash, true, "newPayload"))
        return;
    proto_status_only_t r = {.status = "VALID"};
    engine_reply_ok(req, req->op->result, &r);
}

static void op_validate_payload(req_t *req)
{
    proto_payload_args_t *a = req->args;
    memcpy(req->hash, a->payload.block_hash, 32);
    np_input_t in;
    np_input(req, &in);
    if (check_payload(req, &in) == 0)
        send_new_payload(req, &in, validate_on_new_payload);
    np_input_release(&in);
}

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

static const char *fcu_for_timestamp(req_t *req, uint64_t timestamp)
{
    return fork_fcu_method(fork_at(engine_schedule(req->engine), timestamp));
}

static void finalize_on_fcu(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, true))
        return;
    fork_choice_t *fc = engine_fork_choice(req->engine);
    if (status_rejected(req, json_object_get(resp->result, "payloadStatus"), fc->head, false,
                        "forkchoiceUpdated with the new finalized block"))
        return;
    memcpy(fc->safe, req->hash, 32);
    memcpy(fc->finalized, req->hash, 32);
    fc->has_safe = fc->has_finalized = true;
    fc->finalized_number = req->number;
    engine_fc_changed(req->engine);
    char h[67];
    log_info("finalized block %llu %s", (unsigned long long) req->number, hexs(req->hash, 32, h));
    count(req, "alys_engine_blocks_finalized_total");
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
    uint64_t ts = 0;
    el_json_quantity(json_object_get(resp->result, "timestamp"), &ts);
    fork_choice_t *fc = engine_fork_choice(req->engine);
    json_t *state = fork_choice_state_json(fc->head, true, req->hash, true, req->hash);
    engine_call(req, EL_ENGINE, fcu_for_timestamp(req, (uint64_t) time(NULL) > ts ? (uint64_t) time(NULL) : ts),
                json_pack("[o,n]", state), finalize_on_fcu);
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

static void op_finalize_block(req_t *req)
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

/* ---------------------------------------------------------- revert_block */

static void revert_on_latest(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, false))
        return;
    uint8_t latest[32];
    const uint8_t *parent = req->hash;
    if (!json_is_object(resp->result)
        || el_json_fixed(json_object_get(resp->result, "hash"), latest, 32) != 0
        || memcmp(latest, parent, 32) != 0) {
        const client_profile_t *p = engine_profile(req->engine);
        engine_reply_error(req, PROTO_EL_ERROR,
                           "the execution client answered VALID but did not move its head to the "
                           "parent%s%s",
                           p->revert_note ? ": " : "", p->revert_note ? p->revert_note : "");
        return;
    }
    set_head(req, parent);
    block_cache_cut_numbers(engine_block_cache(req->engine), req->number + 1);
    char h[67];
    log_info("reverted to block %llu %s", (unsigned long long) req->number, hexs(parent, 32, h));
    count(req, "alys_engine_blocks_reverted_total");
    proto_revert_result_t r;
    memcpy(r.head, parent, 32);
    engine_reply_ok(req, req->op->result, &r);
}

static void revert_on_fcu(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, true))
        return;
    if (status_rejected(req, json_object_get(resp->result, "payloadStatus"), req->hash, false,
                        "forkchoiceUpdated to the parent"))
        return;
    engine_call(req, EL_RPC, "eth_getBlockByNumber", json_pack("[s,b]", "latest", 0),
                revert_on_latest);
}

static void revert_on_block(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, false))
        return;
    proto_block_hash_t *a = req->args;
    char h[67];
    uint64_t number, ts = 0;
    if (json_is_null(resp->result)) {
        engine_reply_error(req, PROTO_BLOCK_NOT_FOUND, "no block %s", hexs(a->block_hash, 32, h));
        return;
    }
    if (el_json_quantity(json_object_get(resp->result, "number"), &number) != 0
        || el_json_fixed(json_object_get(resp->result, "parentHash"), req->hash, 32) != 0) {
        engine_reply_error(req, PROTO_EL_ERROR, "malformed block from the execution client");
        return;
    }
    el_json_quantity(json_object_get(resp->result, "timestamp"), &ts);
    const fork_choice_t *fc = engine_fork_choice(req->engine);
    if (number == 0 || (fc->has_finalized && number <= fc->finalized_number)) {
        engine_reply_error(req, PROTO_FINALIZED_CONFLICT,
                           "block %llu is finalized or an ancestor of the finalized block %llu",
                           (unsigned long long) number, (unsigned long long) fc->finalized_number);
        return;
    }
    req->number = number - 1;
    const client_profile_t *p = engine_profile(req->engine);
    if (p->no_head_at_finalized && fc->has_finalized && memcmp(req->hash, fc->finalized, 32) == 0) {
        /* refused before the call: the client would answer VALID and then
           keep (or later restore) the old head */
        engine_reply_error(req, PROTO_FINALIZED_CONFLICT,
                           "reverting block %llu would make the finalized block %llu the head: %s",
                           (unsigned long long) number, (unsigned long long) req->number,
                           p->no_head_at_finalized);
        return;
    }
    engine_call(req, EL_ENGINE, fcu_for_timestamp(req, ts), fcu_params(req->engine, req->hash),
                revert_on_fcu);
}

static void op_revert_block(req_t *req)
{
    proto_block_hash_t *a = req->args;
    engine_call(req, EL_RPC, "eth_getBlockByHash",
                json_pack("[o,b]", el_json_hex(a->block_hash, 32), 0), revert_on_block);
}

/* ----------------------------------------------------- update_forkchoice */

static void ufc_send(req_t *req);

static void ufc_on_fcu(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, true))
        return;
    proto_update_fc_args_t *a = req->args;
    fork_choice_t *fc = engine_fork_choice(req->engine);
    if (reimport_head(req, json_object_get(resp->result, "payloadStatus"), a->head, ufc_send))
        return;
    char msg[256];
    bool syncing;
    proto_err_t err = fork_choice_read_status(json_object_get(resp->result, "payloadStatus"),
                                              a->head, false, msg, sizeof msg, &syncing);
    if (err != PROTO_OK && !syncing) {
        engine_reply_error(req, err, "forkchoiceUpdated: %s", msg);
        return;
    }
    if (syncing && !req->routing)
        log_warn("the execution client answered SYNCING to the re-sent fork choice: it does not "
                 "know our head; it must sync (or be given the blocks) before building works");
    proto_update_fc_result_t r = {.status = syncing ? "SYNCING" : "VALID"};
    memcpy(r.head, a->head, 32);
    memcpy(r.safe, a->has_safe ? a->safe : (fc->has_safe ? fc->safe : s_zero32), 32);
    memcpy(r.finalized, a->has_finalized ? a->finalized : (fc->has_finalized ? fc->finalized : s_zero32), 32);
    if (!syncing) {
        if (memcmp(fc->head, a->head, 32) != 0)
            block_cache_cut_numbers(engine_block_cache(req->engine), fc->finalized_number + 1);
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
        engine_fc_changed(req->engine);
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
    engine_call(req, EL_ENGINE, fcu_for_timestamp(req, (uint64_t) time(NULL)),
                json_pack("[o,n]", state), ufc_on_fcu);
}

/* ------------------------------------------------------------- ancestry */

/*  Whether block X descends from (or is) block T, answered with as few calls
    as the chain allows: when both are canonical now, yes at once; otherwise
    X's parents are followed back to T's height (at most ANCESTRY_MAX_STEPS).
    On success req->resume runs; otherwise FINALIZED_CONFLICT names `what`.
    State lives in req->scratch under "anc". */
#define ANCESTRY_MAX_STEPS 256

static void anc_fail(req_t *req, const char *why)
{
    json_t *anc = json_object_get(req->scratch, "anc");
    engine_reply_error(req, PROTO_FINALIZED_CONFLICT, "%s %s",
                       json_string_value(json_object_get(anc, "what")), why);
}

static void anc_step(void *ctx, el_response_t *resp);

static void anc_walk(req_t *req)
{
    json_t *anc = json_object_get(req->scratch, "anc");
    uint64_t xn = (uint64_t) json_integer_value(json_object_get(anc, "xn"));
    uint64_t tn = (uint64_t) json_integer_value(json_object_get(anc, "tn"));
    const char *x = json_string_value(json_object_get(anc, "x"));
    const char *t = json_string_value(json_object_get(anc, "t"));
    if (xn == tn) {
        if (strcasecmp(x, t) == 0)
            req->resume(req);
        else
            anc_fail(req, "is not a descendant of the finalized block");
        return;
    }
    json_int_t steps = json_integer_value(json_object_get(anc, "steps"));
    if (steps >= ANCESTRY_MAX_STEPS) {
        anc_fail(req, "is on a branch more than 256 blocks deep; cannot show it descends from the "
                      "finalized block");
        return;
    }
    json_object_set_new(anc, "steps", json_integer(steps + 1));
    engine_call(req, EL_RPC, "eth_getBlockByHash", json_pack("[s,b]", x, 0), anc_step);
}

static void anc_step(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, false))
        return;
    json_t *anc = json_object_get(req->scratch, "anc");
    json_t *parent = json_object_get(resp->result, "parentHash");
    if (!json_is_object(resp->result) || !json_is_string(parent)) {
        anc_fail(req, "has an ancestor the execution client does not know");
        return;
    }
    json_object_set(anc, "x", parent);
    json_object_set_new(anc, "xn", json_integer(json_integer_value(json_object_get(anc, "xn")) - 1));
    anc_walk(req);
}

static void anc_on_canonical(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, false))
        return;
    json_t *anc = json_object_get(req->scratch, "anc");
    const char *x = json_string_value(json_object_get(json_array_get(resp->result, 0), "hash"));
    const char *t = json_string_value(json_object_get(json_array_get(resp->result, 1), "hash"));
    if (x && t && strcasecmp(x, json_string_value(json_object_get(anc, "x"))) == 0
        && strcasecmp(t, json_string_value(json_object_get(anc, "t"))) == 0) {
        req->resume(req); /* both on the canonical chain: X descends from T */
        return;
    }
    anc_walk(req);
}

static void check_descends(req_t *req, const uint8_t x[32], uint64_t xn, const uint8_t t[32],
                           uint64_t tn, const char *what, op_fn *next)
{
    if (xn < tn) {
        engine_reply_error(req, PROTO_FINALIZED_CONFLICT,
                           "%s (block %llu) is below the finalized block %llu", what,
                           (unsigned long long) xn, (unsigned long long) tn);
        return;
    }
    if (!req->scratch)
        req->scratch = json_object();
    json_object_set_new(req->scratch, "anc",
                        json_pack("{s:o,s:I,s:o,s:I,s:s,s:i}", "x", el_json_hex(x, 32), "xn",
                                  (json_int_t) xn, "t", el_json_hex(t, 32), "tn", (json_int_t) tn,
                                  "what", what, "steps", 0));
    req->resume = next;
    json_t *calls = json_pack("[[s,[o,b]],[s,[o,b]]]", "eth_getBlockByNumber", el_json_qty(xn), 0,
                              "eth_getBlockByNumber", el_json_qty(tn), 0);
    engine_batch_lenient(req, EL_RPC, calls, anc_on_canonical);
}

/* ----------------------------------------------------- update_forkchoice */

/*  Finality is the actor's to keep: a new finalized block must descend from
    the current one, and the head from the finalized block. The numbers the
    checks need come from one batch of lookups; the ancestry then from as
    few calls as the chain allows (check_descends). */
static void ufc_check_head(req_t *req)
{
    proto_update_fc_args_t *a = req->args;
    const fork_choice_t *fc = engine_fork_choice(req->engine);
    json_int_t head_n = json_integer_value(json_object_get(req->scratch, "head_n"));
    bool has_final = json_is_true(json_object_get(req->scratch, "new_final")) || fc->has_finalized;
    const uint8_t *final_hash = json_is_true(json_object_get(req->scratch, "new_final")) ? a->finalized
                                                                                          : fc->finalized;
    if (head_n < 0 || !has_final) {
        ufc_send(req); /* an unknown head is the client's to judge (SYNCING) */
        return;
    }
    check_descends(req, a->head, (uint64_t) head_n, final_hash, req->number, "the head", ufc_send);
}

static void ufc_on_blocks(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, false))
        return;
    proto_update_fc_args_t *a = req->args;
    const fork_choice_t *fc = engine_fork_choice(req->engine);
    bool new_finalized = a->has_finalized && !(fc->has_finalized && memcmp(fc->finalized, a->finalized, 32) == 0);
    json_t *head = json_array_get(resp->result, 0);
    json_t *fin = json_array_get(resp->result, 1);
    char h[67];
    uint64_t head_number = 0;
    bool head_known = json_is_object(head)
                      && el_json_quantity(json_object_get(head, "number"), &head_number) == 0;
    req->number = fc->finalized_number;
    req->scratch = json_pack("{s:I,s:b}", "head_n", head_known ? (json_int_t) head_number : -1,
                             "new_final", new_finalized);
    if (new_finalized) {
        json_t *err = json_array_get(resp->member_errors, 1);
        if (json_is_object(err)) {
            reply_member_error(req, err);
            return;
        }
        if (!json_is_object(fin)) {
            if (engine_el_state(req->engine) == EL_STATE_SYNCING) {
                ufc_send(req); /* a syncing client may not have it yet: let it judge */
                return;
            }
            engine_reply_error(req, PROTO_BLOCK_NOT_FOUND, "no finalized block %s",
                               hexs(a->finalized, 32, h));
            return;
        }
        if (el_json_quantity(json_object_get(fin, "number"), &req->number) != 0) {
            engine_reply_error(req, PROTO_EL_ERROR, "block without a number");
            return;
        }
        if (fc->has_finalized) {
            if (req->number <= fc->finalized_number) {
                engine_reply_error(req, PROTO_FINALIZED_CONFLICT,
                                   "finalized block %llu is not past the current finalized block %llu",
                                   (unsigned long long) req->number,
                                   (unsigned long long) fc->finalized_number);
                return;
            }
            check_descends(req, a->finalized, req->number, fc->finalized, fc->finalized_number,
                           "the new finalized block", ufc_check_head);
            return;
        }
    }
    ufc_check_head(req);
}

static void op_update_forkchoice(req_t *req)
{
    proto_update_fc_args_t *a = req->args;
    /* safe may not lag behind finalized: a new finalized without a safe
       moves safe along with it */
    if (a->has_finalized && !a->has_safe) {
        a->has_safe = true;
        memcpy(a->safe, a->finalized, 32);
    }
    const uint8_t *fin = a->has_finalized ? a->finalized : a->head;
    json_t *calls = json_pack("[[s,[o,b]],[s,[o,b]]]", "eth_getBlockByHash", el_json_hex(a->head, 32),
                              0, "eth_getBlockByHash", el_json_hex(fin, 32), 0);
    engine_batch_lenient(req, EL_RPC, calls, ufc_on_blocks);
}

/*  The actor's own re-send: the fork choice as it is when this runs. */
void ops_resend_fork_choice(req_t *req)
{
    const fork_choice_t *fc = engine_fork_choice(req->engine);
    proto_update_fc_args_t *a = calloc(1, sizeof *a);
    if (!a) {
        engine_reply_error(req, PROTO_INTERNAL, "out of memory");
        return;
    }
    memcpy(a->head, fc->head, 32);
    a->has_safe = fc->has_safe;
    memcpy(a->safe, fc->safe, 32);
    a->has_finalized = fc->has_finalized;
    memcpy(a->finalized, fc->finalized, 32);
    req->args = a;
    req->number = fc->finalized_number;
    ufc_send(req);
}

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
    for (size_t i = 0; i < n; i++) {
        free(txs[i].raw.data);
        if (hex_decode_alloc(json_string_value(json_array_get(list, i)), &txs[i].raw.data,
                             &txs[i].raw.len) != 0) {
            txs[i].raw.data = NULL;
            engine_reply_error(req, PROTO_EL_ERROR, "malformed transaction encoding %zu", i);
            return -1;
        }
    }
    return 0;
}

static bool final_number(req_t *req, uint64_t number)
{
    const fork_choice_t *fc = engine_fork_choice(req->engine);
    return fc->has_finalized && number <= fc->finalized_number;
}

static void get_block_done(req_t *req)
{
    proto_get_block_args_t *a = req->args;
    proto_get_block_result_t *r = req->result;
    /* number -> hash is kept only for blocks that can no longer change: a
       finalized number asked by number with no fork choice change while the
       query ran (a reorg could have replaced the answer), or the finalized
       block itself */
    const fork_choice_t *fc = engine_fork_choice(req->engine);
    bool canonical = (a->block.kind == PROTO_SEL_NUMBER && final_number(req, r->block.number)
                      && req->generation == engine_fc_generation(req->engine))
                     || (fc->has_finalized && memcmp(r->block.hash, fc->finalized, 32) == 0);
    block_cache_put(engine_block_cache(req->engine), &r->block, canonical);
    engine_reply_ok(req, req->op->result, r);
}

/*  Both results that carry a full block hold it first, so one continuation
    fills the raw transactions of either, then runs req->resume. */
_Static_assert(offsetof(proto_get_block_result_t, block) == 0, "block first");
_Static_assert(offsetof(proto_block_receipts_result_t, block) == 0, "block first");

static void on_bodies(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, false))
        return;
    proto_block_t *b = req->result;
    if (fill_raw(req, resp->result, b->transactions, b->n_transactions) != 0)
        return;
    req->resume(req);
}

/*  Asks for the canonical encodings of the block's transactions, then next. */
static void fetch_raw(req_t *req, const uint8_t hash[32], op_fn *next)
{
    req->resume = next;
    engine_call_shared(req, EL_ENGINE, "engine_getPayloadBodiesByHashV1",
                       json_pack("[[o]]", el_json_hex(hash, 32)), on_bodies);
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
    char err[PROTO_ERR_LEN] = "out of memory";
    if (!r || el_json_decode(&proto_block_schema, resp->result, &r->block, err, sizeof err) != 0) {
        engine_reply_error(req, PROTO_EL_ERROR, "block from the execution client: %s", err);
        return;
    }
    if (a->full_transactions && r->block.n_transactions > 0) {
        r->block.full_transactions = true;
        fetch_raw(req, r->block.hash, get_block_done);
        return;
    }
    get_block_done(req);
}

static void op_get_block(req_t *req)
{
    proto_get_block_args_t *a = req->args;
    block_cache_t *cache = engine_block_cache(req->engine);
    const proto_block_t *hit = NULL;
    if (a->block.kind == PROTO_SEL_HASH)
        hit = block_cache_get(cache, a->block.hash, a->full_transactions);
    else if (a->block.kind == PROTO_SEL_NUMBER && final_number(req, a->block.number))
        hit = block_cache_get_number(cache, a->block.number, a->full_transactions);
    size_t len;
    const uint8_t *encoded = hit ? block_cache_encoded(hit, &len) : NULL;
    if (encoded) {
        engine_reply_ok_encoded(req, encoded, len);
        return;
    }
    const char *method;
    json_t *params = selector_params(&a->block, a->full_transactions, &method);
    /* a burst of reads of one block makes one call */
    engine_call_shared(req, EL_RPC, method, params, get_block_on_block);
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
    if (n != req->number) {
        engine_reply_error(req, PROTO_EL_ERROR,
                           "execution client returned %zu transaction encodings for a block of %llu "
                           "transactions (body unknown or pruned?)",
                           n, (unsigned long long) req->number);
        return;
    }
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
    if (!r) {
        proto_free(&proto_block_schema, &block);
        engine_reply_error(req, PROTO_INTERNAL, "out of memory");
        return;
    }
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
    req->number = n_tx;
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

/* -------------------------------------------------------------- get_logs */

/*  eth_getLogs range state in req->scratch:
    {"logs": [...], "next": n, "to": n, "filter": {...}}. Ranges longer than
    --logs-chunk blocks go out as consecutive calls. */

static bool topic_matches(const proto_topic_t *t, json_t *topic)
{
    if (t->any)
        return true;
    uint8_t h[32];
    if (el_json_fixed(topic, h, 32) != 0)
        return false;
    for (size_t i = 0; i < t->n; i++)
        if (memcmp(t->hashes[i], h, 32) == 0)
            return true;
    return false;
}

/*  Some clients check only the first topic position (EthereumJS): filter all
    positions here so every client gives the same answer. */
static void logs_reply(req_t *req, json_t *logs)
{
    proto_get_logs_args_t *a = req->args;
    proto_get_logs_result_t *r = alloc_result(req);
    size_t n = json_array_size(logs), kept = 0;
    r->logs = calloc(n ? n : 1, sizeof *r->logs);
    if (!r->logs) {
        engine_reply_error(req, PROTO_INTERNAL, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *log = json_array_get(logs, i);
        json_t *topics = json_object_get(log, "topics");
        bool match = true;
        for (size_t k = 0; k < a->n_topics && match; k++)
            match = a->topics[k].any
                    || (k < json_array_size(topics) && topic_matches(&a->topics[k], json_array_get(topics, k)));
        if (!match)
            continue;
        char err[PROTO_ERR_LEN];
        if (el_json_decode(&proto_log_schema, log, &r->logs[kept], err, sizeof err) != 0) {
            r->n_logs = kept;
            engine_reply_error(req, PROTO_EL_ERROR, "log from the execution client: %s", err);
            return;
        }
        r->n_logs = ++kept;
    }
    engine_reply_ok(req, req->op->result, r);
}

static json_t *logs_filter(const proto_get_logs_args_t *a)
{
    json_t *f = json_object();
    if (a->n_address == 1)
        json_object_set_new(f, "address", el_json_hex(a->address[0], 20));
    else if (a->n_address > 1) {
        json_t *list = json_array();
        for (size_t i = 0; i < a->n_address; i++)
            json_array_append_new(list, el_json_hex(a->address[i], 20));
        json_object_set_new(f, "address", list);
    }
    if (a->n_topics) {
        json_t *topics = json_array();
        for (size_t i = 0; i < a->n_topics; i++) {
            const proto_topic_t *t = &a->topics[i];
            if (t->any) {
                json_array_append_new(topics, json_null());
            } else if (t->n == 1) {
                json_array_append_new(topics, el_json_hex(t->hashes[0], 32));
            } else {
                json_t *alt = json_array();
                for (size_t k = 0; k < t->n; k++)
                    json_array_append_new(alt, el_json_hex(t->hashes[k], 32));
                json_array_append_new(topics, alt);
            }
        }
        json_object_set_new(f, "topics", topics);
    }
    return f;
}

static void logs_next_chunk(req_t *req);

static void logs_on_chunk(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, false))
        return;
    if (!json_is_array(resp->result)) {
        engine_reply_error(req, PROTO_EL_ERROR, "eth_getLogs answered with something other than a list");
        return;
    }
    json_array_extend(json_object_get(req->scratch, "logs"), resp->result);
    logs_next_chunk(req);
}

static void logs_next_chunk(req_t *req)
{
    json_t *s = req->scratch;
    json_int_t next = json_integer_value(json_object_get(s, "next"));
    json_int_t to = json_integer_value(json_object_get(s, "to"));
    if (next > to) {
        logs_reply(req, json_object_get(s, "logs"));
        return;
    }
    json_int_t chunk = (json_int_t) engine_config(req->engine)->logs_chunk;
    json_int_t end = next + chunk - 1 < to ? next + chunk - 1 : to;
    json_t *f = json_deep_copy(json_object_get(s, "filter"));
    json_object_set_new(f, "fromBlock", el_json_qty((uint64_t) next));
    json_object_set_new(f, "toBlock", el_json_qty((uint64_t) end));
    json_object_set_new(s, "next", json_integer(end + 1));
    engine_call(req, EL_RPC, "eth_getLogs", json_pack("[o]", f), logs_on_chunk);
}

/*  The range in numbers: tags resolved, `to` clamped to the latest block
    (nothing exists past it), an empty answer for an empty range, and a
    bound on how many blocks one request may scan. */
static void logs_on_tags(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, false))
        return;
    proto_get_logs_args_t *a = req->args;
    uint64_t latest, bounds[2];
    if (el_json_quantity(json_object_get(json_array_get(resp->result, 0), "number"), &latest) != 0) {
        engine_reply_error(req, PROTO_EL_ERROR, "the execution client has no latest block");
        return;
    }
    const proto_selector_t *sel[2] = {&a->from_block, &a->to_block};
    for (int i = 0; i < 2; i++) {
        if (sel[i]->kind == PROTO_SEL_NUMBER) {
            bounds[i] = sel[i]->number;
            continue;
        }
        json_t *b = json_array_get(resp->result, (size_t) i + 1);
        if (!json_is_object(b) || el_json_quantity(json_object_get(b, "number"), &bounds[i]) != 0) {
            engine_reply_error(req, PROTO_BLOCK_NOT_FOUND, "no block for the %s tag '%s'",
                               i ? "to_block" : "from_block", sel[i]->tag);
            return;
        }
    }
    if (bounds[1] > latest)
        bounds[1] = latest;
    if (bounds[0] > bounds[1]) {
        json_t *none = json_array();
        logs_reply(req, none);
        json_decref(none);
        return;
    }
    uint64_t limit = engine_config(req->engine)->logs_chunk * 100;
    if (bounds[1] - bounds[0] + 1 > limit) {
        engine_reply_error(req, PROTO_BAD_REQUEST,
                           "a range of %llu blocks is more than %llu: ask for smaller ranges",
                           (unsigned long long) (bounds[1] - bounds[0] + 1), (unsigned long long) limit);
        return;
    }
    json_object_set_new(req->scratch, "next", json_integer((json_int_t) bounds[0]));
    json_object_set_new(req->scratch, "to", json_integer((json_int_t) bounds[1]));
    logs_next_chunk(req);
}

static void logs_on_single(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, false))
        return;
    if (!json_is_array(resp->result)) {
        engine_reply_error(req, PROTO_EL_ERROR, "eth_getLogs answered with something other than a list");
        return;
    }
    logs_reply(req, resp->result);
}

static void op_get_logs(req_t *req)
{
    proto_get_logs_args_t *a = req->args;
    bool range = a->from_block.kind != PROTO_SEL_NONE || a->to_block.kind != PROTO_SEL_NONE;
    if (a->has_block_hash && range) {
        engine_reply_error(req, PROTO_BAD_REQUEST, "args: block_hash and from_block/to_block exclude each other");
        return;
    }
    if (a->from_block.kind == PROTO_SEL_HASH || a->to_block.kind == PROTO_SEL_HASH) {
        engine_reply_error(req, PROTO_BAD_REQUEST,
                           "args: from_block and to_block take a number or a tag; use block_hash for one block");
        return;
    }
    json_t *f = logs_filter(a);
    if (a->has_block_hash) {
        json_object_set_new(f, "blockHash", el_json_hex(a->block_hash, 32));
        engine_call(req, EL_RPC, "eth_getLogs", json_pack("[o]", f), logs_on_single);
        return;
    }
    proto_selector_t from = a->from_block, to = a->to_block;
    if (from.kind == PROTO_SEL_NONE)
        from = (proto_selector_t){.kind = PROTO_SEL_TAG, .tag = "latest"};
    if (to.kind == PROTO_SEL_NONE)
        to = (proto_selector_t){.kind = PROTO_SEL_TAG, .tag = "latest"};
    a->from_block = from;
    a->to_block = to;
    req->scratch = json_pack("{s:[],s:o,s:I,s:I}", "logs", "filter", f, "next", (json_int_t) 0, "to",
                             (json_int_t) 0);
    /* the latest block and any tags, in one batch, so the range can be split */
    json_t *calls = json_pack("[[s,[s,b]]]", "eth_getBlockByNumber", "latest", 0);
    const proto_selector_t *sel[2] = {&from, &to};
    for (int i = 0; i < 2; i++)
        json_array_append_new(calls, json_pack("[s,[o,b]]", "eth_getBlockByNumber",
                                               sel[i]->kind == PROTO_SEL_TAG ? selector_json(sel[i])
                                                                             : json_string("latest"),
                                               0));
    engine_batch(req, EL_RPC, calls, logs_on_tags);
}

/* ------------------------------------------------ get_block_with_receipts */

/*  One batch: the block with full transactions and eth_getBlockReceipts;
    a client without eth_getBlockReceipts gets one more batch of
    eth_getTransactionReceipt, never one call per transaction. Then the raw
    transactions from engine_getPayloadBodiesByHashV1. */

static void op_get_block_with_receipts(req_t *req);

static void bwr_reply(req_t *req)
{
    engine_reply_ok(req, req->op->result, req->result);
}

static void bwr_have_receipts(req_t *req, json_t *receipts)
{
    proto_block_receipts_result_t *r = req->result;
    size_t n = json_array_size(receipts);
    if (n != r->block.n_transactions) {
        engine_reply_error(req, PROTO_EL_ERROR, "%zu receipts for %zu transactions", n,
                           r->block.n_transactions);
        return;
    }
    r->receipts = calloc(n ? n : 1, sizeof *r->receipts);
    if (!r->receipts) {
        engine_reply_error(req, PROTO_INTERNAL, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char err[PROTO_ERR_LEN];
        if (el_json_decode(&proto_receipt_schema, json_array_get(receipts, i), &r->receipts[i], err,
                           sizeof err) != 0) {
            r->n_receipts = i;
            engine_reply_error(req, PROTO_EL_ERROR, "receipt %zu: %s", i, err);
            return;
        }
        r->n_receipts = i + 1;
        if (memcmp(r->receipts[i].block_hash, r->block.hash, 32) != 0) {
            proto_block_sel_args_t *a = req->args;
            if (req->attempts++ == 0 && a->block.kind != PROTO_SEL_HASH) {
                /* the chain moved between the two lookups: ask again by hash */
                a->block.kind = PROTO_SEL_HASH;
                memcpy(a->block.hash, r->block.hash, 32);
                proto_free(req->op->result, r);
                op_get_block_with_receipts(req);
                return;
            }
            engine_reply_error(req, PROTO_EL_ERROR,
                               "receipt %zu belongs to another block than the one asked for", i);
            return;
        }
    }
    if (n == 0) {
        bwr_reply(req);
        return;
    }
    fetch_raw(req, r->block.hash, bwr_reply);
}

static void bwr_on_tx_receipts(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, false))
        return;
    bwr_have_receipts(req, resp->result);
}

static void bwr_on_batch(void *ctx, el_response_t *resp)
{
    req_t *req = ctx;
    if (failed(req, resp, false))
        return;
    proto_block_sel_args_t *a = req->args;
    json_t *block = json_array_get(resp->result, 0);
    json_t *receipts = json_array_get(resp->result, 1);
    json_t *block_err = json_array_get(resp->member_errors, 0);
    char buf[80];
    if (json_is_object(block_err)) {
        reply_member_error(req, block_err);
        return;
    }
    if (!json_is_object(block)) {
        engine_reply_error(req, PROTO_BLOCK_NOT_FOUND, "no block %s",
                           selector_text(&a->block, buf, sizeof buf));
        return;
    }
    proto_block_receipts_result_t *r = alloc_result(req);
    char err[PROTO_ERR_LEN] = "out of memory";
    if (!r || el_json_decode(&proto_block_schema, block, &r->block, err, sizeof err) != 0) {
        engine_reply_error(req, PROTO_EL_ERROR, "block from the execution client: %s", err);
        return;
    }
    r->block.full_transactions = true;
    if (json_is_array(receipts)) {
        bwr_have_receipts(req, receipts);
        return;
    }
    if (r->block.n_transactions == 0) {
        json_t *none = json_array();
        bwr_have_receipts(req, none);
        json_decref(none);
        return;
    }
    json_t *calls = json_array();
    for (size_t i = 0; i < r->block.n_transactions; i++)
        json_array_append_new(calls, json_pack("[s,[o]]", "eth_getTransactionReceipt",
                                               el_json_hex(r->block.transactions[i].hash, 32)));
    engine_batch(req, EL_RPC, calls, bwr_on_tx_receipts);
}

static void op_get_block_with_receipts(req_t *req)
{
    proto_block_sel_args_t *a = req->args;
    const char *method;
    json_t *params = selector_params(&a->block, true, &method);
    json_t *calls = json_pack("[[s,o],[s,[o]]]", method, params, "eth_getBlockReceipts",
                              selector_json(&a->block));
    engine_batch_lenient(req, EL_RPC, calls, bwr_on_batch);
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
    {"validate_payload", op_validate_payload},
    {"finalize_block", op_finalize_block},
    {"revert_block", op_revert_block},
    {"update_forkchoice", op_update_forkchoice},
    {"get_block", op_get_block},
    {"get_logs", op_get_logs},
    {"get_sync_status", op_get_sync_status},
    {"get_transaction_receipt", op_get_transaction_receipt},
    {"get_block_with_receipts", op_get_block_with_receipts},
    {"get_payload", op_get_payload},
};
const size_t engine_n_ops = sizeof engine_ops / sizeof *engine_ops;
