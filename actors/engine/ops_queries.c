/*  The read ops: ping and status (answered at once), and the queries that
    run concurrently in the query lane (get_block, get_logs,
    get_sync_status, get_transaction_receipt, get_block_with_receipts,
    get_payload). None changes the fork choice. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alys_config.h"
#include "el_json.h"
#include "hex.h"
#include "ops.h"

/* ----------------------------------------------------------- ping, status */

void op_ping(req_t *req)
{
    proto_ping_result_t r = {
        .protocol = PROTO_VERSION,
        .version = (char *) ALYS_VERSION,
        .uptime_ms = (uint64_t) engine_uptime_ms(req->engine),
        .pid = (uint64_t) getpid(),
    };
    engine_reply_ok(req, &r);
}

void op_status(req_t *req)
{
    engine_t *e = req->engine;
    const el_client_info_t *ci = engine_client_info(e);
    const fork_choice_t *fc = fc_get(engine_fc(e));
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
    engine_reply_ok(req, &r);
}

/* ------------------------------------------------------------- get_block */

/*  Both results that carry a full block hold it first, so one continuation
    fills the raw transactions of either, then runs req->resume. */
_Static_assert(offsetof(proto_get_block_result_t, block) == 0, "block first");
_Static_assert(offsetof(proto_block_receipts_result_t, block) == 0, "block first");

/*  Fills tx.raw from engine_getPayloadBodiesByHashV1, which returns the
    canonical encodings that eth_getBlockBy* does not. */
static void on_bodies(req_t *req, el_response_t *resp)
{
    proto_block_t *b = req->result;
    json_t *list = json_object_get(json_array_get(resp->result, 0), "transactions");
    if (json_array_size(list) != b->n_transactions) {
        engine_reply_error(req, PROTO_EL_ERROR,
                           "execution client returned %zu transaction encodings for %zu transactions",
                           json_array_size(list), b->n_transactions);
        return;
    }
    for (size_t i = 0; i < b->n_transactions; i++)
        if (ops_decode_tx(req, list, i, &b->transactions[i].raw) != 0)
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

static void get_block_done(req_t *req)
{
    proto_get_block_args_t *a = req->args;
    proto_get_block_result_t *r = req->result;
    /* number -> hash is kept only for blocks that can no longer change: a
       finalized number asked by number with no fork choice change while the
       query ran (a reorg could have replaced the answer), or the finalized
       block itself */
    const fc_t *fc = engine_fc(req->engine);
    const fork_choice_t *v = fc_get(fc);
    bool canonical = (a->block.kind == PROTO_SEL_NUMBER && fc_is_final_number(fc, r->block.number)
                      && req->generation == fc_generation(fc))
                     || (v->has_finalized && memcmp(r->block.hash, v->finalized, 32) == 0);
    block_cache_put(engine_block_cache(req->engine), &r->block, canonical);
    engine_reply_ok(req, r);
}

static void get_block_on_block(req_t *req, el_response_t *resp)
{
    proto_get_block_args_t *a = req->args;
    proto_get_block_result_t *r = req_result(req);
    if (ops_read_block(req, resp->result, &a->block, r ? &r->block : NULL) != 0)
        return;
    if (a->full_transactions && r->block.n_transactions > 0) {
        r->block.full_transactions = true;
        fetch_raw(req, r->block.hash, get_block_done);
        return;
    }
    get_block_done(req);
}

void op_get_block(req_t *req)
{
    proto_get_block_args_t *a = req->args;
    block_cache_t *cache = engine_block_cache(req->engine);
    const proto_block_t *hit = NULL;
    if (a->block.kind == PROTO_SEL_HASH)
        hit = block_cache_get(cache, a->block.hash, a->full_transactions);
    else if (a->block.kind == PROTO_SEL_NUMBER && fc_is_final_number(engine_fc(req->engine), a->block.number))
        hit = block_cache_get_number(cache, a->block.number, a->full_transactions);
    size_t len;
    const uint8_t *encoded = hit ? block_cache_encoded(hit, &len) : NULL;
    if (encoded) {
        engine_reply_ok_encoded(req, encoded, len);
        return;
    }
    const char *method;
    json_t *params = ops_selector_params(&a->block, a->full_transactions, &method);
    /* a burst of reads of one block makes one call */
    engine_call_shared(req, EL_RPC, method, params, get_block_on_block);
}

/* ----------------------------------------------------------- get_payload */

static void get_payload_on_bodies(req_t *req, el_response_t *resp)
{
    proto_get_payload_result_t *r = req->result;
    json_t *list = json_object_get(json_array_get(resp->result, 0), "transactions");
    size_t n = json_array_size(list), want = req->st.get_payload.n_transactions;
    if (n != want) {
        engine_reply_error(req, PROTO_EL_ERROR,
                           "execution client returned %zu transaction encodings for a block of %zu "
                           "transactions (body unknown or pruned?)",
                           n, want);
        return;
    }
    r->payload.transactions = calloc(n ? n : 1, sizeof(proto_data_t));
    if (!r->payload.transactions) {
        engine_reply_error(req, PROTO_INTERNAL, "out of memory");
        return;
    }
    r->payload.n_transactions = n;
    for (size_t i = 0; i < n; i++)
        if (ops_decode_tx(req, list, i, &r->payload.transactions[i]) != 0)
            return;
    engine_reply_ok(req, r);
}

/*  A payload is the block header's fields plus the raw transactions and the
    withdrawals; it is read from the block, then the bodies. */
static void get_payload_on_block(req_t *req, el_response_t *resp)
{
    proto_block_sel_args_t *a = req->args;
    proto_block_t block = {0};
    if (ops_read_block(req, resp->result, &a->block, &block) != 0) {
        proto_free(&proto_block_schema, &block);
        return;
    }
    proto_get_payload_result_t *r = req_result(req);
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
    req->st.get_payload.n_transactions = block.n_transactions;
    proto_free(&proto_block_schema, &block);
    if (req->st.get_payload.n_transactions == 0) {
        engine_reply_ok(req, r);
        return;
    }
    engine_call(req, EL_ENGINE, "engine_getPayloadBodiesByHashV1",
                json_pack("[[o]]", el_json_hex(p->block_hash, 32)), get_payload_on_bodies);
}

void op_get_payload(req_t *req)
{
    proto_block_sel_args_t *a = req->args;
    const char *method;
    json_t *params = ops_selector_params(&a->block, false, &method);
    engine_call(req, EL_RPC, method, params, get_payload_on_block);
}

/* -------------------------------------------------------------- get_logs */

/*  A range longer than --logs-chunk blocks goes out as consecutive
    eth_getLogs calls; each chunk's logs are checked and decoded into the
    result as it arrives. */

int op_get_logs_check(const void *args, char *why, size_t why_len)
{
    const proto_get_logs_args_t *a = args;
    bool range = a->from_block.kind != PROTO_SEL_NONE || a->to_block.kind != PROTO_SEL_NONE;
    if (a->has_block_hash && range) {
        snprintf(why, why_len, "args: block_hash and from_block/to_block exclude each other");
        return -1;
    }
    if (a->from_block.kind == PROTO_SEL_HASH || a->to_block.kind == PROTO_SEL_HASH) {
        snprintf(why, why_len,
                 "args: from_block and to_block take a number or a tag; use block_hash for one block");
        return -1;
    }
    return 0;
}

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

/*  Adds the logs of one answer that match every topic position (some
    clients check only the first position, EthereumJS among them, so all
    positions are filtered here and every client gives the same answer).
    Returns 0, or -1 after replying. */
static int logs_take(req_t *req, json_t *logs)
{
    proto_get_logs_args_t *a = req->args;
    proto_get_logs_result_t *r = req_result(req);
    logs_state_t *st = &req->st.logs;
    size_t n = json_array_size(logs);
    if (!r) {
        engine_reply_error(req, PROTO_INTERNAL, "out of memory");
        return -1;
    }
    if (r->n_logs + n > st->cap) {
        size_t cap = st->cap * 2 > r->n_logs + n ? st->cap * 2 : r->n_logs + n;
        proto_log_t *grown = realloc(r->logs, (cap ? cap : 1) * sizeof *grown);
        if (!grown) {
            engine_reply_error(req, PROTO_INTERNAL, "out of memory");
            return -1;
        }
        memset(grown + st->cap, 0, (cap - st->cap) * sizeof *grown);
        r->logs = grown;
        st->cap = cap;
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
        if (el_json_decode(&proto_log_schema, log, &r->logs[r->n_logs], err, sizeof err) != 0) {
            engine_reply_error(req, PROTO_EL_ERROR, "log from the execution client: %s", err);
            return -1;
        }
        r->n_logs++;
    }
    return 0;
}

static void logs_reply(req_t *req)
{
    proto_get_logs_result_t *r = req_result(req);
    if (!r) {
        engine_reply_error(req, PROTO_INTERNAL, "out of memory");
        return;
    }
    engine_reply_ok(req, r);
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

static bool logs_is_list(req_t *req, el_response_t *resp)
{
    if (json_is_array(resp->result))
        return true;
    engine_reply_error(req, PROTO_EL_ERROR, "eth_getLogs answered with something other than a list");
    return false;
}

static void logs_next_chunk(req_t *req);

static void logs_on_chunk(req_t *req, el_response_t *resp)
{
    if (logs_is_list(req, resp) && logs_take(req, resp->result) == 0)
        logs_next_chunk(req);
}

static void logs_next_chunk(req_t *req)
{
    logs_state_t *st = &req->st.logs;
    if (st->next > st->to) {
        logs_reply(req);
        return;
    }
    uint64_t chunk = engine_config(req->engine)->logs_chunk;
    uint64_t end = st->to - st->next >= chunk ? st->next + chunk - 1 : st->to;
    json_t *f = logs_filter(req->args);
    json_object_set_new(f, "fromBlock", el_json_qty(st->next));
    json_object_set_new(f, "toBlock", el_json_qty(end));
    st->next = end + 1;
    engine_call(req, EL_RPC, "eth_getLogs", json_pack("[o]", f), logs_on_chunk);
}

/*  The range in numbers: tags resolved, `to` clamped to the latest block
    (nothing exists past it), an empty answer for an empty range, and a
    bound on how many blocks one request may scan. */
static void logs_on_tags(req_t *req, el_response_t *resp)
{
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
        logs_reply(req);
        return;
    }
    uint64_t limit = engine_config(req->engine)->logs_chunk * 100;
    if (bounds[1] - bounds[0] + 1 > limit) {
        engine_reply_error(req, PROTO_BAD_REQUEST,
                           "a range of %llu blocks is more than %llu: ask for smaller ranges",
                           (unsigned long long) (bounds[1] - bounds[0] + 1), (unsigned long long) limit);
        return;
    }
    req->st.logs.next = bounds[0];
    req->st.logs.to = bounds[1];
    logs_next_chunk(req);
}

static void logs_on_single(req_t *req, el_response_t *resp)
{
    if (logs_is_list(req, resp) && logs_take(req, resp->result) == 0)
        logs_reply(req);
}

void op_get_logs(req_t *req)
{
    proto_get_logs_args_t *a = req->args;
    if (a->has_block_hash) {
        json_t *f = logs_filter(a);
        json_object_set_new(f, "blockHash", el_json_hex(a->block_hash, 32));
        engine_call(req, EL_RPC, "eth_getLogs", json_pack("[o]", f), logs_on_single);
        return;
    }
    if (a->from_block.kind == PROTO_SEL_NONE)
        a->from_block = (proto_selector_t){.kind = PROTO_SEL_TAG, .tag = "latest"};
    if (a->to_block.kind == PROTO_SEL_NONE)
        a->to_block = (proto_selector_t){.kind = PROTO_SEL_TAG, .tag = "latest"};
    /* the latest block and any tags, in one batch, so the range can be split */
    json_t *calls = json_pack("[[s,[s,b]]]", "eth_getBlockByNumber", "latest", 0);
    const proto_selector_t *sel[2] = {&a->from_block, &a->to_block};
    for (int i = 0; i < 2; i++)
        json_array_append_new(calls, json_pack("[s,[o,b]]", "eth_getBlockByNumber",
                                               sel[i]->kind == PROTO_SEL_TAG ? ops_selector_json(sel[i])
                                                                             : json_string("latest"),
                                               0));
    engine_batch(req, EL_RPC, calls, logs_on_tags);
}

/* ------------------------------------------------ get_block_with_receipts */

/*  One batch: the block with full transactions and eth_getBlockReceipts;
    a client without eth_getBlockReceipts gets one more batch of
    eth_getTransactionReceipt, never one call per transaction. Then the raw
    transactions from engine_getPayloadBodiesByHashV1. */

static void bwr_reply(req_t *req)
{
    engine_reply_ok(req, req->result);
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

static void bwr_on_tx_receipts(req_t *req, el_response_t *resp)
{
    bwr_have_receipts(req, resp->result);
}

static void bwr_on_batch(req_t *req, el_response_t *resp)
{
    proto_block_sel_args_t *a = req->args;
    json_t *block = json_array_get(resp->result, 0);
    json_t *receipts = json_array_get(resp->result, 1);
    json_t *block_err = json_array_get(resp->member_errors, 0);
    if (json_is_object(block_err)) {
        ops_reply_member_error(req, block_err);
        return;
    }
    proto_block_receipts_result_t *r = req_result(req);
    if (ops_read_block(req, json_is_object(block) ? block : NULL, &a->block, r ? &r->block : NULL)
        != 0)
        return;
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

void op_get_block_with_receipts(req_t *req)
{
    proto_block_sel_args_t *a = req->args;
    const char *method;
    json_t *params = ops_selector_params(&a->block, true, &method);
    json_t *calls = json_pack("[[s,o],[s,[o]]]", method, params, "eth_getBlockReceipts",
                              ops_selector_json(&a->block));
    engine_batch_lenient(req, EL_RPC, calls, bwr_on_batch);
}

/* ------------------------------------------------------- get_sync_status */

static void sync_on_answer(req_t *req, el_response_t *resp)
{
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
    engine_reply_ok(req, &r);
}

void op_get_sync_status(req_t *req)
{
    engine_call(req, EL_RPC, "eth_syncing", NULL, sync_on_answer);
}

/* ----------------------------------------------- get_transaction_receipt */

static void receipt_on_answer(req_t *req, el_response_t *resp)
{
    proto_receipt_result_t *r = req_result(req);
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
    engine_reply_ok(req, r);
}

void op_get_transaction_receipt(req_t *req)
{
    proto_tx_hash_args_t *a = req->args;
    engine_call(req, EL_RPC, "eth_getTransactionReceipt",
                json_pack("[o]", el_json_hex(a->tx_hash, 32)), receipt_on_answer);
}
