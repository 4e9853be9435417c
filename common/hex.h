/*  hex: 0x-prefixed hexadecimal, as the Engine API and the CLI spell bytes
    and numbers. The one place that reads hex digits: every strictness a
    caller needs is a flag of hex_bytes_parse or hex_uint_parse, and the
    other functions are those two with the flags fixed. */
#ifndef ALYS_HEX_H
#define ALYS_HEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*  What a parse found wrong, in the order it is looked for, so that a caller
    that words its own messages (the CLI) can say which rule was broken. */
typedef enum {
    HEX_OK = 0,
    HEX_ERR_EMPTY,        /* NULL, or "" where a number is wanted */
    HEX_ERR_PREFIX,       /* "0x" is required and absent */
    HEX_ERR_DIGIT,        /* a character that is not a digit of the base, or no digit */
    HEX_ERR_ODD,          /* bytes: an odd number of hex digits */
    HEX_ERR_LEADING_ZERO, /* number: a leading zero that HEX_MINIMAL/HEX_DEC_MINIMAL refuse */
    HEX_ERR_SIZE,         /* bytes: over max (or not exactly max); number: does not fit */
} hex_err_t;

/*  Parse flags; 0 is the lenient reading of each kind. */
enum {
    /*  bytes: the text must start with "0x" or "0X" (otherwise optional) */
    HEX_PREFIX = 1u << 0,
    /*  bytes: exactly max bytes (otherwise at most max) */
    HEX_EXACT = 1u << 1,
    /*  number: text without "0x" is base 10 (otherwise refused) */
    HEX_DECIMAL = 1u << 2,
    /*  number: no leading zero after "0x" except "0x0" itself: the Engine
        API's QUANTITY (otherwise "0x00ff" is 255) */
    HEX_MINIMAL = 1u << 3,
    /*  number: no leading zero in base 10 except "0" itself, so that "010"
        is never taken for octal (otherwise "007" is 7) */
    HEX_DEC_MINIMAL = 1u << 4,
};

/*  The value 0..15 of one hex digit (either case), or -1. */
int hex_digit(char c);
/*  True when text (non-NULL) starts with "0x" or "0X". */
bool hex_has_prefix(const char *text);

/*  Decodes a byte string: the first text_len characters of text (a NUL
    among them is not a digit), "0x" optional unless HEX_PREFIX, then an even
    number of hex digits, at most max bytes (exactly max with HEX_EXACT).
    With out NULL it only checks; otherwise the bytes go to out, whose
    contents are unspecified on failure. *n_out (if n_out) gets the byte
    count on success. Errors are found in this order: EMPTY (text NULL),
    PREFIX, DIGIT, ODD, SIZE. */
hex_err_t hex_bytes_parse(const char *text, size_t text_len, unsigned flags, uint8_t *out,
                          size_t max, size_t *n_out);

/*  Parses an unsigned number that must fit in width bytes (1..32) into
    out[width], big-endian. Hex needs "0x" and at least one digit, either
    case; HEX_DECIMAL also reads base 10 (digits only: no sign, no blank).
    out is written only on success. Errors are found in this order: EMPTY,
    PREFIX (no "0x" and no HEX_DECIMAL), DIGIT, LEADING_ZERO, SIZE. */
hex_err_t hex_uint_parse(const char *text, unsigned flags, uint8_t *out, size_t width);
/*  hex_uint_parse into a uint64_t; *out is written only on success. */
hex_err_t hex_u64_parse(const char *text, unsigned flags, uint64_t *out);

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
/*  Decodes exactly n bytes ("0x" optional); returns 0 or -1. */
int hex_decode_fixed(const char *text, uint8_t *out, size_t n);
/*  Parses an Engine API quantity: "0x" then 1..16 hex digits, no leading zeros
    except "0x0". Returns 0 or -1. */
int hex_quantity_parse(const char *text, uint64_t *out);
/*  Formats a quantity as "0x..." into out (at least 19 bytes). */
char *hex_quantity_format(uint64_t value, char *out);
/*  Parses a quantity of up to 256 bits, spelled as hex_quantity_parse wants,
    into 32 big-endian bytes. Returns 0 or -1. */
int hex_u256_parse(const char *text, uint8_t out[32]);
/*  Formats 32 big-endian bytes as a minimal quantity into out (67 bytes). */
char *hex_u256_format(const uint8_t in[32], char *out);
/*  True for a base-10 (no leading zero) or 0x-hex unsigned integer that fits
    in 64 bits. */
bool parse_u64(const char *text, uint64_t *out);

#endif
