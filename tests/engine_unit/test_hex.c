/*  Unit tests for common/hex.c: byte strings, Engine API quantities, 256-bit
    quantities and the plain integer parser used for options and the state
    file. */
#include "hex.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
