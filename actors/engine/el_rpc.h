/*  el_rpc: the JSON-RPC half of the execution-client link, without any
    transport: request bodies for single calls and batches, and the reading
    of an answer body into an el_response_t (malformed JSON, wrong ids, a
    member's error, a batch put back in call order). el_client carries the
    bytes; tests and fuzzers feed el_classify_answer any body directly. */
#ifndef ALYS_EL_RPC_H
#define ALYS_EL_RPC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

typedef enum { EL_ENGINE = 0, EL_RPC = 1 } el_endpoint_t;

typedef struct {
    proto_err_t err;       /* PROTO_OK when result is set */
    long http_status;
    bool has_el_code;
    int64_t el_code;
    char message[256];
    json_t *result;        /* borrowed: valid during the callback only.
                              For a batch: the array of responses. */
    json_t *member_errors; /* lenient batch: array of the members' error
                              objects (null where the member succeeded) */
    el_endpoint_t endpoint;
    const char *body;      /* the raw answer (borrowed, during the callback) */
    size_t body_len;
    int64_t latency_us;
} el_response_t;

/*  A JSON-RPC answer body as it came back for one call (batch_n 0) or a
    batch of batch_n calls with ids rpc_id .. rpc_id + batch_n - 1. */
typedef struct {
    const char *body;
    size_t len;
    const char *method;
    uint64_t rpc_id;
    size_t batch_n;
    bool lenient;
} el_answer_t;

/*  Classifies an answer body (after the HTTP status was found acceptable):
    malformed JSON, a duplicated key, a wrong id, a JSON-RPC error, and for a
    batch a wrong count, a missing or duplicated id, each become resp->err
    and a message. On PROTO_OK resp->result borrows from *doc (a batch's
    results in call order), which the caller frees with json_decref. */
void el_classify_answer(const el_answer_t *ans, el_response_t *resp, json_t **doc);

/*  The body of one call with id `id`; `params` is stolen (an array, or
    NULL for []). Returns a string the caller frees, or NULL. */
char *el_rpc_request_text(uint64_t id, const char *method, json_t *params);

/*  The same with params already serialized as a JSON array, passed on
    verbatim. */
char *el_rpc_request_raw(uint64_t id, const char *method, const char *params_text);

/*  The body of a batch: `calls` (borrowed) is a non-empty array of
    [method, params] pairs, numbered first_id, first_id + 1, ... Returns a
    string the caller frees, or NULL. */
char *el_rpc_batch_text(uint64_t first_id, const json_t *calls);

#endif
