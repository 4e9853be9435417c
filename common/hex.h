/*  hex: 0x-prefixed hexadecimal, as the Engine API and the CLI spell bytes. */
#ifndef ALYS_HEX_H
#define ALYS_HEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*  Writes "0x" and 2*len lowercase digits and a NUL into out, which must hold
    2*len + 3 bytes. Returns out. */
char *hex_encode(const uint8_t *bytes, size_t len, char *out);
/*  Returns a newly allocated "0x..." string; the caller frees it. */
char *hex_encode_alloc(const uint8_t *bytes, size_t len);
/*  Decodes "0x" (optional) followed by an even number of hex digits.
    Returns the byte count, or -1 if the text is not hex or exceeds max. */
long hex_decode(const char *text, uint8_t *out, size_t max);
/*  Decodes into a newly allocated buffer; returns 0 or -1. An empty "0x" gives
    len 0 and a non-NULL buffer. */
int hex_decode_alloc(const char *text, uint8_t **out, size_t *len);
/*  Decodes exactly n bytes; returns 0 or -1. */
int hex_decode_fixed(const char *text, uint8_t *out, size_t n);
/*  Parses an Engine API quantity: "0x" then 1..16 hex digits, no leading zeros
    except "0x0". Returns 0 or -1. */
int hex_quantity_parse(const char *text, uint64_t *out);
/*  Formats a quantity as "0x..." into out (at least 19 bytes). */
char *hex_quantity_format(uint64_t value, char *out);
/*  Parses a quantity of up to 256 bits into 32 big-endian bytes. */
int hex_u256_parse(const char *text, uint8_t out[32]);
/*  Formats 32 big-endian bytes as a minimal quantity into out (67 bytes). */
char *hex_u256_format(const uint8_t in[32], char *out);
/*  True for a base-10 or 0x-hex unsigned integer that fits in 64 bits. */
bool parse_u64(const char *text, uint64_t *out);

#endif
