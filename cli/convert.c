/*  Text, JSON and human output for the CLI; see convert.h. */
#include "convert.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errfmt.h"
#include "hex.h"

/* ------------------------------------------------------------ scalar text */

/*  Words the number parser's verdict for an operator: `what` names the kind,
    `bits` its width. Returns 0 for HEX_OK, else -1 with err filled. */
static int number_verdict(hex_err_t rc, const char *text, const char *what, size_t bits,
                          char *err, size_t err_len)
{
    switch (rc) {
    case HEX_OK:
        return 0;
    case HEX_ERR_EMPTY:
        return errfmt(err, err_len, "expected a %s (decimal or 0x hex), got nothing", what);
    case HEX_ERR_SIZE:
        return errfmt(err, err_len, "'%s' does not fit in %zu bits", text, bits);
    default:
        if (text[0] == '-')
            return errfmt(err, err_len, "'%s' is negative; a %s is 0 or more", text, what);
        if (hex_has_prefix(text))
            return errfmt(err, err_len, "'%s' is not a 0x hex %s", text, what);
        return errfmt(err, err_len, "'%s' is not a %s (decimal or 0x hex)", text, what);
    }
}

int convert_parse_quantity(const char *text, uint64_t *out, char *err, size_t err_len)
{
    return number_verdict(hex_u64_parse(text, HEX_DECIMAL, out), text, "quantity", 64, err,
                          err_len);
}

int convert_parse_u256(const char *text, uint8_t out[32], char *err, size_t err_len)
{
    return number_verdict(hex_uint_parse(text, HEX_DECIMAL, out, 32), text, "U256", 256, err,
                          err_len);
}

int convert_parse_fixed(const char *text, uint8_t *out, size_t n, const char *what, char *err,
                        size_t err_len)
{
    switch (hex_bytes_parse(text, text ? strlen(text) : 0, HEX_PREFIX | HEX_EXACT, out, n, NULL)) {
    case HEX_OK:
        return 0;
    case HEX_ERR_DIGIT:
        return errfmt(err, err_len, "'%s' is not hex; expected %s (0x and %zu hex digits)", text,
                      what, 2 * n);
    case HEX_ERR_ODD:
        return errfmt(err, err_len,
                      "odd number of hex digits; expected %s (0x and %zu hex digits)", what, 2 * n);
    case HEX_ERR_SIZE: {
        size_t digits = strlen(text) - 2;
        return errfmt(err, err_len, "got %zu byte%s; expected %s (0x and %zu hex digits)",
                      digits / 2, digits == 2 ? "" : "s", what, 2 * n);
    }
    default:
        return errfmt(err, err_len, "expected %s: 0x and %zu hex digits", what, 2 * n);
    }
}

bool convert_is_scalar(proto_ftype_t type)
{
    switch (type) {
    case PF_HASH32: case PF_ADDRESS: case PF_PAYLOAD_ID: case PF_U256: case PF_BLOOM:
    case PF_QUANTITY: case PF_BOOL: case PF_STR: case PF_DATA: case PF_SELECTOR:
        return true;
    default:
        return false;
    }
}

int convert_scalar(proto_ftype_t type, const char *text, msgpack_packer *pk, char *err,
                   size_t err_len)
{
    uint8_t buf[256];
    switch (type) {
    case PF_HASH32:
        if (convert_parse_fixed(text, buf, 32, "a 32-byte hash", err, err_len) != 0)
            return -1;
        proto_pack_bin(pk, buf, 32);
        return 0;
    case PF_ADDRESS:
        if (convert_parse_fixed(text, buf, 20, "a 20-byte address", err, err_len) != 0)
            return -1;
        proto_pack_bin(pk, buf, 20);
        return 0;
    case PF_PAYLOAD_ID:
        if (convert_parse_fixed(text, buf, 8, "an 8-byte payload id", err, err_len) != 0)
            return -1;
        proto_pack_bin(pk, buf, 8);
        return 0;
    case PF_BLOOM:
        if (convert_parse_fixed(text, buf, 256, "a 256-byte logs bloom", err, err_len) != 0)
            return -1;
        proto_pack_bin(pk, buf, 256);
        return 0;
    case PF_U256:
        if (convert_parse_u256(text, buf, err, err_len) != 0)
            return -1;
        proto_pack_bin(pk, buf, 32);
        return 0;
    case PF_QUANTITY: {
        uint64_t v;
        if (convert_parse_quantity(text, &v, err, err_len) != 0)
            return -1;
        msgpack_pack_uint64(pk, v);
        return 0;
    }
    case PF_BOOL:
        if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0)
            msgpack_pack_true(pk);
        else if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0)
            msgpack_pack_false(pk);
        else
            return errfmt(err, err_len, "'%s' is not a bool (true, false, 1, 0)", text);
        return 0;
    case PF_STR:
        proto_pack_str(pk, text);
        return 0;
    case PF_DATA: {
        hex_err_t rc = hex_bytes_parse(text, strlen(text), HEX_PREFIX, NULL, SIZE_MAX, NULL);
        if (rc == HEX_ERR_ODD)
            return errfmt(err, err_len, "odd number of hex digits; expected bytes as 0x hex");
        if (rc != HEX_OK)
            return errfmt(err, err_len, "expected bytes as 0x hex");
        uint8_t *data;
        size_t len;
        if (hex_decode_alloc(text, &data, &len) != 0)
            return errfmt(err, err_len, "out of memory");
        proto_pack_bin(pk, data, len);
        free(data);
        return 0;
    }
    case PF_SELECTOR: {
        proto_selector_t sel;
        if (proto_selector_parse(text, &sel) != 0)
            return errfmt(err, err_len,
                        "'%s' is not a block: use a tag (latest, pending, earliest, safe, "
                        "finalized), a number, or a 0x block hash of 32 bytes",
                        text);
        proto_pack_selector(pk, &sel);
        return 0;
    }
    default:
        return errfmt(err, err_len, "this field takes JSON, not a single value");
    }
}

/* ---------------------------------------------------------- JSON to msgpack */

static int pack_json(const json_t *j, msgpack_packer *pk, char *err, size_t err_len)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *val;
        msgpack_pack_map(pk, json_object_size(j));
        json_object_foreach((json_t *) j, key, val) {
            proto_pack_str(pk, key);
            if (pack_json(val, pk, err, err_len) != 0)
                return -1;
        }
        return 0;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *val;
        msgpack_pack_array(pk, json_array_size(j));
        json_array_foreach(j, i, val)
            if (pack_json(val, pk, err, err_len) != 0)
                return -1;
        return 0;
    }
    case JSON_STRING: {
        const char *s = json_string_value(j);
        size_t n = json_string_length(j);
        size_t len;
        /* "0x" and an even number of hex digits: the generic rule's bin */
        if (hex_bytes_parse(s, n, HEX_PREFIX, NULL, SIZE_MAX, &len) == HEX_OK) {
            uint8_t *data = malloc(len ? len : 1);
            if (!data)
                return errfmt(err, err_len, "out of memory");
            hex_bytes_parse(s, n, HEX_PREFIX, data, len, NULL);
            proto_pack_bin(pk, data, len);
            free(data);
        } else {
            msgpack_pack_str(pk, n);
            msgpack_pack_str_body(pk, s, n);
        }
        return 0;
    }
    case JSON_INTEGER: {
        json_int_t v = json_integer_value(j);
        if (v >= 0)
            msgpack_pack_uint64(pk, (uint64_t) v);
        else
            msgpack_pack_int64(pk, (int64_t) v);
        return 0;
    }
    case JSON_REAL:
        msgpack_pack_double(pk, json_real_value(j));
        return 0;
    case JSON_TRUE: msgpack_pack_true(pk); return 0;
    case JSON_FALSE: msgpack_pack_false(pk); return 0;
    case JSON_NULL: msgpack_pack_nil(pk); return 0;
    default:
        return errfmt(err, err_len, "unsupported JSON value");
    }
}

int convert_json_to_msgpack(const char *text, size_t len, msgpack_packer *pk, char *err,
                            size_t err_len)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return errfmt(err, err_len, "bad JSON at line %d column %d: %s", jerr.line, jerr.column,
                    jerr.text);
    int rc = pack_json(root, pk, err, err_len);
    json_decref(root);
    return rc;
}

/* ---------------------------------------------------------- msgpack to JSON */

/*  Length of the valid UTF-8 sequence at p, or 0 when the bytes there are
    not one (overlong forms and surrogates included). */
static size_t utf8_sequence(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len;
    unsigned lo = 0x80, hi = 0xbf;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else {
        return 0;
    }
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return len;
}

static void write_json_string(FILE *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *) s;
    fputc('"', out);
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        if (c == '"' || c == '\\') {
            fputc('\\', out);
            fputc((int) c, out);
            i++;
        } else if (c < 0x20) {
            switch (c) {
            case '\n': fputs("\\n", out); break;
            case '\r': fputs("\\r", out); break;
            case '\t': fputs("\\t", out); break;
            case '\b': fputs("\\b", out); break;
            case '\f': fputs("\\f", out); break;
            default: fprintf(out, "\\u%04x", c); break;
            }
            i++;
        } else {
            size_t len = utf8_sequence(p + i, n - i);
            if (len == 0) {
                fputs("\\ufffd", out);
                i++;
            } else {
                fwrite(p + i, 1, len, out);
                i += len;
            }
        }
    }
    fputc('"', out);
}

static void write_json_hex(FILE *out, const uint8_t *data, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    fputs("\"0x", out);
    for (size_t i = 0; i < n; i++) {
        fputc(digits[data[i] >> 4], out);
        fputc(digits[data[i] & 15], out);
    }
    fputc('"', out);
}

static void newline_indent(FILE *out, bool pretty, int depth)
{
    if (!pretty)
        return;
    fputc('\n', out);
    for (int i = 0; i < depth; i++)
        fputs("  ", out);
}

static void json_value(FILE *out, const msgpack_object *o, bool pretty, int depth);

/*  JSON object keys are strings; a key of another type is written as the
    text of its JSON form. */
static void json_key(FILE *out, const msgpack_object *k)
{
    char buf[32];
    switch (k->type) {
    case MSGPACK_OBJECT_STR:
        write_json_string(out, k->via.str.ptr, k->via.str.size);
        return;
    case MSGPACK_OBJECT_BIN:
        write_json_hex(out, (const uint8_t *) k->via.bin.ptr, k->via.bin.size);
        return;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        snprintf(buf, sizeof buf, "%" PRIu64, k->via.u64);
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        snprintf(buf, sizeof buf, "%" PRId64, k->via.i64);
        break;
    case MSGPACK_OBJECT_BOOLEAN:
        snprintf(buf, sizeof buf, "%s", k->via.boolean ? "true" : "false");
        break;
    case MSGPACK_OBJECT_NIL:
        snprintf(buf, sizeof buf, "null");
        break;
    default:
        snprintf(buf, sizeof buf, "?");
        break;
    }
    write_json_string(out, buf, strlen(buf));
}

static void json_double(FILE *out, double d)
{
    if (!isfinite(d)) {
        fputs("null", out);
        return;
    }
    char buf[40];
    snprintf(buf, sizeof buf, "%.17g", d);
    fputs(buf, out);
    /*  keep it a JSON real so that it converts back to a float */
    if (!strpbrk(buf, ".eE"))
        fputs(".0", out);
}

static void json_value(FILE *out, const msgpack_object *o, bool pretty, int depth)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: fputs("null", out); break;
    case MSGPACK_OBJECT_BOOLEAN: fputs(o->via.boolean ? "true" : "false", out); break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: fprintf(out, "%" PRIu64, o->via.u64); break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: fprintf(out, "%" PRId64, o->via.i64); break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: json_double(out, o->via.f64); break;
    case MSGPACK_OBJECT_STR: write_json_string(out, o->via.str.ptr, o->via.str.size); break;
    case MSGPACK_OBJECT_BIN: write_json_hex(out, (const uint8_t *) o->via.bin.ptr, o->via.bin.size); break;
    case MSGPACK_OBJECT_EXT: write_json_hex(out, (const uint8_t *) o->via.ext.ptr, o->via.ext.size); break;
    case MSGPACK_OBJECT_ARRAY:
        if (o->via.array.size == 0) {
            fputs("[]", out);
            break;
        }
        fputc('[', out);
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i)
                fputc(',', out);
            newline_indent(out, pretty, depth + 1);
            json_value(out, &o->via.array.ptr[i], pretty, depth + 1);
        }
        newline_indent(out, pretty, depth);
        fputc(']', out);
        break;
    case MSGPACK_OBJECT_MAP:
        if (o->via.map.size == 0) {
            fputs("{}", out);
            break;
        }
        fputc('{', out);
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            if (i)
                fputc(',', out);
            newline_indent(out, pretty, depth + 1);
            json_key(out, &o->via.map.ptr[i].key);
            fputs(pretty ? ": " : ":", out);
            json_value(out, &o->via.map.ptr[i].val, pretty, depth + 1);
        }
        newline_indent(out, pretty, depth);
        fputc('}', out);
        break;
    default:
        fputs("null", out);
        break;
    }
}

void convert_write_json(FILE *out, const msgpack_object *o, bool pretty)
{
    json_value(out, o, pretty, 0);
}

char *convert_to_json(const msgpack_object *o)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem)
        return NULL;
    json_value(mem, o, false, 0);
    if (fclose(mem) != 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* ------------------------------------------------------- readable values */

char *convert_uint_decimal(const uint8_t *be, size_t n, char *buf, size_t len)
{
    uint8_t v[32] = {0};
    if (n > 32)
        n = 32;
    memcpy(v + 32 - n, be, n);
    char digits[80];
    size_t nd = 0;
    bool zero;
    do {
        /*  one long division of v by 10, most significant byte first */
        unsigned rem = 0;
        zero = true;
        for (size_t i = 0; i < 32; i++) {
            unsigned cur = rem << 8 | v[i];
            v[i] = (uint8_t) (cur / 10);
            rem = cur % 10;
            if (v[i])
                zero = false;
        }
        digits[nd++] = (char) ('0' + rem);
    } while (!zero && nd < sizeof digits);
    size_t i = 0;
    for (; i < nd && i + 1 < len; i++)
        buf[i] = digits[nd - 1 - i];
    buf[i] = '\0';
    return buf;
}

/*  dec / 10^shift as exact decimal text, trailing zeros dropped. */
static void shifted(const char *dec, size_t shift, char *out, size_t len)
{
    size_t n = strlen(dec), k = 0;
    char tmp[200];
    if (n > shift) {
        memcpy(tmp, dec, n - shift);
        k = n - shift;
    } else {
        tmp[k++] = '0';
    }
    tmp[k++] = '.';
    for (size_t i = n; i < shift; i++)
        tmp[k++] = '0';
    const char *frac = n > shift ? dec + n - shift : dec;
    memcpy(tmp + k, frac, strlen(frac) + 1);
    size_t m = strlen(tmp);
    while (tmp[m - 1] == '0')
        tmp[--m] = '\0';
    if (tmp[m - 1] == '.')
        tmp[--m] = '\0';
    snprintf(out, len, "%s", tmp);
}

char *convert_wei_text(const uint8_t *be, size_t n, char *buf, size_t len)
{
    char dec[80], reading[100];
    convert_uint_decimal(be, n, dec, sizeof dec);
    if (strcmp(dec, "0") == 0) {
        snprintf(buf, len, "0 wei");
        return buf;
    }
    bool ether = strlen(dec) > 15;
    shifted(dec, ether ? 18 : 9, reading, sizeof reading);
    snprintf(buf, len, "%s wei (%s %s)", dec, reading, ether ? "ether" : "gwei");
    return buf;
}

char *convert_gwei_text(uint64_t gwei, char *buf, size_t len)
{
    char dec[32], reading[64];
    snprintf(dec, sizeof dec, "%" PRIu64, gwei);
    if (gwei == 0) {
        snprintf(buf, len, "0 gwei");
        return buf;
    }
    shifted(dec, 9, reading, sizeof reading);
    snprintf(buf, len, "%s gwei (%s ether)", dec, reading);
    return buf;
}

char *convert_iso_time(uint64_t seconds, char *buf, size_t len)
{
    struct tm tm;
    time_t t = (time_t) seconds;
    if (seconds > (uint64_t) 253402300799 || !gmtime_r(&t, &tm)) {
        snprintf(buf, len, "%" PRIu64, seconds);
        return buf;
    }
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

char *convert_duration_text(uint64_t ms, char *buf, size_t len)
{
    uint64_t d = ms / 86400000, h = ms / 3600000 % 24, m = ms / 60000 % 60, s = ms / 1000 % 60;
    unsigned frac = (unsigned) (ms % 1000);
    size_t used = 0;
    buf[0] = '\0';
    if (d)
        used += (size_t) snprintf(buf + used, len - used, "%" PRIu64 "d ", d);
    if ((d || h) && used < len)
        used += (size_t) snprintf(buf + used, len - used, "%" PRIu64 "h ", h);
    if ((d || h || m) && used < len)
        used += (size_t) snprintf(buf + used, len - used, "%" PRIu64 "m ", m);
    if (used < len) {
        if (frac)
            snprintf(buf + used, len - used, "%" PRIu64 ".%03us", s, frac);
        else
            snprintf(buf + used, len - used, "%" PRIu64 "s", s);
    }
    return buf;
}

void convert_numbers_add(convert_numbers_t *nums, const uint8_t hash[32], uint64_t number)
{
    if (nums->n >= CONVERT_MAX_NUMBERS)
        return;
    memcpy(nums->item[nums->n].hash, hash, 32);
    nums->item[nums->n].number = number;
    nums->n++;
}

bool convert_numbers_find(const convert_numbers_t *nums, const uint8_t hash[32], uint64_t *number)
{
    for (size_t i = 0; nums && i < nums->n; i++)
        if (memcmp(nums->item[i].hash, hash, 32) == 0) {
            *number = nums->item[i].number;
            return true;
        }
    return false;
}

const msgpack_object *convert_map_get(const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t n = strlen(key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n
            && memcmp(k->via.str.ptr, key, n) == 0)
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

/* ------------------------------------------------------------ human output */

static void indent(FILE *out, int n)
{
    for (int i = 0; i < n; i++)
        fputc(' ', out);
}

static bool is_nonempty_container(const msgpack_object *o)
{
    return (o->type == MSGPACK_OBJECT_MAP && o->via.map.size > 0)
           || (o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size > 0);
}

/*  A scalar, or an empty container, on the rest of the current line. */
static void human_scalar(FILE *out, const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: fputs("null", out); break;
    case MSGPACK_OBJECT_BOOLEAN: fputs(o->via.boolean ? "true" : "false", out); break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: fprintf(out, "%" PRIu64, o->via.u64); break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: fprintf(out, "%" PRId64, o->via.i64); break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: fprintf(out, "%g", o->via.f64); break;
    case MSGPACK_OBJECT_STR:
        fwrite(o->via.str.ptr, 1, o->via.str.size, out);
        break;
    case MSGPACK_OBJECT_BIN:
    case MSGPACK_OBJECT_EXT: {
        const uint8_t *p = (const uint8_t *) (o->type == MSGPACK_OBJECT_BIN ? o->via.bin.ptr
                                                                            : o->via.ext.ptr);
        uint32_t n = o->type == MSGPACK_OBJECT_BIN ? o->via.bin.size : o->via.ext.size;
        fputs("0x", out);
        for (uint32_t i = 0; i < n; i++)
            fprintf(out, "%02x", p[i]);
        break;
    }
    case MSGPACK_OBJECT_ARRAY: fputs("[]", out); break;
    case MSGPACK_OBJECT_MAP: fputs("{}", out); break;
    default: fputs("?", out); break;
    }
}

static void human_items(FILE *out, const msgpack_object *arr, int depth,
                        const convert_numbers_t *nums);

static bool key_is(const msgpack_object *k, const char *name)
{
    size_t n = strlen(name);
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n
           && memcmp(k->via.str.ptr, name, n) == 0;
}

/*  Wei amounts among the contract's fields: fees, block values, transfers. */
static bool is_wei_key(const msgpack_object *k)
{
    static const char *const keys[] = {"block_value", "base_fee_per_gas", "value"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (key_is(k, keys[i]))
            return true;
    return false;
}

/*  The key and value of one scalar entry, read for people where the key
    says what the value means; anything else as human_scalar writes it. */
static void human_pair(FILE *out, const msgpack_object *k, const msgpack_object *v,
                       const convert_numbers_t *nums)
{
    char buf[160];
    uint64_t number;
    if (key_is(k, "uptime_ms") && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        fprintf(out, "uptime: %s", convert_duration_text(v->via.u64, buf, sizeof buf));
        return;
    }
    human_scalar(out, k);
    fputs(": ", out);
    if (is_wei_key(k) && v->type == MSGPACK_OBJECT_BIN && v->via.bin.size <= 32)
        fputs(convert_wei_text((const uint8_t *) v->via.bin.ptr, v->via.bin.size, buf, sizeof buf),
              out);
    else if (key_is(k, "amount") && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        /*  a withdrawal's amount, the only `amount` of the contract, is in gwei */
        fputs(convert_gwei_text(v->via.u64, buf, sizeof buf), out);
    else if (key_is(k, "timestamp") && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        fprintf(out, "%s (%" PRIu64 ")", convert_iso_time(v->via.u64, buf, sizeof buf),
                v->via.u64);
    else if (v->type == MSGPACK_OBJECT_BIN && v->via.bin.size == 32
             && convert_numbers_find(nums, (const uint8_t *) v->via.bin.ptr, &number)) {
        human_scalar(out, v);
        fprintf(out, " (block %" PRIu64 ")", number);
    } else {
        human_scalar(out, v);
    }
}

/*  Map entries at column `depth`; when first_inline, the first entry
    continues the current line (after an array's "- "). */
static void human_entries(FILE *out, const msgpack_object *map, int depth, bool first_inline,
                          const convert_numbers_t *nums)
{
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        if (i > 0 || !first_inline)
            indent(out, depth);
        if (is_nonempty_container(&kv->val)) {
            human_scalar(out, &kv->key);
            fputs(":\n", out);
            if (kv->val.type == MSGPACK_OBJECT_MAP)
                human_entries(out, &kv->val, depth + 2, false, nums);
            else
                human_items(out, &kv->val, depth + 2, nums);
        } else {
            human_pair(out, &kv->key, &kv->val, nums);
            fputc('\n', out);
        }
    }
}

static void human_items(FILE *out, const msgpack_object *arr, int depth,
                        const convert_numbers_t *nums)
{
    for (uint32_t i = 0; i < arr->via.array.size; i++) {
        const msgpack_object *item = &arr->via.array.ptr[i];
        indent(out, depth);
        fputs("- ", out);
        if (item->type == MSGPACK_OBJECT_MAP && item->via.map.size > 0) {
            human_entries(out, item, depth + 2, true, nums);
        } else if (item->type == MSGPACK_OBJECT_ARRAY && item->via.array.size > 0) {
            fputc('\n', out);
            human_items(out, item, depth + 2, nums);
        } else {
            human_scalar(out, item);
            fputc('\n', out);
        }
    }
}

void convert_write_human(FILE *out, const msgpack_object *map)
{
    convert_write_human_numbered(out, map, NULL);
}

void convert_write_human_numbered(FILE *out, const msgpack_object *map,
                                  const convert_numbers_t *nums)
{
    if (map->type == MSGPACK_OBJECT_MAP) {
        human_entries(out, map, 0, false, nums);
    } else if (map->type == MSGPACK_OBJECT_ARRAY) {
        human_items(out, map, 0, nums);
    } else {
        human_scalar(out, map);
        fputc('\n', out);
    }
}
