/*  libFuzzer target: every decoder of the execution client's objects. The
    first byte picks one: ExecutionPayload, block, receipt, log, withdrawal
    (el_json_decode against the contract's schemas), a PayloadStatus
    (fork_choice_read_status, as newPayload and forkchoiceUpdated answers
    are read), or the value helpers (quantity, U256). The rest is JSON.

    Properties: a decoded object encodes back to JSON that decodes to the
    same msgpack encoding (nothing is lost or invented in a round trip); a
    refused status comes with a message. */
#include <jansson.h>

#include "el_json.h"
#include "fork_choice.h"
#include "fuzz_util.h"
#include "proto.h"

static const proto_schema_t *const s_schemas[] = {
    &proto_payload_schema, &proto_block_schema, &proto_receipt_schema, &proto_log_schema,
    &proto_withdrawal_schema,
};
#define N_SCHEMAS (sizeof s_schemas / sizeof *s_schemas)

static void encode(const proto_schema_t *schema, const void *obj, proto_writer_t *w)
{
    proto_writer_init(w);
    proto_encode(schema, obj, &w->pk);
}

static void round_trip(const proto_schema_t *schema, const void *obj)
{
    json_t *again_json = el_json_encode(schema, obj);
    if (!again_json)
        fuzz_die("fuzz_el_decode", "cannot encode a decoded object", schema->name);
    void *again = calloc(1, schema->size);
    char err[256];
    if (el_json_decode(schema, again_json, again, err, sizeof err) != 0)
        fuzz_die("fuzz_el_decode", "the encoding of a decoded object does not decode", err);
    proto_writer_t a, b;
    encode(schema, obj, &a);
    encode(schema, again, &b);
    if (a.sbuf.size != b.sbuf.size || memcmp(a.sbuf.data, b.sbuf.data, a.sbuf.size) != 0)
        fuzz_die("fuzz_el_decode", "decode(encode(x)) differs from x", schema->name);
    proto_writer_release(&a);
    proto_writer_release(&b);
    proto_free(schema, again);
    free(again);
    json_decref(again_json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned pick = data[0] % (N_SCHEMAS + 2);
    json_error_t jerr;
    json_t *doc = json_loadb((const char *) data + 1, size - 1,
                             JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!doc)
        return 0;
    char err[256];
    if (pick < N_SCHEMAS) {
        const proto_schema_t *schema = s_schemas[pick];
        void *obj = calloc(1, schema->size);
        if (el_json_decode(schema, doc, obj, err, sizeof err) == 0) {
            round_trip(schema, obj);
            proto_free(schema, obj);
        } else {
            /* a refused object leaves nothing behind: freeing it is a no-op */
            proto_free(schema, obj);
        }
        free(obj);
    } else if (pick == N_SCHEMAS) {
        static const uint8_t expect[32] = {1};
        for (int for_payload = 0; for_payload < 2; for_payload++) {
            char msg[256] = "";
            bool syncing = false;
            proto_err_t rc = fork_choice_read_status(doc, for_payload ? expect : NULL,
                                                     for_payload, msg, sizeof msg, &syncing);
            if (rc != PROTO_OK && !msg[0])
                fuzz_die("fuzz_el_decode", "a refused status without a message", NULL);
        }
    } else {
        uint64_t q;
        uint8_t u[32];
        if (el_json_quantity(doc, &q) == 0) {
            json_t *back = el_json_qty(q);
            uint64_t q2 = 0;
            if (el_json_quantity(back, &q2) != 0 || q2 != q)
                fuzz_die("fuzz_el_decode", "quantity round trip", NULL);
            json_decref(back);
        }
        (void) el_json_u256(doc, u);
    }
    json_decref(doc);
    return 0;
}
