/*  The mutations but build_block (ops_build.c): commit_block,
    validate_payload, finalize_block, revert_block, update_forkchoice and
    the actor's own re-send of its fork choice; and the newPayload input
    they share, with the re-import of a head a restarted client lost. They
    run one at a time in the mutation lane, once the fork choice is known,
    and change it only through fork_choice's fc_* transitions. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "block_hash.h"
#include "clock.h"
#include "el_json.h"
#include "hex.h"
#include "log.h"
#include "ops.h"

static const char *fcu_for_timestamp(req_t *req, uint64_t timestamp)
{
    return fork_fcu_method(fork_at(engine_schedule(req->engine), timestamp));
}

/* ------------------------------------------------ newPayload input */

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

static void np_input(req_t *req, np_input_t *in)
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
        return; /* remembered from the build */
    json_decref(in->versioned);
    in->versioned = json_array();
    for (size_t i = 0; i < a->n_versioned_hashes; i++)
        json_array_append_new(in->versioned, el_json_hex(a->versioned_hashes[i], 32));
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
    if (payload_check_fields(p, (fork_t) in->fork, why, sizeof why) != 0) {
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

static void send_new_payload(req_t *req, const np_input_t *in, el_cont_fn *cont)
{
    json_t *params = json_pack("[O]", in->payload);
    if (in->fork >= FORK_CANCUN) {
        json_array_append(params, in->versioned);
        json_array_append_new(params, el_json_hex(in->pbbr, 32));
    }
    if (in->fork >= FORK_PRAGUE)
        json_array_append_new(params, in->requests ? json_incref(in->requests) : json_array());
    engine_call(req, EL_ENGINE, fork_new_payload_method((fork_t) in->fork), params, cont);
}

/* ------------------------------------------ re-import after a client restart */

static void reimport_send(req_t *req, const uint8_t hash[32]);

/*  The head's newPayload answered SYNCING or ACCEPTED: the client lacks
    its parent as well (Geth, killed, comes back at the last block whose
    state it had written, without the blocks above it). Prepares the chain
    of cached ancestors (sent from its end, the oldest); false when there
    is none. */
static bool reimport_chain(req_t *req)
{
    reimport_t *ri = &req->reimport;
    size_t max = engine_config(req->engine)->payload_cache_size;
    uint8_t(*chain)[32] = max ? calloc(max, 32) : NULL;
    size_t n = chain ? payload_cache_chain(engine_payload_cache(req->engine), ri->head,
                                           clock_mono_ms(), chain, max)
                     : 0;
    if (n < 2) {
        free(chain);
        return false;
    }
    ri->chain = chain;
    ri->left = n;
    char h[67];
    log_warn("the execution client lacks the parent of block %s too: importing the %zu blocks "
             "this actor built up to it again, oldest first",
             hex_encode(ri->head, 32, h), n);
    return true;
}

static void on_reimported(req_t *req, el_response_t *resp)
{
    reimport_t *ri = &req->reimport;
    const char *st = json_string_value(json_object_get(resp->result, "status"));
    bool head_alone = ri->chain == NULL;
    if (head_alone && st && (strcmp(st, "SYNCING") == 0 || strcmp(st, "ACCEPTED") == 0)
        && reimport_chain(req)) {
        ops_count_status(req, resp->result, true);
        reimport_send(req, ri->chain[--ri->left]);
        return;
    }
    if (ops_status_rejected(req, resp->result, NULL, true,
                            head_alone ? "newPayload of the head again"
                                       : "newPayload of a cached ancestor of the head again"))
        return;
    if (!head_alone && ri->left > 0) {
        reimport_send(req, ri->chain[--ri->left]);
        return;
    }
    req->resume(req);
}

/*  newPayload of a block this actor built, from the payload cache. */
static void reimport_send(req_t *req, const uint8_t hash[32])
{
    payload_entry_t *e = payload_cache_by_hash(engine_payload_cache(req->engine), hash, clock_mono_ms());
    if (!e || !e->payload_json) {
        engine_reply_error(req, PROTO_EL_SYNCING,
                           "the execution client lacks blocks this actor no longer holds; "
                           "commit them again");
        return;
    }
    np_input_t in = {.fork = e->fork,
                     .payload = json_incref(e->payload_json),
                     .versioned = e->versioned_json ? json_incref(e->versioned_json) : json_array(),
                     .requests = e->requests_json ? json_incref(e->requests_json) : NULL};
    memcpy(in.pbbr, e->parent_beacon_block_root, 32);
    send_new_payload(req, &in, on_reimported);
    np_input_release(&in);
}

bool ops_reimport_head(req_t *req, json_t *status, const uint8_t head[32], op_fn *retry)
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
             hex_encode(head, 32, h));
    req->attempts++;
    req->resume = retry;
    memcpy(req->reimport.head, head, 32);
    reimport_send(req, head);
    return true;
}

/* ------------------------------------------- commit_block, validate_payload */

static void commit_on_fcu(req_t *req, el_response_t *resp)
{
    payload_state_t *st = &req->st.payload;
    if (ops_status_rejected(req, json_object_get(resp->result, "payloadStatus"), st->hash, false,
                            "forkchoiceUpdated to the new block"))
        return;
    fc_commit(ops_fc(req), st->hash, st->number);
    proto_block_hash_t r;
    memcpy(r.block_hash, st->hash, 32);
    char h[67];
    log_info("committed block %llu %s", (unsigned long long) st->number, hex_encode(st->hash, 32, h));
    ops_count(req, "alys_engine_blocks_committed_total");
    engine_reply_ok(req, &r);
}

static void commit_on_new_payload(req_t *req, el_response_t *resp)
{
    payload_state_t *st = &req->st.payload;
    if (ops_status_rejected(req, resp->result, st->hash, true, "newPayload"))
        return;
    engine_call(req, EL_ENGINE, fork_fcu_method((fork_t) st->fork),
                fc_fcu_params(ops_fc(req), st->hash), commit_on_fcu);
}

void op_commit_block(req_t *req)
{
    proto_payload_args_t *a = req->args;
    payload_state_t *st = &req->st.payload;
    memcpy(st->hash, a->payload.block_hash, 32);
    st->number = a->payload.block_number;
    np_input_t in;
    np_input(req, &in);
    st->fork = in.fork;
    /* a payload we built was checked by the client that built it */
    if (in.from_cache || check_payload(req, &in) == 0)
        send_new_payload(req, &in, commit_on_new_payload);
    np_input_release(&in);
}

static void validate_on_new_payload(req_t *req, el_response_t *resp)
{
    if (ops_status_rejected(req, resp->result, req->st.payload.hash, true, "newPayload"))
        return;
    proto_status_only_t r = {.status = "VALID"};
    engine_reply_ok(req, &r);
}

void op_validate_payload(req_t *req)
{
    proto_payload_args_t *a = req->args;
    memcpy(req->st.payload.hash, a->payload.block_hash, 32);
    np_input_t in;
    np_input(req, &in);
    req->st.payload.fork = in.fork;
    if (check_payload(req, &in) == 0)
        send_new_payload(req, &in, validate_on_new_payload);
    np_input_release(&in);
}

/* -------------------------------------------------------- finalize_block */

static void reply_fc_hashes(req_t *req)
{
    const fork_choice_t *fc = ops_view(req);
    proto_fc_hashes_t r;
    memcpy(r.head, fc->head, 32);
    memcpy(r.safe, fc->has_safe ? fc->safe : ops_zero32, 32);
    memcpy(r.finalized, fc->has_finalized ? fc->finalized : ops_zero32, 32);
    engine_reply_ok(req, &r);
}

static void finalize_on_fcu(req_t *req, el_response_t *resp)
{
    const block_ref_t *st = &req->st.block;
    if (ops_status_rejected(req, json_object_get(resp->result, "payloadStatus"), ops_view(req)->head,
                            false, "forkchoiceUpdated with the new finalized block"))
        return;
    fc_finalize(ops_fc(req), st->hash, st->number);
    char h[67];
    log_info("finalized block %llu %s", (unsigned long long) st->number, hex_encode(st->hash, 32, h));
    ops_count(req, "alys_engine_blocks_finalized_total");
    reply_fc_hashes(req);
}

static void finalize_on_canonical(req_t *req, el_response_t *resp)
{
    const block_ref_t *st = &req->st.block;
    uint8_t canonical[32];
    if (json_is_null(resp->result)
        || el_json_fixed(json_object_get(resp->result, "hash"), canonical, 32) != 0
        || memcmp(canonical, st->hash, 32) != 0) {
        engine_reply_error(req, PROTO_FINALIZED_CONFLICT,
                           "block %llu is not on the canonical chain: it cannot be finalized",
                           (unsigned long long) st->number);
        return;
    }
    uint64_t ts = 0, now = (uint64_t) time(NULL);
    el_json_quantity(json_object_get(resp->result, "timestamp"), &ts);
    json_t *state = fork_choice_state_json(ops_view(req)->head, true, st->hash, true, st->hash);
    engine_call(req, EL_ENGINE, fcu_for_timestamp(req, now > ts ? now : ts),
                json_pack("[o,n]", state), finalize_on_fcu);
}

static void finalize_on_block(req_t *req, el_response_t *resp)
{
    block_ref_t *st = &req->st.block;
    char h[67];
    if (json_is_null(resp->result)) {
        engine_reply_error(req, PROTO_BLOCK_NOT_FOUND, "no block %s", hex_encode(st->hash, 32, h));
        return;
    }
    if (el_json_quantity(json_object_get(resp->result, "number"), &st->number) != 0) {
        engine_reply_error(req, PROTO_EL_ERROR, "block without a number");
        return;
    }
    const fork_choice_t *fc = ops_view(req);
    if (fc->has_finalized && st->number <= fc->finalized_number) {
        engine_reply_error(req, PROTO_FINALIZED_CONFLICT,
                           "finalizing block %llu would move finalization backwards from block %llu",
                           (unsigned long long) st->number,
                           (unsigned long long) fc->finalized_number);
        return;
    }
    engine_call(req, EL_RPC, "eth_getBlockByNumber",
                json_pack("[o,b]", el_json_qty(st->number), 0), finalize_on_canonical);
}

void op_finalize_block(req_t *req)
{
    proto_block_hash_t *a = req->args;
    const fork_choice_t *fc = ops_view(req);
    memcpy(req->st.block.hash, a->block_hash, 32);
    if (fc->has_finalized && memcmp(fc->finalized, a->block_hash, 32) == 0) {
        reply_fc_hashes(req); /* already finalized: a no-op */
        return;
    }
    engine_call(req, EL_RPC, "eth_getBlockByHash",
                json_pack("[o,b]", el_json_hex(a->block_hash, 32), 0), finalize_on_block);
}

/* ---------------------------------------------------------- revert_block */

static void revert_on_latest(req_t *req, el_response_t *resp)
{
    const block_ref_t *st = &req->st.block;
    uint8_t latest[32];
    if (!json_is_object(resp->result)
        || el_json_fixed(json_object_get(resp->result, "hash"), latest, 32) != 0
        || memcmp(latest, st->hash, 32) != 0) {
        const client_profile_t *p = engine_profile(req->engine);
        engine_reply_error(req, PROTO_EL_ERROR,
                           "the execution client answered VALID but did not move its head to the "
                           "parent%s%s",
                           p->revert_note ? ": " : "", p->revert_note ? p->revert_note : "");
        return;
    }
    fc_revert(ops_fc(req), st->hash, st->number);
    char h[67];
    log_info("reverted to block %llu %s", (unsigned long long) st->number, hex_encode(st->hash, 32, h));
    ops_count(req, "alys_engine_blocks_reverted_total");
    proto_revert_result_t r;
    memcpy(r.head, st->hash, 32);
    engine_reply_ok(req, &r);
}

static void revert_on_fcu(req_t *req, el_response_t *resp)
{
    if (ops_status_rejected(req, json_object_get(resp->result, "payloadStatus"), req->st.block.hash,
                            false, "forkchoiceUpdated to the parent"))
        return;
    engine_call(req, EL_RPC, "eth_getBlockByNumber", json_pack("[s,b]", "latest", 0),
                revert_on_latest);
}

static void revert_on_block(req_t *req, el_response_t *resp)
{
    proto_block_hash_t *a = req->args;
    block_ref_t *st = &req->st.block;
    char h[67];
    uint64_t number, ts = 0;
    if (json_is_null(resp->result)) {
        engine_reply_error(req, PROTO_BLOCK_NOT_FOUND, "no block %s", hex_encode(a->block_hash, 32, h));
        return;
    }
    if (el_json_quantity(json_object_get(resp->result, "number"), &number) != 0
        || el_json_fixed(json_object_get(resp->result, "parentHash"), st->hash, 32) != 0) {
        engine_reply_error(req, PROTO_EL_ERROR, "malformed block from the execution client");
        return;
    }
    el_json_quantity(json_object_get(resp->result, "timestamp"), &ts);
    const fork_choice_t *fc = ops_view(req);
    if (number == 0 || (fc->has_finalized && number <= fc->finalized_number)) {
        engine_reply_error(req, PROTO_FINALIZED_CONFLICT,
                           "block %llu is finalized or an ancestor of the finalized block %llu",
                           (unsigned long long) number, (unsigned long long) fc->finalized_number);
        return;
    }
    st->number = number - 1;
    const client_profile_t *p = engine_profile(req->engine);
    if (p->no_head_at_finalized && fc->has_finalized && memcmp(st->hash, fc->finalized, 32) == 0) {
        /* refused before the call: the client would answer VALID and then
           keep (or later restore) the old head */
        engine_reply_error(req, PROTO_FINALIZED_CONFLICT,
                           "reverting block %llu would make the finalized block %llu the head: %s",
                           (unsigned long long) number, (unsigned long long) st->number,
                           p->no_head_at_finalized);
        return;
    }
    engine_call(req, EL_ENGINE, fcu_for_timestamp(req, ts), fc_fcu_params(ops_fc(req), st->hash),
                revert_on_fcu);
}

void op_revert_block(req_t *req)
{
    proto_block_hash_t *a = req->args;
    engine_call(req, EL_RPC, "eth_getBlockByHash",
                json_pack("[o,b]", el_json_hex(a->block_hash, 32), 0), revert_on_block);
}

/* ----------------------------------------------------- update_forkchoice */

static void ufc_send(req_t *req);

static void ufc_on_fcu(req_t *req, el_response_t *resp)
{
    proto_update_fc_args_t *a = req->args;
    const fork_choice_t *fc = ops_view(req);
    json_t *status = json_object_get(resp->result, "payloadStatus");
    if (ops_reimport_head(req, status, a->head, ufc_send))
        return;
    ops_count_status(req, status, false);
    char msg[256];
    bool syncing;
    proto_err_t err = fork_choice_read_status(status, a->head, false, msg, sizeof msg, &syncing);
    if (err != PROTO_OK && !syncing) {
        engine_reply_error(req, err, "forkchoiceUpdated: %s", msg);
        return;
    }
    if (syncing && !req->routing)
        log_warn("the execution client answered SYNCING to the re-sent fork choice: it does not "
                 "know our head; it must sync (or be given the blocks) before building works");
    proto_update_fc_result_t r = {.status = syncing ? "SYNCING" : "VALID"};
    memcpy(r.head, a->head, 32);
    memcpy(r.safe, a->has_safe ? a->safe : (fc->has_safe ? fc->safe : ops_zero32), 32);
    memcpy(r.finalized, a->has_finalized ? a->finalized : (fc->has_finalized ? fc->finalized : ops_zero32), 32);
    if (!syncing)
        fc_update(ops_fc(req), a->head, a->has_safe ? a->safe : NULL,
                  a->has_finalized ? a->finalized : NULL, req->st.ufc.finalized_number);
    engine_reply_ok(req, &r);
}

static void ufc_send(req_t *req)
{
    proto_update_fc_args_t *a = req->args;
    const fork_choice_t *fc = ops_view(req);
    const uint8_t *safe = a->has_safe ? a->safe : fc->safe;
    const uint8_t *fin = a->has_finalized ? a->finalized : fc->finalized;
    json_t *state = fork_choice_state_json(a->head, a->has_safe || fc->has_safe, safe,
                                           a->has_finalized || fc->has_finalized, fin);
    engine_call(req, EL_ENGINE, fcu_for_timestamp(req, (uint64_t) time(NULL)),
                json_pack("[o,n]", state), ufc_on_fcu);
}

/*  Finality is the actor's to keep: a new finalized block must descend from
    the current one, and the head from the finalized block. The numbers the
    checks need come from one batch of lookups; the ancestry then from as
    few calls as the chain allows (fc_check_descends). */
static void ufc_check_head(req_t *req)
{
    proto_update_fc_args_t *a = req->args;
    const ufc_state_t *st = &req->st.ufc;
    const fork_choice_t *fc = ops_view(req);
    const uint8_t *final_hash = st->new_finalized ? a->finalized : fc->finalized;
    if (!st->head_known || !(st->new_finalized || fc->has_finalized)) {
        ufc_send(req); /* an unknown head is the client's to judge (SYNCING) */
        return;
    }
    fc_check_descends(req, a->head, st->head_number, final_hash, st->finalized_number, "the head",
                      ufc_send);
}

static void ufc_on_blocks(req_t *req, el_response_t *resp)
{
    proto_update_fc_args_t *a = req->args;
    ufc_state_t *st = &req->st.ufc;
    const fork_choice_t *fc = ops_view(req);
    json_t *head = json_array_get(resp->result, 0);
    json_t *fin = json_array_get(resp->result, 1);
    char h[67];
    st->new_finalized = a->has_finalized
                        && !(fc->has_finalized && memcmp(fc->finalized, a->finalized, 32) == 0);
    st->head_known = json_is_object(head)
                     && el_json_quantity(json_object_get(head, "number"), &st->head_number) == 0;
    st->finalized_number = fc->finalized_number;
    if (st->new_finalized) {
        json_t *err = json_array_get(resp->member_errors, 1);
        if (json_is_object(err)) {
            ops_reply_member_error(req, err);
            return;
        }
        if (!json_is_object(fin)) {
            if (engine_el_state(req->engine) == EL_STATE_SYNCING) {
                ufc_send(req); /* a syncing client may not have it yet: let it judge */
                return;
            }
            engine_reply_error(req, PROTO_BLOCK_NOT_FOUND, "no finalized block %s",
                               hex_encode(a->finalized, 32, h));
            return;
        }
        if (el_json_quantity(json_object_get(fin, "number"), &st->finalized_number) != 0) {
            engine_reply_error(req, PROTO_EL_ERROR, "block without a number");
            return;
        }
        if (fc->has_finalized) {
            if (st->finalized_number <= fc->finalized_number) {
                engine_reply_error(req, PROTO_FINALIZED_CONFLICT,
                                   "finalized block %llu is not past the current finalized block %llu",
                                   (unsigned long long) st->finalized_number,
                                   (unsigned long long) fc->finalized_number);
                return;
            }
            fc_check_descends(req, a->finalized, st->finalized_number, fc->finalized,
                              fc->finalized_number, "the new finalized block", ufc_check_head);
            return;
        }
    }
    ufc_check_head(req);
}

void op_update_forkchoice(req_t *req)
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

void op_resend_fork_choice(req_t *req)
{
    const fork_choice_t *fc = ops_view(req);
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
    req->st.ufc.finalized_number = fc->finalized_number;
    ufc_send(req);
}
