/*  Tests of alys-engine-cli: its conversions (command-line text and JSON to
    msgpack, msgpack to JSON and human text) in process, and the built binary
    (usage errors, Lazy Pirate retries, exit codes) against a ROUTER socket
    that this test binds and scripts. The binary's path comes from ALYS_CLI. */
#include <check.h>
#include <czmq.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "args.h"
#include "convert.h"
#include "proto.h"

extern char **environ;

/* ---------------------------------------------------------------- helpers */

/*  A packed value and its parse, for checking what a conversion produced. */
typedef struct {
    proto_writer_t w;
    proto_frame_t *frame;
    const msgpack_object *root;
} packed_t;

static void packed_init(packed_t *p)
{
    memset(p, 0, sizeof *p);
    proto_writer_init(&p->w);
}

static void packed_parse(packed_t *p)
{
    char err[PROTO_ERR_LEN];
    p->frame = proto_frame_parse((const uint8_t *) p->w.sbuf.data, p->w.sbuf.size,
                                 PROTO_MAX_FRAME_DEFAULT, err, sizeof err);
    ck_assert_msg(p->frame != NULL, "parse: %s", err);
    p->root = proto_frame_root(p->frame);
}

static void packed_release(packed_t *p)
{
    proto_frame_destroy(&p->frame);
    proto_writer_release(&p->w);
}

/*  Converts text as a scalar of type; returns the rc and, when 0, leaves the
    parsed value in p (the caller releases p either way). */
static int scalar(packed_t *p, proto_ftype_t type, const char *text, char *err, size_t err_len)
{
    packed_init(p);
    int rc = convert_scalar(type, text, &p->w.pk, err, err_len);
    if (rc == 0)
        packed_parse(p);
    return rc;
}

static bool scalar_fails(proto_ftype_t type, const char *text, const char *expect_in_err)
{
    packed_t p;
    char err[256] = "";
    int rc = scalar(&p, type, text, err, sizeof err);
    packed_release(&p);
    if (rc == 0)
        return false;
    ck_assert_msg(err[0] != '\0', "no error text for '%s'", text);
    if (expect_in_err)
        ck_assert_msg(strstr(err, expect_in_err), "error '%s' lacks '%s'", err, expect_in_err);
    return true;
}

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 3);
    ck_assert_ptr_nonnull(s);
    s[0] = '0';
    s[1] = 'x';
    memset(s + 2, c, n);
    s[n + 2] = '\0';
    return s;
}

static void fill_payload(proto_payload_t *p)
{
    memset(p, 0, sizeof *p);
    memset(p->parent_hash, 0x11, 32);
    memset(p->fee_recipient, 0xde, 20);
    memset(p->state_root, 0x22, 32);
    memset(p->receipts_root, 0x33, 32);
    p->logs_bloom[0] = 0x80;
    p->logs_bloom[255] = 0x01;
    memset(p->prev_randao, 0x44, 32);
    p->block_number = 7;
    p->gas_limit = 30000000;
    p->gas_used = 21000;
    p->timestamp = 1700000000;
    p->extra_data.len = 3;
    p->extra_data.data = malloc(3);
    memcpy(p->extra_data.data, "\x01\x02\x03", 3);
    p->base_fee_per_gas[31] = 7;
    memset(p->block_hash, 0x55, 32);
    p->n_transactions = 2;
    p->transactions = calloc(2, sizeof *p->transactions);
    p->transactions[0].len = 5;
    p->transactions[0].data = malloc(5);
    memcpy(p->transactions[0].data, "\x02\xf8\x6e\x01\x80", 5);
    p->transactions[1].len = 0;
    p->transactions[1].data = malloc(1);
    p->n_withdrawals = 2;
    p->withdrawals = calloc(2, sizeof *p->withdrawals);
    memset(p->withdrawals[0].address, 0xaa, 20);
    p->withdrawals[0].amount = 1000;
    p->withdrawals[1].index = 1;
    p->withdrawals[1].validator_index = 2;
    memset(p->withdrawals[1].address, 0xbb, 20);
    p->withdrawals[1].amount = 10;
    p->has_blob_gas_used = true;
    p->has_excess_blob_gas = true;
    p->excess_blob_gas = 131072;
}

/*  A build_block ok reply as the actor would send it. */
static void pack_build_reply(proto_writer_t *w, uint64_t id, proto_payload_t *payload_out)
{
    proto_build_block_result_t r;
    memset(&r, 0, sizeof r);
    fill_payload(&r.payload);
    memset(r.payload_id, 0x0f, 8);
    r.block_value[30] = 0x12;
    r.block_value[31] = 0x34;
    proto_reply_ok(&w->pk, true, id, proto_op_find("build_block")->result, &r);
    if (payload_out)
        proto_copy(&proto_payload_schema, payload_out, &r.payload);
    proto_free(proto_op_find("build_block")->result, &r);
}

/*  Builds a request for op from the words (NULL-terminated) and decodes its
    args with the op's schema into out (op->args->size bytes). */
static int request_args(const char *op_name, const char *const *words, FILE *in, void *out,
                        char *err, size_t err_len)
{
    const proto_op_t *op = proto_op_find(op_name);
    ck_assert_ptr_nonnull(op);
    int n = 0;
    while (words[n])
        n++;
    proto_writer_t w;
    proto_writer_init(&w);
    int rc = args_build_request(op, 42, n, (char *const *) words, in, &w, err, err_len);
    if (rc == 0) {
        proto_request_t req;
        char why[PROTO_ERR_LEN];
        ck_assert_int_eq(proto_request_decode((const uint8_t *) w.sbuf.data, w.sbuf.size,
                                              PROTO_MAX_FRAME_DEFAULT, &req, why, sizeof why),
                         PROTO_OK);
        ck_assert_uint_eq(req.id, 42);
        ck_assert_str_eq(req.op, op_name);
        ck_assert_int_eq(proto_decode(op->args, req.args, out, why, sizeof why), 0);
        proto_request_release(&req);
    }
    proto_writer_release(&w);
    return rc;
}

static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/alys-cli-test-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    size_t n = strlen(text);
    ck_assert_int_eq(write(fd, text, n), (ssize_t) n);
    close(fd);
    return path;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    char *text = NULL;
    size_t cap = 0;
    ssize_t n = getdelim(&text, &cap, '\0', f);
    fclose(f);
    if (n < 0) {
        free(text);
        return strdup("");
    }
    return text;
}

/* ------------------------------------------------------- scalar conversion */

START_TEST(test_hash32)
{
    packed_t p;
    char err[256];
    char *good = repeat('a', 64);
    ck_assert_int_eq(scalar(&p, PF_HASH32, good, err, sizeof err), 0);
    ck_assert_int_eq(p.root->type, MSGPACK_OBJECT_BIN);
    ck_assert_uint_eq(p.root->via.bin.size, 32);
    ck_assert_uint_eq((uint8_t) p.root->via.bin.ptr[31], 0xaa);
    packed_release(&p);
    free(good);

    char *long_hash = repeat('b', 66);
    ck_assert(scalar_fails(PF_HASH32, long_hash, "got 33 bytes"));
    free(long_hash);
    char *short_hash = repeat('b', 62);
    ck_assert(scalar_fails(PF_HASH32, short_hash, "32-byte"));
    free(short_hash);
    char *odd = repeat('c', 63);
    ck_assert(scalar_fails(PF_HASH32, odd, "odd"));
    free(odd);
    char *nonhex = repeat('z', 64);
    ck_assert(scalar_fails(PF_HASH32, nonhex, "not hex"));
    free(nonhex);
    ck_assert(scalar_fails(PF_HASH32, "aaaa", "0x"));
    ck_assert(scalar_fails(PF_HASH32, "", NULL));
}
END_TEST

START_TEST(test_address_payload_id_bloom)
{
    packed_t p;
    char err[256];
    char *addr = repeat('D', 40);
    ck_assert_int_eq(scalar(&p, PF_ADDRESS, addr, err, sizeof err), 0);
    ck_assert_uint_eq(p.root->via.bin.size, 20);
    ck_assert_uint_eq((uint8_t) p.root->via.bin.ptr[0], 0xdd);
    packed_release(&p);
    free(addr);
    char *addr19 = repeat('d', 38);
    ck_assert(scalar_fails(PF_ADDRESS, addr19, "got 19 bytes"));
    free(addr19);

    ck_assert_int_eq(scalar(&p, PF_PAYLOAD_ID, "0x0102030405060708", err, sizeof err), 0);
    ck_assert_uint_eq(p.root->via.bin.size, 8);
    ck_assert_uint_eq((uint8_t) p.root->via.bin.ptr[7], 8);
    packed_release(&p);
    ck_assert(scalar_fails(PF_PAYLOAD_ID, "0x010203040506070809", "got 9 bytes"));

    char *bloom = repeat('0', 512);
    ck_assert_int_eq(scalar(&p, PF_BLOOM, bloom, err, sizeof err), 0);
    ck_assert_uint_eq(p.root->via.bin.size, 256);
    packed_release(&p);
    free(bloom);
}
END_TEST

START_TEST(test_u256)
{
    packed_t p;
    char err[256];
    uint8_t expect[32] = {0};
    expect[28] = 0x3b;
    expect[29] = 0x9a;
    expect[30] = 0xca;
    expect[31] = 0x00;
    const char *same[] = {"1000000000", "0x3b9aca00", "0x3B9ACA00", "0x00003b9aca00"};
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(scalar(&p, PF_U256, same[i], err, sizeof err), 0);
        ck_assert_uint_eq(p.root->via.bin.size, 32);
        ck_assert_mem_eq(p.root->via.bin.ptr, expect, 32);
        packed_release(&p);
    }
    char *full = repeat('f', 64);
    ck_assert_int_eq(scalar(&p, PF_U256, full, err, sizeof err), 0);
    ck_assert_uint_eq((uint8_t) p.root->via.bin.ptr[0], 0xff);
    packed_release(&p);
    free(full);
    const char *max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
    ck_assert_int_eq(scalar(&p, PF_U256, max, err, sizeof err), 0);
    for (int i = 0; i < 32; i++)
        ck_assert_uint_eq((uint8_t) p.root->via.bin.ptr[i], 0xff);
    packed_release(&p);
    ck_assert_int_eq(scalar(&p, PF_U256, "0", err, sizeof err), 0);
    packed_release(&p);

    ck_assert(scalar_fails(PF_U256,
        "115792089237316195423570985008687907853269984665640564039457584007913129639936",
        "256 bits"));
    char *too_long = repeat('1', 65);
    ck_assert(scalar_fails(PF_U256, too_long, "256 bits"));
    free(too_long);
    ck_assert(scalar_fails(PF_U256, "-1", "negative"));
    ck_assert(scalar_fails(PF_U256, "0x", NULL));
    ck_assert(scalar_fails(PF_U256, "12a", NULL));
}
END_TEST

START_TEST(test_quantity)
{
    packed_t p;
    char err[256];
    struct { const char *text; uint64_t v; } good[] = {
        {"0", 0}, {"42", 42}, {"007", 7}, {"0x10", 16}, {"0X0", 0}, {"0x000001", 1},
        {"18446744073709551615", UINT64_MAX}, {"0xffffffffffffffff", UINT64_MAX},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        ck_assert_msg(scalar(&p, PF_QUANTITY, good[i].text, err, sizeof err) == 0, "%s: %s",
                      good[i].text, err);
        ck_assert_int_eq(p.root->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
        ck_assert_uint_eq(p.root->via.u64, good[i].v);
        packed_release(&p);
    }
    ck_assert(scalar_fails(PF_QUANTITY, "-1", "negative"));
    ck_assert(scalar_fails(PF_QUANTITY, "18446744073709551616", "64 bits"));
    ck_assert(scalar_fails(PF_QUANTITY, "0x1ffffffffffffffff", "64 bits"));
    ck_assert(scalar_fails(PF_QUANTITY, "", NULL));
    ck_assert(scalar_fails(PF_QUANTITY, " 1", NULL));
    ck_assert(scalar_fails(PF_QUANTITY, "+1", NULL));
    ck_assert(scalar_fails(PF_QUANTITY, "1e3", NULL));
    ck_assert(scalar_fails(PF_QUANTITY, "0x", NULL));
    ck_assert(scalar_fails(PF_QUANTITY, "0xg", NULL));
}
END_TEST

START_TEST(test_bool_str_data)
{
    packed_t p;
    char err[256];
    const char *yes[] = {"true", "1"}, *no[] = {"false", "0"};
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(scalar(&p, PF_BOOL, yes[i], err, sizeof err), 0);
        ck_assert(p.root->type == MSGPACK_OBJECT_BOOLEAN && p.root->via.boolean);
        packed_release(&p);
        ck_assert_int_eq(scalar(&p, PF_BOOL, no[i], err, sizeof err), 0);
        ck_assert(p.root->type == MSGPACK_OBJECT_BOOLEAN && !p.root->via.boolean);
        packed_release(&p);
    }
    ck_assert(scalar_fails(PF_BOOL, "yes", "bool"));

    ck_assert_int_eq(scalar(&p, PF_STR, "hello", err, sizeof err), 0);
    ck_assert_int_eq(p.root->type, MSGPACK_OBJECT_STR);
    ck_assert_uint_eq(p.root->via.str.size, 5);
    packed_release(&p);

    ck_assert_int_eq(scalar(&p, PF_DATA, "0x", err, sizeof err), 0);
    ck_assert_int_eq(p.root->type, MSGPACK_OBJECT_BIN);
    ck_assert_uint_eq(p.root->via.bin.size, 0);
    packed_release(&p);
    ck_assert_int_eq(scalar(&p, PF_DATA, "0xABcd", err, sizeof err), 0);
    ck_assert_uint_eq(p.root->via.bin.size, 2);
    ck_assert_mem_eq(p.root->via.bin.ptr, "\xab\xcd", 2);
    packed_release(&p);
    ck_assert(scalar_fails(PF_DATA, "abcd", "0x"));
    ck_assert(scalar_fails(PF_DATA, "0xabc", "odd"));
    ck_assert(scalar_fails(PF_DATA, "0xzz", NULL));
    ck_assert(scalar_fails(PF_STRUCT, "{}", "JSON"));
    ck_assert(!convert_is_scalar(PF_ARRAY));
}
END_TEST

START_TEST(test_selector)
{
    packed_t p;
    char err[256];
    ck_assert_int_eq(scalar(&p, PF_SELECTOR, "latest", err, sizeof err), 0);
    ck_assert_int_eq(p.root->type, MSGPACK_OBJECT_STR);
    ck_assert_uint_eq(p.root->via.str.size, 6);
    packed_release(&p);
    ck_assert_int_eq(scalar(&p, PF_SELECTOR, "finalized", err, sizeof err), 0);
    packed_release(&p);
    ck_assert_int_eq(scalar(&p, PF_SELECTOR, "123", err, sizeof err), 0);
    ck_assert_int_eq(p.root->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    ck_assert_uint_eq(p.root->via.u64, 123);
    packed_release(&p);
    ck_assert_int_eq(scalar(&p, PF_SELECTOR, "0x10", err, sizeof err), 0);
    ck_assert_uint_eq(p.root->via.u64, 16);
    packed_release(&p);
    char *hash = repeat('7', 64);
    ck_assert_int_eq(scalar(&p, PF_SELECTOR, hash, err, sizeof err), 0);
    ck_assert_int_eq(p.root->type, MSGPACK_OBJECT_BIN);
    ck_assert_uint_eq(p.root->via.bin.size, 32);
    packed_release(&p);
    free(hash);
    ck_assert(scalar_fails(PF_SELECTOR, "newest", "tag"));
    ck_assert(scalar_fails(PF_SELECTOR, "-1", NULL));
    ck_assert(scalar_fails(PF_SELECTOR, "", NULL));
}
END_TEST

/* ------------------------------------------------------------------- JSON */

START_TEST(test_json_generic)
{
    packed_t p;
    char err[256];
    packed_init(&p);
    const char *text = "[1, -2, \"0xab\", \"0xabc\", \"hi\", \"0x\", true, false, null, "
                       "{\"a\": {\"b\": []}}, 1.5]";
    ck_assert_int_eq(convert_json_to_msgpack(text, strlen(text), &p.w.pk, err, sizeof err), 0);
    packed_parse(&p);
    const msgpack_object *a = p.root->via.array.ptr;
    ck_assert_uint_eq(p.root->via.array.size, 11);
    ck_assert(a[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER && a[0].via.u64 == 1);
    ck_assert(a[1].type == MSGPACK_OBJECT_NEGATIVE_INTEGER && a[1].via.i64 == -2);
    ck_assert(a[2].type == MSGPACK_OBJECT_BIN && a[2].via.bin.size == 1);
    ck_assert_int_eq(a[3].type, MSGPACK_OBJECT_STR);
    ck_assert_int_eq(a[4].type, MSGPACK_OBJECT_STR);
    ck_assert(a[5].type == MSGPACK_OBJECT_BIN && a[5].via.bin.size == 0);
    ck_assert(a[6].type == MSGPACK_OBJECT_BOOLEAN && a[6].via.boolean);
    ck_assert(a[7].type == MSGPACK_OBJECT_BOOLEAN && !a[7].via.boolean);
    ck_assert_int_eq(a[8].type, MSGPACK_OBJECT_NIL);
    ck_assert_int_eq(a[9].type, MSGPACK_OBJECT_MAP);
    ck_assert_int_eq(a[10].type, MSGPACK_OBJECT_FLOAT64);
    packed_release(&p);

    const char *bad[] = {"{", "[1,]", "{\"a\":1,\"a\":2}", "", "nope"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        packed_init(&p);
        err[0] = '\0';
        ck_assert_int_eq(convert_json_to_msgpack(bad[i], strlen(bad[i]), &p.w.pk, err, sizeof err),
                         -1);
        ck_assert_msg(strstr(err, "bad JSON"), "'%s': %s", bad[i], err);
        packed_release(&p);
    }
}
END_TEST

/*  msgpack -> JSON -> msgpack gives back the same bytes, for a whole
    build_block reply and for an error reply. */
START_TEST(test_json_round_trip)
{
    proto_writer_t w;
    proto_writer_init(&w);
    pack_build_reply(&w, 0x7fffffffffffffffull, NULL);
    char err[256];
    proto_frame_t *frame = proto_frame_parse((const uint8_t *) w.sbuf.data, w.sbuf.size,
                                             PROTO_MAX_FRAME_DEFAULT, err, sizeof err);
    ck_assert_ptr_nonnull(frame);
    char *json = convert_to_json(proto_frame_root(frame));
    ck_assert_ptr_nonnull(json);
    ck_assert_ptr_nonnull(strstr(json, "\"extra_data\":\"0x010203\""));
    ck_assert_ptr_nonnull(strstr(json, "\"gas_limit\":30000000"));
    ck_assert_ptr_nonnull(strstr(json, "\"id\":9223372036854775807"));

    proto_writer_t back;
    proto_writer_init(&back);
    ck_assert_int_eq(convert_json_to_msgpack(json, strlen(json), &back.pk, err, sizeof err), 0);
    ck_assert_uint_eq(back.sbuf.size, w.sbuf.size);
    ck_assert_mem_eq(back.sbuf.data, w.sbuf.data, w.sbuf.size);

    /*  The pretty form converts back the same way. */
    char *pretty = NULL;
    size_t pretty_len = 0;
    FILE *mem = open_memstream(&pretty, &pretty_len);
    convert_write_json(mem, proto_frame_root(frame), true);
    fclose(mem);
    proto_writer_reset(&back);
    ck_assert_int_eq(convert_json_to_msgpack(pretty, pretty_len, &back.pk, err, sizeof err), 0);
    ck_assert_mem_eq(back.sbuf.data, w.sbuf.data, w.sbuf.size);
    free(pretty);

    free(json);
    proto_frame_destroy(&frame);

    proto_writer_reset(&w);
    proto_reply_error(&w.pk, true, 5, PROTO_EL_ERROR, "boom \"quoted\"\n", true, -32000);
    frame = proto_frame_parse((const uint8_t *) w.sbuf.data, w.sbuf.size,
                              PROTO_MAX_FRAME_DEFAULT, err, sizeof err);
    json = convert_to_json(proto_frame_root(frame));
    ck_assert_ptr_nonnull(strstr(json, "\"el_code\":-32000"));
    ck_assert_ptr_nonnull(strstr(json, "boom \\\"quoted\\\"\\n"));
    proto_writer_reset(&back);
    ck_assert_int_eq(convert_json_to_msgpack(json, strlen(json), &back.pk, err, sizeof err), 0);
    ck_assert_uint_eq(back.sbuf.size, w.sbuf.size);
    ck_assert_mem_eq(back.sbuf.data, w.sbuf.data, w.sbuf.size);
    free(json);
    proto_frame_destroy(&frame);

    proto_writer_release(&back);
    proto_writer_release(&w);
}
END_TEST

/*  The payload of a build_block reply, as --json prints it, is accepted by
    commit_block payload=... as text and as @FILE, and decodes to the same
    payload. */
START_TEST(test_payload_feedback)
{
    proto_writer_t w;
    proto_writer_init(&w);
    proto_payload_t original;
    pack_build_reply(&w, 9, &original);
    char err[ARGS_ERR_LEN];
    proto_frame_t *frame = proto_frame_parse((const uint8_t *) w.sbuf.data, w.sbuf.size,
                                             PROTO_MAX_FRAME_DEFAULT, err, sizeof err);
    char *json = convert_to_json(proto_frame_root(frame));
    json_t *doc = json_loads(json, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    char *payload_json = json_dumps(json_object_get(json_object_get(doc, "result"), "payload"),
                                    JSON_INDENT(2));
    ck_assert_ptr_nonnull(payload_json);

    char *word = NULL;
    ck_assert_int_ge(asprintf(&word, "payload=%s", payload_json), 0);
    char *path = write_temp(payload_json);
    char *file_word = NULL;
    ck_assert_int_ge(asprintf(&file_word, "payload=@%s", path), 0);

    proto_writer_t a, b;
    proto_writer_init(&a);
    proto_writer_init(&b);
    proto_encode(&proto_payload_schema, &original, &a.pk);
    const char *const *forms[2] = {(const char *const[]){word, NULL},
                                   (const char *const[]){file_word, NULL}};
    for (int i = 0; i < 2; i++) {
        proto_payload_args_t args;
        memset(&args, 0, sizeof args);
        ck_assert_msg(request_args("commit_block", forms[i], NULL, &args, err, sizeof err) == 0,
                      "%s", err);
        proto_writer_reset(&b);
        proto_encode(&proto_payload_schema, &args.payload, &b.pk);
        ck_assert_uint_eq(a.sbuf.size, b.sbuf.size);
        ck_assert_mem_eq(a.sbuf.data, b.sbuf.data, a.sbuf.size);
        proto_free(proto_op_find("commit_block")->args, &args);
    }

    /*  @- reads standard input. */
    FILE *in = fmemopen(payload_json, strlen(payload_json), "r");
    proto_payload_args_t args;
    memset(&args, 0, sizeof args);
    ck_assert_int_eq(request_args("validate_payload", (const char *const[]){"payload=@-", NULL},
                                  in, &args, err, sizeof err), 0);
    ck_assert_uint_eq(args.payload.n_withdrawals, 2);
    proto_free(proto_op_find("validate_payload")->args, &args);
    fclose(in);

    unlink(path);
    free(path);
    free(file_word);
    free(word);
    proto_writer_release(&a);
    proto_writer_release(&b);
    proto_free(&proto_payload_schema, &original);
    free(payload_json);
    json_decref(doc);
    free(json);
    proto_frame_destroy(&frame);
    proto_writer_release(&w);
}
END_TEST

START_TEST(test_json_output_text)
{
    proto_writer_t w;
    proto_writer_init(&w);
    msgpack_pack_map(&w.pk, 4);
    proto_pack_str(&w.pk, "s");
    msgpack_pack_str(&w.pk, 7);
    msgpack_pack_str_body(&w.pk, "a\x01\xff\xc3\xa9\t\\", 7);
    msgpack_pack_uint64(&w.pk, 5);
    proto_pack_str(&w.pk, "uint key");
    proto_pack_str(&w.pk, "f");
    msgpack_pack_double(&w.pk, 2.0);
    proto_pack_str(&w.pk, "e");
    msgpack_pack_array(&w.pk, 0);
    char err[128];
    proto_frame_t *frame = proto_frame_parse((const uint8_t *) w.sbuf.data, w.sbuf.size,
                                             PROTO_MAX_FRAME_DEFAULT, err, sizeof err);
    char *json = convert_to_json(proto_frame_root(frame));
    ck_assert_str_eq(json, "{\"s\":\"a\\u0001\\ufffd\xc3\xa9\\t\\\\\",\"5\":\"uint key\","
                           "\"f\":2.0,\"e\":[]}");
    json_t *doc = json_loads(json, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    json_decref(doc);
    free(json);
    proto_frame_destroy(&frame);
    proto_writer_release(&w);
}
END_TEST

START_TEST(test_human_output)
{
    proto_writer_t w;
    proto_writer_init(&w);
    msgpack_pack_map(&w.pk, 5);
    proto_pack_str(&w.pk, "block_hash");
    proto_pack_bin(&w.pk, "\x12\xab", 2);
    proto_pack_str(&w.pk, "el");
    msgpack_pack_map(&w.pk, 2);
    proto_pack_str(&w.pk, "state");
    proto_pack_str(&w.pk, "synced");
    proto_pack_str(&w.pk, "client");
    msgpack_pack_nil(&w.pk);
    proto_pack_str(&w.pk, "withdrawals");
    msgpack_pack_array(&w.pk, 2);
    msgpack_pack_map(&w.pk, 2);
    proto_pack_str(&w.pk, "address");
    proto_pack_bin(&w.pk, "\xaa", 1);
    proto_pack_str(&w.pk, "amount");
    msgpack_pack_uint64(&w.pk, 10);
    msgpack_pack_true(&w.pk);
    proto_pack_str(&w.pk, "transactions");
    msgpack_pack_array(&w.pk, 0);
    proto_pack_str(&w.pk, "el_code");
    msgpack_pack_int64(&w.pk, -32000);
    char err[128];
    proto_frame_t *frame = proto_frame_parse((const uint8_t *) w.sbuf.data, w.sbuf.size,
                                             PROTO_MAX_FRAME_DEFAULT, err, sizeof err);
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    convert_write_human(mem, proto_frame_root(frame));
    fclose(mem);
    ck_assert_str_eq(text,
                     "block_hash: 0x12ab\n"
                     "el:\n"
                     "  state: synced\n"
                     "  client: null\n"
                     "withdrawals:\n"
                     "  - address: 0xaa\n"
                     "    amount: 10 gwei (0.00000001 ether)\n"
                     "  - true\n"
                     "transactions: []\n"
                     "el_code: -32000\n");
    free(text);
    proto_frame_destroy(&frame);
    proto_writer_release(&w);
}
END_TEST

/*  Values read for people: wei with a gwei or ether reading, ISO times,
    durations, exact decimals of 256-bit numbers. */
START_TEST(test_readable_values)
{
    char buf[160];
    uint8_t v[32];
    memset(v, 0xff, 32);
    ck_assert_str_eq(convert_uint_decimal(v, 32, buf, sizeof buf),
                     "115792089237316195423570985008687907853269984665640564039457584007913129639935");
    memset(v, 0, 32);
    ck_assert_str_eq(convert_uint_decimal(v, 32, buf, sizeof buf), "0");
    ck_assert_str_eq(convert_wei_text(v, 32, buf, sizeof buf), "0 wei");
    v[31] = 7;
    ck_assert_str_eq(convert_wei_text(v, 32, buf, sizeof buf), "7 wei (0.000000007 gwei)");
    /* 875000000 wei: a typical base fee */
    uint8_t fee[4] = {0x34, 0x27, 0x70, 0xc0};
    ck_assert_str_eq(convert_wei_text(fee, 4, buf, sizeof buf), "875000000 wei (0.875 gwei)");
    /* 21 gwei */
    uint8_t g[5] = {0x04, 0xe3, 0xb2, 0x92, 0x00};
    ck_assert_str_eq(convert_wei_text(g, 5, buf, sizeof buf), "21000000000 wei (21 gwei)");
    /* 1.5 ether = 0x14d1120d7b160000 */
    uint8_t e[8] = {0x14, 0xd1, 0x12, 0x0d, 0x7b, 0x16, 0x00, 0x00};
    ck_assert_str_eq(convert_wei_text(e, 8, buf, sizeof buf),
                     "1500000000000000000 wei (1.5 ether)");
    ck_assert_str_eq(convert_gwei_text(10000, buf, sizeof buf), "10000 gwei (0.00001 ether)");
    ck_assert_str_eq(convert_gwei_text(2000000000, buf, sizeof buf), "2000000000 gwei (2 ether)");
    ck_assert_str_eq(convert_gwei_text(0, buf, sizeof buf), "0 gwei");
    ck_assert_str_eq(convert_iso_time(1700000000, buf, sizeof buf), "2023-11-14T22:13:20Z");
    ck_assert_str_eq(convert_iso_time(0, buf, sizeof buf), "1970-01-01T00:00:00Z");
    ck_assert_str_eq(convert_duration_text(1234, buf, sizeof buf), "1.234s");
    ck_assert_str_eq(convert_duration_text(0, buf, sizeof buf), "0s");
    ck_assert_str_eq(convert_duration_text(3723000, buf, sizeof buf), "1h 2m 3s");
    ck_assert_str_eq(convert_duration_text(90061001, buf, sizeof buf), "1d 1h 1m 1.001s");
    ck_assert_str_eq(convert_duration_text(60000, buf, sizeof buf), "1m 0s");

    /*  The same readings inside a reply's human form; --json is untouched. */
    proto_writer_t w;
    proto_writer_init(&w);
    pack_build_reply(&w, 5, NULL);
    char err[PROTO_ERR_LEN];
    proto_reply_t r;
    ck_assert_int_eq(proto_reply_decode((const uint8_t *) w.sbuf.data, w.sbuf.size, w.sbuf.size,
                                        &r, err, sizeof err), PROTO_OK);
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    convert_write_human(mem, r.result);
    fclose(mem);
    ck_assert_msg(strstr(text, "\n  timestamp: 2023-11-14T22:13:20Z (1700000000)\n"), "%s", text);
    ck_assert_msg(strstr(text, "\n  base_fee_per_gas: 7 wei (0.000000007 gwei)\n"), "%s", text);
    ck_assert_msg(strstr(text, "\nblock_value: 4660 wei (0.00000466 gwei)\n"), "%s", text);
    ck_assert_msg(strstr(text, "\n  block_number: 7\n"), "%s", text);
    free(text);
    char *json = convert_to_json(r.result);
    ck_assert_ptr_nonnull(strstr(json, "\"block_value\":\"0x00000000000000000000000000000000"
                                       "00000000000000000000000000001234\""));
    ck_assert_ptr_nonnull(strstr(json, "\"timestamp\":1700000000"));
    free(json);
    proto_reply_release(&r);
    proto_writer_release(&w);
}
END_TEST

START_TEST(test_suggest_op)
{
    ck_assert_str_eq(args_suggest_op("get_blok"), "get_block");
    ck_assert_str_eq(args_suggest_op("getblock"), "get_block");
    ck_assert_str_eq(args_suggest_op("finalise_block"), "finalize_block");
    ck_assert_str_eq(args_suggest_op("stauts"), "status");
    ck_assert_str_eq(args_suggest_op("pnig"), "ping");
    ck_assert_str_eq(args_suggest_op("get_block_receipts"), "get_block_with_receipts");
    ck_assert_str_eq(args_suggest_op("get_tra"), "get_transaction_receipt");
    ck_assert_ptr_null(args_suggest_op("frobnicate"));
    ck_assert_ptr_null(args_suggest_op("x"));
    ck_assert_ptr_null(args_suggest_op(""));
}
END_TEST

/* ------------------------------------------------------------------- args */

START_TEST(test_args_build_block)
{
    char err[ARGS_ERR_LEN];
    char *parent = repeat('1', 64), *fee = repeat('f', 40);
    char *w_parent = NULL, *w_fee = NULL, *w_wd = NULL;
    ck_assert_int_ge(asprintf(&w_parent, "parent=%s", parent), 0);
    ck_assert_int_ge(asprintf(&w_fee, "fee_recipient=%s", fee), 0);
    char *a1 = repeat('a', 40), *a2 = repeat('b', 40);
    ck_assert_int_ge(asprintf(&w_wd, "withdrawals=%s:1000,%s:0x10", a1, a2), 0);
    proto_build_block_args_t args;
    memset(&args, 0, sizeof args);
    ck_assert_msg(request_args("build_block",
                               (const char *const[]){"timestamp=0x6553f100", w_parent, w_fee, w_wd,
                                                     NULL},
                               NULL, &args, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(args.timestamp, 0x6553f100);
    ck_assert(args.has_parent && args.parent[0] == 0x11);
    ck_assert(args.has_fee_recipient && args.fee_recipient[19] == 0xff);
    ck_assert(!args.has_prev_randao);
    ck_assert_uint_eq(args.n_withdrawals, 2);
    ck_assert_uint_eq(args.withdrawals[0].amount, 1000);
    ck_assert_uint_eq(args.withdrawals[0].address[0], 0xaa);
    ck_assert_uint_eq(args.withdrawals[1].amount, 16);
    ck_assert_uint_eq(args.withdrawals[1].address[19], 0xbb);
    ck_assert_uint_eq(args.withdrawals[1].index, 0);
    proto_free(proto_op_find("build_block")->args, &args);

    /*  The same withdrawals as JSON, and none at all. */
    const char *json_wd = "withdrawals=[{\"address\":\"0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
                          "\"amount\":5,\"index\":3}]";
    ck_assert_int_eq(request_args("build_block", (const char *const[]){"timestamp=1", json_wd, NULL},
                                  NULL, &args, err, sizeof err), 0);
    ck_assert_uint_eq(args.n_withdrawals, 1);
    ck_assert_uint_eq(args.withdrawals[0].index, 3);
    proto_free(proto_op_find("build_block")->args, &args);
    ck_assert_int_eq(request_args("build_block",
                                  (const char *const[]){"timestamp=1", "withdrawals=", NULL}, NULL,
                                  &args, err, sizeof err), 0);
    ck_assert_uint_eq(args.n_withdrawals, 0);
    proto_free(proto_op_find("build_block")->args, &args);

    free(parent);
    free(fee);
    free(a1);
    free(a2);
    free(w_parent);
    free(w_fee);
    free(w_wd);
}
END_TEST

static void expect_usage_error(const char *op, const char *const *words, const char *needle)
{
    char err[ARGS_ERR_LEN] = "";
    uint8_t out[4096];
    memset(out, 0, sizeof out);
    ck_assert_uint_le(proto_op_find(op)->args ? proto_op_find(op)->args->size : 0, sizeof out);
    int rc = request_args(op, words, NULL, out, err, sizeof err);
    ck_assert_msg(rc == -1, "%s accepted %s", op, words[0]);
    ck_assert_msg(strstr(err, needle), "error '%s' lacks '%s'", err, needle);
}

START_TEST(test_args_errors)
{
    expect_usage_error("build_block", (const char *const[]){"foo=1", NULL},
                       "unknown key 'foo' for build_block; valid keys: timestamp, parent");
    expect_usage_error("build_block", (const char *const[]){"timestamp", NULL}, "key=value");
    expect_usage_error("build_block", (const char *const[]){"=1", NULL}, "key=value");
    expect_usage_error("build_block", (const char *const[]){"timestamp=1", "timestamp=2", NULL},
                       "twice");
    expect_usage_error("build_block", (const char *const[]){"timestamp=-1", NULL}, "negative");
    expect_usage_error("build_block", (const char *const[]){NULL}, "timestamp: missing");
    expect_usage_error("build_block", (const char *const[]){"timestamp=1", "withdrawals=0x12:5", NULL},
                       "withdrawals[0].address");
    expect_usage_error("build_block", (const char *const[]){"timestamp=1", "withdrawals=nope", NULL},
                       "ADDRESS:AMOUNT");
    expect_usage_error("build_block", (const char *const[]){"timestamp=1", "withdrawals=[{]", NULL},
                       "bad JSON");
    expect_usage_error("build_block",
                       (const char *const[]){"timestamp=1", "withdrawals=[{\"amount\":1}]", NULL},
                       "address: missing");
    expect_usage_error("commit_block", (const char *const[]){"payload={\"parent_hash\":1}", NULL},
                       "payload.parent_hash");
    expect_usage_error("commit_block", (const char *const[]){"payload=@/nonexistent/file.json", NULL},
                       "cannot open");
    expect_usage_error("commit_block", (const char *const[]){"payload=@", NULL}, "file name");
    expect_usage_error("get_block", (const char *const[]){"block=newest", NULL}, "tag");
    expect_usage_error("get_block", (const char *const[]){"block=latest", "full_transactions=maybe",
                                                          NULL}, "bool");
    expect_usage_error("finalize_block",
                       (const char *const[]){"block_hash=0x1111111111111111111111111111111111111111"
                                             "11111111111111111111111111", NULL},
                       "got 33 bytes");
    expect_usage_error("ping", (const char *const[]){"x=1", NULL}, "takes no arguments");
}
END_TEST

START_TEST(test_args_logs)
{
    char err[ARGS_ERR_LEN];
    char *a1 = repeat('1', 40), *a2 = repeat('2', 40), *h = repeat('3', 64);
    char *w_addr = NULL, *w_topics = NULL;
    ck_assert_int_ge(asprintf(&w_addr, "address=%s,%s", a1, a2), 0);
    ck_assert_int_ge(asprintf(&w_topics, "topics=[\"%s\", null, [\"%s\", \"%s\"]]", h, h, h), 0);
    proto_get_logs_args_t args;
    memset(&args, 0, sizeof args);
    ck_assert_msg(request_args("get_logs",
                               (const char *const[]){"from_block=0x10", "to_block=latest", w_addr,
                                                     w_topics, NULL},
                               NULL, &args, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(args.from_block.kind, PROTO_SEL_NUMBER);
    ck_assert_uint_eq(args.from_block.number, 16);
    ck_assert_int_eq(args.to_block.kind, PROTO_SEL_TAG);
    ck_assert_uint_eq(args.n_address, 2);
    ck_assert_uint_eq(args.address[1][0], 0x22);
    ck_assert_uint_eq(args.n_topics, 3);
    ck_assert(args.topics[1].any);
    ck_assert_uint_eq(args.topics[2].n, 2);
    proto_free(proto_op_find("get_logs")->args, &args);
    expect_usage_error("get_logs", (const char *const[]){"address=0x12", NULL}, "address[0]");
    expect_usage_error("get_logs", (const char *const[]){"topics=[1]", NULL}, "topics[0]");
    free(a1);
    free(a2);
    free(h);
    free(w_addr);
    free(w_topics);
}
END_TEST

START_TEST(test_describe)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    for (size_t i = 0; i < proto_n_ops; i++)
        args_describe(mem, &proto_ops[i]);
    args_list_op_names(mem);
    fclose(mem);
    ck_assert_ptr_nonnull(strstr(text, "build_block\n"));
    ck_assert_ptr_nonnull(strstr(text, "timestamp"));
    ck_assert_ptr_nonnull(strstr(text, "parent_beacon_block_root  Hash32"));
    ck_assert_ptr_nonnull(strstr(text, "ping, status, build_block"));
    free(text);
}
END_TEST

/* ---------------------------------------------------------- the binary */

typedef struct {
    pid_t pid;
    char out_path[64];
    char err_path[64];
    int status;
    char *out;
    char *err;
} proc_t;

static const char *cli_path(void)
{
    const char *path = getenv("ALYS_CLI");
    ck_assert_msg(path && *path, "ALYS_CLI is not set (run through meson test)");
    return path;
}

/*  Starts a program with the given arguments (NULL-terminated), stdin from
    /dev/null, stdout and stderr into temporary files. */
static void proc_start_prog(proc_t *p, const char *prog, const char *const *args)
{
    memset(p, 0, sizeof *p);
    static int counter;
    snprintf(p->out_path, sizeof p->out_path, "/tmp/alys-cli-test-%d-%d.out", (int) getpid(),
             counter);
    snprintf(p->err_path, sizeof p->err_path, "/tmp/alys-cli-test-%d-%d.err", (int) getpid(),
             counter++);
    const char *argv[32];
    int n = 0;
    argv[n++] = prog;
    for (; *args && n < 31; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, p->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, p->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int rc = posix_spawn(&p->pid, argv[0], &fa, NULL, (char *const *) argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    ck_assert_msg(rc == 0, "cannot run %s: %s", argv[0], strerror(rc));
}

/*  Starts the CLI; see proc_start_prog. */
static void proc_start(proc_t *p, const char *const *args)
{
    proc_start_prog(p, cli_path(), args);
}

static bool proc_exited(proc_t *p)
{
    return waitpid(p->pid, &p->status, WNOHANG) == p->pid;
}

/*  Waits for the CLI (at most 30 s) and reads its output. Returns its exit
    status. */
static int proc_finish(proc_t *p, bool already_exited)
{
    if (!already_exited) {
        int64_t deadline = zclock_mono() + 30000;
        while (!proc_exited(p)) {
            if (zclock_mono() > deadline) {
                kill(p->pid, SIGKILL);
                waitpid(p->pid, &p->status, 0);
                ck_abort_msg("the CLI did not exit");
            }
            zclock_sleep(10);
        }
    }
    p->out = slurp(p->out_path);
    p->err = slurp(p->err_path);
    unlink(p->out_path);
    unlink(p->err_path);
    ck_assert_msg(WIFEXITED(p->status), "the CLI died: status %d", p->status);
    return WEXITSTATUS(p->status);
}

static void proc_release(proc_t *p)
{
    free(p->out);
    free(p->err);
    p->out = p->err = NULL;
}

static int run_cli(proc_t *p, const char *const *args)
{
    proc_start(p, args);
    return proc_finish(p, false);
}

START_TEST(test_usage_exit_codes)
{
    proc_t p;
    struct {
        const char *const *args;
        const char *needle;
    } cases[] = {
        {(const char *const[]){NULL}, "missing OP"},
        {(const char *const[]){"frobnicate", NULL}, "unknown op 'frobnicate'\nvalid ops: ping"},
        {(const char *const[]){"get_blok", "block=latest", NULL},
         "unknown op 'get_blok'; did you mean get_block?"},
        {(const char *const[]){"finalise_block", NULL}, "did you mean finalize_block?"},
        {(const char *const[]){"help", "get_blok", NULL}, "did you mean get_block?"},
        {(const char *const[]){"--id", "9007199254740992", "ping", NULL}, "below 2^53"},
        {(const char *const[]){"--timeout", "soon", "ping", NULL}, "500ms, 5s or 1min"},
        {(const char *const[]){"--identity", "two words", "ping", NULL}, "--identity"},
        {(const char *const[]){"build_block", "timestamp=1", "colour=red", NULL},
         "unknown key 'colour'"},
        {(const char *const[]){"finalize_block", "block_hash=0x1234", NULL}, "32-byte hash"},
        {(const char *const[]){"get_block", "block=newest", NULL}, "tag"},
        {(const char *const[]){"--timeout", "0", "ping", NULL}, "--timeout"},
        {(const char *const[]){"--bogus", "ping", NULL}, "unknown option '--bogus'"},
        {(const char *const[]){"-x", "ping", NULL}, "unknown option '-x'"},
        {(const char *const[]){"--timeout", NULL}, "option '--timeout' needs a value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ck_assert_int_eq(run_cli(&p, cases[i].args), 2);
        ck_assert_msg(strstr(p.err, cases[i].needle), "case %zu: stderr '%s' lacks '%s'", i,
                      p.err, cases[i].needle);
        ck_assert_str_eq(p.out, "");
        /*  one short message, never the whole help */
        ck_assert_msg(!strstr(p.err, "examples:") && strlen(p.err) < 600, "case %zu: %s", i,
                      p.err);
        proc_release(&p);
    }
    ck_assert_int_eq(run_cli(&p, (const char *const[]){"--help", NULL}), 0);
    ck_assert_ptr_nonnull(strstr(p.out, "usage: alys-engine-cli"));
    ck_assert_ptr_nonnull(strstr(p.out, "exit status:\n  0  ok\n  1  the actor answered"));
    ck_assert_ptr_nonnull(strstr(p.out, "  3  no reply"));
    ck_assert_ptr_nonnull(strstr(p.out, "ALYS_ENGINE_ENDPOINT"));
    proc_release(&p);
    ck_assert_int_eq(run_cli(&p, (const char *const[]){"-h", NULL}), 0);
    ck_assert_ptr_nonnull(strstr(p.out, "usage: alys-engine-cli"));
    proc_release(&p);
    ck_assert_int_eq(run_cli(&p, (const char *const[]){"-V", NULL}), 0);
    ck_assert_ptr_nonnull(strstr(p.out, "alys-engine-cli 0.1.0"));
    proc_release(&p);
    ck_assert_int_eq(run_cli(&p, (const char *const[]){"--version", NULL}), 0);
    ck_assert_ptr_nonnull(strstr(p.out, "0.1.0"));
    proc_release(&p);
    ck_assert_int_eq(run_cli(&p, (const char *const[]){"--list-ops", NULL}), 0);
    ck_assert_ptr_nonnull(strstr(p.out, "get_block_with_receipts\n    block"));
    proc_release(&p);
}
END_TEST

/*  `help OP` and `OP --help` print the op's usage and one line per argument
    from the schema; `--complete` feeds the completion script. */
START_TEST(test_op_help)
{
    proc_t p;
    const char *const *forms[] = {
        (const char *const[]){"help", "get_block", NULL},
        (const char *const[]){"get_block", "--help", NULL},
        (const char *const[]){"--json", "get_block", "-h", NULL},
    };
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
        ck_assert_int_eq(run_cli(&p, forms[i]), 0);
        ck_assert_msg(strstr(p.out, "usage: alys-engine-cli [OPTIONS] get_block block=BLOCK "
                                    "[full_transactions=true|false]\n"), "form %zu: %s", i, p.out);
        ck_assert_ptr_nonnull(strstr(p.out, "    block              BlockSelector"));
        ck_assert_ptr_nonnull(strstr(p.out, "    full_transactions  bool (true, false), optional"));
        ck_assert_ptr_null(strstr(p.out, "examples:"));
        proc_release(&p);
    }
    ck_assert_int_eq(run_cli(&p, (const char *const[]){"help", "finalize_block", NULL}), 0);
    ck_assert_ptr_nonnull(strstr(p.out, "finalize_block block_hash=HASH\n"));
    ck_assert_ptr_nonnull(strstr(p.out, "same --id is a retry"));
    proc_release(&p);
    ck_assert_int_eq(run_cli(&p, (const char *const[]){"help", NULL}), 0);
    ck_assert_ptr_nonnull(strstr(p.out, "usage: alys-engine-cli"));
    proc_release(&p);
    ck_assert_int_eq(run_cli(&p, (const char *const[]){"--complete", "get_logs", NULL}), 0);
    ck_assert_str_eq(p.out, "from_block=\nto_block=\nblock_hash=\naddress=\ntopics=\n");
    proc_release(&p);
    ck_assert_int_eq(run_cli(&p, (const char *const[]){"--complete", "ops", NULL}), 0);
    ck_assert_ptr_nonnull(strstr(p.out, "ping\nstatus\nbuild_block\n"));
    ck_assert_ptr_nonnull(strstr(p.out, "get_payload\nhelp\nkeygen\n"));
    proc_release(&p);
    /* keygen is local, not an op of the actor, but has its help too */
    const char *const *keygen_forms[] = {
        (const char *const[]){"help", "keygen", NULL},
        (const char *const[]){"keygen", "--help", NULL},
    };
    for (size_t i = 0; i < 2; i++) {
        ck_assert_int_eq(run_cli(&p, keygen_forms[i]), 0);
        ck_assert_msg(strstr(p.out, "usage: alys-engine-cli keygen PATH\n"), "form %zu: %s", i, p.out);
        proc_release(&p);
    }
}
END_TEST

/*  The bash completion script, sourced into bash with the built CLI first
    on PATH, completes ops, keys and values. */
START_TEST(test_bash_completion)
{
    const char *script = getenv("ALYS_CLI_COMPLETION");
    ck_assert_msg(script && *script, "ALYS_CLI_COMPLETION is not set");
    char *dir = strdup(cli_path());
    *strrchr(dir, '/') = '\0';
    char *code = NULL;
    ck_assert_int_ge(asprintf(&code,
        "PATH=%s:$PATH; source %s || exit 9\n"
        "t() { COMP_WORDS=(\"$@\"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); "
        "_alys_engine_cli; echo \"[${COMPREPLY[*]}]\"; }\n"
        "t alys-engine-cli get_bl\n"
        "t alys-engine-cli --json get_block fu\n"
        "t alys-engine-cli get_block block = saf\n"
        "t alys-engine-cli --conn\n"
        "t alys-engine-cli help finalize\n"
        "t alys-engine-cli -c ipc:///x get_logs to\n"
        "t alys-engine-cli --curve-s\n"
        "t alys-engine-cli --curve-cert /x --curve-server-key K keyg\n"
        "complete -p alys-engine-cli\n", dir, script), 0);
    proc_t p;
    proc_start_prog(&p, "/bin/bash", (const char *const[]){"-c", code, NULL});
    ck_assert_int_eq(proc_finish(&p, false), 0);
    ck_assert_str_eq(p.out, "[get_block get_block_with_receipts]\n"
                            "[full_transactions=]\n"
                            "[safe]\n"
                            "[--connect]\n"
                            "[finalize_block]\n"
                            "[to_block= topics=]\n"
                            "[--curve-server-key]\n"
                            "[keygen]\n"
                            "complete -F _alys_engine_cli alys-engine-cli\n");
    proc_release(&p);
    free(code);
    free(dir);
}
END_TEST

/*  -h and -V on the actor and the supervisor too; a wrong flag is named in
    one line, with exit status 2, and --help lists the exit statuses. */
START_TEST(test_other_programs_flags)
{
    const char *progs[] = {getenv("ALYS_ENGINE_BIN"), getenv("ALYS_SUPERVISOR_BIN")};
    const char *names[] = {"alys-engine", "alys-supervisor"};
    for (int i = 0; i < 2; i++) {
        ck_assert_msg(progs[i] && *progs[i], "%s: binary path not set", names[i]);
        proc_t p;
        proc_start_prog(&p, progs[i], (const char *const[]){"-h", NULL});
        ck_assert_int_eq(proc_finish(&p, false), 0);
        ck_assert_ptr_nonnull(strstr(p.out, "usage: "));
        ck_assert_msg(strstr(p.out, "Exit status: 0"), "%s --help: %s", names[i], p.out);
        proc_release(&p);
        proc_start_prog(&p, progs[i], (const char *const[]){"-V", NULL});
        ck_assert_int_eq(proc_finish(&p, false), 0);
        char want[64];
        snprintf(want, sizeof want, "%s 0.1.0\n", names[i]);
        ck_assert_str_eq(p.out, want);
        proc_release(&p);
        proc_start_prog(&p, progs[i], (const char *const[]){"--colour", "red", NULL});
        ck_assert_int_eq(proc_finish(&p, false), 2);
        snprintf(want, sizeof want, "%s: unknown option '--colour'", names[i]);
        ck_assert_msg(strstr(p.err, want), "%s: %s", names[i], p.err);
        ck_assert_msg(!strstr(p.err, "usage:") && !strchr(strchr(p.err, '\n') + 1, '\n'),
                      "%s printed more than one line: %s", names[i], p.err);
        ck_assert_str_eq(p.out, "");
        proc_release(&p);
        proc_start_prog(&p, progs[i], (const char *const[]){"--log-level", NULL});
        ck_assert_int_eq(proc_finish(&p, false), 2);
        ck_assert_msg(strstr(p.err, "option '--log-level' needs a value"), "%s", p.err);
        proc_release(&p);
    }
}
END_TEST

/*  The actor's default socket directory exists only under systemd: a bind
    into a missing directory says what to do instead. */
START_TEST(test_engine_bind_hint)
{
    const char *engine = getenv("ALYS_ENGINE_BIN");
    ck_assert_msg(engine && *engine, "ALYS_ENGINE_BIN is not set");
    char *jwt = write_temp("0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20\n");
    proc_t p;
    proc_start_prog(&p, engine, (const char *const[]){"--jwt-secret", jwt, "--bind",
                                                      "ipc:///nonexistent-alys-dir/engine.sock",
                                                      "--metrics-listen", "off", NULL});
    ck_assert_int_eq(proc_finish(&p, false), 1);
    ck_assert_msg(strstr(p.err, "cannot bind ipc:///nonexistent-alys-dir/engine.sock")
                  && strstr(p.err, "its directory does not exist")
                  && strstr(p.err, "XDG_RUNTIME_DIR"), "stderr: %s", p.err);
    proc_release(&p);
    unlink(jwt);
    free(jwt);
}
END_TEST

/*  An endpoint with surely no actor behind it fails at once with exit 3
    and says what to check, instead of waiting out the retries. */
START_TEST(test_fail_fast)
{
    char missing[96], stale[96], ep[128];
    snprintf(missing, sizeof missing, "/tmp/alys-cli-test-%d-missing.sock", (int) getpid());
    unlink(missing);
    snprintf(ep, sizeof ep, "ipc://%s", missing);
    proc_t p;
    int64_t t0 = zclock_mono();
    ck_assert_int_eq(run_cli(&p, (const char *const[]){"--connect", ep, "--timeout", "20s",
                                                       "ping", NULL}), 3);
    ck_assert_int_lt(zclock_mono() - t0, 2000);
    ck_assert_msg(strstr(p.err, "does not exist") && strstr(p.err, "--connect")
                  && strstr(p.err, "ALYS_ENGINE_ENDPOINT") && strstr(p.err, "running"),
                  "stderr: %s", p.err);
    proc_release(&p);

    /*  The same through ALYS_ENGINE_ENDPOINT. */
    setenv("ALYS_ENGINE_ENDPOINT", ep, 1);
    t0 = zclock_mono();
    ck_assert_int_eq(run_cli(&p, (const char *const[]){"status", NULL}), 3);
    unsetenv("ALYS_ENGINE_ENDPOINT");
    ck_assert_int_lt(zclock_mono() - t0, 2000);
    ck_assert_msg(strstr(p.err, ep), "stderr: %s", p.err);
    proc_release(&p);

    /*  A socket file nobody listens on (an actor that was killed). */
    snprintf(stale, sizeof stale, "/tmp/alys-cli-test-%d-stale.sock", (int) getpid());
    unlink(stale);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", stale);
    ck_assert_int_eq(bind(fd, (struct sockaddr *) &sun, sizeof sun), 0);
    close(fd);
    snprintf(ep, sizeof ep, "ipc://%s", stale);
    t0 = zclock_mono();
    ck_assert_int_eq(run_cli(&p, (const char *const[]){"-c", ep, "ping", NULL}), 3);
    ck_assert_int_lt(zclock_mono() - t0, 2000);
    ck_assert_msg(strstr(p.err, "nothing listens"), "stderr: %s", p.err);
    proc_release(&p);
    unlink(stale);

    /*  A tcp port that refuses: bound, never listening, so no one else has it. */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(fd, (struct sockaddr *) &sin, sizeof sin), 0);
    socklen_t len = sizeof sin;
    getsockname(fd, (struct sockaddr *) &sin, &len);
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", ntohs(sin.sin_port));
    t0 = zclock_mono();
    ck_assert_int_eq(run_cli(&p, (const char *const[]){"-c", ep, "ping", NULL}), 3);
    ck_assert_int_lt(zclock_mono() - t0, 2000);
    ck_assert_msg(strstr(p.err, "connection refused"), "stderr: %s", p.err);
    proc_release(&p);
    close(fd);
}
END_TEST

/*  A ROUTER that plays the actor. Handover lets a re-created DEALER with the
    same routing id take over the old one's route at once. */
typedef struct {
    zsock_t *sock;
    char endpoint[96];
    char path[80];
} router_t;

static void router_start(router_t *r)
{
    static int counter;
    snprintf(r->path, sizeof r->path, "/tmp/alys-cli-test-%d-%d.sock", (int) getpid(), counter++);
    snprintf(r->endpoint, sizeof r->endpoint, "ipc://%s", r->path);
    unlink(r->path);
    r->sock = zsock_new(ZMQ_ROUTER);
    ck_assert_ptr_nonnull(r->sock);
    zsock_set_linger(r->sock, 0);
    zsock_set_router_handover(r->sock, 1);
    zsock_set_rcvtimeo(r->sock, 50);
    ck_assert_int_eq(zsock_bind(r->sock, "%s", r->endpoint), 0);
}

static void router_stop(router_t *r)
{
    zsock_destroy(&r->sock);
    unlink(r->path);
}

typedef struct {
    zframe_t *routing_id;
    uint64_t id;
    char op[40];
} request_t;

/*  Receives one request within timeout_ms. Returns false on timeout. */
static bool router_recv(router_t *r, request_t *req, int timeout_ms)
{
    int64_t deadline = zclock_mono() + timeout_ms;
    while (zclock_mono() < deadline) {
        zmsg_t *msg = zmsg_recv(r->sock);
        if (!msg)
            continue;
        ck_assert_uint_eq(zmsg_size(msg), 3);
        req->routing_id = zmsg_pop(msg);
        zframe_t *delim = zmsg_pop(msg);
        zframe_t *body = zmsg_pop(msg);
        ck_assert_uint_eq(zframe_size(delim), 0);
        proto_request_t pr;
        char err[PROTO_ERR_LEN];
        ck_assert_int_eq(proto_request_decode(zframe_data(body), zframe_size(body),
                                              PROTO_MAX_FRAME_DEFAULT, &pr, err, sizeof err),
                         PROTO_OK);
        req->id = pr.id;
        snprintf(req->op, sizeof req->op, "%s", pr.op);
        proto_request_release(&pr);
        zframe_destroy(&delim);
        zframe_destroy(&body);
        zmsg_destroy(&msg);
        return true;
    }
    return false;
}

/*  One request with its args kept for decoding: the routing id, the body
    frame and its parse. */
typedef struct {
    zframe_t *routing_id;
    zframe_t *body;
    proto_request_t pr;
} full_request_t;

/*  Receives one request (within 10 s) and decodes its envelope. */
static void router_recv_request(router_t *r, full_request_t *fr)
{
    memset(fr, 0, sizeof *fr);
    zmsg_t *msg = NULL;
    int64_t deadline = zclock_mono() + 10000;
    while (!msg && zclock_mono() < deadline)
        msg = zmsg_recv(r->sock);
    ck_assert_ptr_nonnull(msg);
    fr->routing_id = zmsg_pop(msg);
    zframe_t *delim = zmsg_pop(msg);
    fr->body = zmsg_pop(msg);
    char err[PROTO_ERR_LEN];
    ck_assert_int_eq(proto_request_decode(zframe_data(fr->body), zframe_size(fr->body),
                                          PROTO_MAX_FRAME_DEFAULT, &fr->pr, err, sizeof err),
                     PROTO_OK);
    zframe_destroy(&delim);
    zmsg_destroy(&msg);
}

static void full_request_release(full_request_t *fr)
{
    proto_request_release(&fr->pr);
    zframe_destroy(&fr->routing_id);
    zframe_destroy(&fr->body);
}

static void router_send(router_t *r, const request_t *req, const proto_writer_t *w)
{
    zmsg_t *msg = zmsg_new();
    zframe_t *rid = zframe_dup(req->routing_id);
    zmsg_append(msg, &rid);
    zmsg_addmem(msg, NULL, 0);
    zmsg_addmem(msg, w->sbuf.data, w->sbuf.size);
    ck_assert_int_eq(zmsg_send(&msg, r->sock), 0);
}

static void send_ping_ok(router_t *r, const request_t *req, uint64_t id)
{
    proto_ping_result_t res = {1, (char *) "0.1.0", 1234, 99};
    proto_writer_t w;
    proto_writer_init(&w);
    proto_reply_ok(&w.pk, true, id, proto_op_find("ping")->result, &res);
    router_send(r, req, &w);
    proto_writer_release(&w);
}

static void send_error(router_t *r, const request_t *req, proto_err_t code, const char *message,
                       bool has_el_code, int64_t el_code)
{
    proto_writer_t w;
    proto_writer_init(&w);
    proto_reply_error(&w.pk, true, req->id, code, message, has_el_code, el_code);
    router_send(r, req, &w);
    proto_writer_release(&w);
}

static bool same_frame(zframe_t *a, zframe_t *b)
{
    return zframe_size(a) == zframe_size(b) && memcmp(zframe_data(a), zframe_data(b),
                                                      zframe_size(a)) == 0;
}

START_TEST(test_timeout_retries)
{
    router_t r;
    router_start(&r);
    proc_t p;
    proc_start(&p, (const char *const[]){"--connect", r.endpoint, "--timeout", "200ms",
                                         "--retries", "2", "ping", NULL});
    request_t reqs[8];
    int n = 0;
    bool exited = false;
    int64_t deadline = zclock_mono() + 20000;
    while (!exited && zclock_mono() < deadline) {
        if (n < 8 && router_recv(&r, &reqs[n], 50))
            n++;
        exited = proc_exited(&p);
    }
    while (n < 8 && router_recv(&r, &reqs[n], 100))
        n++;
    ck_assert_int_eq(proc_finish(&p, exited), 3);
    ck_assert_int_eq(n, 3);
    /*  cli-USER@HOST#ID: the same for every attempt and every re-run */
    char *rid = zframe_strdup(reqs[0].routing_id);
    char tail[32];
    snprintf(tail, sizeof tail, "#%llu", (unsigned long long) reqs[0].id);
    ck_assert_msg(strncmp(rid, "cli-", 4) == 0 && strchr(rid, '@')
                  && strcmp(rid + strlen(rid) - strlen(tail), tail) == 0, "routing id '%s'", rid);
    ck_assert_uint_lt(reqs[0].id, 1ULL << 53);
    for (int i = 0; i < n; i++) {
        ck_assert_uint_eq(reqs[i].id, reqs[0].id);
        ck_assert_str_eq(reqs[i].op, "ping");
        ck_assert(same_frame(reqs[i].routing_id, reqs[0].routing_id));
    }
    for (int i = 0; i < n; i++)
        zframe_destroy(&reqs[i].routing_id);
    ck_assert_msg(strstr(p.err, r.endpoint) && strstr(p.err, "3 attempts"), "stderr: %s", p.err);
    char retry_hint[48];
    snprintf(retry_hint, sizeof retry_hint, "add --id %llu to retry",
             (unsigned long long) reqs[0].id);
    ck_assert_msg(strstr(p.err, retry_hint), "stderr: %s", p.err);
    ck_assert_str_eq(p.out, "");
    free(rid);
    proc_release(&p);
    router_stop(&r);
}
END_TEST

START_TEST(test_answer_second_attempt)
{
    router_t r;
    router_start(&r);
    proc_t p;
    proc_start(&p, (const char *const[]){"--connect", r.endpoint, "--timeout", "300", "--retries",
                                         "3", "--json", "--id", "777", "ping", NULL});
    request_t first, second;
    ck_assert(router_recv(&r, &first, 10000));
    ck_assert(router_recv(&r, &second, 10000));
    ck_assert_uint_eq(first.id, 777);
    ck_assert_uint_eq(second.id, 777);
    ck_assert(same_frame(first.routing_id, second.routing_id));
    send_ping_ok(&r, &second, second.id);
    ck_assert_int_eq(proc_finish(&p, false), 0);

    json_error_t jerr;
    json_t *doc = json_loads(p.out, 0, &jerr);
    ck_assert_msg(doc != NULL, "stdout is not JSON: %s: %s", jerr.text, p.out);
    ck_assert(json_is_true(json_object_get(doc, "ok")));
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "id")), 777);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(doc, "result"), "version")),
                     "0.1.0");
    json_decref(doc);
    zframe_destroy(&first.routing_id);
    zframe_destroy(&second.routing_id);
    proc_release(&p);
    router_stop(&r);
}
END_TEST

START_TEST(test_wrong_id_discarded_and_human_output)
{
    router_t r;
    router_start(&r);
    proc_t p;
    proc_start(&p, (const char *const[]){"--connect", r.endpoint, "--timeout", "5000", "ping",
                                         NULL});
    request_t req;
    ck_assert(router_recv(&r, &req, 10000));
    send_ping_ok(&r, &req, req.id + 1);
    send_ping_ok(&r, &req, req.id);
    ck_assert_int_eq(proc_finish(&p, false), 0);
    ck_assert_str_eq(p.out, "protocol: 1\nversion: 0.1.0\nuptime: 1.234s\npid: 99\n");
    ck_assert_ptr_nonnull(strstr(p.err, "discarding a reply"));
    zframe_destroy(&req.routing_id);
    request_t extra;
    ck_assert(!router_recv(&r, &extra, 100));
    proc_release(&p);
    router_stop(&r);
}
END_TEST

START_TEST(test_error_reply)
{
    router_t r;
    router_start(&r);
    proc_t p;
    proc_start(&p, (const char *const[]){"--connect", r.endpoint, "--timeout", "5000", "--json",
                                         "get_block", "block=0x10", NULL});
    request_t req, extra;
    ck_assert(router_recv(&r, &req, 10000));
    ck_assert_str_eq(req.op, "get_block");
    send_error(&r, &req, PROTO_BLOCK_NOT_FOUND, "no block 16", false, 0);
    ck_assert_int_eq(proc_finish(&p, false), 1);
    /*  not retryable: sent once */
    ck_assert(!router_recv(&r, &extra, 300));
    json_t *doc = json_loads(p.out, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    ck_assert(json_is_false(json_object_get(doc, "ok")));
    json_t *e = json_object_get(doc, "error");
    ck_assert_str_eq(json_string_value(json_object_get(e, "code")), "BLOCK_NOT_FOUND");
    ck_assert(json_is_false(json_object_get(e, "retryable")));
    json_decref(doc);
    zframe_destroy(&req.routing_id);
    proc_release(&p);

    /*  Human form, with el_code. */
    proc_start(&p, (const char *const[]){"--connect", r.endpoint, "--timeout", "5000", "status",
                                         NULL});
    ck_assert(router_recv(&r, &req, 10000));
    send_error(&r, &req, PROTO_EL_ERROR, "execution reverted", true, -32000);
    ck_assert_int_eq(proc_finish(&p, false), 1);
    ck_assert_str_eq(p.err, "error: EL_ERROR: execution reverted el_code=-32000\n");
    ck_assert_str_eq(p.out, "");
    zframe_destroy(&req.routing_id);
    proc_release(&p);
    router_stop(&r);
}
END_TEST

START_TEST(test_retryable_error)
{
    router_t r;
    router_start(&r);
    proc_t p;
    /*  Retryable, then ok: the same id twice, exit 0. */
    proc_start(&p, (const char *const[]){"--connect", r.endpoint, "--timeout", "5000", "ping",
                                         NULL});
    request_t a, b;
    ck_assert(router_recv(&r, &a, 10000));
    send_error(&r, &a, PROTO_EL_SYNCING, "syncing", false, 0);
    ck_assert(router_recv(&r, &b, 10000));
    ck_assert_uint_eq(a.id, b.id);
    ck_assert(same_frame(a.routing_id, b.routing_id));
    send_ping_ok(&r, &b, b.id);
    ck_assert_int_eq(proc_finish(&p, false), 0);
    zframe_destroy(&a.routing_id);
    zframe_destroy(&b.routing_id);
    proc_release(&p);

    /*  Retryable every time: reported after the retries, exit 1. */
    proc_start(&p, (const char *const[]){"--connect", r.endpoint, "--timeout", "5000",
                                         "--retries", "1", "ping", NULL});
    for (int i = 0; i < 2; i++) {
        ck_assert(router_recv(&r, &a, 10000));
        send_error(&r, &a, PROTO_OVERLOADED, "busy", false, 0);
        zframe_destroy(&a.routing_id);
    }
    ck_assert_int_eq(proc_finish(&p, false), 1);
    ck_assert_ptr_nonnull(strstr(p.err, "error: OVERLOADED: busy (retryable)\n"));
    ck_assert(!router_recv(&r, &a, 200));
    proc_release(&p);
    router_stop(&r);
}
END_TEST

/*  --identity and --id give a routing id that is the same at every re-run
    (so the actor sees a retry), and ALYS_ENGINE_IDENTITY sets the default. */
START_TEST(test_identity_and_retry)
{
    router_t r;
    router_start(&r);
    zframe_t *seen[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 3; i++) {
        if (i == 2)
            setenv("ALYS_ENGINE_IDENTITY", "chain-ops", 1);
        proc_t p;
        const char *const with_flag[] = {"--connect", r.endpoint, "--identity", "tester",
                                         "--id", "777", "ping", NULL};
        const char *const with_env[] = {"--connect", r.endpoint, "--id", "9007199254740991",
                                        "ping", NULL};
        proc_start(&p, i < 2 ? with_flag : with_env);
        request_t req;
        ck_assert(router_recv(&r, &req, 10000));
        send_ping_ok(&r, &req, req.id);
        ck_assert_int_eq(proc_finish(&p, false), 0);
        seen[i] = req.routing_id;
        proc_release(&p);
    }
    unsetenv("ALYS_ENGINE_IDENTITY");
    char *a = zframe_strdup(seen[0]), *c = zframe_strdup(seen[2]);
    ck_assert_str_eq(a, "cli-tester#777");
    ck_assert(same_frame(seen[0], seen[1]));
    ck_assert_str_eq(c, "cli-chain-ops#9007199254740991");
    free(a);
    free(c);
    for (int i = 0; i < 3; i++)
        zframe_destroy(&seen[i]);
    router_stop(&r);
}
END_TEST

/*  Human status: each fork choice hash with its block number, looked up
    with get_block; --json is the reply as it came. */
START_TEST(test_status_block_numbers)
{
    router_t r;
    router_start(&r);
    proc_t p;
    proc_start(&p, (const char *const[]){"--connect", r.endpoint, "status", NULL});
    request_t req;
    ck_assert(router_recv(&r, &req, 10000));
    ck_assert_str_eq(req.op, "status");
    proto_status_result_t st;
    memset(&st, 0, sizeof st);
    st.el.state = (char *) "synced";
    st.el.endpoint = (char *) "http://127.0.0.1:8551";
    st.forkchoice.has_head = st.forkchoice.has_safe = st.forkchoice.has_finalized = true;
    memset(st.forkchoice.head, 0xa1, 32);
    memset(st.forkchoice.safe, 0xb2, 32);
    memset(st.forkchoice.finalized, 0xb2, 32);
    proto_writer_t w;
    proto_writer_init(&w);
    proto_reply_ok(&w.pk, true, req.id, proto_op_find("status")->result, &st);
    router_send(&r, &req, &w);
    zframe_destroy(&req.routing_id);
    /*  two lookups: safe and finalized are the same block */
    for (int i = 0; i < 2; i++) {
        full_request_t fr;
        router_recv_request(&r, &fr);
        ck_assert_str_eq(fr.pr.op, "get_block");
        proto_get_block_args_t ga;
        memset(&ga, 0, sizeof ga);
        char err[PROTO_ERR_LEN];
        ck_assert_int_eq(proto_decode(proto_op_find("get_block")->args, fr.pr.args, &ga, err,
                                      sizeof err), 0);
        ck_assert_int_eq(ga.block.kind, PROTO_SEL_HASH);
        proto_get_block_result_t gb;
        memset(&gb, 0, sizeof gb);
        memcpy(gb.block.hash, ga.block.hash, 32);
        gb.block.number = ga.block.hash[0] == 0xa1 ? 12 : 10;
        gb.block.timestamp = 1700000000;
        proto_writer_reset(&w);
        proto_reply_ok(&w.pk, true, fr.pr.id, proto_op_find("get_block")->result, &gb);
        req.routing_id = fr.routing_id;
        router_send(&r, &req, &w);
        proto_free(proto_op_find("get_block")->args, &ga);
        full_request_release(&fr);
    }
    ck_assert_int_eq(proc_finish(&p, false), 0);
    char want[256];
    snprintf(want, sizeof want, "  head: 0x%s (block 12)\n", "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
             "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1");
    ck_assert_msg(strstr(p.out, want), "stdout: %s", p.out);
    ck_assert_msg(strstr(p.out, "(block 10)\n  finalized: 0xb2b2"), "stdout: %s", p.out);
    proto_writer_release(&w);
    proc_release(&p);
    router_stop(&r);
}
END_TEST

/*  --json output of build_block, fed back as commit_block payload=@FILE,
    arrives at the actor as the same payload. */
START_TEST(test_build_then_commit)
{
    router_t r;
    router_start(&r);
    proc_t p;
    proc_start(&p, (const char *const[]){"--connect", r.endpoint, "--json", "build_block",
                                         "timestamp=1700000000", NULL});
    request_t req;
    ck_assert(router_recv(&r, &req, 10000));
    proto_writer_t w;
    proto_writer_init(&w);
    proto_payload_t original;
    pack_build_reply(&w, req.id, &original);
    router_send(&r, &req, &w);
    zframe_destroy(&req.routing_id);
    ck_assert_int_eq(proc_finish(&p, false), 0);

    json_t *doc = json_loads(p.out, 0, NULL);
    ck_assert_ptr_nonnull(doc);
    char *payload_json = json_dumps(json_object_get(json_object_get(doc, "result"), "payload"), 0);
    char *path = write_temp(payload_json);
    char *word = NULL;
    ck_assert_int_ge(asprintf(&word, "payload=@%s", path), 0);
    proc_release(&p);

    proc_start(&p, (const char *const[]){"--connect", r.endpoint, "commit_block", word, NULL});
    full_request_t fr;
    router_recv_request(&r, &fr);
    const proto_request_t pr = fr.pr;
    req.routing_id = fr.routing_id;
    char err[PROTO_ERR_LEN];
    proto_payload_args_t args;
    memset(&args, 0, sizeof args);
    ck_assert_int_eq(proto_decode(proto_op_find("commit_block")->args, pr.args, &args, err,
                                  sizeof err), 0);
    proto_writer_t a, b;
    proto_writer_init(&a);
    proto_writer_init(&b);
    proto_encode(&proto_payload_schema, &original, &a.pk);
    proto_encode(&proto_payload_schema, &args.payload, &b.pk);
    ck_assert_uint_eq(a.sbuf.size, b.sbuf.size);
    ck_assert_mem_eq(a.sbuf.data, b.sbuf.data, a.sbuf.size);

    proto_block_hash_t res;
    memset(res.block_hash, 0x55, 32);
    req.id = pr.id;
    proto_writer_reset(&w);
    proto_reply_ok(&w.pk, true, pr.id, proto_op_find("commit_block")->result, &res);
    router_send(&r, &req, &w);
    ck_assert_int_eq(proc_finish(&p, false), 0);
    ck_assert_str_eq(p.out, "block_hash: 0x5555555555555555555555555555555555555555555555555555555555"
                            "555555\n");

    proto_free(proto_op_find("commit_block")->args, &args);
    full_request_release(&fr);
    proto_writer_release(&a);
    proto_writer_release(&b);
    proto_writer_release(&w);
    proto_free(&proto_payload_schema, &original);
    unlink(path);
    free(path);
    free(word);
    free(payload_json);
    json_decref(doc);
    proc_release(&p);
    router_stop(&r);
}
END_TEST

/*  CLI_TESTS=unit runs the in-process conversions (the valgrind stage runs
    these); CLI_TESTS=process runs the built binary against a ROUTER, whose
    timing does not survive valgrind's slowdown; unset runs both. */
static Suite *cli_suite(void)
{
    const char *which = getenv("CLI_TESTS");
    bool unit = !which || strcmp(which, "process") != 0;
    bool process_tests = !which || strcmp(which, "unit") != 0;
    Suite *s = suite_create("cli");
    if (!unit)
        goto process;
    TCase *convert = tcase_create("convert");
    tcase_add_test(convert, test_hash32);
    tcase_add_test(convert, test_address_payload_id_bloom);
    tcase_add_test(convert, test_u256);
    tcase_add_test(convert, test_quantity);
    tcase_add_test(convert, test_bool_str_data);
    tcase_add_test(convert, test_selector);
    tcase_add_test(convert, test_json_generic);
    tcase_add_test(convert, test_json_round_trip);
    tcase_add_test(convert, test_payload_feedback);
    tcase_add_test(convert, test_json_output_text);
    tcase_add_test(convert, test_human_output);
    tcase_add_test(convert, test_readable_values);
    suite_add_tcase(s, convert);

    TCase *args = tcase_create("args");
    tcase_add_test(args, test_args_build_block);
    tcase_add_test(args, test_args_errors);
    tcase_add_test(args, test_args_logs);
    tcase_add_test(args, test_describe);
    tcase_add_test(args, test_suggest_op);
    suite_add_tcase(s, args);
    if (!process_tests)
        return s;
process:;
    TCase *process = tcase_create("process");
    tcase_set_timeout(process, 40);
    tcase_add_test(process, test_usage_exit_codes);
    tcase_add_test(process, test_op_help);
    tcase_add_test(process, test_bash_completion);
    tcase_add_test(process, test_other_programs_flags);
    tcase_add_test(process, test_fail_fast);
    tcase_add_test(process, test_engine_bind_hint);
    tcase_add_test(process, test_timeout_retries);
    tcase_add_test(process, test_answer_second_attempt);
    tcase_add_test(process, test_wrong_id_discarded_and_human_output);
    tcase_add_test(process, test_error_reply);
    tcase_add_test(process, test_retryable_error);
    tcase_add_test(process, test_build_then_commit);
    tcase_add_test(process, test_identity_and_retry);
    tcase_add_test(process, test_status_block_numbers);
    suite_add_tcase(s, process);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(cli_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
