/*  The schema walkers: one generic decoder (msgpack object to C struct, with
    validation), free, copy and encoder (C struct to msgpack) for every
    message of the contract, driven by the field tables of schemas.c. */
#include "proto_private.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errfmt.h"

/* ----------------------------------------------------------------- decode */

static int fixed_bin(const msgpack_object *o, uint8_t *out, size_t n, const char *want,
                     const char *path, char *err, size_t err_len)
{
    if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != n)
        return proto_type_error(err, err_len, path, want, o);
    memcpy(out, o->via.bin.ptr, n);
    return 0;
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
        return proto_type_error(err, err_len, path, "bin", o);
    if (max_len && o->via.bin.size > max_len)
        return errfmt(err, err_len, "%s: %u bytes, at most %zu allowed", path, o->via.bin.size,
                      max_len);
    d->len = o->via.bin.size;
    d->data = proto_xcalloc(1, d->len);
    if (d->len)
        memcpy(d->data, o->via.bin.ptr, d->len);
    return 0;
}

static void free_value(proto_ftype_t type, const proto_field_t *f, void *p);

static int decode_array(const proto_field_t *f, const msgpack_object *o, void *base,
                        const char *path, char *err, size_t err_len)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return proto_type_error(err, err_len, path, "array", o);
    uint32_t n = o->via.array.size;
    if (f->max_len && n > f->max_len)
        return errfmt(err, err_len, "%s: %u items, at most %zu allowed", path, n, f->max_len);
    size_t esize = f->elem_type == PF_STRUCT ? f->sub->size : proto_elem_size(f->elem_type);
    assert(esize > 0);
    uint8_t *items = proto_xcalloc(n, esize);
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
        return proto_type_error(err, err_len, path, "array", o);
    uint32_t n = o->via.array.size;
    if (n > 4)
        return errfmt(err, err_len, "%s: %u positions, at most 4 allowed", path, n);
    proto_topic_t *topics = proto_xcalloc(n, sizeof *topics);
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
                rc = errfmt(err, err_len, "%s: %u alternatives, at most 64 allowed", sub, m);
            topics[i].hashes = proto_xcalloc(m, 32);
            topics[i].n = m;
            for (uint32_t j = 0; rc == 0 && j < m; j++)
                rc = fixed_bin(&t->via.array.ptr[j], topics[i].hashes[j], 32, "Hash32 (bin 32)",
                               sub, err, err_len);
        } else {
            topics[i].hashes = proto_xcalloc(1, 32);
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
        return proto_type_error(err, err_len, path, "array", o);
    uint32_t n = o->via.array.size;
    bool full = n > 0 && o->via.array.ptr[0].type == MSGPACK_OBJECT_MAP;
    proto_tx_t *txs = proto_xcalloc(n, sizeof *txs);
    for (uint32_t i = 0; i < n; i++) {
        char sub[160];
        snprintf(sub, sizeof sub, "%s[%u]", path, i);
        const msgpack_object *t = &o->via.array.ptr[i];
        int rc;
        if (!full)
            rc = fixed_bin(t, txs[i].hash, 32, "Hash32 (bin 32)", sub, err, err_len);
        else if (t->type == MSGPACK_OBJECT_MAP)
            rc = proto_decode(&proto_tx_schema, t, &txs[i], err, err_len);
        else
            rc = proto_type_error(err, err_len, sub, "Transaction map", t);
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
            return proto_type_error(err, err_len, path, "Quantity (uint)", o);
        *(uint64_t *) dst = o->via.u64;
        return 0;
    case PF_BOOL:
        if (o->type != MSGPACK_OBJECT_BOOLEAN)
            return proto_type_error(err, err_len, path, "bool", o);
        *(bool *) dst = o->via.boolean;
        return 0;
    case PF_STR: {
        if (o->type != MSGPACK_OBJECT_STR)
            return proto_type_error(err, err_len, path, "str", o);
        char *s = proto_xcalloc(1, o->via.str.size + 1);
        memcpy(s, o->via.str.ptr, o->via.str.size);
        *(char **) dst = s;
        return 0;
    }
    case PF_DATA: /* an array's max_len counts its items, not their bytes */
        return decode_data(o, dst, f && f->type == PF_DATA ? f->max_len : 0, path, err, err_len);
    case PF_SELECTOR: return proto_decode_selector(o, dst, path, err, err_len);
    case PF_STRUCT:
        if (o->type != MSGPACK_OBJECT_MAP)
            return proto_type_error(err, err_len, path, "map", o);
        {
            /* nested paths: prefix the sub-schema's own errors */
            char sub_err[PROTO_ERR_LEN];
            if (proto_decode(f->sub, o, dst, sub_err, sizeof sub_err) != 0)
                return errfmt(err, err_len, "%s.%s", path, sub_err);
        }
        return 0;
    default:
        return errfmt(err, err_len, "%s: unsupported field type", path);
    }
}

int proto_decode(const proto_schema_t *schema, const msgpack_object *obj, void *out, char *err,
                 size_t err_len)
{
    if (!obj || obj->type != MSGPACK_OBJECT_MAP)
        return obj ? proto_type_error(err, err_len, schema->name, "map", obj)
                   : errfmt(err, err_len, "%s: missing", schema->name);
    uint8_t *base = out;
    for (size_t i = 0; i < schema->n_fields; i++) {
        const proto_field_t *f = &schema->fields[i];
        const msgpack_object *v = proto_map_get(obj, f->key);
        if (!v) {
            if (f->flags & (PF_OPTIONAL | PF_NULLABLE | PF_DEFAULTED))
                continue;
            proto_free(schema, out);
            return errfmt(err, err_len, "%s: missing", f->key);
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
    void *p = proto_xcalloc(1, n);
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
            uint8_t *copy = items ? proto_xcalloc(n, esize) : NULL;
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
            proto_tx_t *copy = txs ? proto_xcalloc(n, sizeof *copy) : NULL;
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
