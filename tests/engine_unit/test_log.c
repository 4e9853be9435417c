/*  Unit tests for common/log.c: level names, the threshold, and the shape of
    the line written to stderr (captured in a temporary file). */
#include "log.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------- helpers */

static int s_saved_stderr = -1;
static FILE *s_capture;

static void capture_start(void)
{
    s_capture = tmpfile();
    ck_assert_ptr_nonnull(s_capture);
    s_saved_stderr = dup(STDERR_FILENO);
    ck_assert_int_ge(s_saved_stderr, 0);
    ck_assert_int_ge(dup2(fileno(s_capture), STDERR_FILENO), 0);
}

/*  Restores stderr and returns what was written meanwhile (caller frees). */
static char *capture_end(void)
{
    dup2(s_saved_stderr, STDERR_FILENO);
    close(s_saved_stderr);
    s_saved_stderr = -1;
    fseek(s_capture, 0, SEEK_END);
    long size = ftell(s_capture);
    ck_assert_int_ge(size, 0);
    rewind(s_capture);
    char *text = calloc(1, (size_t) size + 1);
    ck_assert_ptr_nonnull(text);
    size_t got = fread(text, 1, (size_t) size, s_capture);
    fclose(s_capture);
    s_capture = NULL;
    text[got] = '\0';
    return text;
}

static size_t count_char(const char *s, char c)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

static void reset_level(void)
{
    log_set_level(ALOG_INFO);
    log_set_program("alys");
}

/* -------------------------------------------------------------- levels */

START_TEST(test_parse_names)
{
    log_level_t level = ALOG_INFO;
    ck_assert_int_eq(log_level_parse("error", &level), 0);
    ck_assert_int_eq(level, ALOG_ERROR);
    ck_assert_int_eq(log_level_parse("warn", &level), 0);
    ck_assert_int_eq(level, ALOG_WARN);
    ck_assert_int_eq(log_level_parse("debug", &level), 0);
    ck_assert_int_eq(level, ALOG_DEBUG);
    ck_assert_int_eq(log_level_parse("info", &level), 0);
    ck_assert_int_eq(level, ALOG_INFO);
}
END_TEST

START_TEST(test_parse_any_case)
{
    log_level_t level = ALOG_INFO;
    ck_assert_int_eq(log_level_parse("DEBUG", &level), 0);
    ck_assert_int_eq(level, ALOG_DEBUG);
    ck_assert_int_eq(log_level_parse("Error", &level), 0);
    ck_assert_int_eq(level, ALOG_ERROR);
    ck_assert_int_eq(log_level_parse("wArN", &level), 0);
    ck_assert_int_eq(level, ALOG_WARN);
}
END_TEST

START_TEST(test_parse_rejects)
{
    const char *bad[] = {"", "warning", "trace", "verbose", "err", "info ", " info", "3", "debugx"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        log_level_t level = ALOG_WARN;
        ck_assert_msg(log_level_parse(bad[i], &level) == -1, "accepted '%s'", bad[i]);
        ck_assert_int_eq(level, ALOG_WARN);
    }
}
END_TEST

START_TEST(test_set_get)
{
    log_set_level(ALOG_DEBUG);
    ck_assert_int_eq(log_get_level(), ALOG_DEBUG);
    log_set_level(ALOG_ERROR);
    ck_assert_int_eq(log_get_level(), ALOG_ERROR);
    reset_level();
    ck_assert_int_eq(log_get_level(), ALOG_INFO);
}
END_TEST

/* -------------------------------------------------------------- output */

START_TEST(test_threshold)
{
    log_set_program("unit-log");
    log_set_level(ALOG_WARN);
    capture_start();
    log_error("first %d", 1);
    log_warn("second %s", "two");
    log_info("dropped info");
    log_debug("dropped debug");
    char *out = capture_end();
    reset_level();

    ck_assert_uint_eq(count_char(out, '\n'), 2);
    ck_assert_ptr_nonnull(strstr(out, "unit-log["));
    ck_assert_ptr_nonnull(strstr(out, " error: first 1\n"));
    ck_assert_ptr_nonnull(strstr(out, " warn: second two\n"));
    ck_assert_ptr_null(strstr(out, "dropped"));
    /* the error line comes first */
    ck_assert(strstr(out, "first") < strstr(out, "second"));
    free(out);
}
END_TEST

START_TEST(test_line_shape)
{
    log_set_program("shape");
    log_set_level(ALOG_DEBUG);
    capture_start();
    log_debug("value=%u", 7u);
    char *out = capture_end();
    reset_level();

    /* 2024-01-02T03:04:05.678Z shape[123] debug: value=7 */
    ck_assert_uint_gt(strlen(out), 25);
    ck_assert_int_eq(out[4], '-');
    ck_assert_int_eq(out[7], '-');
    ck_assert_int_eq(out[10], 'T');
    ck_assert_int_eq(out[13], ':');
    ck_assert_int_eq(out[16], ':');
    ck_assert_int_eq(out[19], '.');
    ck_assert_int_eq(out[23], 'Z');
    char want[64];
    snprintf(want, sizeof want, " shape[%d] debug: value=7\n", (int) getpid());
    ck_assert_str_eq(out + 24, want);
    free(out);
}
END_TEST

START_TEST(test_newlines_flattened)
{
    capture_start();
    log_info("one\ntwo\nthree");
    char *out = capture_end();
    reset_level();
    ck_assert_uint_eq(count_char(out, '\n'), 1);
    ck_assert_ptr_nonnull(strstr(out, "info: one two three\n"));
    free(out);
}
END_TEST

START_TEST(test_long_line_truncated)
{
    size_t big = 5000;
    char *msg = malloc(big + 1);
    ck_assert_ptr_nonnull(msg);
    memset(msg, 'a', big);
    msg[big] = '\0';
    capture_start();
    log_info("%s", msg);
    char *out = capture_end();
    free(msg);
    ck_assert_uint_eq(count_char(out, '\n'), 1);
    size_t len = strlen(out);
    ck_assert_uint_le(len, 2048);
    ck_assert_uint_gt(len, 1900);
    ck_assert_int_eq(out[len - 1], '\n');
    ck_assert_int_eq(out[len - 2], 'a');
    free(out);
}
END_TEST

/*  Sets JOURNAL_STREAM to the dev:ino of the capture file (what systemd
    does for the stream it hands over), or to another inode. */
static void set_journal_stream(bool matching)
{
    struct stat st;
    ck_assert_int_eq(fstat(STDERR_FILENO, &st), 0);
    char value[64];
    snprintf(value, sizeof value, "%llu:%llu", (unsigned long long) st.st_dev,
             (unsigned long long) st.st_ino + (matching ? 0 : 1));
    setenv("JOURNAL_STREAM", value, 1);
}

START_TEST(test_journal_prefix)
{
    log_set_program("journal");
    log_set_level(ALOG_DEBUG);
    capture_start();
    set_journal_stream(true);
    ck_assert_int_eq(log_detect_journal(), 1);
    log_error("e %d", 1);
    log_warn("w");
    log_info("i");
    log_debug("d");
    char *out = capture_end();
    unsetenv("JOURNAL_STREAM");
    log_detect_journal();
    reset_level();
    /* the priority journald reads, no timestamp or pid of our own */
    ck_assert_str_eq(out, "<3>error: e 1\n<4>warn: w\n<6>info: i\n<7>debug: d\n");
    free(out);
}
END_TEST

START_TEST(test_journal_stream_of_another_fd)
{
    capture_start();
    set_journal_stream(false);
    ck_assert_int_eq(log_detect_journal(), 0);
    log_warn("plain");
    char *out = capture_end();
    setenv("JOURNAL_STREAM", "garbage", 1);
    ck_assert_int_eq(log_detect_journal(), 0);
    unsetenv("JOURNAL_STREAM");
    ck_assert_int_eq(log_detect_journal(), 0);
    reset_level();
    ck_assert_int_ne(out[0], '<');
    ck_assert_int_eq(out[23], 'Z');
    ck_assert_ptr_nonnull(strstr(out, " warn: plain\n"));
    free(out);
}
END_TEST

static Suite *log_suite(void)
{
    Suite *s = suite_create("log");
    TCase *levels = tcase_create("levels");
    tcase_add_test(levels, test_parse_names);
    tcase_add_test(levels, test_parse_any_case);
    tcase_add_test(levels, test_parse_rejects);
    tcase_add_test(levels, test_set_get);
    suite_add_tcase(s, levels);

    TCase *out = tcase_create("output");
    tcase_add_test(out, test_threshold);
    tcase_add_test(out, test_line_shape);
    tcase_add_test(out, test_newlines_flattened);
    tcase_add_test(out, test_long_line_truncated);
    tcase_add_test(out, test_journal_prefix);
    tcase_add_test(out, test_journal_stream_of_another_fd);
    suite_add_tcase(s, out);
    return s;
}

int main(void)
{
    SRunner *runner = srunner_create(log_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
