/*  libFuzzer target for the untrusted side of proto: the request and reply
    envelopes and the decoder of every schema in the contract.

    Besides what the sanitizers catch (memory errors, undefined behaviour,
    leaks), it checks three properties and aborts when one fails:
    - the pre-scan and msgpack-c agree: what the pre-scan admits parses;
    - a failed decode leaves its struct zeroed (nothing half-owned);
    - whatever decodes is stable: encoding it, decoding that and encoding
      again gives the same bytes, and a deep copy encodes the same. */
#include "proto.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *schema, const char *detail)
{
    fprintf(stderr, "fuzz_proto: %s (%s): %s\n", what, schema, detail);
    abort();
}

static bool same_bytes(const proto_writer_t *a, const proto_writer_t *b)
{
    return a->sbuf.size == b->sbuf.size && memcmp(a->sbuf.data, b->sbuf.data, a->sbuf.size) == 0;
}

static void *zalloc(size_t size)
{
    void *p = calloc(1, size);
    if (!p)
        abort();
    return p;
}

static void check_stable(const proto_schema_t *schema, const void *obj)
{
    proto_writer_t first, second, third;
    proto_writer_init(&first);
    proto_writer_init(&second);
    proto_writer_init(&third);
    proto_encode(schema, obj, &first.pk);

    char err[PROTO_ERR_LEN] = "";
    proto_frame_t *frame = proto_frame_parse((const uint8_t *) first.sbuf.data, first.sbuf.size,
                                             SIZE_MAX, err, sizeof err);
    if (!frame)
        die("the encoding does not parse", schema->name, err);
    void *again = zalloc(schema->size);
    if (proto_decode(schema, proto_frame_root(frame), again, err, sizeof err) != 0)
        die("the encoding does not decode", schema->name, err);
    proto_encode(schema, again, &second.pk);
    if (!same_bytes(&first, &second))
        die("encode(decode(encode(x))) differs from encode(x)", schema->name, "");

    void *copy = zalloc(schema->size);
    if (proto_copy(schema, copy, again) != 0)
        die("proto_copy failed", schema->name, "");
    proto_free(schema, again);
    proto_encode(schema, copy, &third.pk);
    if (!same_bytes(&first, &third))
        die("a deep copy encodes differently", schema->name, "");

    proto_free(schema, copy);
    free(copy);
    free(again);
    proto_frame_destroy(&frame);
    proto_writer_release(&first);
    proto_writer_release(&second);
    proto_writer_release(&third);
}

static void try_schema(const proto_schema_t *schema, const msgpack_object *obj)
{
    uint8_t *out = zalloc(schema->size);
    char err[PROTO_ERR_LEN] = "";
    if (proto_decode(schema, obj, out, err, sizeof err) == 0) {
        check_stable(schema, out);
        proto_free(schema, out);
    } else {
        if (err[0] == '\0')
            die("a failed decode gave no reason", schema->name, "");
        for (size_t i = 0; i < schema->size; i++)
            if (out[i])
                die("a failed decode left data behind", schema->name, err);
    }
    free(out);
}

static const proto_schema_t *const s_values[] = {
    &proto_withdrawal_schema, &proto_payload_schema, &proto_tx_schema,
    &proto_block_schema,      &proto_log_schema,     &proto_receipt_schema,
};

static void try_every_schema(const msgpack_object *obj)
{
    for (size_t i = 0; i < proto_n_ops; i++) {
        if (proto_ops[i].args)
            try_schema(proto_ops[i].args, obj);
        try_schema(proto_ops[i].result, obj);
    }
    for (size_t i = 0; i < sizeof s_values / sizeof *s_values; i++)
        try_schema(s_values[i], obj);
}

/*  Short inputs are also tried as selector text (the CLI's block=...); a
    number that parses must print back to the same value. */
static void try_selector_text(const uint8_t *data, size_t size)
{
    if (size > 80)
        return;
    char text[81];
    memcpy(text, data, size);
    text[size] = '\0';
    proto_selector_t sel;
    if (proto_selector_parse(text, &sel) != 0)
        return;
    if (sel.kind == PROTO_SEL_NUMBER) {
        char back[24];
        snprintf(back, sizeof back, "%" PRIu64, sel.number);
        proto_selector_t again;
        if (proto_selector_parse(back, &again) != 0 || again.number != sel.number)
            die("a parsed number does not parse back", "selector", text);
    } else if (sel.kind == PROTO_SEL_TAG && !proto_tag_valid(sel.tag)) {
        die("an invalid tag was accepted", "selector", text);
    } else if (sel.kind == PROTO_SEL_NONE) {
        die("success without a kind", "selector", text);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[PROTO_ERR_LEN] = "";

    proto_request_t req;
    proto_err_t rc = proto_request_decode(data, size, PROTO_MAX_FRAME_DEFAULT, &req, err, sizeof err);
    if (rc == PROTO_OK) {
        if (strnlen(req.op, sizeof req.op) == sizeof req.op)
            die("op is not terminated", "request", "");
        for (size_t i = 0; i < proto_n_ops; i++)
            if (proto_ops[i].args)
                try_schema(proto_ops[i].args, req.args);
        proto_request_release(&req);
    } else if (req.frame || req.args || rc >= PROTO_ERR_COUNT) {
        die("a refused request kept state", "request", err);
    }

    proto_reply_t reply;
    rc = proto_reply_decode(data, size, PROTO_MAX_FRAME_DEFAULT, &reply, err, sizeof err);
    if (rc == PROTO_OK) {
        if (reply.ok) {
            for (size_t i = 0; i < proto_n_ops; i++)
                try_schema(proto_ops[i].result, reply.result);
        } else if (!reply.message) {
            die("an error reply without a message", "reply", "");
        }
        proto_reply_release(&reply);
    } else if (reply.frame || reply.message || reply.result) {
        die("a refused reply kept state", "reply", err);
    }

    /* the root straight into every decoder, without an envelope to get past */
    char why[128] = "";
    int scan = proto_prescan(data, size, PROTO_MAX_DEPTH, why, sizeof why);
    proto_frame_t *frame = proto_frame_parse(data, size, SIZE_MAX, err, sizeof err);
    if ((scan == 0) != (frame != NULL))
        die("the pre-scan and msgpack-c disagree", "frame", frame ? why : err);
    if (frame) {
        try_every_schema(proto_frame_root(frame));
        proto_frame_destroy(&frame);
    }

    try_selector_text(data, size);
    return 0;
}
