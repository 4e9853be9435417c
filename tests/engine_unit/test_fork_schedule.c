/*  Unit tests for actors/engine/fork_schedule.c: the --forks string, the
    fork in force at a timestamp, and the Engine API method names. */
#include "fork_schedule.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static void parse_ok(const char *text, fork_schedule_t *s)
{
    char err[256] = "";
    memset(s, 0x5a, sizeof *s);
    ck_assert_msg(fork_schedule_parse(text, s, err, sizeof err) == 0, "rejected '%s': %s", text, err);
    ck_assert(s->configured);
}

/*  Expects text to be rejected with an error that contains want. */
static void parse_bad(const char *text, const char *want)
{
    fork_schedule_t s;
    char err[256] = "";
    ck_assert_msg(fork_schedule_parse(text, &s, err, sizeof err) == -1, "accepted '%s'", text);
    ck_assert_msg(strstr(err, want) != NULL, "'%s': error '%s' lacks '%s'", text, err, want);
}

static bool contains(const char **list, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0)
            return true;
    return false;
}

/* ------------------------------------------------------------- parsing */

START_TEST(test_default)
{
    fork_schedule_t s;
    memset(&s, 0x5a, sizeof s);
    fork_schedule_default(&s);
    ck_assert(!s.configured);
    ck_assert_uint_eq(s.shanghai, 0);
    ck_assert_uint_eq(s.cancun, UINT64_MAX);
    ck_assert_uint_eq(s.prague, UINT64_MAX);
}
END_TEST

START_TEST(test_parse_valid)
{
    fork_schedule_t s;
    parse_ok("shanghai=0,cancun=100,prague=200", &s);
    ck_assert_uint_eq(s.shanghai, 0);
    ck_assert_uint_eq(s.cancun, 100);
    ck_assert_uint_eq(s.prague, 200);

    parse_ok("cancun=1700000000", &s);
    ck_assert_uint_eq(s.shanghai, 0);
    ck_assert_uint_eq(s.cancun, 1700000000);
    ck_assert_uint_eq(s.prague, UINT64_MAX);

    /* any order of items; equal times are allowed */
    parse_ok("prague=50,cancun=50", &s);
    ck_assert_uint_eq(s.cancun, 50);
    ck_assert_uint_eq(s.prague, 50);

    parse_ok("shanghai=0,cancun=never,prague=never", &s);
    ck_assert_uint_eq(s.cancun, UINT64_MAX);
    ck_assert_uint_eq(s.prague, UINT64_MAX);

    parse_ok("cancun=0,prague=0", &s);
    ck_assert_uint_eq(s.cancun, 0);
    ck_assert_uint_eq(s.prague, 0);

    /* nothing given: the defaults, but configured */
    parse_ok("", &s);
    ck_assert_uint_eq(s.shanghai, 0);
    ck_assert_uint_eq(s.cancun, UINT64_MAX);
    ck_assert_uint_eq(s.prague, UINT64_MAX);

    /* the last value given for a fork wins */
    parse_ok("cancun=10,cancun=20", &s);
    ck_assert_uint_eq(s.cancun, 20);

    parse_ok("cancun=18446744073709551614", &s);
    ck_assert_uint_eq(s.cancun, UINT64_MAX - 1);
}
END_TEST

START_TEST(test_parse_invalid)
{
    parse_bad("osaka=5", "unknown fork 'osaka'");
    parse_bad("Cancun=5", "unknown fork");
    parse_bad("cancun", "expected FORK=TIMESTAMP");
    parse_bad("cancun=", "not a timestamp");
    parse_bad("cancun=abc", "not a timestamp");
    parse_bad("cancun=12x", "not a timestamp");
    parse_bad("cancun=-1", "not a timestamp");
    parse_bad("cancun=+1", "not a timestamp");
    parse_bad("cancun=0x10", "not a timestamp");
    parse_bad("cancun=18446744073709551616", "not a timestamp");
    parse_bad("cancun=Never", "not a timestamp");

    char long_text[400];
    memset(long_text, 'c', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    parse_bad(long_text, "too long");
}
END_TEST

START_TEST(test_parse_order_rules)
{
    /* the actor speaks V2 on: Shanghai from genesis only */
    parse_bad("shanghai=5", "shanghai=0");
    parse_bad("shanghai=1,cancun=10", "shanghai=0");
    parse_bad("shanghai=never", "in order");
    /* later forks may not precede earlier ones */
    parse_bad("cancun=200,prague=100", "in order");
    parse_bad("prague=100", "in order");
    parse_bad("cancun=never,prague=0", "in order");
}
END_TEST

/*  parse_time refuses a leading sign but strtoull skips blanks first, so
    "cancun= -1" reads as 2^64-1 (never) and " -5" as 2^64-5, a time that
    then counts as configured. This test fails until parse_time rejects
    anything that does not start with a digit. */
START_TEST(test_parse_rejects_blank_then_sign)
{
    fork_schedule_t s;
    char err[256] = "";
    ck_assert_msg(fork_schedule_parse("cancun= -5", &s, err, sizeof err) == -1,
                  "accepted 'cancun= -5' as %llu", (unsigned long long) s.cancun);
    ck_assert_msg(fork_schedule_parse("cancun= -1", &s, err, sizeof err) == -1,
                  "accepted 'cancun= -1' as %llu", (unsigned long long) s.cancun);
}
END_TEST

/* ------------------------------------------------------------- fork_at */

START_TEST(test_fork_at_boundaries)
{
    fork_schedule_t s;
    parse_ok("cancun=100,prague=200", &s);
    ck_assert_int_eq(fork_at(&s, 0), FORK_SHANGHAI);
    ck_assert_int_eq(fork_at(&s, 99), FORK_SHANGHAI);
    ck_assert_int_eq(fork_at(&s, 100), FORK_CANCUN);
    ck_assert_int_eq(fork_at(&s, 199), FORK_CANCUN);
    ck_assert_int_eq(fork_at(&s, 200), FORK_PRAGUE);
    ck_assert_int_eq(fork_at(&s, UINT64_MAX - 1), FORK_PRAGUE);

    /* Cancun and Prague at once: Prague */
    parse_ok("cancun=100,prague=100", &s);
    ck_assert_int_eq(fork_at(&s, 99), FORK_SHANGHAI);
    ck_assert_int_eq(fork_at(&s, 100), FORK_PRAGUE);

    fork_schedule_default(&s);
    ck_assert_int_eq(fork_at(&s, 0), FORK_SHANGHAI);
    ck_assert_int_eq(fork_at(&s, 4000000000u), FORK_SHANGHAI);
    ck_assert_int_eq(fork_at(&s, UINT64_MAX - 1), FORK_SHANGHAI);

    parse_ok("cancun=0", &s);
    ck_assert_int_eq(fork_at(&s, 0), FORK_CANCUN);
    ck_assert_int_eq(fork_at(&s, UINT64_MAX - 1), FORK_CANCUN);
}
END_TEST

/* ------------------------------------------------------------- methods */

START_TEST(test_method_names)
{
    ck_assert_str_eq(fork_name(FORK_SHANGHAI), "shanghai");
    ck_assert_str_eq(fork_name(FORK_CANCUN), "cancun");
    ck_assert_str_eq(fork_name(FORK_PRAGUE), "prague");

    ck_assert_str_eq(fork_fcu_method(FORK_SHANGHAI), "engine_forkchoiceUpdatedV2");
    ck_assert_str_eq(fork_fcu_method(FORK_CANCUN), "engine_forkchoiceUpdatedV3");
    ck_assert_str_eq(fork_fcu_method(FORK_PRAGUE), "engine_forkchoiceUpdatedV3");

    ck_assert_str_eq(fork_get_payload_method(FORK_SHANGHAI), "engine_getPayloadV2");
    ck_assert_str_eq(fork_get_payload_method(FORK_CANCUN), "engine_getPayloadV3");
    ck_assert_str_eq(fork_get_payload_method(FORK_PRAGUE), "engine_getPayloadV4");

    ck_assert_str_eq(fork_new_payload_method(FORK_SHANGHAI), "engine_newPayloadV2");
    ck_assert_str_eq(fork_new_payload_method(FORK_CANCUN), "engine_newPayloadV3");
    ck_assert_str_eq(fork_new_payload_method(FORK_PRAGUE), "engine_newPayloadV4");
}
END_TEST

START_TEST(test_required_methods_default)
{
    fork_schedule_t s;
    fork_schedule_default(&s);
    const char *out[16];
    size_t n = fork_required_methods(&s, out, 16);
    ck_assert_uint_eq(n, 4);
    ck_assert_ptr_null(out[n]);
    ck_assert(contains(out, n, "engine_forkchoiceUpdatedV2"));
    ck_assert(contains(out, n, "engine_getPayloadV2"));
    ck_assert(contains(out, n, "engine_newPayloadV2"));
    ck_assert(contains(out, n, "engine_getPayloadBodiesByHashV1"));
    ck_assert(!contains(out, n, "engine_newPayloadV3"));
}
END_TEST

START_TEST(test_required_methods_all_forks)
{
    fork_schedule_t s;
    parse_ok("cancun=10,prague=20", &s);
    const char *out[16];
    size_t n = fork_required_methods(&s, out, 16);
    /* V2 x3, V3 x3, V4 getPayload and newPayload (no fcU V4), bodies */
    ck_assert_uint_eq(n, 9);
    ck_assert_ptr_null(out[n]);
    const char *want[] = {
        "engine_forkchoiceUpdatedV2", "engine_getPayloadV2", "engine_newPayloadV2",
        "engine_forkchoiceUpdatedV3", "engine_getPayloadV3", "engine_newPayloadV3",
        "engine_getPayloadV4", "engine_newPayloadV4", "engine_getPayloadBodiesByHashV1",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        ck_assert_msg(contains(out, n, want[i]), "missing %s", want[i]);
    /* no duplicates */
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            ck_assert_str_ne(out[i], out[j]);
    ck_assert(!contains(out, n, "engine_forkchoiceUpdatedV4"));

    /* Cancun only */
    parse_ok("cancun=10", &s);
    n = fork_required_methods(&s, out, 16);
    ck_assert_uint_eq(n, 7);
    ck_assert(contains(out, n, "engine_newPayloadV3"));
    ck_assert(!contains(out, n, "engine_newPayloadV4"));
}
END_TEST

START_TEST(test_required_methods_bounded)
{
    fork_schedule_t s;
    parse_ok("cancun=10,prague=20", &s);
    const char *out[4];
    const char *guard = "guard";
    out[3] = guard;
    size_t n = fork_required_methods(&s, out, 3);
    /* room for two names and the terminating NULL */
    ck_assert_uint_eq(n, 2);
    ck_assert_ptr_null(out[2]);
    ck_assert_ptr_eq(out[3], guard);
}
END_TEST

static Suite *fork_schedule_suite(void)
{
    Suite *s = suite_create("fork_schedule");
    TCase *parse = tcase_create("parse");
    tcase_add_test(parse, test_default);
    tcase_add_test(parse, test_parse_valid);
    tcase_add_test(parse, test_parse_invalid);
    tcase_add_test(parse, test_parse_order_rules);
    tcase_add_test(parse, test_parse_rejects_blank_then_sign);
    suite_add_tcase(s, parse);

    TCase *at = tcase_create("fork_at");
    tcase_add_test(at, test_fork_at_boundaries);
    suite_add_tcase(s, at);

    TCase *methods = tcase_create("methods");
    tcase_add_test(methods, test_method_names);
    tcase_add_test(methods, test_required_methods_default);
    tcase_add_test(methods, test_required_methods_all_forks);
    tcase_add_test(methods, test_required_methods_bounded);
    suite_add_tcase(s, methods);
    return s;
}

int main(void)
{
    SRunner *runner = srunner_create(fork_schedule_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
