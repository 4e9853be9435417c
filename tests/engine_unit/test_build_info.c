/*  Unit tests for actors/engine/build_info.c: the `commit` field of the
    actor's ClientVersionV1, DATA of exactly 4 bytes. */
#include "build_info.h"

#include <check.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_full_hash_is_cut_to_four_bytes)
{
    char out[11];
    ck_assert_str_eq(build_info_commit_data("8f8d7cb1c0ffee0000000000000000000000abcd", out),
                     "0x8f8d7cb1");
    ck_assert_str_eq(build_info_commit_data("DEADBEEF", out), "0xdeadbeef");
    ck_assert_str_eq(build_info_commit_data("0123456789\n", out), "0x01234567");
}
END_TEST

START_TEST(test_unknown_is_zeros)
{
    const char *bad[] = {NULL, "", "00000", "8f8d7cb", "8f8d7cbg", "0x8f8d7cb1", " 8f8d7cb1",
                         "not a commit"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char out[11];
        memset(out, 'z', sizeof out);
        ck_assert_str_eq(build_info_commit_data(bad[i], out), "0x00000000");
    }
}
END_TEST

START_TEST(test_build_commit_is_data4)
{
    const char *c = build_info_commit();
    ck_assert_uint_eq(strlen(c), 10);
    ck_assert(c[0] == '0' && c[1] == 'x');
    for (int i = 2; i < 10; i++)
        ck_assert_msg(isxdigit((unsigned char) c[i]) && !isupper((unsigned char) c[i]),
                      "commit %s is not lower-case hex", c);
    /* the same pointer and text on every call */
    ck_assert_ptr_eq(build_info_commit(), c);
}
END_TEST

static Suite *build_info_suite(void)
{
    Suite *s = suite_create("build_info");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_full_hash_is_cut_to_four_bytes);
    tcase_add_test(tc, test_unknown_is_zeros);
    tcase_add_test(tc, test_build_commit_is_data4);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(build_info_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
