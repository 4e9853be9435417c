#include "hex.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char s_digits[] = "0123456789abcdef";

int hex_digit(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool hex_has_prefix(const char *text)
{
    return text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
}

char *hex_encode(const uint8_t *bytes, size_t len, char *out)
{
    char *p = out;
    *p++ = '0';
    *p++ = 'x';
    for (size_t i = 0; i < len; i++) {
        *p++ = s_digits[bytes[i] >> 4];
        *p++ = s_digits[bytes[i] & 15];
    }
    *p = '\0';
    return out;
}

char *hex_encode_alloc(const uint8_t *bytes, size_t len)
{
    char *out = malloc(2 * len + 3);
    return out ? hex_encode(bytes, len, out) : NULL;
}

/*  Fast path: when the digit count already fits, decode and check in one
    pass. Otherwise (or to check only) scan every digit first, so that a bad
    character is reported before a bad length, as the CLI's messages want. */
hex_err_t hex_bytes_parse(const char *text, size_t text_len, unsigned flags, uint8_t *out,
                          size_t max, size_t *n_out)
{
    if (!text)
        return HEX_ERR_EMPTY;
    const char *p = text;
    size_t n = text_len;
    if (n >= 2 && hex_has_prefix(text)) {
        p += 2;
        n -= 2;
    } else if (flags & HEX_PREFIX) {
        return HEX_ERR_PREFIX;
    }
    size_t bytes = n / 2;
    bool fits = n % 2 == 0 && ((flags & HEX_EXACT) ? bytes == max : bytes <= max);
    if (fits && out) {
        for (size_t i = 0; i < bytes; i++) {
            int hi = hex_digit(p[2 * i]), lo = hex_digit(p[2 * i + 1]);
            if (hi < 0 || lo < 0)
                return HEX_ERR_DIGIT;
            out[i] = (uint8_t) (hi << 4 | lo);
        }
    } else {
        for (size_t i = 0; i < n; i++)
            if (hex_digit(p[i]) < 0)
                return HEX_ERR_DIGIT;
        if (n % 2)
            return HEX_ERR_ODD;
        if (!fits)
            return HEX_ERR_SIZE;
    }
    if (n_out)
        *n_out = bytes;
    return HEX_OK;
}

/*  The digits are checked in full before the value is built, so that a
    non-digit is reported as such even in a number too long to fit. The
    value is built in a local buffer: out is untouched on failure. */
hex_err_t hex_uint_parse(const char *text, unsigned flags, uint8_t *out, size_t width)
{
    assert(width >= 1 && width <= 32);
    if (!text || !*text)
        return HEX_ERR_EMPTY;
    uint8_t v[32] = {0};
    if (hex_has_prefix(text)) {
        const char *p = text + 2;
        size_t n = strlen(p);
        if (n == 0)
            return HEX_ERR_DIGIT;
        for (size_t i = 0; i < n; i++)
            if (hex_digit(p[i]) < 0)
                return HEX_ERR_DIGIT;
        if ((flags & HEX_MINIMAL) && n > 1 && p[0] == '0')
            return HEX_ERR_LEADING_ZERO;
        while (n > 1 && p[0] == '0') {
            p++;
            n--;
        }
        if (n > 2 * width)
            return HEX_ERR_SIZE;
        for (size_t i = 0; i < n; i++) {
            int d = hex_digit(p[n - 1 - i]);
            v[width - 1 - i / 2] |= (uint8_t) (i % 2 ? d << 4 : d);
        }
    } else if (flags & HEX_DECIMAL) {
        size_t n = strlen(text);
        for (size_t i = 0; i < n; i++)
            if (text[i] < '0' || text[i] > '9')
                return HEX_ERR_DIGIT;
        if ((flags & HEX_DEC_MINIMAL) && n > 1 && text[0] == '0')
            return HEX_ERR_LEADING_ZERO;
        /* v = v * 10 + digit, byte by byte from the low end */
        for (size_t k = 0; k < n; k++) {
            unsigned carry = (unsigned) (text[k] - '0');
            for (size_t i = width; i-- > 0;) {
                unsigned x = v[i] * 10u + carry;
                v[i] = (uint8_t) (x & 0xff);
                carry = x >> 8;
            }
            if (carry)
                return HEX_ERR_SIZE;
        }
    } else {
        return HEX_ERR_PREFIX;
    }
    memcpy(out, v, width);
    return HEX_OK;
}

hex_err_t hex_u64_parse(const char *text, unsigned flags, uint64_t *out)
{
    uint8_t b[8];
    hex_err_t rc = hex_uint_parse(text, flags, b, sizeof b);
    if (rc != HEX_OK)
        return rc;
    uint64_t v = 0;
    for (size_t i = 0; i < sizeof b; i++)
        v = v << 8 | b[i];
    *out = v;
    return HEX_OK;
}

long hex_decode(const char *text, uint8_t *out, size_t max)
{
    size_t n;
    if (!text || hex_bytes_parse(text, strlen(text), 0, out, max, &n) != HEX_OK)
        return -1;
    return (long) n;
}

int hex_decode_alloc(const char *text, uint8_t **out, size_t *len)
{
    if (!text)
        return -1;
    size_t text_len = strlen(text);
    size_t max = (text_len - (hex_has_prefix(text) ? 2 : 0)) / 2;
    uint8_t *buf = malloc(max ? max : 1);
    if (!buf)
        return -1;
    size_t n;
    if (hex_bytes_parse(text, text_len, 0, buf, max, &n) != HEX_OK) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}

int hex_decode_fixed(const char *text, uint8_t *out, size_t n)
{
    if (!text)
        return -1;
    return hex_bytes_parse(text, strlen(text), HEX_EXACT, out, n, NULL) == HEX_OK ? 0 : -1;
}

int hex_quantity_parse(const char *text, uint64_t *out)
{
    return hex_u64_parse(text, HEX_MINIMAL, out) == HEX_OK ? 0 : -1;
}

char *hex_quantity_format(uint64_t value, char *out)
{
    snprintf(out, 19, "0x%llx", (unsigned long long) value);
    return out;
}

int hex_u256_parse(const char *text, uint8_t out[32])
{
    return hex_uint_parse(text, HEX_MINIMAL, out, 32) == HEX_OK ? 0 : -1;
}

char *hex_u256_format(const uint8_t in[32], char *out)
{
    char *p = out;
    *p++ = '0';
    *p++ = 'x';
    bool started = false;
    for (int i = 0; i < 64; i++) {
        int d = i % 2 ? in[i / 2] & 15 : in[i / 2] >> 4;
        if (!started && d == 0 && i < 63)
            continue;
        started = true;
        *p++ = s_digits[d];
    }
    *p = '\0';
    return out;
}

bool parse_u64(const char *text, uint64_t *out)
{
    return hex_u64_parse(text, HEX_DECIMAL | HEX_DEC_MINIMAL, out) == HEX_OK;
}
