/*  rlp: see rlp.h. Encoding rules (Ethereum yellow paper, appendix B):
    a single byte below 0x80 is itself; a string of 0..55 bytes is 0x80+len
    then the bytes; a longer one is 0xb7+len(len) then len big-endian then the
    bytes. Lists alike with 0xc0 and 0xf7 over the concatenated items. */
#include "rlp.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct rlp_t {
    uint8_t *data;
    size_t len;
    size_t cap;
    bool failed;
};

rlp_t *rlp_new(void)
{
    return calloc(1, sizeof(rlp_t));
}

void rlp_destroy(rlp_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->data);
    free(*self_p);
    *self_p = NULL;
}

void rlp_reset(rlp_t *self)
{
    self->len = 0;
    self->failed = false;
}

bool rlp_ok(const rlp_t *self)
{
    return !self->failed;
}

const uint8_t *rlp_data(const rlp_t *self)
{
    return self->data;
}

size_t rlp_len(const rlp_t *self)
{
    return self->len;
}

/*  Makes room for extra more bytes; false (and sticky failure) when the
    memory is not there. */
static bool reserve(rlp_t *self, size_t extra)
{
    if (self->failed)
        return false;
    if (extra > SIZE_MAX / 2 - self->len) {
        self->failed = true;
        return false;
    }
    size_t need = self->len + extra;
    if (need <= self->cap)
        return true;
    size_t cap = self->cap ? self->cap : 128;
    while (cap < need)
        cap *= 2;
    uint8_t *grown = realloc(self->data, cap);
    if (!grown) {
        self->failed = true;
        return false;
    }
    self->data = grown;
    self->cap = cap;
    return true;
}

/*  Writes the big-endian bytes of v without leading zeros into out (at
    least 8 bytes); returns how many (0 for v == 0). */
static size_t be_minimal(uint64_t v, uint8_t out[8])
{
    size_t n = 0;
    for (uint64_t t = v; t; t >>= 8)
        n++;
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t) (v >> (8 * (n - 1 - i)));
    return n;
}

/*  The header of a string (base 0x80) or list (base 0xc0) of len bytes. */
static size_t header(uint8_t base, size_t len, uint8_t out[9])
{
    if (len <= 55) {
        out[0] = (uint8_t) (base + len);
        return 1;
    }
    size_t n = be_minimal((uint64_t) len, out + 1);
    out[0] = (uint8_t) (base + 55 + n);
    return 1 + n;
}

static void append(rlp_t *self, const uint8_t *data, size_t len)
{
    if (len && reserve(self, len)) {
        memcpy(self->data + self->len, data, len);
        self->len += len;
    }
}

void rlp_put_bytes(rlp_t *self, const uint8_t *data, size_t len)
{
    assert(data || len == 0);
    if (len == 1 && data[0] < 0x80) {
        append(self, data, 1);
        return;
    }
    uint8_t head[9];
    size_t n = header(0x80, len, head);
    if (!reserve(self, n + len))
        return;
    append(self, head, n);
    append(self, data, len);
}

void rlp_put_uint(rlp_t *self, uint64_t value)
{
    uint8_t be[8];
    size_t n = be_minimal(value, be);
    rlp_put_bytes(self, be, n);
}

void rlp_put_u256(rlp_t *self, const uint8_t value[32])
{
    size_t skip = 0;
    while (skip < 32 && value[skip] == 0)
        skip++;
    rlp_put_bytes(self, value + skip, 32 - skip);
}

void rlp_put_raw(rlp_t *self, const uint8_t *item, size_t len)
{
    append(self, item, len);
}

size_t rlp_list_begin(rlp_t *self)
{
    return self->len;
}

/*  The payload is already in place after mark: shift it right by the
    header's size and write the header into the gap. */
void rlp_list_end(rlp_t *self, size_t mark)
{
    if (self->failed)
        return;
    assert(mark <= self->len);
    size_t payload = self->len - mark;
    uint8_t head[9];
    size_t n = header(0xc0, payload, head);
    if (!reserve(self, n))
        return;
    memmove(self->data + mark + n, self->data + mark, payload);
    memcpy(self->data + mark, head, n);
    self->len += n;
}
