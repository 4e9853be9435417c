/*  Writes the fuzzer's seed corpus and dictionary:

        make_corpus CORPUS_DIR DICT_FILE

    The seeds are valid messages built from the schemas themselves: a request
    for every op with every field set, smaller requests with the optional
    fields left out, and a few replies. The dictionary holds every key, op
    name, tag and error code of the contract as msgpack strs, and the headers
    of the fixed-size bins. Run it again after the contract changes. */
#include "proto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *zalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        perror("calloc");
        exit(1);
    }
    return p;
}

static void fill_bytes(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t) (seed * 29u + i * 13u + 1u);
}

static void fill_struct(const proto_schema_t *schema, void *obj, unsigned seed, bool minimal);

/*  One value of a scalar or struct type. */
static void fill_value(proto_ftype_t type, const proto_field_t *f, void *p, unsigned seed,
                       bool minimal)
{
    switch (type) {
    case PF_HASH32: case PF_U256: case PF_ADDRESS: case PF_PAYLOAD_ID: case PF_BLOOM:
        fill_bytes(p, proto_elem_size(type), seed);
        break;
    case PF_QUANTITY:
        *(uint64_t *) p = minimal ? seed : 1700000000u + seed;
        break;
    case PF_BOOL:
        *(bool *) p = !minimal;
        break;
    case PF_STR: {
        char *s = strdup(seed % 2 ? "VALID" : "synced");
        if (!s)
            exit(1);
        *(char **) p = s;
        break;
    }
    case PF_DATA: {
        proto_data_t *d = p;
        d->len = minimal ? 0 : (f && f->type == PF_DATA && f->max_len ? f->max_len : 24);
        d->data = zalloc(d->len, 1);
        fill_bytes(d->data, d->len, seed);
        break;
    }
    case PF_SELECTOR: {
        proto_selector_t *sel = p;
        sel->kind = (proto_sel_kind_t) (PROTO_SEL_HASH + seed % 3);
        fill_bytes(sel->hash, sizeof sel->hash, seed);
        sel->number = seed;
        snprintf(sel->tag, sizeof sel->tag, "%s", seed % 2 ? "latest" : "finalized");
        if (sel->kind != PROTO_SEL_HASH)
            memset(sel->hash, 0, sizeof sel->hash);
        if (sel->kind != PROTO_SEL_NUMBER)
            sel->number = 0;
        if (sel->kind != PROTO_SEL_TAG)
            memset(sel->tag, 0, sizeof sel->tag);
        break;
    }
    case PF_STRUCT:
        fill_struct(f->sub, p, seed, minimal);
        break;
    default:
        break;
    }
}

/*  Every field set (minimal: only the required ones, lists empty). */
static void fill_struct(const proto_schema_t *schema, void *obj, unsigned seed, bool minimal)
{
    uint8_t *base = obj;
    for (size_t i = 0; i < schema->n_fields; i++) {
        const proto_field_t *f = &schema->fields[i];
        unsigned s = seed + 7 * (unsigned) i;
        bool optional = f->flags & (PF_OPTIONAL | PF_NULLABLE | PF_DEFAULTED);
        if (minimal && optional)
            continue;
        if ((f->flags & (PF_OPTIONAL | PF_NULLABLE)) && f->type != PF_SELECTOR
            && f->type != PF_TXLIST)
            *(bool *) (base + f->has_off) = true;
        switch (f->type) {
        case PF_ARRAY: {
            size_t n = minimal ? 0 : 2;
            size_t esize = f->elem_type == PF_STRUCT ? f->sub->size : proto_elem_size(f->elem_type);
            uint8_t *items = zalloc(n, esize);
            for (size_t j = 0; j < n; j++)
                fill_value(f->elem_type, f, items + j * esize, s + (unsigned) j, minimal);
            *(uint8_t **) (base + f->off) = items;
            *(size_t *) (base + f->count_off) = n;
            break;
        }
        case PF_TOPICS: {
            size_t n = minimal ? 0 : 3;
            proto_topic_t *t = zalloc(n, sizeof *t);
            if (n) {
                t[0].any = true;
                t[1].n = 1;
                t[1].hashes = zalloc(1, 32);
                fill_bytes(t[1].hashes[0], 32, s);
                t[2].n = 2;
                t[2].hashes = zalloc(2, 32);
                fill_bytes(t[2].hashes[0], 32, s + 1);
                fill_bytes(t[2].hashes[1], 32, s + 2);
            }
            *(proto_topic_t **) (base + f->off) = t;
            *(size_t *) (base + f->count_off) = n;
            break;
        }
        case PF_TXLIST: {
            size_t n = minimal ? 1 : 2;
            proto_tx_t *txs = zalloc(n, sizeof *txs);
            for (size_t j = 0; j < n; j++) {
                if (minimal)
                    fill_bytes(txs[j].hash, 32, s + (unsigned) j);
                else
                    fill_struct(&proto_tx_schema, &txs[j], s + (unsigned) j, j == 1);
            }
            *(proto_tx_t **) (base + f->off) = txs;
            *(size_t *) (base + f->count_off) = n;
            *(bool *) (base + f->has_off) = !minimal;
            break;
        }
        default:
            fill_value(f->type, f, base + f->off, s, minimal);
            break;
        }
    }
}

static void write_file(const char *dir, const char *name, const proto_writer_t *w, size_t *total)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(w->sbuf.data, 1, w->sbuf.size, f) != w->sbuf.size || fclose(f) != 0) {
        fprintf(stderr, "make_corpus: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    *total += w->sbuf.size;
}

static void write_request(const char *dir, const proto_op_t *op, bool minimal, uint64_t id,
                          size_t *total)
{
    proto_writer_t w;
    proto_writer_init(&w);
    proto_request_begin(&w.pk, id, op->name, op->args != NULL);
    if (op->args) {
        void *args = zalloc(1, op->args->size);
        fill_struct(op->args, args, (unsigned) id, minimal);
        proto_encode(op->args, args, &w.pk);
        proto_free(op->args, args);
        free(args);
    }
    char name[96];
    snprintf(name, sizeof name, "req-%s%s", op->name, minimal ? "-min" : "");
    write_file(dir, name, &w, total);
    proto_writer_release(&w);
}

static void write_reply(const char *dir, const proto_op_t *op, uint64_t id, size_t *total)
{
    proto_writer_t w;
    proto_writer_init(&w);
    void *result = zalloc(1, op->result->size);
    fill_struct(op->result, result, (unsigned) id, false);
    proto_reply_ok(&w.pk, true, id, op->result, result);
    proto_free(op->result, result);
    free(result);
    char name[96];
    snprintf(name, sizeof name, "rep-%s", op->name);
    write_file(dir, name, &w, total);
    proto_writer_release(&w);
}

/* ------------------------------------------------------------- dictionary */

static void dict_str(FILE *f, const char *s)
{
    size_t n = strlen(s);
    fprintf(f, "\"\\x%02x", 0xa0 | (unsigned) n);
    for (size_t i = 0; i < n; i++)
        fputc(s[i], f);
    fputs("\"\n", f);
}

static void dict_schema(FILE *f, const proto_schema_t *schema, int depth)
{
    for (size_t i = 0; i < schema->n_fields; i++) {
        dict_str(f, schema->fields[i].key);
        if (schema->fields[i].sub && depth < 4)
            dict_schema(f, schema->fields[i].sub, depth + 1);
    }
}

static void write_dict(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "make_corpus: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    fputs("# generated by tests/fuzz/make_corpus.c: keys, ops, tags and codes as msgpack strs\n", f);
    static const char *const words[] = {"v", "id", "op", "args", "ok", "result", "error", "code",
                                        "message", "retryable", "el_code", "latest", "pending",
                                        "earliest", "safe", "finalized"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        dict_str(f, words[i]);
    for (size_t i = 0; i < proto_n_ops; i++) {
        dict_str(f, proto_ops[i].name);
        if (proto_ops[i].args)
            dict_schema(f, proto_ops[i].args, 0);
        dict_schema(f, proto_ops[i].result, 0);
    }
    dict_schema(f, &proto_tx_schema, 0);
    for (int e = 1; e < PROTO_ERR_COUNT; e++)
        dict_str(f, proto_err_name((proto_err_t) e));
    fputs("\"\\xc4\\x20\"\n\"\\xc4\\x14\"\n\"\\xc4\\x08\"\n\"\\xc5\\x01\\x00\"\n"
          "\"\\xcf\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\"\n\"\\xdd\\xff\\xff\\xff\\xff\"\n"
          "\"\\xdf\\xff\\xff\\xff\\xff\"\n\"\\xc6\\xff\\xff\\xff\\xff\"\n",
          f);
    if (fclose(f) != 0)
        exit(1);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: make_corpus CORPUS_DIR DICT_FILE\n");
        return 2;
    }
    const char *dir = argv[1];
    size_t total = 0;
    for (size_t i = 0; i < proto_n_ops; i++) {
        const proto_op_t *op = &proto_ops[i];
        write_request(dir, op, false, 10 + i, &total);
        if (op->args && (strcmp(op->name, "build_block") == 0
                         || strcmp(op->name, "update_forkchoice") == 0
                         || strcmp(op->name, "get_block") == 0
                         || strcmp(op->name, "get_logs") == 0))
            write_request(dir, op, true, 40 + i, &total);
    }
    static const char *const replies[] = {"ping", "status", "get_block", "get_logs",
                                          "get_transaction_receipt"};
    for (size_t i = 0; i < sizeof replies / sizeof *replies; i++)
        write_reply(dir, proto_op_find(replies[i]), 70 + i, &total);

    proto_writer_t w;
    proto_writer_init(&w);
    proto_reply_error(&w.pk, true, 90, PROTO_EL_ERROR, "execution client: unknown payload", true,
                      -38001);
    write_file(dir, "rep-error-el", &w, &total);
    proto_writer_reset(&w);
    proto_reply_error(&w.pk, false, 0, PROTO_BAD_REQUEST, "id: missing", false, 0);
    write_file(dir, "rep-error-noid", &w, &total);
    proto_writer_release(&w);

    write_dict(argv[2]);
    printf("%zu bytes of seeds in %s\n", total, dir);
    return 0;
}
