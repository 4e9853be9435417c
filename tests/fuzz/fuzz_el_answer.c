/*  libFuzzer target: classification of the execution client's JSON-RPC
    answers, single and batch (el_classify_answer). The first byte picks the
    shape: bit 7 lenient, bits 0-2 the batch size (0: a single call). The
    ids expected start at 1.

    Properties: an ok single answer has a result; an ok batch answer has an
    array of exactly batch_n results (and, lenient, as many member errors). */
#include <jansson.h>

#include "el_client.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t batch_n = data[0] & 7;
    bool lenient = (data[0] & 0x80) != 0;
    el_answer_t a = {.body = (const char *) data + 1, .len = size - 1, .method = "fuzz",
                     .rpc_id = 1, .batch_n = batch_n, .lenient = lenient};
    el_response_t resp = {0};
    json_t *doc = NULL;
    el_classify_answer(&a, &resp, &doc);
    if (resp.err == PROTO_OK) {
        if (!resp.result)
            fuzz_die("fuzz_el_answer", "ok without a result", NULL);
        if (batch_n) {
            if (!json_is_array(resp.result) || json_array_size(resp.result) != batch_n)
                fuzz_die("fuzz_el_answer", "ok batch with the wrong number of results", NULL);
            if (lenient && json_array_size(resp.member_errors) != batch_n)
                fuzz_die("fuzz_el_answer", "lenient batch without its member errors", NULL);
        }
    } else if (!resp.message[0]) {
        fuzz_die("fuzz_el_answer", "an error without a message", NULL);
    }
    json_decref(doc);
    return 0;
}
