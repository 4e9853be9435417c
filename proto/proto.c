/*  The generic msgpack codec: pre-scan, envelopes, schema walkers. */
#include "proto.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        abort();
    }
    return p;
}

/* ---------------------------------------------------------------- prescan */

static int fail(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t why_len, const char *fmt, ...)
{
    if (why && why_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

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
        return fail(why, why_len, "empty frame");

    while (outstanding > 0) {
        if (pos >= len)
            return fail(why, why_len, "truncated at byte %zu", pos);
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
                    return fail(why, why_len, "truncated array header at byte %zu", pos - 1);
                children = be(buf + pos, n);
                pos += (size_t) n;
                container = true;
                break;
            }
            case 0xde: case 0xdf: {
                int n = b == 0xde ? 2 : 4;
                if (len - pos < (size_t) n)
                    return fail(why, why_len, "truncated map header at byte %zu", pos - 1);
                children = 2 * be(buf + pos, n);
                pos += (size_t) n;
                container = true;
                break;
            }
            default:
                return fail(why, why_len, "invalid msgpack type byte 0x%02x at %zu", b, pos - 1);
            }
        }
        if (lenbytes) {
            if (len - pos < (size_t) lenbytes)
                return fail(why, why_len, "truncated length at byte %zu", pos - 1);
            skip += be(buf + pos, lenbytes);
            pos += (size_t) lenbytes;
        }
        if (skip > len - pos)
            return fail(why, why_len, "length %llu exceeds the %zu bytes left",
                        (unsigned long long) skip, len - pos);
        pos += (size_t) skip;

        /* this element is consumed */
        outstanding--;
        if (depth > 0)
            stack[depth - 1]--;
        if (container && children > 0) {
            if (children > len - pos || outstanding + children > len - pos)
                return fail(why, why_len, "element count %llu exceeds the %zu bytes left",
                            (unsigned long long) children, len - pos);
            if (depth >= max_depth)
                return fail(why, why_len, "nesting deeper than %zu", max_depth);
            stack[depth++] = children;
            outstanding += children;
        }
        while (depth > 0 && stack[depth - 1] == 0)
            depth--;
    }
    if (pos != len)
        return fail(why, why_len, "%zu trailing bytes after the object", len - pos);
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
        fail(err, err_len, "frame of %zu bytes exceeds the %zu byte limit", len, max_frame);
        return NULL;
    }
    char why[128];
    if (proto_prescan(buf, len, PROTO_MAX_DEPTH, why, sizeof why) != 0) {
        fail(err, err_len, "not one msgpack object: %s", why);
        return NULL;
    }
    proto_frame_t *self = xcalloc(1, sizeof *self);
    msgpack_unpacked_init(&self->unpacked);
    size_t off = 0;
    msgpack_unpack_return rc = msgpack_unpack_next(&self->unpacked, (const char *) buf, len, &off);
    if (rc != MSGPACK_UNPACK_SUCCESS || off != len) {
        fail(err, err_len, "msgpack parse failed (%d)", (int) rc);
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

static int type_error(char *err, size_t err_len, const char *path, const char *want,
                      const msgpack_object *o)
{
    char buf[32];
    return fail(err, err_len, "%s: expected %s, got %s", path, want, type_name(o, buf, sizeof buf));
}

static int fixed_bin(const msgpack_object *o, uint8_t *out, size_t n, const char *want,
                     const char *path, char *err, size_t err_len)
{
    if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != n)
        return type_error(err, err_len, path, want, o);
    memcpy(out, o->via.bin.ptr, n);
    return 0;
}

static const char *const s_tags[] = {"latest", "pending", "earliest", "safe", "finalized"};

bool proto_tag_valid(const char *tag)
{
    for (size_t i = 0; i < sizeof s_tags / sizeof *s_tags; i++)
        if (strcmp(tag, s_tags[i]) == 0)
            return true;
    return false;
}

static int decode_selector(const msgpack_object *o, proto_selector_t *sel, const char *path,
                           char *err, size_t err_len)
{
    memset(sel, 0, sizeof *sel);
    if (o->type == MSGPACK_OBJECT_BIN && o->via.bin.size == 32) {
        sel->kind = PROTO_SEL_HASH;
        memcpy(sel->hash, o->via.bin.ptr, 32);
        return 0;
    }
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        sel->kind = PROTO_SEL_NUMBER;
        sel->number = o->via.u64;
        return 0;
    }
    if (o->type == MSGPACK_OBJECT_STR && o->via.str.size < sizeof sel->tag) {
        memcpy(sel->tag, o->via.str.ptr, o->via.str.size);
        sel->tag[o->via.str.size] = '\0';
        if (strlen(sel->tag) == o->via.str.size && proto_tag_valid(sel->tag)) {
            sel->kind = PROTO_SEL_TAG;
            return 0;
        }
        return fail(err, err_len, "%s: unknown block tag (latest, pending, earliest, safe, finalized)",
                    path);
    }
    return type_error(err, err_len, path, "a block hash (bin 32), number (uint) or tag (str)", o);
}

size_t proto_elem_size(proto_ftype_t type)
{
    switch (type) {
    case PF_HASH32: case PF_U256: return 32;
    case PF_ADDRESS: return 20;
    case PF_PAYLOAD_ID: return 8;
    case PF_BLOOM: return 256;
    case PF_DATA: return sizeof(proto_data_t);
    case PF_QUANTITY: return sizeof(uint64_t);
    default: return 0;
    }
}

static int decode_value(proto_ftype_t type, const proto_field_t *f, const msgpack_object *o,
                        void *dst, const char *path, char *err, size_t err_len);

static int decode_data(const msgpack_object *o, proto_data_t *d, size_t max_len, const char *path,
                       char *err, size_t err_len)
{
    if (o->type != MSGPACK_OBJECT_BIN)
        return type_error(err, err_len, path, "bin", o);
    if (max_len && o->via.bin.size > max_len)
        return fail(err, err_len, "%s: %u bytes, at most %zu allowed", path, o->via.bin.size, max_len);
    d->len = o->via.bin.size;
    d->data = xcalloc(1, d->len);
    if (d->len)
        memcpy(d->data, o->via.bin.ptr, d->len);
    return 0;
}

static void free_value(proto_ftype_t type, const proto_field_t *f, void *p);

static int decode_array(const proto_field_t *f, const msgpack_object *o, void *base,
                        const char *path, char *err, size_t err_len)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return type_error(err, err_len, path, "array", o);
    uint32_t n = o->via.array.size;
    if (f->max_len && n > f->max_len)
        return fail(err, err_len, "%s: %u items, at most %zu allowed", path, n, f->max_len);
    size_t esize = f->elem_type == PF_STRUCT ? f->sub->size : proto_elem_size(f->elem_type);
    assert(esize > 0);
    uint8_t *items = xcalloc(n, esize);
    for (uint32_t i = 0; i < n; i++) {
        char sub[160];
        snprintf(sub, sizeof sub, "%s[%u]", path, i);
        if (decode_value(f->elem_type, f, &o->via.array.ptr[i], items + i * esize, sub, err,
                         err_len) != 0) {
            for (uint32_t j = 0; j < i; j++)
                free_value(f->elem_type, f, items + j * esize);
            free(items);
            return -1;
        }
    }
    *(void **) ((uint8_t *) base + f->off) = items;
    *(size_t *) ((uint8_t *) base + f->count_off) = n;
    return 0;
}

static int decode_topics(const proto_field_t *f, const msgpack_object *o, void *base,
                         const char *path, char *err, size_t err_len)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return type_error(err, err_len, path, "array", o);
    uint32_t n = o->via.array.size;
    if (n > 4)
        return fail(err, err_len, "%s: %u positions, at most 4 allowed", path, n);
    proto_topic_t *topics = xcalloc(n, sizeof *topics);
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *t = &o->via.array.ptr[i];
        char sub[160];
        snprintf(sub, sizeof sub, "%s[%u]", path, i);
        int rc = 0;
        if (t->type == MSGPACK_OBJECT_NIL) {
            topics[i].any = true;
        } else if (t->type == MSGPACK_OBJECT_ARRAY) {
            uint32_t m = t->via.array.size;
            if (m > 64)
                rc = fail(err, err_len, "%s: %u alternatives, at most 64 allowed", sub, m);
            topics[i].hashes = xcalloc(m, 32);
            topics[i].n = m;
            for (uint32_t j = 0; rc == 0 && j < m; j++)
                rc = fixed_bin(&t->via.array.ptr[j], topics[i].hashes[j], 32, "Hash32 (bin 32)",
                               sub, err, err_len);
        } else {
            topics[i].hashes = xcalloc(1, 32);
            topics[i].n = 1;
            rc = fixed_bin(t, topics[i].hashes[0], 32, "nil, Hash32 or array of Hash32", sub, err,
                           err_len);
        }
        if (rc != 0) {
            for (uint32_t j = 0; j <= i; j++)
                free(topics[j].hashes);
            free(topics);
            return -1;
        }
    }
    *(proto_topic_t **) ((uint8_t *) base + f->off) = topics;
    *(size_t *) ((uint8_t *) base + f->count_off) = n;
    return 0;
}

static int decode_txlist(const proto_field_t *f, const msgpack_object *o, void *base,
                         const char *path, char *err, size_t err_len)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return type_error(err, err_len, path, "array", o);
    uint32_t n = o->via.array.size;
    bool full = n > 0 && o->via.array.ptr[0].type == MSGPACK_OBJECT_MAP;
    proto_tx_t *txs = xcalloc(n, sizeof *txs);
    for (uint32_t i = 0; i < n; i++) {
        char sub[160];
        snprintf(sub, sizeof sub, "%s[%u]", path, i);
        int rc = full ? (o->via.array.ptr[i].type == MSGPACK_OBJECT_MAP
                             ? proto_decode(&proto_tx_schema, &o->via.array.ptr[i], &txs[i], err,
                                            err_len)
                             : type_error(err, err_len, sub, "Transaction map", &o->via.array.ptr[i]))
                      : fixed_bin(&o->via.array.ptr[i], txs[i].hash, 32, "Hash32 (bin 32)", sub,
                                  err, err_len);
        if (rc != 0) {
            for (uint32_t j = 0; j < i; j++)
                proto_free(&proto_tx_schema, &txs[j]);
            free(txs);
            return -1;
        }
    }
    *(proto_tx_t **) ((uint8_t *) base + f->off) = txs;
    *(size_t *) ((uint8_t *) base + f->count_off) = n;
    *(bool *) ((uint8_t *) base + f->has_off) = full;
    return 0;
}

/*  Decodes one value of a scalar or nested type into dst. */
static int decode_value(proto_ftype_t type, const proto_field_t *f, const msgpack_object *o,
                        void *dst, const char *path, char *err, size_t err_len)
{
    switch (type) {
    case PF_HASH32: return fixed_bin(o, dst, 32, "Hash32 (bin 32)", path, err, err_len);
    case PF_U256: return fixed_bin(o, dst, 32, "U256 (bin 32)", path, err, err_len);
    case PF_ADDRESS: return fixed_bin(o, dst, 20, "Address (bin 20)", path, err, err_len);
    case PF_PAYLOAD_ID: return fixed_bin(o, dst, 8, "PayloadId (bin 8)", path, err, err_len);
    case PF_BLOOM: return fixed_bin(o, dst, 256, "logs bloom (bin 256)", path, err, err_len);
    case PF_QUANTITY:
        if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            return type_error(err, err_len, path, "Quantity (uint)", o);
        *(uint64_t *) dst = o->via.u64;
        return 0;
    case PF_BOOL:
        if (o->type != MSGPACK_OBJECT_BOOLEAN)
            return type_error(err, err_len, path, "bool", o);
        *(bool *) dst = o->via.boolean;
        return 0;
    case PF_STR: {
        if (o->type != MSGPACK_OBJECT_STR)
            return type_error(err, err_len, path, "str", o);
        char *s = xcalloc(1, o->via.str.size + 1);
        memcpy(s, o->via.str.ptr, o->via.str.size);
        *(char **) dst = s;
        return 0;
    }
    case PF_DATA: /* an array's max_len counts its items, not their bytes */
        return decode_data(o, dst, f && f->type == PF_DATA ? f->max_len : 0, path, err, err_len);
    case PF_SELECTOR: return decode_selector(o, dst, path, err, err_len);
    case PF_STRUCT:
        if (o->type != MSGPACK_OBJECT_MAP)
            return type_error(err, err_len, path, "map", o);
        {
            /* nested paths: prefix the sub-schema's own errors */
            char sub_err[PROTO_ERR_LEN];
            if (proto_decode(f->sub, o, dst, sub_err, sizeof sub_err) != 0)
                return fail(err, err_len, "%s.%s", path, sub_err);
        }
        return 0;
    default:
        return fail(err, err_len, "%s: unsupported field type", path);
    }
}

int proto_decode(const proto_schema_t *schema, const msgpack_object *obj, void *out, char *err,
                 size_t err_len)
{
    if (!obj || obj->type != MSGPACK_OBJECT_MAP)
        return obj ? type_error(err, err_len, schema->name, "map", obj)
                   : fail(err, err_len, "%s: missing", schema->name);
    uint8_t *base = out;
    for (size_t i = 0; i < schema->n_fields; i++) {
        const proto_field_t *f = &schema->fields[i];
        const msgpack_object *v = proto_map_get(obj, f->key);
        if (!v) {
            if (f->flags & (PF_OPTIONAL | PF_NULLABLE | PF_DEFAULTED))
                continue;
            proto_free(schema, out);
            return fail(err, err_len, "%s: missing", f->key);
        }
        int rc;
        switch (f->type) {
        case PF_ARRAY: rc = decode_array(f, v, base, f->key, err, err_len); break;
        case PF_TOPICS: rc = decode_topics(f, v, base, f->key, err, err_len); break;
        case PF_TXLIST: rc = decode_txlist(f, v, base, f->key, err, err_len); break;
        default: rc = decode_value(f->type, f, v, base + f->off, f->key, err, err_len); break;
        }
        if (rc != 0) {
            proto_free(schema, out);
            return -1;
        }
        if ((f->flags & (PF_OPTIONAL | PF_NULLABLE)) && f->type != PF_TXLIST
            && f->type != PF_SELECTOR)
            *(bool *) (base + f->has_off) = true;
    }
    return 0;
}

/* -------------------------------------------------------------------- free */

static void free_value(proto_ftype_t type, const proto_field_t *f, void *p)
{
    switch (type) {
    case PF_STR: free(*(char **) p); *(char **) p = NULL; break;
    case PF_DATA: free(((proto_data_t *) p)->data); memset(p, 0, sizeof(proto_data_t)); break;
    case PF_STRUCT: proto_free(f->sub, p); break;
    default: break;
    }
}

void proto_free(const proto_schema_t *schema, void *obj)
{
    if (!obj)
        return;
    uint8_t *base = obj;
    for (size_t i = 0; i < schema->n_fields; i++) {
        const proto_field_t *f = &schema->fields[i];
        switch (f->type) {
        case PF_ARRAY: {
            uint8_t *items = *(uint8_t **) (base + f->off);
            size_t n = *(size_t *) (base + f->count_off);
            size_t esize = f->elem_type == PF_STRUCT ? f->sub->size : proto_elem_size(f->elem_type);
            for (size_t j = 0; items && j < n; j++)
                free_value(f->elem_type, f, items + j * esize);
            free(items);
            break;
        }
        case PF_TOPICS: {
            proto_topic_t *t = *(proto_topic_t **) (base + f->off);
            size_t n = *(size_t *) (base + f->count_off);
            for (size_t j = 0; t && j < n; j++)
                free(t[j].hashes);
            free(t);
            break;
        }
        case PF_TXLIST: {
            proto_tx_t *txs = *(proto_tx_t **) (base + f->off);
            size_t n = *(size_t *) (base + f->count_off);
            for (size_t j = 0; txs && j < n; j++)
                proto_free(&proto_tx_schema, &txs[j]);
            free(txs);
            break;
        }
        default:
            free_value(f->type, f, base + f->off);
            break;
        }
    }
    memset(obj, 0, schema->size);
}

/* -------------------------------------------------------------------- copy */

static void *dup_bytes(const void *src, size_t n)
{
    void *p = xcalloc(1, n);
    if (n)
        memcpy(p, src, n);
    return p;
}

static void copy_value(proto_ftype_t type, const proto_field_t *f, void *dst, const void *src)
{
    switch (type) {
    case PF_STR: {
        const char *s = *(char *const *) src;
        *(char **) dst = s ? dup_bytes(s, strlen(s) + 1) : NULL;
        break;
    }
    case PF_DATA: {
        const proto_data_t *s = src;
        proto_data_t *d = dst;
        d->len = s->len;
        d->data = s->data ? dup_bytes(s->data, s->len) : NULL;
        break;
    }
    case PF_STRUCT: proto_copy(f->sub, dst, src); break;
    default: break;
    }
}

/*  Copies the struct bytes, then replaces every owned pointer with a copy. */
int proto_copy(const proto_schema_t *schema, void *dst, const void *src)
{
    memcpy(dst, src, schema->size);
    uint8_t *d = dst;
    const uint8_t *s = src;
    for (size_t i = 0; i < schema->n_fields; i++) {
        const proto_field_t *f = &schema->fields[i];
        switch (f->type) {
        case PF_ARRAY: {
            size_t n = *(const size_t *) (s + f->count_off);
            const uint8_t *items = *(uint8_t *const *) (s + f->off);
            size_t esize = f->elem_type == PF_STRUCT ? f->sub->size : proto_elem_size(f->elem_type);
            uint8_t *copy = items ? xcalloc(n, esize) : NULL;
            for (size_t j = 0; copy && j < n; j++) {
                memcpy(copy + j * esize, items + j * esize, esize);
                copy_value(f->elem_type, f, copy + j * esize, items + j * esize);
            }
            *(uint8_t **) (d + f->off) = copy;
            break;
        }
        case PF_TOPICS: {
            size_t n = *(const size_t *) (s + f->count_off);
            const proto_topic_t *t = *(proto_topic_t *const *) (s + f->off);
            proto_topic_t *copy = t ? dup_bytes(t, n * sizeof *t) : NULL;
            for (size_t j = 0; copy && j < n; j++)
                copy[j].hashes = t[j].hashes ? dup_bytes(t[j].hashes, 32 * t[j].n) : NULL;
            *(proto_topic_t **) (d + f->off) = copy;
            break;
        }
        case PF_TXLIST: {
            size_t n = *(const size_t *) (s + f->count_off);
            const proto_tx_t *txs = *(proto_tx_t *const *) (s + f->off);
            proto_tx_t *copy = txs ? xcalloc(n, sizeof *copy) : NULL;
            for (size_t j = 0; copy && j < n; j++)
                proto_copy(&proto_tx_schema, &copy[j], &txs[j]);
            *(proto_tx_t **) (d + f->off) = copy;
            break;
        }
        default:
            copy_value(f->type, f, d + f->off, s + f->off);
            break;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ encode */

void proto_writer_init(proto_writer_t *w)
{
    msgpack_sbuffer_init(&w->sbuf);
    msgpack_packer_init(&w->pk, &w->sbuf, msgpack_sbuffer_write);
}

void proto_writer_reset(proto_writer_t *w) { msgpack_sbuffer_clear(&w->sbuf); }

void proto_writer_release(proto_writer_t *w) { msgpack_sbuffer_destroy(&w->sbuf); }

void proto_pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

void proto_pack_bin(msgpack_packer *pk, const void *data, size_t len)
{
    msgpack_pack_bin(pk, len);
    if (len)
        msgpack_pack_bin_body(pk, data, len);
}

void proto_pack_selector(msgpack_packer *pk, const proto_selector_t *sel)
{
    switch (sel->kind) {
    case PROTO_SEL_HASH: proto_pack_bin(pk, sel->hash, 32); break;
    case PROTO_SEL_NUMBER: msgpack_pack_uint64(pk, sel->number); break;
    case PROTO_SEL_TAG: proto_pack_str(pk, sel->tag); break;
    default: msgpack_pack_nil(pk); break;
    }
}

static void encode_value(proto_ftype_t type, const proto_field_t *f, const void *p,
                         msgpack_packer *pk)
{
    switch (type) {
    case PF_HASH32: case PF_U256: proto_pack_bin(pk, p, 32); break;
    case PF_ADDRESS: proto_pack_bin(pk, p, 20); break;
    case PF_PAYLOAD_ID: proto_pack_bin(pk, p, 8); break;
    case PF_BLOOM: proto_pack_bin(pk, p, 256); break;
    case PF_QUANTITY: msgpack_pack_uint64(pk, *(const uint64_t *) p); break;
    case PF_BOOL:
        if (*(const bool *) p) msgpack_pack_true(pk); else msgpack_pack_false(pk);
        break;
    case PF_STR: {
        const char *s = *(char *const *) p;
        if (s) proto_pack_str(pk, s); else msgpack_pack_nil(pk);
        break;
    }
    case PF_DATA: {
        const proto_data_t *d = p;
        proto_pack_bin(pk, d->data, d->len);
        break;
    }
    case PF_SELECTOR: proto_pack_selector(pk, p); break;
    case PF_STRUCT: proto_encode(f->sub, p, pk); break;
    default: msgpack_pack_nil(pk); break;
    }
}

static bool field_present(const proto_field_t *f, const uint8_t *base)
{
    if (f->type == PF_SELECTOR && (f->flags & PF_OPTIONAL))
        return ((const proto_selector_t *) (base + f->off))->kind != PROTO_SEL_NONE;
    if ((f->flags & PF_OPTIONAL) && f->type != PF_TXLIST)
        return *(const bool *) (base + f->has_off);
    return true;
}

void proto_encode(const proto_schema_t *schema, const void *obj, msgpack_packer *pk)
{
    const uint8_t *base = obj;
    uint32_t n = 0;
    for (size_t i = 0; i < schema->n_fields; i++)
        n += field_present(&schema->fields[i], base);
    msgpack_pack_map(pk, n);
    for (size_t i = 0; i < schema->n_fields; i++) {
        const proto_field_t *f = &schema->fields[i];
        if (!field_present(f, base))
            continue;
        proto_pack_str(pk, f->key);
        if ((f->flags & PF_NULLABLE) && !*(const bool *) (base + f->has_off)) {
            msgpack_pack_nil(pk);
            continue;
        }
        switch (f->type) {
        case PF_ARRAY: {
            const uint8_t *items = *(uint8_t *const *) (base + f->off);
            size_t cnt = *(const size_t *) (base + f->count_off);
            size_t esize = f->elem_type == PF_STRUCT ? f->sub->size : proto_elem_size(f->elem_type);
            msgpack_pack_array(pk, cnt);
            for (size_t j = 0; j < cnt; j++)
                encode_value(f->elem_type, f, items + j * esize, pk);
            break;
        }
        case PF_TOPICS: {
            const proto_topic_t *t = *(proto_topic_t *const *) (base + f->off);
            size_t cnt = *(const size_t *) (base + f->count_off);
            msgpack_pack_array(pk, cnt);
            for (size_t j = 0; j < cnt; j++) {
                if (t[j].any) {
                    msgpack_pack_nil(pk);
                } else if (t[j].n == 1) {
                    proto_pack_bin(pk, t[j].hashes[0], 32);
                } else {
                    msgpack_pack_array(pk, t[j].n);
                    for (size_t k = 0; k < t[j].n; k++)
                        proto_pack_bin(pk, t[j].hashes[k], 32);
                }
            }
            break;
        }
        case PF_TXLIST: {
            const proto_tx_t *txs = *(proto_tx_t *const *) (base + f->off);
            size_t cnt = *(const size_t *) (base + f->count_off);
            bool full = *(const bool *) (base + f->has_off);
            msgpack_pack_array(pk, cnt);
            for (size_t j = 0; j < cnt; j++) {
                if (full)
                    proto_encode(&proto_tx_schema, &txs[j], pk);
                else
                    proto_pack_bin(pk, txs[j].hash, 32);
            }
            break;
        }
        default:
            encode_value(f->type, f, base + f->off, pk);
            break;
        }
    }
}

/* --------------------------------------------------------------- envelopes */

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
        char buf2[32];
        fail(err, err_len, "request: expected a map, got %s", type_name(root, buf2, sizeof buf2));
        goto bad;
    }
    const msgpack_object *id = proto_map_get(root, "id");
    if (!id) {
        fail(err, err_len, "id: missing");
        goto bad;
    }
    if (id->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
        type_error(err, err_len, "id", "uint", id);
        goto bad;
    }
    out->has_id = true;
    out->id = id->via.u64;
    const msgpack_object *v = proto_map_get(root, "v");
    if (!v) {
        fail(err, err_len, "v: missing");
        goto bad;
    }
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 != PROTO_VERSION) {
        rc = v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? PROTO_UNSUPPORTED_VERSION
                                                        : PROTO_BAD_REQUEST;
        if (rc == PROTO_UNSUPPORTED_VERSION)
            fail(err, err_len, "protocol version %llu is not supported (this actor speaks 1)",
                 (unsigned long long) v->via.u64);
        else
            type_error(err, err_len, "v", "uint", v);
        goto bad;
    }
    out->v = v->via.u64;
    const msgpack_object *op = proto_map_get(root, "op");
    if (!op) {
        fail(err, err_len, "op: missing");
        goto bad;
    }
    if (op->type != MSGPACK_OBJECT_STR) {
        type_error(err, err_len, "op", "str", op);
        goto bad;
    }
    if (op->via.str.size >= sizeof out->op || memchr(op->via.str.ptr, 0, op->via.str.size)) {
        rc = PROTO_UNKNOWN_OP;
        fail(err, err_len, "unknown op");
        goto bad;
    }
    memcpy(out->op, op->via.str.ptr, op->via.str.size);
    out->op[op->via.str.size] = '\0';
    const msgpack_object *args = proto_map_get(root, "args");
    if (args && args->type != MSGPACK_OBJECT_MAP) {
        type_error(err, err_len, "args", "map", args);
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
        fail(err, err_len, "reply: not a map with a bool 'ok'");
        goto bad;
    }
    if (id) {
        if (id->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
            type_error(err, err_len, "id", "uint or nil", id);
            goto bad;
        }
        out->has_id = true;
        out->id = id->via.u64;
    }
    out->ok = ok->via.boolean;
    if (out->ok) {
        out->result = proto_map_get(root, "result");
        if (!out->result || out->result->type != MSGPACK_OBJECT_MAP) {
            fail(err, err_len, "reply: ok without a result map");
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
            fail(err, err_len, "reply: malformed error map");
            goto bad;
        }
        memcpy(out->error_code, code->via.str.ptr, code->via.str.size);
        out->error = proto_err_from_name(out->error_code);
        out->message = xcalloc(1, msg->via.str.size + 1);
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

int proto_selector_parse(const char *text, proto_selector_t *out)
{
    memset(out, 0, sizeof *out);
    if (!text || !*text)
        return -1;
    if (proto_tag_valid(text)) {
        out->kind = PROTO_SEL_TAG;
        snprintf(out->tag, sizeof out->tag, "%s", text);
        return 0;
    }
    size_t n = strlen(text);
    if (n == 66 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        for (size_t i = 0; i < 32; i++) {
            unsigned v;
            if (sscanf(text + 2 + 2 * i, "%2x", &v) != 1)
                return -1;
            out->hash[i] = (uint8_t) v;
        }
        /* sscanf %2x accepts a sign or space: check the digits */
        for (size_t i = 2; i < n; i++)
            if (!strchr("0123456789abcdefABCDEF", text[i]))
                return -1;
        out->kind = PROTO_SEL_HASH;
        return 0;
    }
    char *end;
    /* strtoull would skip any leading whitespace and negate a '-' */
    if (text[0] < '0' || text[0] > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 0);
    if (*end || errno || (text[0] == '0' && text[1] && text[1] != 'x' && text[1] != 'X'))
        return -1;
    out->kind = PROTO_SEL_NUMBER;
    out->number = v;
    return 0;
}
