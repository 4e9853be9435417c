/*  Envelopes: the request and reply maps around every op's args and result
    (PROTOCOL.md "Envelope"), written and read in one fixed order. */
#include "proto_private.h"

#include <stdlib.h>
#include <string.h>

#include "errfmt.h"

void proto_request_begin(msgpack_packer *pk, uint64_t id, const char *op, bool with_args)
{
    msgpack_pack_map(pk, with_args ? 4 : 3);
    proto_pack_str(pk, "v");
    msgpack_pack_uint64(pk, PROTO_VERSION);
    proto_pack_str(pk, "id");
    msgpack_pack_uint64(pk, id);
    proto_pack_str(pk, "op");
    proto_pack_str(pk, op);
    if (with_args)
        proto_pack_str(pk, "args");
}

static void reply_head(msgpack_packer *pk, bool has_id, uint64_t id, bool ok)
{
    msgpack_pack_map(pk, 4);
    proto_pack_str(pk, "v");
    msgpack_pack_uint64(pk, PROTO_VERSION);
    proto_pack_str(pk, "id");
    if (has_id)
        msgpack_pack_uint64(pk, id);
    else
        msgpack_pack_nil(pk);
    proto_pack_str(pk, "ok");
    if (ok)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
    proto_pack_str(pk, ok ? "result" : "error");
}

void proto_reply_ok_begin(msgpack_packer *pk, bool has_id, uint64_t id)
{
    reply_head(pk, has_id, id, true);
}

void proto_reply_ok(msgpack_packer *pk, bool has_id, uint64_t id, const proto_schema_t *schema,
                    const void *obj)
{
    reply_head(pk, has_id, id, true);
    if (schema)
        proto_encode(schema, obj, pk);
    else
        msgpack_pack_map(pk, 0);
}

void proto_reply_error(msgpack_packer *pk, bool has_id, uint64_t id, proto_err_t err,
                       const char *message, bool has_el_code, int64_t el_code)
{
    reply_head(pk, has_id, id, false);
    msgpack_pack_map(pk, has_el_code ? 4 : 3);
    proto_pack_str(pk, "code");
    proto_pack_str(pk, proto_err_name(err));
    proto_pack_str(pk, "message");
    proto_pack_str(pk, message ? message : "");
    proto_pack_str(pk, "retryable");
    if (proto_err_retryable(err))
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
    if (has_el_code) {
        proto_pack_str(pk, "el_code");
        msgpack_pack_int64(pk, el_code);
    }
}

/*  Reads the envelope in a fixed order so that the first problem found is
    the one reported: frame, map, id, version, op, args. */
proto_err_t proto_request_decode(const uint8_t *buf, size_t len, size_t max_frame,
                                 proto_request_t *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    proto_frame_t *frame = proto_frame_parse(buf, len, max_frame, err, err_len);
    if (!frame)
        return PROTO_BAD_REQUEST;
    const msgpack_object *root = proto_frame_root(frame);
    proto_err_t rc = PROTO_BAD_REQUEST;
    if (root->type != MSGPACK_OBJECT_MAP) {
        proto_type_error(err, err_len, "request", "a map", root);
        goto bad;
    }
    const msgpack_object *id = proto_map_get(root, "id");
    if (!id) {
        errfmt(err, err_len, "id: missing");
        goto bad;
    }
    if (id->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
        proto_type_error(err, err_len, "id", "uint", id);
        goto bad;
    }
    out->has_id = true;
    out->id = id->via.u64;
    const msgpack_object *v = proto_map_get(root, "v");
    if (!v) {
        errfmt(err, err_len, "v: missing");
        goto bad;
    }
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 != PROTO_VERSION) {
        rc = v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? PROTO_UNSUPPORTED_VERSION
                                                        : PROTO_BAD_REQUEST;
        if (rc == PROTO_UNSUPPORTED_VERSION)
            errfmt(err, err_len, "protocol version %llu is not supported (this actor speaks 1)",
                   (unsigned long long) v->via.u64);
        else
            proto_type_error(err, err_len, "v", "uint", v);
        goto bad;
    }
    out->v = v->via.u64;
    const msgpack_object *op = proto_map_get(root, "op");
    if (!op) {
        errfmt(err, err_len, "op: missing");
        goto bad;
    }
    if (op->type != MSGPACK_OBJECT_STR) {
        proto_type_error(err, err_len, "op", "str", op);
        goto bad;
    }
    if (op->via.str.size >= sizeof out->op || memchr(op->via.str.ptr, 0, op->via.str.size)) {
        rc = PROTO_UNKNOWN_OP;
        errfmt(err, err_len, "unknown op");
        goto bad;
    }
    memcpy(out->op, op->via.str.ptr, op->via.str.size);
    out->op[op->via.str.size] = '\0';
    const msgpack_object *args = proto_map_get(root, "args");
    if (args && args->type != MSGPACK_OBJECT_MAP) {
        proto_type_error(err, err_len, "args", "map", args);
        goto bad;
    }
    out->args = args;
    out->frame = frame;
    return PROTO_OK;
bad:
    proto_frame_destroy(&frame);
    return rc;
}

void proto_request_release(proto_request_t *req)
{
    proto_frame_destroy(&req->frame);
    memset(req, 0, sizeof *req);
}

proto_err_t proto_reply_decode(const uint8_t *buf, size_t len, size_t max_frame,
                               proto_reply_t *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    proto_frame_t *frame = proto_frame_parse(buf, len, max_frame, err, err_len);
    if (!frame)
        return PROTO_BAD_REQUEST;
    const msgpack_object *root = proto_frame_root(frame);
    const msgpack_object *id = proto_map_get(root, "id");
    const msgpack_object *ok = proto_map_get(root, "ok");
    if (root->type != MSGPACK_OBJECT_MAP || !ok || ok->type != MSGPACK_OBJECT_BOOLEAN) {
        errfmt(err, err_len, "reply: not a map with a bool 'ok'");
        goto bad;
    }
    if (id) {
        if (id->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
            proto_type_error(err, err_len, "id", "uint or nil", id);
            goto bad;
        }
        out->has_id = true;
        out->id = id->via.u64;
    }
    out->ok = ok->via.boolean;
    if (out->ok) {
        out->result = proto_map_get(root, "result");
        if (!out->result || out->result->type != MSGPACK_OBJECT_MAP) {
            errfmt(err, err_len, "reply: ok without a result map");
            goto bad;
        }
    } else {
        const msgpack_object *e = proto_map_get(root, "error");
        const msgpack_object *code = proto_map_get(e, "code");
        const msgpack_object *msg = proto_map_get(e, "message");
        const msgpack_object *retry = proto_map_get(e, "retryable");
        const msgpack_object *el = proto_map_get(e, "el_code");
        if (!code || code->type != MSGPACK_OBJECT_STR || code->via.str.size >= sizeof out->error_code
            || !msg || msg->type != MSGPACK_OBJECT_STR || !retry
            || retry->type != MSGPACK_OBJECT_BOOLEAN) {
            errfmt(err, err_len, "reply: malformed error map");
            goto bad;
        }
        memcpy(out->error_code, code->via.str.ptr, code->via.str.size);
        out->error = proto_err_from_name(out->error_code);
        out->message = proto_xcalloc(1, msg->via.str.size + 1);
        memcpy(out->message, msg->via.str.ptr, msg->via.str.size);
        out->retryable = retry->via.boolean;
        if (el && (el->type == MSGPACK_OBJECT_POSITIVE_INTEGER
                   || el->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)) {
            out->has_el_code = true;
            out->el_code = el->via.i64;
        }
    }
    out->frame = frame;
    return PROTO_OK;
bad:
    proto_frame_destroy(&frame);
    out->result = NULL; /* it pointed into the frame */
    return PROTO_BAD_REQUEST;
}

void proto_reply_release(proto_reply_t *reply)
{
    proto_frame_destroy(&reply->frame);
    free(reply->message);
    memset(reply, 0, sizeof *reply);
}
