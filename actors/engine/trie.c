/*  trie: see trie.h. The trie is built from the sorted key set in one
    recursive pass (no node objects): a range of keys that share nibbles from
    the current depth becomes an extension, a single key a leaf, anything
    else a branch with one child range per next nibble (and the value of a
    key that ends exactly here).

    Node encodings (yellow paper, appendix D):
      leaf       RLP([HP(rest, leaf), value])
      extension  RLP([HP(shared, not leaf), ref(child)])
      branch     RLP([ref(c0) .. ref(c15), value or ""])
    ref(n) is n's encoding itself when it is shorter than 32 bytes, else the
    32-byte string keccak256(encoding). The root is always hashed. */
#include "trie.h"

#include "keccak.h"
#include "rlp.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

const uint8_t trie_empty_root[32] = {
    0x56, 0xe8, 0x1f, 0x17, 0x1b, 0xcc, 0x55, 0xa6, 0xff, 0x83, 0x45, 0xe6, 0x92, 0xc0, 0xf8, 0x6e,
    0x5b, 0x48, 0xe0, 0x1b, 0x99, 0x6c, 0xad, 0xc0, 0x01, 0x62, 0x2f, 0xb5, 0xe3, 0x63, 0xb4, 0x21,
};

typedef struct {
    uint8_t *nibbles;
    size_t n_nibbles;
    const proto_data_t *value;
} entry_t;

static int entry_cmp(const void *a, const void *b)
{
    const entry_t *x = a, *y = b;
    size_t n = x->n_nibbles < y->n_nibbles ? x->n_nibbles : y->n_nibbles;
    int c = n ? memcmp(x->nibbles, y->nibbles, n) : 0;
    if (c)
        return c;
    return (x->n_nibbles > y->n_nibbles) - (x->n_nibbles < y->n_nibbles);
}

/*  Hex-prefix encoding of nibbles[0..n) with the leaf flag: the first
    nibble is 2*leaf + odd; an odd path takes its first nibble into the low
    half of that byte, an even one pads it with a zero nibble. */
static int put_hex_prefix(rlp_t *out, const uint8_t *nibbles, size_t n, bool leaf)
{
    uint8_t buf[1 + 64];
    uint8_t *enc = n / 2 + 1 <= sizeof buf ? buf : malloc(n / 2 + 1);
    if (!enc)
        return -1;
    size_t at = 0;
    uint8_t flag = (uint8_t) ((leaf ? 2 : 0) + (n % 2));
    size_t i = 0;
    if (n % 2) {
        enc[at++] = (uint8_t) (flag << 4 | nibbles[0]);
        i = 1;
    } else {
        enc[at++] = (uint8_t) (flag << 4);
    }
    for (; i < n; i += 2)
        enc[at++] = (uint8_t) (nibbles[i] << 4 | nibbles[i + 1]);
    rlp_put_bytes(out, enc, at);
    if (enc != buf)
        free(enc);
    return 0;
}

static int encode_node(const entry_t *e, size_t lo, size_t hi, size_t depth, rlp_t *out);

/*  Appends ref(node for entries [lo, hi) at depth) to out. */
static int put_child(const entry_t *e, size_t lo, size_t hi, size_t depth, rlp_t *out)
{
    rlp_t *child = rlp_new();
    if (!child)
        return -1;
    int rc = encode_node(e, lo, hi, depth, child);
    if (rc == 0 && rlp_ok(child)) {
        if (rlp_len(child) < 32) {
            rlp_put_raw(out, rlp_data(child), rlp_len(child));
        } else {
            uint8_t hash[32];
            keccak256(rlp_data(child), rlp_len(child), hash);
            rlp_put_bytes(out, hash, 32);
        }
    } else {
        rc = -1;
    }
    rlp_destroy(&child);
    return rc;
}

/*  Encodes the node that holds the sorted, distinct entries [lo, hi) (at
    least one), all of which agree on their first depth nibbles. */
static int encode_node(const entry_t *e, size_t lo, size_t hi, size_t depth, rlp_t *out)
{
    if (hi - lo == 1) {
        size_t mark = rlp_list_begin(out);
        if (put_hex_prefix(out, e[lo].nibbles + depth, e[lo].n_nibbles - depth, true) < 0)
            return -1;
        rlp_put_bytes(out, e[lo].value->data, e[lo].value->len);
        rlp_list_end(out, mark);
        return 0;
    }
    /*  Sorted: what the first and the last entry share, all share. */
    const entry_t *first = &e[lo], *last = &e[hi - 1];
    size_t shared = 0;
    while (depth + shared < first->n_nibbles && depth + shared < last->n_nibbles
           && first->nibbles[depth + shared] == last->nibbles[depth + shared])
        shared++;
    if (shared > 0) {
        size_t mark = rlp_list_begin(out);
        if (put_hex_prefix(out, first->nibbles + depth, shared, false) < 0)
            return -1;
        int rc = put_child(e, lo, hi, depth + shared, out);
        rlp_list_end(out, mark);
        return rc;
    }
    size_t mark = rlp_list_begin(out);
    size_t at = lo;
    const proto_data_t *here = NULL;
    /*  Keys are distinct, so at most one ends at this depth, and it sorts
        first. */
    if (e[at].n_nibbles == depth)
        here = e[at++].value;
    for (uint8_t nib = 0; nib < 16; nib++) {
        size_t end = at;
        while (end < hi && e[end].nibbles[depth] == nib)
            end++;
        if (end == at) {
            rlp_put_bytes(out, NULL, 0);
            continue;
        }
        if (put_child(e, at, end, depth + 1, out) < 0)
            return -1;
        at = end;
    }
    if (here)
        rlp_put_bytes(out, here->data, here->len);
    else
        rlp_put_bytes(out, NULL, 0);
    rlp_list_end(out, mark);
    return 0;
}

int trie_root(const proto_data_t *keys, const proto_data_t *values, size_t n, uint8_t root[32])
{
    if (n == 0) {
        memcpy(root, trie_empty_root, 32);
        return 0;
    }
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (values[i].len == 0 || keys[i].len > (SIZE_MAX / 4) - total)
            return -1;
        total += keys[i].len;
    }
    entry_t *entries = calloc(n, sizeof *entries);
    uint8_t *nibbles = malloc(2 * total + 1);
    rlp_t *node = rlp_new();
    int rc = -1;
    if (!entries || !nibbles || !node)
        goto done;
    uint8_t *p = nibbles;
    for (size_t i = 0; i < n; i++) {
        entries[i].nibbles = p;
        entries[i].n_nibbles = 2 * keys[i].len;
        entries[i].value = &values[i];
        for (size_t j = 0; j < keys[i].len; j++) {
            *p++ = keys[i].data[j] >> 4;
            *p++ = keys[i].data[j] & 15;
        }
    }
    qsort(entries, n, sizeof *entries, entry_cmp);
    for (size_t i = 1; i < n; i++)
        if (entry_cmp(&entries[i - 1], &entries[i]) == 0)
            goto done;
    if (encode_node(entries, 0, n, 0, node) == 0 && rlp_ok(node)) {
        keccak256(rlp_data(node), rlp_len(node), root);
        rc = 0;
    }
done:
    rlp_destroy(&node);
    free(nibbles);
    free(entries);
    return rc;
}

/*  RLP(i) of every index goes into one buffer: at most 9 bytes each. */
int trie_ordered_root(const proto_data_t *values, size_t n, uint8_t root[32])
{
    if (n == 0) {
        memcpy(root, trie_empty_root, 32);
        return 0;
    }
    proto_data_t *keys = calloc(n, sizeof *keys);
    rlp_t *enc = rlp_new();
    int rc = -1;
    if (keys && enc) {
        for (size_t i = 0; i < n; i++)
            rlp_put_uint(enc, (uint64_t) i);
        if (rlp_ok(enc)) {
            /*  Walk the concatenation: a byte < 0x80 is a one-byte item,
                0x80 + k is a header of k bytes. */
            uint8_t *base = (uint8_t *) rlp_data(enc);
            size_t at = 0;
            for (size_t i = 0; i < n; i++) {
                size_t len = base[at] < 0x80 ? 1 : 1 + (size_t) (base[at] - 0x80);
                keys[i].data = base + at;
                keys[i].len = len;
                at += len;
            }
            rc = trie_root(keys, values, n, root);
        }
    }
    rlp_destroy(&enc);
    free(keys);
    return rc;
}
