/*  Unit tests for common/errfmt.c: the message lands in the caller's
    buffer, truncated safely, and the call always fails. */
#include "errfmt.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_formats_and_fails)
{
    char err[64];
    memset(err, 'Z', sizeof err);
    int rc = errfmt(err, sizeof err, "%s: %zu bytes, at most %d", "extraData", (size_t) 40, 32);
    ck_assert_int_eq(rc, -1);
    ck_assert_str_eq(err, "extraData: 40 bytes, at most 32");
}
END_TEST

START_TEST(test_truncates)
{
    char err[8];
    memset(err, 'Z', sizeof err);
    ck_assert_int_eq(errfmt(err, sizeof err, "%s", "a rather long reason"), -1);
    ck_assert_str_eq(err, "a rathe");
    ck_assert_int_eq(err[7], '\0');

    char one[1] = {'Z'};
    ck_assert_int_eq(errfmt(one, sizeof one, "anything"), -1);
    ck_assert_int_eq(one[0], '\0');
}
END_TEST

START_TEST(test_no_buffer)
{
    ck_assert_int_eq(errfmt(NULL, 100, "ignored %d", 1), -1);
    char err[4] = "abc";
    ck_assert_int_eq(errfmt(err, 0, "ignored"), -1);
    ck_assert_str_eq(err, "abc"); /* a zero length writes nothing */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("errfmt");
    TCase *tc = tcase_create("errfmt");
    tcase_add_test(tc, test_formats_and_fails);
    tcase_add_test(tc, test_truncates);
    tcase_add_test(tc, test_no_buffer);
    suite_add_tcase(s, tc);
    SRunner *runner = srunner_create(s);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
