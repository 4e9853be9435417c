#include "el_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"

/*  Quantities in an execution client's answers: "0x" required, leading
    zeros tolerated (reading an answer, the actor accepts what it can
    understand), at most the field's width. */
int el_json_quantity(json_t *v, uint64_t *out)
{
    return hex_u64_parse(json_string_value(v), 0, out) == HEX_OK ? 0 : -1;
}

int el_json_u256(json_t *v, uint8_t out[32])
{
    return hex_uint_parse(json_string_value(v), 0, out, 32) == HEX_OK ? 0 : -1;
}

int el_json_fixed(json_t *v, uint8_t *out, size_t n)
{
    return hex_decode_fixed(json_string_value(v), out, n);
}

json_t *el_json_hex(const uint8_t *bytes, size_t len)
{
    char *s = hex_encode_alloc(bytes, len);
    json_t *j = s ? json_string(s) : NULL;
    free(s);
    return j;
}

json_t *el_json_qty(uint64_t v)
{
    char buf[24];
    return json_string(hex_quantity_format(v, buf));
}

static int bad(char *err, size_t err_len, const char *path, const char *want)
{
    snprintf(err, err_len, "%s: expected %s", path, want);
    return -1;
}

static int decode_scalar(proto_ftype_t type, const proto_field_t *f, json_t *v, void *dst,
                         const char *path, char *err, size_t err_len)
{
    switch (type) {
    case PF_HASH32:
        return el_json_fixed(v, dst, 32) ? bad(err, err_len, path, "a 32-byte hex hash") : 0;
    case PF_ADDRESS:
        return el_json_fixed(v, dst, 20) ? bad(err, err_len, path, "a 20-byte hex address") : 0;
    case PF_PAYLOAD_ID:
        return el_json_fixed(v, dst, 8) ? bad(err, err_len, path, "an 8-byte hex payload id") : 0;
    case PF_BLOOM:
        return el_json_fixed(v, dst, 256) ? bad(err, err_len, path, "a 256-byte hex bloom") : 0;
    case PF_U256:
        return el_json_u256(v, dst) ? bad(err, err_len, path, "a 256-bit quantity") : 0;
    case PF_QUANTITY:
        return el_json_quantity(v, dst) ? bad(err, err_len, path, "a 64-bit hex quantity") : 0;
    case PF_BOOL:
        if (!json_is_boolean(v))
            return bad(err, err_len, path, "a boolean");
        *(bool *) dst = json_is_true(v);
        return 0;
    case PF_STR:
        if (!json_is_string(v))
            return bad(err, err_len, path, "a string");
        *(char **) dst = strdup(json_string_value(v));
        return 0;
    case PF_DATA: {
        proto_data_t *d = dst;
        if (hex_decode_alloc(json_string_value(v), &d->data, &d->len) != 0)
            return bad(err, err_len, path, "hex data");
        if (f && f->type == PF_DATA && f->max_len && d->len > f->max_len) {
            free(d->data);
            d->data = NULL;
            snprintf(err, err_len, "%s: %zu bytes, at most %zu allowed", path, d->len, f->max_len);
            d->len = 0;
            return -1;
        }
        return 0;
    }
    case PF_STRUCT: {
        char sub[PROTO_ERR_LEN];
        if (el_json_decode(f->sub, v, dst, sub, sizeof sub) != 0) {
            snprintf(err, err_len, "%s.%s", path, sub);
            return -1;
        }
        return 0;
    }
    default:
        return bad(err, err_len, path, "a supported type");
    }
}

static int decode_array(const proto_field_t *f, json_t *v, uint8_t *base, char *err, size_t err_len)
{
    if (!json_is_array(v))
        return bad(err, err_len, f->json_key, "an array");
    size_t n = json_array_size(v);
    if (f->max_len && n > f->max_len) {
        snprintf(err, err_len, "%s: %zu items, at most %zu allowed", f->json_key, n, f->max_len);
        return -1;
    }
    size_t esize = f->elem_type == PF_STRUCT ? f->sub->size : proto_elem_size(f->elem_type);
    uint8_t *items = calloc(n ? n : 1, esize);
    if (!items)
        return bad(err, err_len, f->json_key, "memory");
    /* store first so that proto_free can release a partial array */
    *(void **) (base + f->off) = items;
    *(size_t *) (base + f->count_off) = n;
    for (size_t i = 0; i < n; i++) {
        char path[96];
        snprintf(path, sizeof path, "%s[%zu]", f->json_key, i);
        if (decode_scalar(f->elem_type, f, json_array_get(v, i), items + i * esize, path, err,
                          err_len) != 0)
            return -1;
    }
    return 0;
}

static int decode_txlist(const proto_field_t *f, json_t *v, uint8_t *base, char *err, size_t err_len)
{
    if (!json_is_array(v))
        return bad(err, err_len, f->json_key, "an array");
    size_t n = json_array_size(v);
    proto_tx_t *txs = calloc(n ? n : 1, sizeof *txs);
    if (!txs)
        return bad(err, err_len, f->json_key, "memory");
    bool full = n > 0 && json_is_object(json_array_get(v, 0));
    *(proto_tx_t **) (base + f->off) = txs;
    *(size_t *) (base + f->count_off) = n;
    *(bool *) (base + f->has_off) = full;
    for (size_t i = 0; i < n; i++) {
        char path[96];
        snprintf(path, sizeof path, "transactions[%zu]", i);
        json_t *t = json_array_get(v, i);
        if (full) {
            char sub[PROTO_ERR_LEN];
            if (el_json_decode(&proto_tx_schema, t, &txs[i], sub, sizeof sub) != 0) {
                snprintf(err, err_len, "%s.%s", path, sub);
                return -1;
            }
        } else if (el_json_fixed(t, txs[i].hash, 32) != 0) {
            return bad(err, err_len, path, "a transaction hash");
        }
    }
    return 0;
}

int el_json_decode(const proto_schema_t *schema, json_t *obj, void *out, char *err, size_t err_len)
{
    if (!json_is_object(obj))
        return bad(err, err_len, schema->name, "an object");
    uint8_t *base = out;
    for (size_t i = 0; i < schema->n_fields; i++) {
        const proto_field_t *f = &schema->fields[i];
        if (!f->json_key)
            continue;
        json_t *v = json_object_get(obj, f->json_key);
        bool absent = !v || json_is_null(v);
        int rc = 0;
        if (absent) {
            if (f->type == PF_ARRAY || f->type == PF_TXLIST
                || (f->flags & (PF_OPTIONAL | PF_NULLABLE | PF_DEFAULTED)))
                continue;
            snprintf(err, err_len, "%s: missing", f->json_key);
            rc = -1;
        } else if (f->type == PF_ARRAY) {
            rc = decode_array(f, v, base, err, err_len);
        } else if (f->type == PF_TXLIST) {
            rc = decode_txlist(f, v, base, err, err_len);
        } else {
            rc = decode_scalar(f->type, f, v, base + f->off, f->json_key, err, err_len);
            if (rc == 0 && (f->flags & (PF_OPTIONAL | PF_NULLABLE)))
                *(bool *) (base + f->has_off) = true;
        }
        if (rc != 0) {
            proto_free(schema, out);
            return -1;
        }
    }
    return 0;
}

static json_t *encode_scalar(proto_ftype_t type, const proto_field_t *f, const void *p)
{
    switch (type) {
    case PF_HASH32: return el_json_hex(p, 32);
    case PF_ADDRESS: return el_json_hex(p, 20);
    case PF_PAYLOAD_ID: return el_json_hex(p, 8);
    case PF_BLOOM: return el_json_hex(p, 256);
    case PF_U256: {
        char buf[70];
        return json_string(hex_u256_format(p, buf));
    }
    case PF_QUANTITY: return el_json_qty(*(const uint64_t *) p);
    case PF_BOOL: return json_boolean(*(const bool *) p);
    case PF_STR: return json_string(*(char *const *) p ? *(char *const *) p : "");
    case PF_DATA: {
        const proto_data_t *d = p;
        return el_json_hex(d->data, d->len);
    }
    case PF_STRUCT: return el_json_encode(f->sub, p);
    default: return json_null();
    }
}

json_t *el_json_encode(const proto_schema_t *schema, const void *obj)
{
    const uint8_t *base = obj;
    json_t *out = json_object();
    for (size_t i = 0; i < schema->n_fields; i++) {
        const proto_field_t *f = &schema->fields[i];
        if (!f->json_key)
            continue;
        if ((f->flags & (PF_OPTIONAL | PF_NULLABLE)) && f->type != PF_TXLIST
            && f->type != PF_SELECTOR && !*(const bool *) (base + f->has_off)) {
            if (f->flags & PF_NULLABLE)
                json_object_set_new(out, f->json_key, json_null());
            continue;
        }
        json_t *v;
        if (f->type == PF_ARRAY) {
            const uint8_t *items = *(uint8_t *const *) (base + f->off);
            size_t n = *(const size_t *) (base + f->count_off);
            size_t esize = f->elem_type == PF_STRUCT ? f->sub->size : proto_elem_size(f->elem_type);
            v = json_array();
            for (size_t j = 0; j < n; j++)
                json_array_append_new(v, encode_scalar(f->elem_type, f, items + j * esize));
        } else if (f->type == PF_TXLIST) {
            const proto_tx_t *txs = *(proto_tx_t *const *) (base + f->off);
            size_t n = *(const size_t *) (base + f->count_off);
            bool full = *(const bool *) (base + f->has_off);
            v = json_array();
            for (size_t j = 0; j < n; j++)
                json_array_append_new(v, full ? el_json_encode(&proto_tx_schema, &txs[j])
                                               : el_json_hex(txs[j].hash, 32));
        } else {
            v = encode_scalar(f->type, f, base + f->off);
        }
        json_object_set_new(out, f->json_key, v);
    }
    return out;
}

json_t *el_json_payload_spec(json_t *payload, int version)
{
    static const char *const v1[] = {"parentHash", "feeRecipient", "stateRoot", "receiptsRoot",
                                     "logsBloom", "prevRandao", "blockNumber", "gasLimit",
                                     "gasUsed", "timestamp", "extraData", "baseFeePerGas",
                                     "blockHash", "transactions"};
    static const char *const wd[] = {"index", "validatorIndex", "address", "amount"};
    if (!json_is_object(payload) || version < 1 || version > 3)
        return NULL;
    json_t *out = json_object();
    for (size_t i = 0; i < sizeof v1 / sizeof *v1; i++) {
        json_t *v = json_object_get(payload, v1[i]);
        if (v)
            json_object_set(out, v1[i], v);
    }
    json_t *wds = json_object_get(payload, "withdrawals");
    if (version >= 2 && wds) {
        json_t *list = json_is_array(wds) ? json_array() : json_incref(wds);
        size_t i;
        json_t *w;
        json_array_foreach(wds, i, w) {
            json_t *copy = json_is_object(w) ? json_object() : json_incref(w);
            for (size_t k = 0; json_is_object(w) && k < sizeof wd / sizeof *wd; k++)
                if (json_object_get(w, wd[k]))
                    json_object_set(copy, wd[k], json_object_get(w, wd[k]));
            json_array_append_new(list, copy);
        }
        json_object_set_new(out, "withdrawals", list);
    }
    if (version >= 3) {
        const char *const v3[] = {"blobGasUsed", "excessBlobGas"};
        for (size_t i = 0; i < 2; i++)
            if (json_object_get(payload, v3[i]))
                json_object_set(out, v3[i], json_object_get(payload, v3[i]));
    }
    return out;
}
