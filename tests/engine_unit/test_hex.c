/*  Unit tests for common/hex.c: the two parsers every caller goes through
    (hex_bytes_parse, hex_uint_parse) with each of their flags, then byte
    strings, Engine API quantities, 256-bit quantities and the plain integer
    parser used for options and the state file. */
#include "hex.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ digits */

START_TEST(test_digit)
{
    int count = 0;
    for (int c = 0; c < 256; c++) {
        int d = hex_digit((char) c);
        if (d < 0)
            continue;
        count++;
        ck_assert_int_lt(d, 16);
    }
    ck_assert_int_eq(count, 22);
    ck_assert_int_eq(hex_digit('0'), 0);
    ck_assert_int_eq(hex_digit('9'), 9);
    ck_assert_int_eq(hex_digit('a'), 10);
    ck_assert_int_eq(hex_digit('F'), 15);
    ck_assert_int_eq(hex_digit('g'), -1);
    ck_assert_int_eq(hex_digit('x'), -1);
    ck_assert_int_eq(hex_digit('\0'), -1);

    ck_assert(hex_has_prefix("0x"));
    ck_assert(hex_has_prefix("0X1"));
    ck_assert(!hex_has_prefix(""));
    ck_assert(!hex_has_prefix("0"));
    ck_assert(!hex_has_prefix("x0"));
    ck_assert(!hex_has_prefix("00x"));
}
END_TEST

/* ------------------------------------------------------- hex_bytes_parse */

static hex_err_t bytes(const char *text, unsigned flags, uint8_t *out, size_t max, size_t *n)
{
    return hex_bytes_parse(text, text ? strlen(text) : 0, flags, out, max, n);
}

START_TEST(test_bytes_empty)
{
    uint8_t out[4];
    size_t n = 99;
    ck_assert_int_eq(bytes(NULL, 0, out, 4, &n), HEX_ERR_EMPTY);
    ck_assert_uint_eq(n, 99);
    /* no text is no bytes when the prefix is optional, a missing prefix when it is not */
    ck_assert_int_eq(bytes("", 0, out, 4, &n), HEX_OK);
    ck_assert_uint_eq(n, 0);
    n = 99;
    ck_assert_int_eq(bytes("", HEX_PREFIX, out, 4, &n), HEX_ERR_PREFIX);
    ck_assert_uint_eq(n, 99);
    /* "0x" alone is the empty byte string, in every mode that allows 0 bytes */
    ck_assert_int_eq(bytes("0x", HEX_PREFIX, out, 4, &n), HEX_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(bytes("0X", 0, out, 0, &n), HEX_OK);
    ck_assert_int_eq(bytes("0x", HEX_PREFIX | HEX_EXACT, out, 0, &n), HEX_OK);
    ck_assert_int_eq(bytes("0x", HEX_EXACT, out, 1, &n), HEX_ERR_SIZE);
}
END_TEST

START_TEST(test_bytes_prefix_and_case)
{
    uint8_t out[4] = {0};
    size_t n = 0;
    ck_assert_int_eq(bytes("0XABcd", HEX_PREFIX, out, 4, &n), HEX_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(out[0], 0xab);
    ck_assert_int_eq(out[1], 0xcd);
    /* without the prefix: fine unless HEX_PREFIX */
    ck_assert_int_eq(bytes("ABcd", 0, out, 4, &n), HEX_OK);
    ck_assert_int_eq(out[1], 0xcd);
    ck_assert_int_eq(bytes("abcd", HEX_PREFIX, out, 4, &n), HEX_ERR_PREFIX);
    /* one prefix only: the second x is not a digit */
    ck_assert_int_eq(bytes("0x0x12", 0, out, 4, &n), HEX_ERR_DIGIT);
    /* "0" alone: not a prefix; one digit is odd */
    ck_assert_int_eq(bytes("0", 0, out, 4, &n), HEX_ERR_ODD);
    ck_assert_int_eq(bytes("0", HEX_PREFIX, out, 4, &n), HEX_ERR_PREFIX);
}
END_TEST

START_TEST(test_bytes_odd_and_size)
{
    uint8_t out[4];
    size_t n = 77;
    ck_assert_int_eq(bytes("0x123", 0, out, 4, &n), HEX_ERR_ODD);
    ck_assert_int_eq(bytes("0x010203", 0, out, 2, &n), HEX_ERR_SIZE);
    ck_assert_uint_eq(n, 77);
    ck_assert_int_eq(bytes("0x010203", 0, out, 3, &n), HEX_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(bytes("0x0102", 0, out, 3, &n), HEX_OK);
    ck_assert_uint_eq(n, 2);
    /* HEX_EXACT: fewer is as wrong as more */
    ck_assert_int_eq(bytes("0x0102", HEX_EXACT, out, 3, &n), HEX_ERR_SIZE);
    ck_assert_int_eq(bytes("0x01020304", HEX_EXACT, out, 3, &n), HEX_ERR_SIZE);
    ck_assert_int_eq(bytes("0x010203", HEX_EXACT, out, 3, &n), HEX_OK);
    ck_assert_int_eq(out[2], 0x03);
}
END_TEST

/*  The CLI words one message per rule, so the order matters: a bad digit is
    reported before an odd count, and an odd count before a wrong size. */
START_TEST(test_bytes_error_order)
{
    uint8_t out[4];
    ck_assert_int_eq(bytes("12g", HEX_PREFIX, out, 4, NULL), HEX_ERR_PREFIX);
    ck_assert_int_eq(bytes("0x12g", 0, out, 4, NULL), HEX_ERR_DIGIT);          /* odd too */
    ck_assert_int_eq(bytes("0x0102030g", 0, out, 2, NULL), HEX_ERR_DIGIT);     /* too long too */
    ck_assert_int_eq(bytes("0x12g4", HEX_EXACT, out, 2, NULL), HEX_ERR_DIGIT); /* right size */
    ck_assert_int_eq(bytes("0x01020", HEX_EXACT, out, 2, NULL), HEX_ERR_ODD);  /* too long too */
    ck_assert_int_eq(bytes("0x 1", 0, out, 4, NULL), HEX_ERR_DIGIT);
}
END_TEST

START_TEST(test_bytes_check_only_and_length)
{
    size_t n = 0;
    /* out NULL: only checks, and still reports the count */
    ck_assert_int_eq(hex_bytes_parse("0xdeadbeef", 10, HEX_PREFIX, NULL, SIZE_MAX, &n), HEX_OK);
    ck_assert_uint_eq(n, 4);
    ck_assert_int_eq(hex_bytes_parse("0xdeadbeeg", 10, HEX_PREFIX, NULL, SIZE_MAX, &n),
                     HEX_ERR_DIGIT);
    ck_assert_int_eq(hex_bytes_parse("0xdeadbee", 9, 0, NULL, SIZE_MAX, &n), HEX_ERR_ODD);
    ck_assert_int_eq(hex_bytes_parse("0xdeadbeef", 10, 0, NULL, 3, &n), HEX_ERR_SIZE);

    /* text_len, not the NUL, bounds the text: a prefix of it, or a NUL inside it */
    uint8_t out[4] = {0};
    ck_assert_int_eq(hex_bytes_parse("0x1234", 4, 0, out, 4, &n), HEX_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(out[0], 0x12);
    ck_assert_int_eq(hex_bytes_parse("0x12\0\0", 6, 0, out, 4, &n), HEX_ERR_DIGIT);
    ck_assert_int_eq(hex_bytes_parse("0x12", 1, 0, out, 4, &n), HEX_ERR_ODD);
    ck_assert_int_eq(hex_bytes_parse("0x12", 0, HEX_PREFIX, out, 4, &n), HEX_ERR_PREFIX);
}
END_TEST

/* ------------------------------------------------------- hex_uint_parse */

static const uint8_t s_zero32[32];

START_TEST(test_uint_empty_and_prefix)
{
    uint8_t out[8];
    memset(out, 0x5a, sizeof out);
    ck_assert_int_eq(hex_uint_parse(NULL, HEX_DECIMAL, out, 8), HEX_ERR_EMPTY);
    ck_assert_int_eq(hex_uint_parse("", HEX_DECIMAL, out, 8), HEX_ERR_EMPTY);
    ck_assert_int_eq(hex_uint_parse("", 0, out, 8), HEX_ERR_EMPTY);
    ck_assert_int_eq(hex_uint_parse("0x", 0, out, 8), HEX_ERR_DIGIT);
    ck_assert_int_eq(hex_uint_parse("0X", HEX_DECIMAL, out, 8), HEX_ERR_DIGIT);
    /* base 10 only when asked for */
    ck_assert_int_eq(hex_uint_parse("12", 0, out, 8), HEX_ERR_PREFIX);
    ck_assert_int_eq(hex_uint_parse("ff", 0, out, 8), HEX_ERR_PREFIX);
    ck_assert_int_eq(hex_uint_parse("ff", HEX_DECIMAL, out, 8), HEX_ERR_DIGIT);
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(out[i], 0x5a); /* untouched by every failure */

    ck_assert_int_eq(hex_uint_parse("12", HEX_DECIMAL, out, 8), HEX_OK);
    ck_assert_mem_eq(out, "\0\0\0\0\0\0\0\x0c", 8);
    ck_assert_int_eq(hex_uint_parse("0x12", HEX_DECIMAL, out, 8), HEX_OK);
    ck_assert_mem_eq(out, "\0\0\0\0\0\0\0\x12", 8);
}
END_TEST

START_TEST(test_uint_case_and_signs)
{
    uint64_t v = 0;
    ck_assert_int_eq(hex_u64_parse("0XFf", 0, &v), HEX_OK);
    ck_assert_uint_eq(v, 255);
    ck_assert_int_eq(hex_u64_parse("0xaBcDeF", HEX_MINIMAL, &v), HEX_OK);
    ck_assert_uint_eq(v, 0xabcdef);
    v = 3;
    const char *bad[] = {"-1",   "+1",   " 1",   "1 ",  "\t1", "0x-1",
                         "0x+1", "0x 1", "-0x1", "1e3", "0o7"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(hex_u64_parse(bad[i], HEX_DECIMAL, &v) == HEX_ERR_DIGIT, "'%s'", bad[i]);
    ck_assert_uint_eq(v, 3);
}
END_TEST

START_TEST(test_uint_leading_zeros)
{
    uint64_t v = 0;
    /* lenient (an execution client's answer, the CLI): zeros are value-less */
    ck_assert_int_eq(hex_u64_parse("0x00ff", 0, &v), HEX_OK);
    ck_assert_uint_eq(v, 255);
    ck_assert_int_eq(hex_u64_parse("0x00", 0, &v), HEX_OK);
    ck_assert_uint_eq(v, 0);
    ck_assert_int_eq(hex_u64_parse("007", HEX_DECIMAL, &v), HEX_OK);
    ck_assert_uint_eq(v, 7);
    /* zeros do not count towards the width */
    ck_assert_int_eq(hex_u64_parse("0x0000ffffffffffffffff", 0, &v), HEX_OK);
    ck_assert_uint_eq(v, UINT64_MAX);

    /* HEX_MINIMAL: the Engine API's QUANTITY */
    v = 9;
    ck_assert_int_eq(hex_u64_parse("0x00ff", HEX_MINIMAL, &v), HEX_ERR_LEADING_ZERO);
    ck_assert_int_eq(hex_u64_parse("0x00", HEX_MINIMAL, &v), HEX_ERR_LEADING_ZERO);
    ck_assert_uint_eq(v, 9);
    ck_assert_int_eq(hex_u64_parse("0x0", HEX_MINIMAL, &v), HEX_OK);
    ck_assert_uint_eq(v, 0);
    /* it is about hex: decimal zeros stay allowed */
    ck_assert_int_eq(hex_u64_parse("007", HEX_MINIMAL | HEX_DECIMAL, &v), HEX_OK);
    ck_assert_uint_eq(v, 7);

    /* HEX_DEC_MINIMAL: "010" could be read as octal, so it is refused */
    ck_assert_int_eq(hex_u64_parse("010", HEX_DECIMAL | HEX_DEC_MINIMAL, &v), HEX_ERR_LEADING_ZERO);
    ck_assert_int_eq(hex_u64_parse("00", HEX_DECIMAL | HEX_DEC_MINIMAL, &v), HEX_ERR_LEADING_ZERO);
    ck_assert_int_eq(hex_u64_parse("0", HEX_DECIMAL | HEX_DEC_MINIMAL, &v), HEX_OK);
    ck_assert_uint_eq(v, 0);
    ck_assert_int_eq(hex_u64_parse("0x010", HEX_DECIMAL | HEX_DEC_MINIMAL, &v), HEX_OK);
    ck_assert_uint_eq(v, 16);
}
END_TEST

START_TEST(test_uint_2_64)
{
    uint64_t v = 42;
    ck_assert_int_eq(hex_u64_parse("0xffffffffffffffff", HEX_MINIMAL, &v), HEX_OK);
    ck_assert_uint_eq(v, UINT64_MAX);
    ck_assert_int_eq(hex_u64_parse("18446744073709551615", HEX_DECIMAL, &v), HEX_OK);
    ck_assert_uint_eq(v, UINT64_MAX);
    v = 42;
    ck_assert_int_eq(hex_u64_parse("0x10000000000000000", 0, &v), HEX_ERR_SIZE);
    ck_assert_int_eq(hex_u64_parse("0x10000000000000000", HEX_MINIMAL, &v), HEX_ERR_SIZE);
    ck_assert_int_eq(hex_u64_parse("18446744073709551616", HEX_DECIMAL, &v), HEX_ERR_SIZE);
    ck_assert_int_eq(hex_u64_parse("99999999999999999999999", HEX_DECIMAL, &v), HEX_ERR_SIZE);
    ck_assert_uint_eq(v, 42);
}
END_TEST

START_TEST(test_uint_2_256)
{
    uint8_t out[32];
    const char *max_hex = "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
    const char *max_dec =
        "115792089237316195423570985008687907853269984665640564039457584007913129639935";
    uint8_t ones[32];
    memset(ones, 0xff, sizeof ones);
    ck_assert_int_eq(hex_uint_parse(max_hex, HEX_MINIMAL, out, 32), HEX_OK);
    ck_assert_mem_eq(out, ones, 32);
    memset(out, 0, sizeof out);
    ck_assert_int_eq(hex_uint_parse(max_dec, HEX_DECIMAL, out, 32), HEX_OK);
    ck_assert_mem_eq(out, ones, 32);

    /* 2^256: one more digit in hex, one more unit in decimal */
    const char *over_hex = "0x1"
                           "0000000000000000000000000000000000000000000000000000000000000000";
    const char *over_dec =
        "115792089237316195423570985008687907853269984665640564039457584007913129639936";
    memset(out, 0, sizeof out);
    ck_assert_int_eq(hex_uint_parse(over_hex, 0, out, 32), HEX_ERR_SIZE);
    ck_assert_int_eq(hex_uint_parse(over_dec, HEX_DECIMAL, out, 32), HEX_ERR_SIZE);
    ck_assert_mem_eq(out, s_zero32, 32);

    /* an odd digit count: the high nibble of the first byte is 0 */
    ck_assert_int_eq(hex_uint_parse("0x1ff", 0, out, 32), HEX_OK);
    ck_assert_int_eq(out[29], 0x00);
    ck_assert_int_eq(out[30], 0x01);
    ck_assert_int_eq(out[31], 0xff);
}
END_TEST

START_TEST(test_uint_small_widths)
{
    uint8_t b = 0;
    ck_assert_int_eq(hex_uint_parse("0xff", 0, &b, 1), HEX_OK);
    ck_assert_int_eq(b, 0xff);
    ck_assert_int_eq(hex_uint_parse("255", HEX_DECIMAL, &b, 1), HEX_OK);
    ck_assert_int_eq(b, 255);
    ck_assert_int_eq(hex_uint_parse("0x100", 0, &b, 1), HEX_ERR_SIZE);
    ck_assert_int_eq(hex_uint_parse("256", HEX_DECIMAL, &b, 1), HEX_ERR_SIZE);
    ck_assert_int_eq(b, 255);
    uint8_t w[3];
    ck_assert_int_eq(hex_uint_parse("16777215", HEX_DECIMAL, w, 3), HEX_OK);
    ck_assert_mem_eq(w, "\xff\xff\xff", 3);
    ck_assert_int_eq(hex_uint_parse("16777216", HEX_DECIMAL, w, 3), HEX_ERR_SIZE);
}
END_TEST

/*  Digits are judged before leading zeros, and leading zeros before size. */
START_TEST(test_uint_error_order)
{
    uint8_t out[8];
    ck_assert_int_eq(hex_uint_parse("0x0g", HEX_MINIMAL, out, 8), HEX_ERR_DIGIT);
    ck_assert_int_eq(hex_uint_parse("0x1000000000000000000g", 0, out, 8), HEX_ERR_DIGIT);
    ck_assert_int_eq(hex_uint_parse("0x0100000000000000000", HEX_MINIMAL, out, 8),
                     HEX_ERR_LEADING_ZERO);
    ck_assert_int_eq(hex_uint_parse("099999999999999999999", HEX_DECIMAL | HEX_DEC_MINIMAL, out, 8),
                     HEX_ERR_LEADING_ZERO);
    ck_assert_int_eq(hex_uint_parse("99999999999999999999x", HEX_DECIMAL, out, 8), HEX_ERR_DIGIT);
}
END_TEST

/*  Each caller's reading, through the functions they call. */
START_TEST(test_callers_variants)
{
    uint64_t v = 0;
    uint8_t u[32];
    /* the Engine API quantity: 0x required, minimal */
    ck_assert_int_eq(hex_quantity_parse("0x01", &v), -1);
    ck_assert_int_eq(hex_quantity_parse("1", &v), -1);
    ck_assert_int_eq(hex_u256_parse("0x00", u), -1);
    ck_assert_int_eq(hex_u256_parse("0X1", u), 0);
    ck_assert_int_eq(u[31], 1);
    /* parse_u64: decimal or hex, hex zeros fine, decimal zeros not */
    ck_assert(parse_u64("0x0001", &v));
    ck_assert_uint_eq(v, 1);
    ck_assert(!parse_u64("01", &v));
    ck_assert(!parse_u64("0X", &v));
    /* hex_decode_fixed: prefix optional, exact length, either case */
    uint8_t h[2];
    ck_assert_int_eq(hex_decode_fixed("0XAbCd", h, 2), 0);
    ck_assert_int_eq(h[0], 0xab);
    ck_assert_int_eq(hex_decode_fixed("AbCd", h, 2), 0);
    ck_assert_int_eq(hex_decode_fixed("", h, 0), 0);
    ck_assert_int_eq(hex_decode_fixed("", h, 1), -1);
}
END_TEST

/* -------------------------------------------------------------- bytes */

START_TEST(test_encode)
{
    const uint8_t bytes[] = {0x00, 0x01, 0xab, 0xff, 0x10};
    char out[2 * sizeof bytes + 3];
    memset(out, 'Z', sizeof out);
    char *r = hex_encode(bytes, sizeof bytes, out);
    ck_assert_ptr_eq(r, out);
    ck_assert_str_eq(out, "0x0001abff10");

    char empty[3];
    ck_assert_str_eq(hex_encode(bytes, 0, empty), "0x");

    char *a = hex_encode_alloc(bytes, 3);
    ck_assert_ptr_nonnull(a);
    ck_assert_str_eq(a, "0x0001ab");
    free(a);

    a = hex_encode_alloc(NULL, 0);
    ck_assert_ptr_nonnull(a);
    ck_assert_str_eq(a, "0x");
    free(a);
}
END_TEST

START_TEST(test_decode)
{
    uint8_t out[8];
    memset(out, 0, sizeof out);
    ck_assert_int_eq(hex_decode("0x0001abFF", out, sizeof out), 4);
    ck_assert_int_eq(out[0], 0x00);
    ck_assert_int_eq(out[1], 0x01);
    ck_assert_int_eq(out[2], 0xab);
    ck_assert_int_eq(out[3], 0xff);

    /* the prefix is optional and may be upper case */
    memset(out, 0, sizeof out);
    ck_assert_int_eq(hex_decode("beef", out, sizeof out), 2);
    ck_assert_int_eq(out[0], 0xbe);
    ck_assert_int_eq(out[1], 0xef);
    memset(out, 0, sizeof out);
    ck_assert_int_eq(hex_decode("0XC0DE", out, sizeof out), 2);
    ck_assert_int_eq(out[0], 0xc0);
    ck_assert_int_eq(out[1], 0xde);

    ck_assert_int_eq(hex_decode("0x", out, sizeof out), 0);
    ck_assert_int_eq(hex_decode("", out, sizeof out), 0);

    /* exactly max fits, one more does not */
    ck_assert_int_eq(hex_decode("0x0102030405060708", out, 8), 8);
    ck_assert_int_eq(out[7], 0x08);
    ck_assert_int_eq(hex_decode("0x010203040506070809", out, 8), -1);
}
END_TEST

START_TEST(test_decode_rejects)
{
    uint8_t out[8];
    ck_assert_int_eq(hex_decode(NULL, out, sizeof out), -1);
    ck_assert_int_eq(hex_decode("0x123", out, sizeof out), -1);     /* odd */
    ck_assert_int_eq(hex_decode("0xzz", out, sizeof out), -1);      /* not hex */
    ck_assert_int_eq(hex_decode("0x12g4", out, sizeof out), -1);
    ck_assert_int_eq(hex_decode("0x 1", out, sizeof out), -1);
    ck_assert_int_eq(hex_decode("0x0x12", out, sizeof out), -1);    /* one prefix only */
    ck_assert_int_eq(hex_decode("x12", out, sizeof out), -1);
}
END_TEST

START_TEST(test_decode_alloc)
{
    uint8_t *buf = NULL;
    size_t len = 99;
    ck_assert_int_eq(hex_decode_alloc("0x", &buf, &len), 0);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(len, 0);
    free(buf);

    buf = NULL;
    ck_assert_int_eq(hex_decode_alloc("0xdeadbeef01", &buf, &len), 0);
    ck_assert_uint_eq(len, 5);
    ck_assert_int_eq(buf[0], 0xde);
    ck_assert_int_eq(buf[4], 0x01);
    free(buf);

    buf = NULL;
    len = 7;
    ck_assert_int_eq(hex_decode_alloc("0xabc", &buf, &len), -1);
    ck_assert_ptr_null(buf);
    ck_assert_uint_eq(len, 7);
    ck_assert_int_eq(hex_decode_alloc("0xqq", &buf, &len), -1);
    ck_assert_ptr_null(buf);
    ck_assert_int_eq(hex_decode_alloc(NULL, &buf, &len), -1);
}
END_TEST

START_TEST(test_decode_fixed)
{
    uint8_t out[4] = {0};
    ck_assert_int_eq(hex_decode_fixed("0x01020304", out, 4), 0);
    ck_assert_int_eq(out[3], 0x04);
    ck_assert_int_eq(hex_decode_fixed("a1b2c3d4", out, 4), 0);
    ck_assert_int_eq(out[0], 0xa1);
    ck_assert_int_eq(hex_decode_fixed("0x010203", out, 4), -1);
    ck_assert_int_eq(hex_decode_fixed("0x0102030405", out, 4), -1);
    ck_assert_int_eq(hex_decode_fixed("0x0102030", out, 4), -1);
    ck_assert_int_eq(hex_decode_fixed("0x010203zz", out, 4), -1);
    ck_assert_int_eq(hex_decode_fixed(NULL, out, 4), -1);
    ck_assert_int_eq(hex_decode_fixed("0x", out, 0), 0);
}
END_TEST

/* ---------------------------------------------------------- quantities */

START_TEST(test_quantity_parse)
{
    uint64_t v = 12345;
    ck_assert_int_eq(hex_quantity_parse("0x0", &v), 0);
    ck_assert_uint_eq(v, 0);
    ck_assert_int_eq(hex_quantity_parse("0x1", &v), 0);
    ck_assert_uint_eq(v, 1);
    ck_assert_int_eq(hex_quantity_parse("0x400", &v), 0);
    ck_assert_uint_eq(v, 1024);
    ck_assert_int_eq(hex_quantity_parse("0XaBc", &v), 0);
    ck_assert_uint_eq(v, 0xabc);
    ck_assert_int_eq(hex_quantity_parse("0xffffffffffffffff", &v), 0);
    ck_assert_uint_eq(v, UINT64_MAX);
    ck_assert_int_eq(hex_quantity_parse("0x8000000000000000", &v), 0);
    ck_assert_uint_eq(v, UINT64_C(0x8000000000000000));
}
END_TEST

START_TEST(test_quantity_rejects)
{
    uint64_t v = 77;
    const char *bad[] = {
        "0x",                    /* no digits */
        "0x00",                  /* leading zero */
        "0x01",
        "0x10000000000000000",   /* 17 digits */
        "0xg",
        "0x1 ",
        "10",                    /* no prefix */
        "",
        "x1",
        "-0x1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(hex_quantity_parse(bad[i], &v) == -1, "accepted '%s'", bad[i]);
    ck_assert_int_eq(hex_quantity_parse(NULL, &v), -1);
    ck_assert_uint_eq(v, 77);
}
END_TEST

START_TEST(test_quantity_format)
{
    char buf[19];
    ck_assert_str_eq(hex_quantity_format(0, buf), "0x0");
    ck_assert_str_eq(hex_quantity_format(1, buf), "0x1");
    ck_assert_str_eq(hex_quantity_format(0xabcdef, buf), "0xabcdef");
    ck_assert_str_eq(hex_quantity_format(UINT64_MAX, buf), "0xffffffffffffffff");

    /* format then parse gives the value back */
    const uint64_t values[] = {0, 9, 16, 255, 256, 1700000000, UINT64_MAX - 1};
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
        uint64_t back = 0;
        ck_assert_int_eq(hex_quantity_parse(hex_quantity_format(values[i], buf), &back), 0);
        ck_assert_uint_eq(back, values[i]);
    }
}
END_TEST

START_TEST(test_u256)
{
    uint8_t v[32];
    char buf[67];
    ck_assert_int_eq(hex_u256_parse("0x0", v), 0);
    for (int i = 0; i < 32; i++)
        ck_assert_int_eq(v[i], 0);
    ck_assert_str_eq(hex_u256_format(v, buf), "0x0");

    ck_assert_int_eq(hex_u256_parse("0x1234", v), 0);
    ck_assert_int_eq(v[31], 0x34);
    ck_assert_int_eq(v[30], 0x12);
    ck_assert_int_eq(v[29], 0x00);
    ck_assert_str_eq(hex_u256_format(v, buf), "0x1234");

    /* an odd number of digits fills the low nibble of the high byte */
    ck_assert_int_eq(hex_u256_parse("0xabc", v), 0);
    ck_assert_int_eq(v[30], 0x0a);
    ck_assert_int_eq(v[31], 0xbc);
    ck_assert_str_eq(hex_u256_format(v, buf), "0xabc");

    const char *max = "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
    ck_assert_int_eq(hex_u256_parse(max, v), 0);
    ck_assert_int_eq(v[0], 0xff);
    ck_assert_str_eq(hex_u256_format(v, buf), max);

    /* the top bit alone */
    memset(v, 0, sizeof v);
    v[0] = 0x80;
    ck_assert_str_eq(hex_u256_format(v, buf),
                     "0x8000000000000000000000000000000000000000000000000000000000000000");

    ck_assert_int_eq(hex_u256_parse("0x", v), -1);
    ck_assert_int_eq(hex_u256_parse("0x01", v), -1);
    ck_assert_int_eq(hex_u256_parse("12", v), -1);
    ck_assert_int_eq(hex_u256_parse("0x1z", v), -1);
    ck_assert_int_eq(hex_u256_parse(NULL, v), -1);
    /* 65 digits */
    ck_assert_int_eq(hex_u256_parse("0x10000000000000000000000000000000000000000000000000000000000000000", v),
                     -1);
}
END_TEST

/* ------------------------------------------------------------ parse_u64 */

START_TEST(test_parse_u64)
{
    uint64_t v = 0;
    ck_assert(parse_u64("0", &v));
    ck_assert_uint_eq(v, 0);
    ck_assert(parse_u64("42", &v));
    ck_assert_uint_eq(v, 42);
    ck_assert(parse_u64("0x2a", &v));
    ck_assert_uint_eq(v, 42);
    ck_assert(parse_u64("0X2A", &v));
    ck_assert_uint_eq(v, 42);
    ck_assert(parse_u64("18446744073709551615", &v));
    ck_assert_uint_eq(v, UINT64_MAX);

    v = 5;
    const char *bad[] = {
        "", "-1", "+1", " 1", "1 ", "12a", "0x", "0xg",
        "010",                      /* octal would be ambiguous */
        "18446744073709551616",     /* 2^64 */
        "0x10000000000000000",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(!parse_u64(bad[i], &v), "accepted '%s'", bad[i]);
    ck_assert(!parse_u64(NULL, &v));
    ck_assert_uint_eq(v, 5);
}
END_TEST

/*  The guard against signs and leading blanks checks only ' ': strtoull also
    skips tabs and newlines and then accepts a minus sign, so "\t-1" parses
    as 2^64-1. This test fails until parse_u64 checks isspace/isdigit on the
    first character. */
START_TEST(test_parse_u64_rejects_other_blanks)
{
    uint64_t v = 5;
    ck_assert_msg(!parse_u64("\t-1", &v), "accepted \"\\t-1\" as %llu", (unsigned long long) v);
    ck_assert_msg(!parse_u64("\n7", &v), "accepted \"\\n7\" as %llu", (unsigned long long) v);
    ck_assert_uint_eq(v, 5);
}
END_TEST

static Suite *hex_suite(void)
{
    Suite *s = suite_create("hex");
    TCase *core = tcase_create("parsers");
    tcase_add_test(core, test_digit);
    tcase_add_test(core, test_bytes_empty);
    tcase_add_test(core, test_bytes_prefix_and_case);
    tcase_add_test(core, test_bytes_odd_and_size);
    tcase_add_test(core, test_bytes_error_order);
    tcase_add_test(core, test_bytes_check_only_and_length);
    tcase_add_test(core, test_uint_empty_and_prefix);
    tcase_add_test(core, test_uint_case_and_signs);
    tcase_add_test(core, test_uint_leading_zeros);
    tcase_add_test(core, test_uint_2_64);
    tcase_add_test(core, test_uint_2_256);
    tcase_add_test(core, test_uint_small_widths);
    tcase_add_test(core, test_uint_error_order);
    tcase_add_test(core, test_callers_variants);
    suite_add_tcase(s, core);

    TCase *bytes = tcase_create("bytes");
    tcase_add_test(bytes, test_encode);
    tcase_add_test(bytes, test_decode);
    tcase_add_test(bytes, test_decode_rejects);
    tcase_add_test(bytes, test_decode_alloc);
    tcase_add_test(bytes, test_decode_fixed);
    suite_add_tcase(s, bytes);

    TCase *qty = tcase_create("quantities");
    tcase_add_test(qty, test_quantity_parse);
    tcase_add_test(qty, test_quantity_rejects);
    tcase_add_test(qty, test_quantity_format);
    tcase_add_test(qty, test_u256);
    suite_add_tcase(s, qty);

    TCase *ints = tcase_create("parse_u64");
    tcase_add_test(ints, test_parse_u64);
    tcase_add_test(ints, test_parse_u64_rejects_other_blanks);
    suite_add_tcase(s, ints);
    return s;
}

int main(void)
{
    SRunner *runner = srunner_create(hex_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
