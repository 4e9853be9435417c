/*  What the op handlers share: block selectors, the block-answer prelude,
    PayloadStatus reading and counting, lenient-batch member errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "el_json.h"
#include "hex.h"
#include "ops.h"

const uint8_t ops_zero32[32];

/*  Alys blocks are built by build_block, so no client has a pending block
    worth asking for; clients answer the tag differently (EthereumJS refuses
    it in eth_getLogs, Geth serves a block of its own), and the spec's log
    filter does not allow it. */
json_t *ops_selector_json(const proto_selector_t *sel)
{
    switch (sel->kind) {
    case PROTO_SEL_HASH: return el_json_hex(sel->hash, 32);
    case PROTO_SEL_NUMBER: return el_json_qty(sel->number);
    default: return json_string(strcmp(sel->tag, "pending") == 0 ? "latest" : sel->tag);
    }
}

json_t *ops_selector_params(const proto_selector_t *sel, bool full, const char **method)
{
    *method = sel->kind == PROTO_SEL_HASH ? "eth_getBlockByHash" : "eth_getBlockByNumber";
    return json_pack("[o,b]", ops_selector_json(sel), full);
}

const char *ops_selector_text(const proto_selector_t *sel, char *buf, size_t n)
{
    switch (sel->kind) {
    case PROTO_SEL_HASH: return hex_encode(sel->hash, 32, buf);
    case PROTO_SEL_NUMBER: snprintf(buf, n, "number %llu", (unsigned long long) sel->number); return buf;
    default: return sel->tag;
    }
}

int ops_read_block(req_t *req, json_t *answer, const proto_selector_t *sel, proto_block_t *out)
{
    char buf[80];
    if (json_is_null(answer) || !answer) {
        engine_reply_error(req, PROTO_BLOCK_NOT_FOUND, "no block %s",
                           ops_selector_text(sel, buf, sizeof buf));
        return -1;
    }
    char err[PROTO_ERR_LEN] = "out of memory";
    if (!out || el_json_decode(&proto_block_schema, answer, out, err, sizeof err) != 0) {
        engine_reply_error(req, PROTO_EL_ERROR, "block from the execution client: %s", err);
        return -1;
    }
    return 0;
}

/*  The label is one of the statuses the Engine API defines, "missing" or
    "other": never the client's text, which would make a series per string. */
void ops_count_status(req_t *req, json_t *status, bool for_payload)
{
    static const char *const known[] = {"VALID", "INVALID", "SYNCING", "ACCEPTED",
                                        "INVALID_BLOCK_HASH"};
    const char *s = json_string_value(json_object_get(status, "status"));
    const char *label = s ? "other" : "missing";
    for (size_t i = 0; s && i < sizeof known / sizeof *known; i++)
        if (strcmp(s, known[i]) == 0)
            label = known[i];
    char labels[96];
    snprintf(labels, sizeof labels, "method=\"%s\",status=\"%s\"",
             for_payload ? "newPayload" : "forkchoiceUpdated", label);
    metrics_add(engine_metrics(req->engine), "alys_engine_payload_status_total", labels, 1);
}

bool ops_status_rejected(req_t *req, json_t *status, const uint8_t *expect, bool for_payload,
                         const char *what)
{
    ops_count_status(req, status, for_payload);
    char msg[256];
    bool syncing;
    proto_err_t err = fork_choice_read_status(status, expect, for_payload, msg, sizeof msg, &syncing);
    if (err == PROTO_OK)
        return false;
    engine_reply_error(req, err, "%s: %s", what, msg);
    return true;
}

void ops_reply_member_error(req_t *req, json_t *error)
{
    json_t *code = json_object_get(error, "code");
    const char *msg = json_string_value(json_object_get(error, "message"));
    el_response_t e = {.err = PROTO_EL_ERROR, .has_el_code = json_is_integer(code),
                       .el_code = json_integer_value(code)};
    snprintf(e.message, sizeof e.message, "execution client error %lld: %s", (long long) e.el_code,
             msg ? msg : "(no message)");
    engine_reply_el_error(req, &e);
}

void ops_count(req_t *req, const char *family)
{
    metrics_add(engine_metrics(req->engine), family, NULL, 1);
}

int ops_decode_tx(req_t *req, json_t *list, size_t i, proto_data_t *out)
{
    free(out->data);
    *out = (proto_data_t){0};
    if (hex_decode_alloc(json_string_value(json_array_get(list, i)), &out->data, &out->len) != 0) {
        out->data = NULL;
        out->len = 0;
        engine_reply_error(req, PROTO_EL_ERROR, "malformed transaction encoding %zu", i);
        return -1;
    }
    return 0;
}
