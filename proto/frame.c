/*  Untrusted msgpack in: error codes, the pre-scan that bounds what msgpack-c
    may allocate, frame parsing and map lookup. */
#include "proto_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errfmt.h"

/* ------------------------------------------------------------------ errors */

static const struct {
    const char *name;
    bool retryable;
} s_errors[PROTO_ERR_COUNT] = {
    [PROTO_OK] = {"OK", false},
    [PROTO_BAD_REQUEST] = {"BAD_REQUEST", false},
    [PROTO_UNKNOWN_OP] = {"UNKNOWN_OP", false},
    [PROTO_UNSUPPORTED_VERSION] = {"UNSUPPORTED_VERSION", false},
    [PROTO_EL_UNAVAILABLE] = {"EL_UNAVAILABLE", true},
    [PROTO_EL_TIMEOUT] = {"EL_TIMEOUT", true},
    [PROTO_EL_AUTH_FAILED] = {"EL_AUTH_FAILED", false},
    [PROTO_EL_ERROR] = {"EL_ERROR", false},
    [PROTO_EL_SYNCING] = {"EL_SYNCING", true},
    [PROTO_INVALID_FORKCHOICE] = {"INVALID_FORKCHOICE", false},
    [PROTO_INVALID_PAYLOAD] = {"INVALID_PAYLOAD", false},
    [PROTO_PAYLOAD_ID_UNAVAILABLE] = {"PAYLOAD_ID_UNAVAILABLE", true},
    [PROTO_BLOCK_NOT_FOUND] = {"BLOCK_NOT_FOUND", false},
    [PROTO_FINALIZED_CONFLICT] = {"FINALIZED_CONFLICT", false},
    [PROTO_OVERLOADED] = {"OVERLOADED", true},
    [PROTO_SHUTTING_DOWN] = {"SHUTTING_DOWN", true},
    [PROTO_INTERNAL] = {"INTERNAL", false},
};

const char *proto_err_name(proto_err_t err)
{
    return err < PROTO_ERR_COUNT ? s_errors[err].name : "INTERNAL";
}

bool proto_err_retryable(proto_err_t err)
{
    return err < PROTO_ERR_COUNT && s_errors[err].retryable;
}

proto_err_t proto_err_from_name(const char *name)
{
    for (int i = 1; i < PROTO_ERR_COUNT; i++)
        if (strcmp(name, s_errors[i].name) == 0)
            return (proto_err_t) i;
    return PROTO_ERR_COUNT;
}

void *proto_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        abort();
    }
    return p;
}

/* ---------------------------------------------------------------- prescan */

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/*  Walks the encoding without building anything. `outstanding` is how many
    elements are still owed by open containers; since each takes at least one
    byte, it may never exceed the bytes left. That bounds what msgpack-c will
    allocate from any header. */
int proto_prescan(const uint8_t *buf, size_t len, size_t max_depth, char *why, size_t why_len)
{
    uint64_t stack[PROTO_MAX_DEPTH + 2];
    size_t depth = 0;
    uint64_t outstanding = 1;
    size_t pos = 0;
    if (max_depth > PROTO_MAX_DEPTH)
        max_depth = PROTO_MAX_DEPTH;
    if (len == 0)
        return errfmt(why, why_len, "empty frame");

    while (outstanding > 0) {
        if (pos >= len)
            return errfmt(why, why_len, "truncated at byte %zu", pos);
        uint8_t b = buf[pos++];
        uint64_t skip = 0;   /* payload bytes after the header */
        uint64_t children = 0;
        bool container = false;
        int lenbytes = 0;

        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
            /* fixint, nil, bool */
        } else if (b >= 0x80 && b <= 0x8f) {
            children = 2 * (uint64_t) (b & 0x0f);
            container = true;
        } else if (b >= 0x90 && b <= 0x9f) {
            children = b & 0x0f;
            container = true;
        } else if (b >= 0xa0 && b <= 0xbf) {
            skip = b & 0x1f;
        } else {
            switch (b) {
            case 0xc4: case 0xd9: lenbytes = 1; break;
            case 0xc5: case 0xda: lenbytes = 2; break;
            case 0xc6: case 0xdb: lenbytes = 4; break;
            case 0xc7: lenbytes = 1; skip = 1; break;
            case 0xc8: lenbytes = 2; skip = 1; break;
            case 0xc9: lenbytes = 4; skip = 1; break;
            case 0xca: skip = 4; break;
            case 0xcb: skip = 8; break;
            case 0xcc: case 0xd0: skip = 1; break;
            case 0xcd: case 0xd1: skip = 2; break;
            case 0xce: case 0xd2: skip = 4; break;
            case 0xcf: case 0xd3: skip = 8; break;
            case 0xd4: skip = 2; break;
            case 0xd5: skip = 3; break;
            case 0xd6: skip = 5; break;
            case 0xd7: skip = 9; break;
            case 0xd8: skip = 17; break;
            case 0xdc: case 0xdd: {
                int n = b == 0xdc ? 2 : 4;
                if (len - pos < (size_t) n)
                    return errfmt(why, why_len, "truncated array header at byte %zu", pos - 1);
                children = be(buf + pos, n);
                pos += (size_t) n;
                container = true;
                break;
            }
            case 0xde: case 0xdf: {
                int n = b == 0xde ? 2 : 4;
                if (len - pos < (size_t) n)
                    return errfmt(why, why_len, "truncated map header at byte %zu", pos - 1);
                children = 2 * be(buf + pos, n);
                pos += (size_t) n;
                container = true;
                break;
            }
            default:
                return errfmt(why, why_len, "invalid msgpack type byte 0x%02x at %zu", b, pos - 1);
            }
        }
        if (lenbytes) {
            if (len - pos < (size_t) lenbytes)
                return errfmt(why, why_len, "truncated length at byte %zu", pos - 1);
            skip += be(buf + pos, lenbytes);
            pos += (size_t) lenbytes;
        }
        if (skip > len - pos)
            return errfmt(why, why_len, "length %llu exceeds the %zu bytes left",
                          (unsigned long long) skip, len - pos);
        pos += (size_t) skip;

        /* this element is consumed */
        outstanding--;
        if (depth > 0)
            stack[depth - 1]--;
        if (container && children > 0) {
            if (children > len - pos || outstanding + children > len - pos)
                return errfmt(why, why_len, "element count %llu exceeds the %zu bytes left",
                              (unsigned long long) children, len - pos);
            if (depth >= max_depth)
                return errfmt(why, why_len, "nesting deeper than %zu", max_depth);
            stack[depth++] = children;
            outstanding += children;
        }
        while (depth > 0 && stack[depth - 1] == 0)
            depth--;
    }
    if (pos != len)
        return errfmt(why, why_len, "%zu trailing bytes after the object", len - pos);
    return 0;
}

/* ------------------------------------------------------------------ frames */

struct proto_frame {
    msgpack_unpacked unpacked;
};

proto_frame_t *proto_frame_parse(const uint8_t *buf, size_t len, size_t max_frame, char *err,
                                 size_t err_len)
{
    if (len > max_frame) {
        errfmt(err, err_len, "frame of %zu bytes exceeds the %zu byte limit", len, max_frame);
        return NULL;
    }
    char why[128];
    if (proto_prescan(buf, len, PROTO_MAX_DEPTH, why, sizeof why) != 0) {
        errfmt(err, err_len, "not one msgpack object: %s", why);
        return NULL;
    }
    proto_frame_t *self = proto_xcalloc(1, sizeof *self);
    msgpack_unpacked_init(&self->unpacked);
    size_t off = 0;
    msgpack_unpack_return rc = msgpack_unpack_next(&self->unpacked, (const char *) buf, len, &off);
    if (rc != MSGPACK_UNPACK_SUCCESS || off != len) {
        errfmt(err, err_len, "msgpack parse failed (%d)", (int) rc);
        proto_frame_destroy(&self);
        return NULL;
    }
    return self;
}

const msgpack_object *proto_frame_root(const proto_frame_t *self)
{
    return &self->unpacked.data;
}

void proto_frame_destroy(proto_frame_t **self_p)
{
    if (self_p && *self_p) {
        msgpack_unpacked_destroy(&(*self_p)->unpacked);
        free(*self_p);
        *self_p = NULL;
    }
}

/* ------------------------------------------------------------ decode utils */

static bool str_eq(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n && memcmp(o->via.str.ptr, s, n) == 0;
}

const msgpack_object *proto_map_get(const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        if (str_eq(&kv->key, key))
            return kv->val.type == MSGPACK_OBJECT_NIL ? NULL : &kv->val;
    }
    return NULL;
}


static const char *type_name(const msgpack_object *o, char *buf, size_t n)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return "nil";
    case MSGPACK_OBJECT_BOOLEAN: return "bool";
    case MSGPACK_OBJECT_POSITIVE_INTEGER: return "uint";
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "negative int";
    case MSGPACK_OBJECT_FLOAT32: case MSGPACK_OBJECT_FLOAT64: return "float";
    case MSGPACK_OBJECT_STR: return "str";
    case MSGPACK_OBJECT_BIN: snprintf(buf, n, "bin of %u bytes", o->via.bin.size); return buf;
    case MSGPACK_OBJECT_ARRAY: return "array";
    case MSGPACK_OBJECT_MAP: return "map";
    default: return "ext";
    }
}

int proto_type_error(char *err, size_t err_len, const char *path, const char *want,
                     const msgpack_object *o)
{
    char buf[32];
    return errfmt(err, err_len, "%s: expected %s, got %s", path, want,
                  type_name(o, buf, sizeof buf));
}
