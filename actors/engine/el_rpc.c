/*  el_rpc: JSON-RPC request bodies and answer classification, no I/O. */
#include "el_rpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *rpc_request(uint64_t id, const char *method, json_t *params)
{
    return json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0", "id", (json_int_t) id, "method",
                     method, "params", params ? params : json_array());
}

char *el_rpc_request_text(uint64_t id, const char *method, json_t *params)
{
    json_t *body = rpc_request(id, method, params);
    if (!body)
        return NULL;
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return text;
}

char *el_rpc_request_raw(uint64_t id, const char *method, const char *params_text)
{
    char *text = NULL;
    if (asprintf(&text, "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"method\":\"%s\",\"params\":%s}",
                 (unsigned long long) id, method, params_text) < 0)
        return NULL;
    return text;
}

char *el_rpc_batch_text(uint64_t first_id, const json_t *calls)
{
    size_t n = json_array_size(calls);
    json_t *body = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *pair = json_array_get(calls, i);
        const char *method = json_string_value(json_array_get(pair, 0));
        json_t *params = json_array_get(pair, 1);
        json_array_append_new(body, rpc_request(first_id + i, method ? method : "",
                                                json_incref(params)));
    }
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return text;
}

/*  Reads one JSON-RPC response object into resp. Returns 0 when it carries a
    result. */
static int read_member(json_t *obj, el_response_t *resp)
{
    json_t *err = json_object_get(obj, "error");
    if (json_is_object(err)) {
        resp->err = PROTO_EL_ERROR;
        json_t *code = json_object_get(err, "code");
        if (json_is_integer(code)) {
            resp->has_el_code = true;
            resp->el_code = json_integer_value(code);
        }
        const char *msg = json_string_value(json_object_get(err, "message"));
        snprintf(resp->message, sizeof resp->message, "execution client error %lld: %s",
                 (long long) resp->el_code, msg ? msg : "(no message)");
        return -1;
    }
    if (!json_object_get(obj, "result")) {
        resp->err = PROTO_EL_ERROR;
        snprintf(resp->message, sizeof resp->message,
                 "execution client answered without a result or an error");
        return -1;
    }
    return 0;
}

void el_classify_answer(const el_answer_t *ans, el_response_t *resp, json_t **doc)
{
    json_error_t jerr;
    /* a key given twice has no single meaning: refused, not last-one-wins */
    *doc = ans->body ? json_loadb(ans->body, ans->len, JSON_REJECT_DUPLICATES, &jerr)
                      : NULL;
    if (!*doc) {
        resp->err = PROTO_EL_ERROR;
        snprintf(resp->message, sizeof resp->message,
                 "execution client answered %s with HTTP %ld and %s", ans->method,
                 resp->http_status, ans->len ? "malformed JSON" : "an empty body");
        return;
    }
    if (ans->batch_n == 0) {
        json_t *id = json_object_get(*doc, "id");
        if (!json_is_object(*doc)) {
            resp->err = PROTO_EL_ERROR;
            snprintf(resp->message, sizeof resp->message, "%s: response is not a JSON object",
                     ans->method);
            return;
        }
        if (read_member(*doc, resp) != 0)
            return;
        if (!json_is_integer(id) || (uint64_t) json_integer_value(id) != ans->rpc_id) {
            resp->err = PROTO_EL_ERROR;
            snprintf(resp->message, sizeof resp->message, "%s: response id does not match",
                     ans->method);
            return;
        }
        resp->result = json_object_get(*doc, "result");
        resp->err = PROTO_OK;
        return;
    }
    /* batch: reorder by id */
    if (!json_is_array(*doc) || json_array_size(*doc) != ans->batch_n) {
        json_t *single = *doc;
        if (json_is_object(single) && read_member(single, resp) != 0)
            return;
        resp->err = PROTO_EL_ERROR;
        snprintf(resp->message, sizeof resp->message,
                 "batch of %zu: execution client answered with %zu responses", ans->batch_n,
                 json_array_size(*doc));
        return;
    }
    json_t *ordered = json_array();
    json_t *errors = ans->lenient ? json_array() : NULL;
    for (size_t i = 0; i < ans->batch_n; i++) {
        json_array_append_new(ordered, json_null());
        if (errors)
            json_array_append_new(errors, json_null());
    }
    /* each id exactly once: with a duplicate, found could reach batch_n
       while another member is missing */
    size_t found = 0;
    bool *seen = calloc(ans->batch_n, sizeof *seen);
    for (size_t i = 0; seen && i < ans->batch_n; i++) {
        json_t *m = json_array_get(*doc, i);
        json_t *id = json_object_get(m, "id");
        if (!json_is_integer(id))
            continue;
        uint64_t k = (uint64_t) json_integer_value(id) - ans->rpc_id;
        if (k >= ans->batch_n || seen[k])
            break;
        seen[k] = true;
        if (read_member(m, resp) != 0) {
            if (ans->lenient) {
                json_t *e = json_object_get(m, "error");
                if (e)
                    json_array_set(errors, k, e);
                else
                    json_array_set_new(errors, k, json_string(resp->message));
                resp->err = PROTO_OK;
                resp->has_el_code = false;
                resp->message[0] = '\0';
                found++;
                continue;
            }
            json_decref(ordered);
            json_decref(errors);
            free(seen);
            return;
        }
        json_array_set(ordered, k, json_object_get(m, "result"));
        found++;
    }
    free(seen);
    if (found != ans->batch_n) {
        json_decref(ordered);
        json_decref(errors);
        resp->err = PROTO_EL_ERROR;
        snprintf(resp->message, sizeof resp->message, "batch responses do not match the requests");
        return;
    }
    json_decref(*doc);
    *doc = json_pack("[o,o]", ordered, errors ? errors : json_null());
    resp->result = ordered;
    resp->member_errors = errors;
    resp->err = PROTO_OK;
}

