/*  libFuzzer target: the CLI's conversions of what an operator types. The
    first byte picks one: a Quantity, a U256, fixed-size hex, JSON text to
    msgpack, an op's key=value words (one per line) to its args map, or a
    scalar of each field type. The rest is the text.

    Properties: parsed numbers print back to text that parses to the same
    value; JSON that converts to msgpack converts back to JSON and then to
    the very same msgpack bytes; args that pack also validate. */
#include <msgpack.h>

#include "args.h"
#include "convert.h"
#include "fuzz_util.h"
#include "proto.h"

static void json_round_trip(const char *text, size_t len)
{
    msgpack_sbuffer a, b;
    msgpack_sbuffer_init(&a);
    msgpack_sbuffer_init(&b);
    msgpack_packer pa, pb;
    msgpack_packer_init(&pa, &a, msgpack_sbuffer_write);
    msgpack_packer_init(&pb, &b, msgpack_sbuffer_write);
    char err[512];
    if (convert_json_to_msgpack(text, len, &pa, err, sizeof err) == 0) {
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        if (msgpack_unpack_next(&u, a.data, a.size, NULL) != MSGPACK_UNPACK_SUCCESS)
            fuzz_die("fuzz_cli_convert", "converted msgpack does not unpack", text);
        char *json = convert_to_json(&u.data);
        if (!json)
            fuzz_die("fuzz_cli_convert", "msgpack does not convert back to JSON", text);
        if (convert_json_to_msgpack(json, strlen(json), &pb, err, sizeof err) != 0)
            fuzz_die("fuzz_cli_convert", "printed JSON does not convert again", json);
        if (a.size != b.size || memcmp(a.data, b.data, a.size) != 0)
            fuzz_die("fuzz_cli_convert", "JSON -> msgpack -> JSON -> msgpack differs", json);
        free(json);
        msgpack_unpacked_destroy(&u);
    }
    msgpack_sbuffer_destroy(&a);
    msgpack_sbuffer_destroy(&b);
}

static void args_words(const char *text, uint8_t pick)
{
    const proto_op_t *op = &proto_ops[pick % proto_n_ops];
    char *copy = strdup(text);
    char *words[16];
    int n = 0;
    for (char *save = NULL, *w = strtok_r(copy, "\n", &save); w && n < 16;
         w = strtok_r(NULL, "\n", &save))
        words[n++] = w;
    proto_writer_t w;
    proto_writer_init(&w);
    char err[ARGS_ERR_LEN];
    FILE *in = fmemopen((void *) "{}", 2, "r");
    if (args_build_request(op, 1, n, words, in, &w, err, sizeof err) == 0) {
        proto_request_t req;
        if (proto_request_decode((const uint8_t *) w.sbuf.data, w.sbuf.size, SIZE_MAX, &req, err,
                                 sizeof err) != PROTO_OK)
            fuzz_die("fuzz_cli_convert", "a built request does not decode", err);
        proto_request_release(&req);
    }
    fclose(in);
    proto_writer_release(&w);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t pick = data[0], sub = data[1];
    char *text = fuzz_text(data + 2, size - 2);
    char err[512];
    switch (pick % 6) {
    case 0: {
        uint64_t q, q2;
        if (convert_parse_quantity(text, &q, err, sizeof err) == 0) {
            char back[32];
            snprintf(back, sizeof back, "%llu", (unsigned long long) q);
            if (convert_parse_quantity(back, &q2, err, sizeof err) != 0 || q2 != q)
                fuzz_die("fuzz_cli_convert", "quantity round trip", text);
        }
        break;
    }
    case 1: {
        uint8_t u[32], u2[32];
        if (convert_parse_u256(text, u, err, sizeof err) == 0) {
            char back[67] = "0x";
            for (int i = 0; i < 32; i++)
                snprintf(back + 2 + 2 * i, 3, "%02x", u[i]);
            if (convert_parse_u256(back, u2, err, sizeof err) != 0 || memcmp(u, u2, 32) != 0)
                fuzz_die("fuzz_cli_convert", "U256 round trip", text);
        }
        break;
    }
    case 2: {
        uint8_t out[256];
        static const size_t sizes[] = {8, 20, 32, 256};
        (void) convert_parse_fixed(text, out, sizes[sub % 4], "fuzz", err, sizeof err);
        break;
    }
    case 3:
        json_round_trip(text, size - 2);
        break;
    case 4:
        args_words(text, sub);
        break;
    default: {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        proto_ftype_t t = (proto_ftype_t) (sub % (PF_TXLIST + 1));
        if (convert_is_scalar(t))
            (void) convert_scalar(t, text, &pk, err, sizeof err);
        msgpack_sbuffer_destroy(&sb);
        break;
    }
    }
    free(text);
    return 0;
}
