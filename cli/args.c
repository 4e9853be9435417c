/*  Command-line arguments to an args map; see args.h. */
#include "args.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "errfmt.h"

/*  A JSON argument larger than this is surely a mistake (the actor's frame
    limit is 4 MiB of msgpack, which is about half the size of its JSON). */
#define ARGS_MAX_JSON (64u * 1024 * 1024)

const proto_field_t *args_field(const proto_op_t *op, const char *key)
{
    if (!op->args)
        return NULL;
    for (size_t i = 0; i < op->args->n_fields; i++)
        if (strcmp(op->args->fields[i].key, key) == 0)
            return &op->args->fields[i];
    return NULL;
}

static void list_keys(const proto_op_t *op, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; op->args && i < op->args->n_fields && used < len; i++) {
        int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", op->args->fields[i].key);
        if (n < 0)
            break;
        used += (size_t) n;
    }
}

/*  Reads all of a stream into a NUL-terminated buffer. Returns NULL with a
    reason in err. */
static char *read_stream(FILE *f, const char *name, size_t *len_out, char *err, size_t err_len)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        errfmt(err, err_len, "out of memory");
        return NULL;
    }
    for (;;) {
        if (len + 1 >= cap) {
            if (cap >= ARGS_MAX_JSON) {
                errfmt(err, err_len, "%s: larger than %u bytes", name, ARGS_MAX_JSON);
                free(buf);
                return NULL;
            }
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                errfmt(err, err_len, "out of memory");
                free(buf);
                return NULL;
            }
            buf = bigger;
            cap *= 2;
        }
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0) {
            if (ferror(f)) {
                errfmt(err, err_len, "%s: read error", name);
                free(buf);
                return NULL;
            }
            break;
        }
    }
    buf[len] = '\0';
    *len_out = len;
    return buf;
}

/*  The JSON text of a value: the value itself, or what @FILE / @- names.
    Returns a malloc'd copy, or NULL with a reason. */
static char *json_source(const char *value, FILE *in, bool *stdin_used, size_t *len,
                         char *err, size_t err_len)
{
    if (value[0] != '@') {
        *len = strlen(value);
        char *copy = strdup(value);
        if (!copy)
            errfmt(err, err_len, "out of memory");
        return copy;
    }
    const char *path = value + 1;
    if (strcmp(path, "-") == 0) {
        if (*stdin_used) {
            errfmt(err, err_len, "only one value can be read from standard input (@-)");
            return NULL;
        }
        *stdin_used = true;
        return read_stream(in, "standard input", len, err, err_len);
    }
    if (!*path) {
        errfmt(err, err_len, "'@' needs a file name (or @- for standard input)");
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        errfmt(err, err_len, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    char *text = read_stream(f, path, len, err, err_len);
    fclose(f);
    return text;
}

static bool looks_like_json(const char *value)
{
    const char *p = value;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return *p == '[' || *p == '{' || *p == '@' || strcmp(p, "null") == 0;
}

/*  The number of pieces of a comma-separated list; empty text has none. */
static size_t count_items(const char *value)
{
    if (!*value)
        return 0;
    size_t n = 1;
    for (const char *p = value; *p; p++)
        n += *p == ',';
    return n;
}

/*  Copies the i-th comma-separated piece of value into a malloc'd string. */
static char *nth_item(const char *value, size_t i)
{
    const char *start = value;
    for (size_t k = 0; k < i; k++)
        start = strchr(start, ',') + 1;
    const char *end = strchr(start, ',');
    size_t n = end ? (size_t) (end - start) : strlen(start);
    return strndup(start, n);
}

/*  `0xADDR:GWEI,...` as an array of {address, amount} maps. */
static int pack_withdrawals_shorthand(const char *key, const char *value, msgpack_packer *pk,
                                      char *err, size_t err_len)
{
    size_t n = count_items(value);
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++) {
        char *item = nth_item(value, i);
        if (!item)
            return errfmt(err, err_len, "out of memory");
        char why[256];
        uint8_t address[20];
        uint64_t amount;
        char *colon = strchr(item, ':');
        int rc = 0;
        if (!colon) {
            rc = errfmt(err, err_len, "%s[%zu]: '%s' is not ADDRESS:AMOUNT (0x + 40 hex, a colon, "
                        "gwei)", key, i, item);
        } else {
            *colon = '\0';
            if (convert_parse_fixed(item, address, 20, "a 20-byte address", why, sizeof why) != 0)
                rc = errfmt(err, err_len, "%s[%zu].address: %s", key, i, why);
            else if (convert_parse_quantity(colon + 1, &amount, why, sizeof why) != 0)
                rc = errfmt(err, err_len, "%s[%zu].amount: %s", key, i, why);
        }
        free(item);
        if (rc != 0)
            return -1;
        msgpack_pack_map(pk, 2);
        proto_pack_str(pk, "address");
        proto_pack_bin(pk, address, 20);
        proto_pack_str(pk, "amount");
        msgpack_pack_uint64(pk, amount);
    }
    return 0;
}

/*  `a,b,c` as an array of scalars of one type. */
static int pack_scalar_list(const char *key, proto_ftype_t type, const char *value,
                            msgpack_packer *pk, char *err, size_t err_len)
{
    size_t n = count_items(value);
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++) {
        char *item = nth_item(value, i);
        if (!item)
            return errfmt(err, err_len, "out of memory");
        char why[256];
        int rc = convert_scalar(type, item, pk, why, sizeof why);
        free(item);
        if (rc != 0)
            return errfmt(err, err_len, "%s[%zu]: %s", key, i, why);
    }
    return 0;
}

static int pack_json_value(const char *key, const char *value, FILE *in, bool *stdin_used,
                           msgpack_packer *pk, char *err, size_t err_len)
{
    char why[ARGS_ERR_LEN / 2];
    size_t len;
    char *text = json_source(value, in, stdin_used, &len, why, sizeof why);
    if (!text)
        return errfmt(err, err_len, "%s: %s", key, why);
    int rc = convert_json_to_msgpack(text, len, pk, why, sizeof why);
    free(text);
    if (rc != 0)
        return errfmt(err, err_len, "%s: %s (give JSON text, @FILE or @-)", key, why);
    return 0;
}

static int pack_value(const proto_field_t *f, const char *value, FILE *in, bool *stdin_used,
                      msgpack_packer *pk, char *err, size_t err_len)
{
    if (convert_is_scalar(f->type)) {
        char why[256];
        if (convert_scalar(f->type, value, pk, why, sizeof why) != 0)
            return errfmt(err, err_len, "%s: %s", f->key, why);
        return 0;
    }
    if (f->type == PF_ARRAY && !looks_like_json(value)) {
        if (f->elem_type == PF_STRUCT && f->sub == &proto_withdrawal_schema)
            return pack_withdrawals_shorthand(f->key, value, pk, err, err_len);
        if (convert_is_scalar(f->elem_type))
            return pack_scalar_list(f->key, f->elem_type, value, pk, err, err_len);
    }
    return pack_json_value(f->key, value, in, stdin_used, pk, err, err_len);
}

int args_pack(const proto_op_t *op, int argc, char *const argv[], FILE *in,
              msgpack_packer *pk, char *err, size_t err_len)
{
    if (!op->args && argc > 0)
        return errfmt(err, err_len, "%s takes no arguments", op->name);
    char keys[512];
    list_keys(op, keys, sizeof keys);
    /*  Check every key before packing anything, so that the first error
        reported is about the words, not about a value. */
    for (int i = 0; i < argc; i++) {
        char key[64];
        const char *eq = strchr(argv[i], '=');
        if (!eq || eq == argv[i])
            return errfmt(err, err_len, "expected key=value, got '%s' (%s takes: %s)", argv[i],
                          op->name, keys);
        size_t klen = (size_t) (eq - argv[i]);
        snprintf(key, sizeof key, "%.*s", (int) klen, argv[i]);
        if (klen >= sizeof key || !args_field(op, key))
            return errfmt(err, err_len, "unknown key '%s' for %s; valid keys: %s", key, op->name,
                          keys);
        for (int j = 0; j < i; j++)
            if (strncmp(argv[j], argv[i], klen + 1) == 0)
                return errfmt(err, err_len, "%s given twice", key);
    }
    msgpack_pack_map(pk, (size_t) argc);
    bool stdin_used = false;
    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int) (eq - argv[i]), argv[i]);
        const proto_field_t *f = args_field(op, key);
        proto_pack_str(pk, f->key);
        if (pack_value(f, eq + 1, in, &stdin_used, pk, err, err_len) != 0)
            return -1;
    }
    return 0;
}

int args_validate(const proto_op_t *op, const uint8_t *buf, size_t len, char *err,
                  size_t err_len)
{
    char why[PROTO_ERR_LEN];
    proto_frame_t *frame = proto_frame_parse(buf, len, PROTO_MAX_FRAME_DEFAULT, why, sizeof why);
    if (!frame)
        return errfmt(err, err_len, "arguments: %s", why);
    int rc = 0;
    if (op->args) {
        void *obj = calloc(1, op->args->size);
        if (!obj) {
            proto_frame_destroy(&frame);
            return errfmt(err, err_len, "out of memory");
        }
        if (proto_decode(op->args, proto_frame_root(frame), obj, why, sizeof why) != 0)
            rc = errfmt(err, err_len, "%s: %s", op->name, why);
        else
            proto_free(op->args, obj);
        free(obj);
    }
    proto_frame_destroy(&frame);
    return rc;
}

int args_build_request(const proto_op_t *op, uint64_t id, int argc, char *const argv[],
                       FILE *in, proto_writer_t *w, char *err, size_t err_len)
{
    proto_writer_t args;
    proto_writer_init(&args);
    int rc = 0;
    if (op->args) {
        rc = args_pack(op, argc, argv, in, &args.pk, err, err_len);
        if (rc == 0)
            rc = args_validate(op, (const uint8_t *) args.sbuf.data, args.sbuf.size, err,
                               err_len);
    } else if (argc > 0) {
        rc = errfmt(err, err_len, "%s takes no arguments", op->name);
    }
    if (rc == 0) {
        proto_writer_reset(w);
        proto_request_begin(&w->pk, id, op->name, op->args != NULL);
        if (op->args)
            msgpack_sbuffer_write(&w->sbuf, args.sbuf.data, args.sbuf.size);
        if (w->sbuf.size > PROTO_MAX_FRAME_DEFAULT)
            rc = errfmt(err, err_len, "the request is %zu bytes, over the actor's %u byte limit",
                        w->sbuf.size, PROTO_MAX_FRAME_DEFAULT);
    }
    proto_writer_release(&args);
    return rc;
}

/* ------------------------------------------------------------ descriptions */

static const char *scalar_name(proto_ftype_t type)
{
    switch (type) {
    case PF_HASH32: return "Hash32 (0x + 64 hex)";
    case PF_ADDRESS: return "Address (0x + 40 hex)";
    case PF_PAYLOAD_ID: return "PayloadId (0x + 16 hex)";
    case PF_U256: return "U256 (decimal or 0x hex)";
    case PF_BLOOM: return "Bloom (0x + 512 hex)";
    case PF_QUANTITY: return "Quantity (decimal or 0x hex)";
    case PF_BOOL: return "bool (true, false)";
    case PF_STR: return "str";
    case PF_DATA: return "Data (0x hex)";
    case PF_SELECTOR: return "BlockSelector (tag, number or 0x hash)";
    default: return "JSON";
    }
}

const char *args_type_name(const proto_field_t *f, char *buf, size_t len)
{
    switch (f->type) {
    case PF_STRUCT:
        snprintf(buf, len, "%s map (JSON, @FILE or @-)", f->sub->name);
        break;
    case PF_ARRAY:
        if (f->elem_type == PF_STRUCT && f->sub == &proto_withdrawal_schema)
            snprintf(buf, len, "array of %s (JSON, @FILE, @- or 0xADDR:GWEI,...)", f->sub->name);
        else if (f->elem_type == PF_STRUCT)
            snprintf(buf, len, "array of %s (JSON, @FILE or @-)", f->sub->name);
        else
            snprintf(buf, len, "array of %s (JSON, or comma-separated)", scalar_name(f->elem_type));
        break;
    case PF_TOPICS:
        snprintf(buf, len, "topics: array of null, Hash32 or [Hash32] (JSON, @FILE or @-)");
        break;
    default:
        snprintf(buf, len, "%s", scalar_name(f->type));
        break;
    }
    return buf;
}

void args_describe(FILE *out, const proto_op_t *op)
{
    fprintf(out, "%s\n", op->name);
    args_describe_fields(out, op);
}

void args_describe_fields(FILE *out, const proto_op_t *op)
{
    if (!op->args || op->args->n_fields == 0) {
        fprintf(out, "    (no arguments)\n");
        return;
    }
    size_t width = 0;
    for (size_t i = 0; i < op->args->n_fields; i++) {
        size_t n = strlen(op->args->fields[i].key);
        if (n > width)
            width = n;
    }
    for (size_t i = 0; i < op->args->n_fields; i++) {
        const proto_field_t *f = &op->args->fields[i];
        char type[160];
        fprintf(out, "    %-*s  %s%s\n", (int) width, f->key, args_type_name(f, type, sizeof type),
                f->flags == PF_REQUIRED ? "" : ", optional");
    }
}

/*  A short placeholder for a field's value in a usage line. */
static const char *value_word(const proto_field_t *f)
{
    switch (f->type) {
    case PF_HASH32: return "HASH";
    case PF_ADDRESS: return "ADDRESS";
    case PF_PAYLOAD_ID: return "PAYLOAD_ID";
    case PF_U256: case PF_QUANTITY: return "N";
    case PF_BOOL: return "true|false";
    case PF_SELECTOR: return "BLOCK";
    case PF_DATA: case PF_BLOOM: return "0xHEX";
    case PF_STR: return "TEXT";
    default: return "JSON|@FILE";
    }
}

void args_usage_line(FILE *out, const proto_op_t *op)
{
    fputs(op->name, out);
    for (size_t i = 0; op->args && i < op->args->n_fields; i++) {
        const proto_field_t *f = &op->args->fields[i];
        bool optional = f->flags != PF_REQUIRED;
        fprintf(out, " %s%s=%s%s", optional ? "[" : "", f->key, value_word(f),
                optional ? "]" : "");
    }
}

/*  Optimal string alignment distance (Damerau-Levenshtein without
    repeated edits of one substring), on names of at most 63 bytes. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 63 || m > 63)
        return 64;
    size_t d[64][64];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]
                && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[n][m];
}

const char *args_suggest_op(const char *name)
{
    size_t len = strlen(name);
    if (len == 0)
        return NULL;
    const char *best = NULL, *prefix_of = NULL;
    size_t best_d = (size_t) -1, prefixes = 0;
    for (size_t i = 0; i < proto_n_ops; i++) {
        size_t d = edit_distance(name, proto_ops[i].name);
        if (d < best_d) {
            best_d = d;
            best = proto_ops[i].name;
        }
        if (strncmp(proto_ops[i].name, name, len) == 0) {
            prefixes++;
            if (!prefix_of || strlen(proto_ops[i].name) < strlen(prefix_of))
                prefix_of = proto_ops[i].name;
        }
    }
    size_t limit = len / 3 > 2 ? len / 3 : 2;
    if (best && best_d <= limit && best_d < len)
        return best;
    /*  "get_b" means get_block: the shortest op it begins. */
    return len >= 3 && prefixes > 0 ? prefix_of : NULL;
}

void args_list_op_names(FILE *out)
{
    for (size_t i = 0; i < proto_n_ops; i++)
        fprintf(out, "%s%s", i ? ", " : "", proto_ops[i].name);
}
