/*  Unit tests of supervisor/restart: the sliding restart-intensity window
    and the backoff between quick restarts. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "restart.h"

START_TEST(test_window_allows_intensity_then_refuses)
{
    restart_window_t *w = restart_window_new(3, 1000);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(restart_window_add(w, 0), 0);
    ck_assert_int_eq(restart_window_add(w, 100), 0);
    ck_assert_int_eq(restart_window_add(w, 200), 0);
    ck_assert_uint_eq(restart_window_count(w, 200), 3);
    ck_assert_int_eq(restart_window_add(w, 300), -1);
    restart_window_destroy(&w);
    ck_assert_ptr_null(w);
    restart_window_destroy(&w); /* safe twice */
}
END_TEST

/*  OTP keeps a restart that happened exactly `period` ago; one millisecond
    later it no longer counts. */
START_TEST(test_window_slides_with_inclusive_edge)
{
    restart_window_t *w = restart_window_new(3, 1000);
    ck_assert_int_eq(restart_window_add(w, 0), 0);
    ck_assert_int_eq(restart_window_add(w, 500), 0);
    ck_assert_int_eq(restart_window_add(w, 999), 0);
    ck_assert_uint_eq(restart_window_count(w, 1000), 3);
    ck_assert_uint_eq(restart_window_count(w, 1001), 2);
    ck_assert_int_eq(restart_window_add(w, 1000), -1);
    restart_window_destroy(&w);

    w = restart_window_new(3, 1000);
    ck_assert_int_eq(restart_window_add(w, 0), 0);
    ck_assert_int_eq(restart_window_add(w, 500), 0);
    ck_assert_int_eq(restart_window_add(w, 999), 0);
    ck_assert_int_eq(restart_window_add(w, 1001), 0);
    ck_assert_uint_eq(restart_window_count(w, 1001), 3);
    restart_window_destroy(&w);
}
END_TEST

/*  Restarts spread out at less than the intensity per period never trip it,
    however long it runs. */
START_TEST(test_window_steady_rate_is_fine)
{
    restart_window_t *w = restart_window_new(5, 10000);
    for (int64_t t = 0; t < 1000000; t += 2001)
        ck_assert_int_eq(restart_window_add(w, t), 0);
    restart_window_destroy(&w);
    /* 6 per 10 s is one too many */
    w = restart_window_new(5, 10000);
    int rc = 0;
    for (int64_t t = 0; t < 100000 && rc == 0; t += 1666)
        rc = restart_window_add(w, t);
    ck_assert_int_eq(rc, -1);
    restart_window_destroy(&w);
}
END_TEST

START_TEST(test_window_zero_intensity_and_bad_args)
{
    restart_window_t *w = restart_window_new(0, 5000);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(restart_window_add(w, 42), -1);
    restart_window_destroy(&w);
    ck_assert_ptr_null(restart_window_new(3, 0));
    ck_assert_ptr_null(restart_window_new(3, -5));
    ck_assert_ptr_null(restart_window_new(RESTART_MAX_INTENSITY + 1, 1000));
}
END_TEST

START_TEST(test_window_configure_keeps_recent)
{
    restart_window_t *w = restart_window_new(5, 1000);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(restart_window_add(w, i * 10), 0);
    /* Lower intensity: the four recent restarts already exceed 2. */
    ck_assert_int_eq(restart_window_configure(w, 2, 1000), 0);
    ck_assert_uint_eq(restart_window_count(w, 40), 3);
    ck_assert_int_eq(restart_window_add(w, 40), -1);
    /* Higher intensity and a shorter period. */
    ck_assert_int_eq(restart_window_configure(w, 10, 100), 0);
    ck_assert_uint_eq(restart_window_count(w, 2000), 0);
    ck_assert_int_eq(restart_window_add(w, 2000), 0);
    ck_assert_int_eq(restart_window_configure(w, 10, 0), -1);
    ck_assert_uint_eq(restart_window_count(w, 2000), 1);
    restart_window_destroy(&w);
}
END_TEST

START_TEST(test_backoff_doubles_and_caps)
{
    backoff_policy_t p = {.initial_ms = 100, .max_ms = 5000, .stable_ms = 10000};
    static const int64_t want[] = {0, 100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000};
    for (unsigned i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_int_eq(backoff_delay_ms(&p, i), want[i]);
    /* no overflow, whatever the attempt number */
    ck_assert_int_eq(backoff_delay_ms(&p, 64), 5000);
    ck_assert_int_eq(backoff_delay_ms(&p, 100000), 5000);
    backoff_policy_t big = {.initial_ms = 1, .max_ms = INT64_MAX / 2, .stable_ms = 1};
    ck_assert_int_eq(backoff_delay_ms(&big, 70), INT64_MAX / 2);
    backoff_policy_t huge = {.initial_ms = 3, .max_ms = INT64_MAX, .stable_ms = 1};
    ck_assert_int_eq(backoff_delay_ms(&huge, 200), INT64_MAX);
    backoff_policy_t flat = {.initial_ms = 250, .max_ms = 250, .stable_ms = 1000};
    ck_assert_int_eq(backoff_delay_ms(&flat, 1), 250);
    ck_assert_int_eq(backoff_delay_ms(&flat, 9), 250);
}
END_TEST

/*  A child that crashes at once climbs the ladder; one that ran for the
    stable period starts over at an immediate restart. */
START_TEST(test_backoff_streak_resets_after_stable_run)
{
    backoff_policy_t p = {.initial_ms = 100, .max_ms = 1000, .stable_ms = 10000};
    unsigned streak = 0;
    int64_t delays[6];
    for (int i = 0; i < 6; i++) {
        unsigned attempt = backoff_attempt(&p, streak, 5, false);
        delays[i] = backoff_delay_ms(&p, attempt);
        streak = attempt + 1;
    }
    ck_assert_int_eq(delays[0], 0);
    ck_assert_int_eq(delays[1], 100);
    ck_assert_int_eq(delays[2], 200);
    ck_assert_int_eq(delays[3], 400);
    ck_assert_int_eq(delays[4], 800);
    ck_assert_int_eq(delays[5], 1000);
    ck_assert_uint_eq(backoff_attempt(&p, streak, 9999, false), streak);
    ck_assert_uint_eq(backoff_attempt(&p, streak, 10000, false), 0);
    ck_assert_uint_eq(backoff_attempt(&p, streak, 123456, false), 0);
}
END_TEST

/*  An instance that came up (answered a ping) and then died is restarted at
    once however short its run: a storm of kills keeps restarts immediate.
    Only starts that never come up climb the ladder, and more of them in a
    row than start_failures is a crash loop. */
START_TEST(test_backoff_came_up_is_immediate_and_crash_loop)
{
    backoff_policy_t p = {.initial_ms = 100, .max_ms = 1000, .stable_ms = 10000,
                          .start_failures = 5};
    unsigned streak = 0;
    for (int i = 0; i < 100; i++) {
        unsigned attempt = backoff_attempt(&p, streak, 50, true);
        ck_assert_int_eq(backoff_delay_ms(&p, attempt), 0);
        streak = attempt + 1;
    }
    ck_assert_uint_eq(backoff_attempt(&p, 7, 50, false), 7);
    ck_assert(!backoff_crash_loop(&p, 0));
    ck_assert(!backoff_crash_loop(&p, 5));
    ck_assert(backoff_crash_loop(&p, 6));
    backoff_policy_t off = {.initial_ms = 100, .max_ms = 1000, .stable_ms = 10000};
    ck_assert(!backoff_crash_loop(&off, 1000000));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("restart");
    TCase *tc = tcase_create("window and backoff");
    tcase_add_test(tc, test_window_allows_intensity_then_refuses);
    tcase_add_test(tc, test_window_slides_with_inclusive_edge);
    tcase_add_test(tc, test_window_steady_rate_is_fine);
    tcase_add_test(tc, test_window_zero_intensity_and_bad_args);
    tcase_add_test(tc, test_window_configure_keeps_recent);
    tcase_add_test(tc, test_backoff_doubles_and_caps);
    tcase_add_test(tc, test_backoff_streak_resets_after_stable_run);
    tcase_add_test(tc, test_backoff_came_up_is_immediate_and_crash_loop);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
