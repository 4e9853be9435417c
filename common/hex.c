#include "hex.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char s_digits[] = "0123456789abcdef";

static int nibble(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
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

static const char *skip_prefix(const char *text)
{
    if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
        return text + 2;
    return text;
}

long hex_decode(const char *text, uint8_t *out, size_t max)
{
    if (!text)
        return -1;
    const char *p = skip_prefix(text);
    size_t digits = strlen(p);
    if (digits % 2 || digits / 2 > max)
        return -1;
    for (size_t i = 0; i < digits / 2; i++) {
        int hi = nibble(p[2 * i]), lo = nibble(p[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t) (hi << 4 | lo);
    }
    return (long) (digits / 2);
}

int hex_decode_alloc(const char *text, uint8_t **out, size_t *len)
{
    if (!text)
        return -1;
    size_t max = strlen(skip_prefix(text)) / 2;
    uint8_t *buf = malloc(max ? max : 1);
    if (!buf)
        return -1;
    long n = hex_decode(text, buf, max);
    if (n < 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = (size_t) n;
    return 0;
}

int hex_decode_fixed(const char *text, uint8_t *out, size_t n)
{
    if (!text || strlen(skip_prefix(text)) != 2 * n)
        return -1;
    return hex_decode(text, out, n) == (long) n ? 0 : -1;
}

int hex_quantity_parse(const char *text, uint64_t *out)
{
    if (!text || text[0] != '0' || (text[1] != 'x' && text[1] != 'X'))
        return -1;
    const char *p = text + 2;
    size_t n = strlen(p);
    if (n == 0 || n > 16 || (n > 1 && p[0] == '0'))
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        int d = nibble(p[i]);
        if (d < 0)
            return -1;
        v = v << 4 | (uint64_t) d;
    }
    *out = v;
    return 0;
}

char *hex_quantity_format(uint64_t value, char *out)
{
    snprintf(out, 19, "0x%llx", (unsigned long long) value);
    return out;
}

int hex_u256_parse(const char *text, uint8_t out[32])
{
    if (!text || text[0] != '0' || (text[1] != 'x' && text[1] != 'X'))
        return -1;
    const char *p = text + 2;
    size_t n = strlen(p);
    if (n == 0 || n > 64 || (n > 1 && p[0] == '0'))
        return -1;
    memset(out, 0, 32);
    for (size_t i = 0; i < n; i++) {
        int d = nibble(p[n - 1 - i]);
        if (d < 0)
            return -1;
        out[31 - i / 2] |= (uint8_t) (i % 2 ? d << 4 : d);
    }
    return 0;
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
    if (!text || !isdigit((unsigned char) *text))
        return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(text, &end, 0);
    if (errno || *end)
        return false;
    /*  strtoull's base 0 treats a leading 0 as octal: refuse that ambiguity. */
    if (text[0] == '0' && text[1] && text[1] != 'x' && text[1] != 'X')
        return false;
    *out = v;
    return true;
}
