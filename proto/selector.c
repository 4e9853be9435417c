/*  Block selectors: a hash, a number or a tag, read from msgpack (peers) or
    from text (the CLI), and written back. */
#include "proto_private.h"

#include <stdio.h>
#include <string.h>

#include "errfmt.h"
#include "hex.h"

static const char *const s_tags[] = {"latest", "pending", "earliest", "safe", "finalized"};

bool proto_tag_valid(const char *tag)
{
    for (size_t i = 0; i < sizeof s_tags / sizeof *s_tags; i++)
        if (strcmp(tag, s_tags[i]) == 0)
            return true;
    return false;
}

int proto_decode_selector(const msgpack_object *o, proto_selector_t *sel, const char *path,
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
        return errfmt(err, err_len,
                      "%s: unknown block tag (latest, pending, earliest, safe, finalized)", path);
    }
    return proto_type_error(err, err_len, path,
                            "a block hash (bin 32), number (uint) or tag (str)", o);
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
    /* 66 characters with 0x are a hash; anything else must be a number */
    size_t n = strlen(text);
    if (n == 66 && hex_has_prefix(text)) {
        uint8_t hash[32];
        if (hex_bytes_parse(text, n, HEX_PREFIX | HEX_EXACT, hash, 32, NULL) != HEX_OK)
            return -1;
        memcpy(out->hash, hash, 32);
        out->kind = PROTO_SEL_HASH;
        return 0;
    }
    uint64_t v;
    if (!parse_u64(text, &v))
        return -1;
    out->kind = PROTO_SEL_NUMBER;
    out->number = v;
    return 0;
}
