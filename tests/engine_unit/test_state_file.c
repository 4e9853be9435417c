/*  Unit tests for actors/engine/state_file.c: the fork choice file under
    --state-dir, saved atomically and read back after a restart. Each test
    works in its own temporary directory. */
#include "state_file.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMP_NAME ".forkchoice.tmp"

static char s_dir[64];
static char s_path[128];

static void setup(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/alys-state-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_dir));
    snprintf(s_path, sizeof s_path, "%s/forkchoice", s_dir);
}

/*  Removes what the tests may leave in the directory, then the directory. */
static void teardown(void)
{
    char p[192];
    snprintf(p, sizeof p, "%s/" TMP_NAME, s_dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/forkchoice/inner", s_dir);
    unlink(p);
    rmdir(s_path);
    unlink(s_path);
    rmdir(s_dir);
}

/*  The names in the test directory, sorted and joined with spaces. */
static void list_dir(char *out, size_t out_len)
{
    struct dirent **names = NULL;
    int n = scandir(s_dir, &names, NULL, alphasort);
    ck_assert_int_ge(n, 0);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i]->d_name, ".") != 0 && strcmp(names[i]->d_name, "..") != 0) {
            if (out[0])
                strncat(out, " ", out_len - strlen(out) - 1);
            strncat(out, names[i]->d_name, out_len - strlen(out) - 1);
        }
        free(names[i]);
    }
    free(names);
}

static void write_state(const char *text)
{
    FILE *f = fopen(s_path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_ge(fputs(text, f), 0);
    ck_assert_int_eq(fclose(f), 0);
}

static char *read_state(void)
{
    FILE *f = fopen(s_path, "r");
    ck_assert_ptr_nonnull(f);
    char *text = calloc(1, 1024);
    ck_assert_ptr_nonnull(text);
    size_t n = fread(text, 1, 1023, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

static fork_choice_t full_choice(uint64_t finalized_number)
{
    fork_choice_t fc;
    memset(&fc, 0, sizeof fc);
    fc.known = true;
    fc.has_head = fc.has_safe = fc.has_finalized = true;
    for (int i = 0; i < 32; i++) {
        fc.head[i] = (uint8_t) (0xa0 + i);
        fc.safe[i] = (uint8_t) (0x50 + i);
        fc.finalized[i] = (uint8_t) i;
    }
    fc.finalized_number = finalized_number;
    return fc;
}

/*  Expects state_file_load to call text malformed. */
static void assert_malformed(const char *text)
{
    write_state(text);
    fork_choice_t fc;
    memset(&fc, 0x5a, sizeof fc);
    char err[512] = "";
    ck_assert_msg(state_file_load(s_dir, &fc, err, sizeof err) == -1, "accepted:\n%s", text);
    ck_assert_msg(strstr(err, s_path) != NULL, "error '%s' does not name the file", err);
    ck_assert_ptr_nonnull(strstr(err, "malformed"));
    ck_assert(!fc.has_head);
    ck_assert(!fc.has_safe);
    ck_assert(!fc.has_finalized);
    ck_assert(!fc.known);
    ck_assert_uint_eq(fc.finalized_number, 0);
}

#define H64(c) #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c \
               #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c #c

/* ---------------------------------------------------------- round trip */

START_TEST(test_round_trip)
{
    fork_choice_t fc = full_choice(12345);
    ck_assert_int_eq(state_file_save(s_dir, &fc), 0);

    fork_choice_t back;
    memset(&back, 0x5a, sizeof back);
    char err[256] = "";
    ck_assert_msg(state_file_load(s_dir, &back, err, sizeof err) == 1, "%s", err);
    /* known stays false until the client confirms the hashes */
    ck_assert(!back.known);
    ck_assert(back.has_head && back.has_safe && back.has_finalized);
    ck_assert_mem_eq(back.head, fc.head, 32);
    ck_assert_mem_eq(back.safe, fc.safe, 32);
    ck_assert_mem_eq(back.finalized, fc.finalized, 32);
    ck_assert_uint_eq(back.finalized_number, 12345);

    char *text = read_state();
    ck_assert_ptr_nonnull(strstr(text, "\nhead=0xa0a1a2a3"));
    ck_assert_ptr_nonnull(strstr(text, "\nsafe=0x50515253"));
    ck_assert_ptr_nonnull(strstr(text, "\nfinalized=0x00010203"));
    ck_assert_ptr_nonnull(strstr(text, "\nfinalized_number=12345\n"));
    free(text);
}
END_TEST

START_TEST(test_round_trip_extremes)
{
    fork_choice_t fc = full_choice(UINT64_MAX);
    ck_assert_int_eq(state_file_save(s_dir, &fc), 0);
    fork_choice_t back;
    char err[256] = "";
    ck_assert_int_eq(state_file_load(s_dir, &back, err, sizeof err), 1);
    ck_assert_uint_eq(back.finalized_number, UINT64_MAX);

    fc = full_choice(0);
    memset(fc.head, 0, 32);
    ck_assert_int_eq(state_file_save(s_dir, &fc), 0);
    ck_assert_int_eq(state_file_load(s_dir, &back, err, sizeof err), 1);
    ck_assert_uint_eq(back.finalized_number, 0);
    ck_assert(back.has_head);
    ck_assert_mem_eq(back.head, fc.head, 32);
}
END_TEST

START_TEST(test_none_entries)
{
    fork_choice_t fc = full_choice(7);
    fc.has_safe = false;
    fc.has_finalized = false;
    ck_assert_int_eq(state_file_save(s_dir, &fc), 0);
    char *text = read_state();
    ck_assert_ptr_nonnull(strstr(text, "\nsafe=none\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nfinalized=none\n"));
    free(text);

    fork_choice_t back;
    char err[256] = "";
    ck_assert_int_eq(state_file_load(s_dir, &back, err, sizeof err), 1);
    ck_assert(back.has_head);
    ck_assert_mem_eq(back.head, fc.head, 32);
    ck_assert(!back.has_safe);
    ck_assert(!back.has_finalized);
    ck_assert_uint_eq(back.finalized_number, 7);

    /* nothing known at all */
    memset(&fc, 0, sizeof fc);
    ck_assert_int_eq(state_file_save(s_dir, &fc), 0);
    memset(&back, 0x5a, sizeof back);
    ck_assert_int_eq(state_file_load(s_dir, &back, err, sizeof err), 1);
    ck_assert(!back.has_head);
    ck_assert(!back.has_safe);
    ck_assert(!back.has_finalized);
    ck_assert_uint_eq(back.finalized_number, 0);
}
END_TEST

/* ------------------------------------------------------------- missing */

START_TEST(test_missing_file)
{
    fork_choice_t fc;
    memset(&fc, 0, sizeof fc);
    char err[256] = "untouched";
    ck_assert_int_eq(state_file_load(s_dir, &fc, err, sizeof err), 0);
    ck_assert_str_eq(err, "untouched");
    ck_assert(!fc.has_head);

    char gone[128];
    snprintf(gone, sizeof gone, "%s/absent", s_dir);
    ck_assert_int_eq(state_file_load(gone, &fc, err, sizeof err), 0);
}
END_TEST

/* ----------------------------------------------------------- malformed */

START_TEST(test_malformed)
{
    const char *h = "0x" H64(a);
    char text[1024];

    /* a line without '=' */
    snprintf(text, sizeof text, "head=%s\nsafe=none\nfinalized=none\ngarbage\nfinalized_number=0\n", h);
    assert_malformed(text);
    /* each of the four keys missing */
    snprintf(text, sizeof text, "safe=none\nfinalized=none\nfinalized_number=0\n");
    assert_malformed(text);
    snprintf(text, sizeof text, "head=%s\nfinalized=none\nfinalized_number=0\n", h);
    assert_malformed(text);
    snprintf(text, sizeof text, "head=%s\nsafe=none\nfinalized_number=0\n", h);
    assert_malformed(text);
    snprintf(text, sizeof text, "head=%s\nsafe=none\nfinalized=none\n", h);
    assert_malformed(text);
    /* short, long and non-hex hashes */
    snprintf(text, sizeof text, "head=%.64s\nsafe=none\nfinalized=none\nfinalized_number=0\n", h);
    assert_malformed(text);
    snprintf(text, sizeof text, "head=%saa\nsafe=none\nfinalized=none\nfinalized_number=0\n", h);
    assert_malformed(text);
    snprintf(text, sizeof text, "head=0x" H64(g) "\nsafe=none\nfinalized=none\nfinalized_number=0\n");
    assert_malformed(text);
    snprintf(text, sizeof text, "head=%s\nsafe=None\nfinalized=none\nfinalized_number=0\n", h);
    assert_malformed(text);
    snprintf(text, sizeof text, "head=%s\nsafe=\nfinalized=none\nfinalized_number=0\n", h);
    assert_malformed(text);
    /* bad numbers */
    snprintf(text, sizeof text, "head=%s\nsafe=none\nfinalized=none\nfinalized_number=-1\n", h);
    assert_malformed(text);
    snprintf(text, sizeof text, "head=%s\nsafe=none\nfinalized=none\nfinalized_number=12a\n", h);
    assert_malformed(text);
    snprintf(text, sizeof text, "head=%s\nsafe=none\nfinalized=none\nfinalized_number=\n", h);
    assert_malformed(text);
    /* a key twice, even with the same value */
    snprintf(text, sizeof text, "head=%s\nsafe=none\nfinalized=none\nfinalized_number=1\nsafe=none\n", h);
    assert_malformed(text);
    /* empty file */
    assert_malformed("");
    assert_malformed("# only a comment\n");
}
END_TEST

START_TEST(test_lenient_reading)
{
    /* comments, blank lines, CRLF, unknown keys and any key order are fine */
    const char *text = "# written by hand\r\n"
                       "\r\n"
                       "finalized_number=0x10\r\n"
                       "version=2\r\n"
                       "finalized=none\r\n"
                       "safe=" H64(5) "\r\n"
                       "head=0X" H64(A) "\r\n";
    write_state(text);
    fork_choice_t fc;
    char err[256] = "";
    ck_assert_msg(state_file_load(s_dir, &fc, err, sizeof err) == 1, "%s", err);
    ck_assert(fc.has_head);
    ck_assert_int_eq(fc.head[0], 0xaa);
    ck_assert_int_eq(fc.head[31], 0xaa);
    ck_assert(fc.has_safe);
    ck_assert_int_eq(fc.safe[17], 0x55);
    ck_assert(!fc.has_finalized);
    ck_assert_uint_eq(fc.finalized_number, 16);
}
END_TEST

START_TEST(test_directory_in_place)
{
    ck_assert_int_eq(mkdir(s_path, 0755), 0);
    fork_choice_t fc;
    char err[256] = "";
    ck_assert_int_eq(state_file_load(s_dir, &fc, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, s_path));
}
END_TEST

/* -------------------------------------------------------------- atomic */

START_TEST(test_atomic_replace)
{
    char names[256];
    fork_choice_t a = full_choice(100);
    ck_assert_int_eq(state_file_save(s_dir, &a), 0);
    list_dir(names, sizeof names);
    ck_assert_str_eq(names, "forkchoice");

    fork_choice_t b = full_choice(200);
    b.head[0] = 0x01;
    b.has_safe = false;
    ck_assert_int_eq(state_file_save(s_dir, &b), 0);
    list_dir(names, sizeof names);
    ck_assert_str_eq(names, "forkchoice");

    fork_choice_t back;
    char err[256] = "";
    ck_assert_int_eq(state_file_load(s_dir, &back, err, sizeof err), 1);
    ck_assert_uint_eq(back.finalized_number, 200);
    ck_assert_int_eq(back.head[0], 0x01);
    ck_assert(!back.has_safe);

    /* a temporary file left by a crash is taken over and removed */
    char tmp[192];
    snprintf(tmp, sizeof tmp, "%s/" TMP_NAME, s_dir);
    FILE *f = fopen(tmp, "w");
    ck_assert_ptr_nonnull(f);
    fputs("half a fork choice", f);
    fclose(f);
    ck_assert_int_eq(state_file_save(s_dir, &a), 0);
    list_dir(names, sizeof names);
    ck_assert_str_eq(names, "forkchoice");
    ck_assert_int_eq(state_file_load(s_dir, &back, err, sizeof err), 1);
    ck_assert_uint_eq(back.finalized_number, 100);
}
END_TEST

START_TEST(test_save_into_missing_dir)
{
    char gone[128];
    snprintf(gone, sizeof gone, "%s/absent", s_dir);
    fork_choice_t fc = full_choice(1);
    errno = 0;
    ck_assert_int_eq(state_file_save(gone, &fc), -1);
    ck_assert_int_eq(errno, ENOENT);
}
END_TEST

/*  When the rename fails (here: a non-empty directory holds the name), the
    save fails as it should, but the temporary file stays behind: the write
    error path unlinks it, the rename error path does not. This test fails
    until state_file_save unlinks tmp when rename() fails. */
START_TEST(test_failed_rename_leaves_no_temp)
{
    ck_assert_int_eq(mkdir(s_path, 0755), 0);
    char inner[192];
    snprintf(inner, sizeof inner, "%s/inner", s_path);
    FILE *f = fopen(inner, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);

    fork_choice_t fc = full_choice(1);
    ck_assert_int_eq(state_file_save(s_dir, &fc), -1);
    char names[256];
    list_dir(names, sizeof names);
    ck_assert_str_eq(names, "forkchoice");
}
END_TEST

static Suite *state_file_suite(void)
{
    Suite *s = suite_create("state_file");
    TCase *tc = tcase_create("state_file");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_round_trip_extremes);
    tcase_add_test(tc, test_none_entries);
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_lenient_reading);
    tcase_add_test(tc, test_directory_in_place);
    tcase_add_test(tc, test_atomic_replace);
    tcase_add_test(tc, test_save_into_missing_dir);
    tcase_add_test(tc, test_failed_rename_leaves_no_temp);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *runner = srunner_create(state_file_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
