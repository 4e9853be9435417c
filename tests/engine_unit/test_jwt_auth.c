/*  Unit tests for actors/engine/jwt_auth.c: the secret file and the HS256
    bearer header. Tokens are checked with libjwt's own decoder and the same
    key. The test is linked with --wrap=jwt_encode_str so that it can count
    how often a token is actually signed. */
#include "jwt_auth.h"

#include <check.h>
#include <errno.h>
#include <jwt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_HEX "0f1e2d3c4b5a69788796a5b4c3d2e1f000112233445566778899aabbccddeeff"
#define BEARER "Authorization: Bearer "

/* ---------------------------------------------------- signing counter */

char *__real_jwt_encode_str(jwt_t *jwt);
char *__wrap_jwt_encode_str(jwt_t *jwt);

static int s_signings;

char *__wrap_jwt_encode_str(jwt_t *jwt)
{
    s_signings++;
    return __real_jwt_encode_str(jwt);
}

/* ------------------------------------------------------------- helpers */

static const uint8_t s_secret[32] = {
    0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78, 0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0,
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
};

static char s_dir[64];

static void make_dir(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/alys-jwt-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_dir));
}

static void remove_dir(void)
{
    ck_assert_int_eq(rmdir(s_dir), 0);
}

/*  Writes len bytes to DIR/name and puts the path in path. */
static void write_file(const char *name, const void *data, size_t len, char *path, size_t path_len)
{
    snprintf(path, path_len, "%s/%s", s_dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

/*  Checks that header is a bearer header whose token verifies as HS256 with
    key and carries iat. */
static void assert_token(const char *header, const uint8_t key[32], time_t iat)
{
    ck_assert_ptr_nonnull(header);
    ck_assert_int_eq(strncmp(header, BEARER, strlen(BEARER)), 0);
    const char *token = header + strlen(BEARER);
    /* header.payload.signature, all base64url */
    size_t dots = 0;
    for (const char *p = token; *p; p++) {
        dots += *p == '.';
        ck_assert_msg(*p != ' ' && *p != '=' && *p != '+' && *p != '/', "bad token char %c", *p);
    }
    ck_assert_uint_eq(dots, 2);

    jwt_t *jwt = NULL;
    ck_assert_int_eq(jwt_decode(&jwt, token, key, 32), 0);
    ck_assert_ptr_nonnull(jwt);
    ck_assert_int_eq(jwt_get_alg(jwt), JWT_ALG_HS256);
    errno = 0;
    long got = jwt_get_grant_int(jwt, "iat");
    ck_assert_int_eq(errno, 0);
    ck_assert_int_eq(got, (long) iat);
    jwt_free(jwt);
}

/*  Copies the header for time now into out (the module's buffer is reused). */
static void copy_header(jwt_auth_t *auth, time_t now, char *out, size_t out_len)
{
    const char *h = jwt_auth_header(auth, now);
    ck_assert_ptr_nonnull(h);
    ck_assert_uint_lt(strlen(h), out_len);
    memcpy(out, h, strlen(h) + 1);
}

/* -------------------------------------------------------------- secret */

START_TEST(test_parse_plain)
{
    uint8_t secret[32];
    char err[128] = "";
    ck_assert_int_eq(jwt_auth_parse_secret(SECRET_HEX, secret, err, sizeof err), 0);
    ck_assert_mem_eq(secret, s_secret, 32);
}
END_TEST

START_TEST(test_parse_prefix_case_whitespace)
{
    const char *ok[] = {
        "0x" SECRET_HEX,
        "0X" SECRET_HEX,
        "0x0F1E2D3C4B5A69788796A5B4C3D2E1F000112233445566778899AABBCCDDEEFF",
        "0F1e2D3c4B5a69788796a5B4c3D2e1F000112233445566778899AaBbCcDdEeFf",
        "  " SECRET_HEX "\n",
        "\t\n 0x" SECRET_HEX " \r\n\n",
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        uint8_t secret[32];
        memset(secret, 0, sizeof secret);
        char err[128] = "";
        ck_assert_msg(jwt_auth_parse_secret(ok[i], secret, err, sizeof err) == 0,
                      "rejected '%s': %s", ok[i], err);
        ck_assert_mem_eq(secret, s_secret, 32);
    }
}
END_TEST

START_TEST(test_parse_rejects)
{
    const char *bad[] = {
        "",
        "   \n",
        "0x",
        /* 63 and 65 digits */
        "0f1e2d3c4b5a69788796a5b4c3d2e1f000112233445566778899aabbccddeef",
        "0f1e2d3c4b5a69788796a5b4c3d2e1f000112233445566778899aabbccddeeff0",
        /* 62 digits behind the prefix, 66 without one */
        "0x0f1e2d3c4b5a69788796a5b4c3d2e1f000112233445566778899aabbccddee",
        "000f1e2d3c4b5a69788796a5b4c3d2e1f000112233445566778899aabbccddeeff",
        /* a non-hex digit */
        "0f1e2d3c4b5a69788796a5b4c3d2e1f000112233445566778899aabbccddeegf",
        /* inner whitespace */
        "0f1e2d3c4b5a69788796a5b4 3d2e1f000112233445566778899aabbccddeeff",
        /* two prefixes */
        "0x0x1e2d3c4b5a69788796a5b4c3d2e1f000112233445566778899aabbccddeeff",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint8_t secret[32];
        char err[128] = "";
        ck_assert_msg(jwt_auth_parse_secret(bad[i], secret, err, sizeof err) == -1,
                      "accepted '%s'", bad[i]);
        ck_assert_msg(strstr(err, "64 hex") != NULL, "unhelpful error '%s'", err);
    }
}
END_TEST

START_TEST(test_parse_too_long)
{
    char text[201];
    memset(text, 'a', 200);
    text[200] = '\0';
    uint8_t secret[32];
    char err[128] = "";
    ck_assert_int_eq(jwt_auth_parse_secret(text, secret, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "200 characters"));
}
END_TEST

/* ---------------------------------------------------------------- file */

START_TEST(test_file_valid)
{
    make_dir();
    char path[256];
    const char text[] = "0x" SECRET_HEX "\n";
    write_file("jwt.hex", text, strlen(text), path, sizeof path);
    char err[256] = "";
    jwt_auth_t *auth = jwt_auth_new(path, err, sizeof err);
    ck_assert_msg(auth != NULL, "%s", err);
    assert_token(jwt_auth_header(auth, 1700000000), s_secret, 1700000000);
    jwt_auth_destroy(&auth);
    ck_assert_ptr_null(auth);
    jwt_auth_destroy(&auth);
    unlink(path);
    remove_dir();
}
END_TEST

/*  Who may read the file: any group or other bit is refused when strict
    (naming the mode), accepted (with a warning) otherwise; 0600 and 0400
    pass both. */
START_TEST(test_file_permissions)
{
    make_dir();
    char path[256];
    const char text[] = SECRET_HEX "\n";
    write_file("jwt.hex", text, strlen(text), path, sizeof path);
    char err[256] = "";
    static const mode_t loose[] = {0644, 0640, 0604, 0660, 0606};
    for (size_t i = 0; i < sizeof loose / sizeof *loose; i++) {
        ck_assert_int_eq(chmod(path, loose[i]), 0);
        err[0] = '\0';
        ck_assert_ptr_null(jwt_auth_load(path, true, err, sizeof err));
        char want[16];
        snprintf(want, sizeof want, "mode %04o", (unsigned) loose[i]);
        ck_assert_msg(strstr(err, want) && strstr(err, path), "%s", err);
        jwt_auth_t *auth = jwt_auth_load(path, false, err, sizeof err);
        ck_assert_ptr_nonnull(auth);
        jwt_auth_destroy(&auth);
    }
    static const mode_t tight[] = {0600, 0400};
    for (size_t i = 0; i < sizeof tight / sizeof *tight; i++) {
        ck_assert_int_eq(chmod(path, tight[i]), 0);
        jwt_auth_t *auth = jwt_auth_load(path, true, err, sizeof err);
        ck_assert_msg(auth != NULL, "%s", err);
        assert_token(jwt_auth_header(auth, 1700000000), s_secret, 1700000000);
        jwt_auth_destroy(&auth);
    }
    unlink(path);
    remove_dir();
}
END_TEST

START_TEST(test_file_missing)
{
    make_dir();
    char path[256];
    snprintf(path, sizeof path, "%s/absent.hex", s_dir);
    char err[256] = "";
    ck_assert_ptr_null(jwt_auth_new(path, err, sizeof err));
    ck_assert_msg(strstr(err, path) != NULL, "error '%s' does not name the file", err);
    ck_assert_ptr_nonnull(strstr(err, strerror(ENOENT)));
    remove_dir();
}
END_TEST

START_TEST(test_file_empty)
{
    make_dir();
    char path[256];
    write_file("empty.hex", "", 0, path, sizeof path);
    char err[256] = "";
    ck_assert_ptr_null(jwt_auth_new(path, err, sizeof err));
    ck_assert_msg(strstr(err, path) != NULL, "error '%s' does not name the file", err);
    ck_assert_ptr_nonnull(strstr(err, "64 hex"));
    unlink(path);
    remove_dir();
}
END_TEST

START_TEST(test_file_bad_contents)
{
    make_dir();
    char path[256], err[256];
    struct {
        const char *name;
        const char *data;
        size_t len;
    } cases[] = {
        {"short.hex", "0xabcdef\n", 9},
        {"nothex.hex", "zz" SECRET_HEX, 66},
        {"nul.hex", SECRET_HEX "\0" "00", 67},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_file(cases[i].name, cases[i].data, cases[i].len, path, sizeof path);
        err[0] = '\0';
        ck_assert_ptr_null(jwt_auth_new(path, err, sizeof err));
        ck_assert_msg(strstr(err, path) != NULL, "error '%s' does not name the file", err);
        unlink(path);
    }

    /* far larger than any secret */
    char big[1000];
    memset(big, 'a', sizeof big);
    write_file("big.hex", big, sizeof big, path, sizeof path);
    err[0] = '\0';
    ck_assert_ptr_null(jwt_auth_new(path, err, sizeof err));
    ck_assert_msg(strstr(err, path) != NULL, "error '%s' does not name the file", err);
    unlink(path);
    remove_dir();
}
END_TEST

START_TEST(test_file_is_directory)
{
    make_dir();
    char err[256] = "";
    ck_assert_ptr_null(jwt_auth_new(s_dir, err, sizeof err));
    ck_assert_msg(strstr(err, s_dir) != NULL, "error '%s' does not name the file", err);
    remove_dir();
}
END_TEST

/* -------------------------------------------------------------- header */

START_TEST(test_header_verifies)
{
    jwt_auth_t *auth = jwt_auth_new_from_secret(s_secret);
    ck_assert_ptr_nonnull(auth);
    const char *h = jwt_auth_header(auth, 1234567890);
    assert_token(h, s_secret, 1234567890);

    /* another key must not verify it */
    uint8_t other[32];
    memcpy(other, s_secret, 32);
    other[31] ^= 1;
    jwt_t *jwt = NULL;
    ck_assert_int_ne(jwt_decode(&jwt, h + strlen(BEARER), other, 32), 0);
    jwt_free(jwt);
    jwt_auth_destroy(&auth);
}
END_TEST

START_TEST(test_header_at_zero)
{
    /* a fresh object has nothing cached, even for time 0 */
    jwt_auth_t *auth = jwt_auth_new_from_secret(s_secret);
    ck_assert_ptr_nonnull(auth);
    s_signings = 0;
    assert_token(jwt_auth_header(auth, 0), s_secret, 0);
    ck_assert_int_eq(s_signings, 1);
    jwt_auth_destroy(&auth);
}
END_TEST

START_TEST(test_header_cached_within_second)
{
    jwt_auth_t *auth = jwt_auth_new_from_secret(s_secret);
    ck_assert_ptr_nonnull(auth);
    s_signings = 0;

    char first[512];
    copy_header(auth, 1000, first, sizeof first);
    ck_assert_int_eq(s_signings, 1);
    const char *again = jwt_auth_header(auth, 1000);
    ck_assert_int_eq(s_signings, 1);
    ck_assert_str_eq(again, first);

    char next[512];
    copy_header(auth, 1001, next, sizeof next);
    ck_assert_int_eq(s_signings, 2);
    ck_assert_str_ne(next, first);
    assert_token(next, s_secret, 1001);
    ck_assert_str_eq(jwt_auth_header(auth, 1001), next);
    ck_assert_int_eq(s_signings, 2);

    /* going back a second is a new second too; HS256 is deterministic */
    ck_assert_str_eq(jwt_auth_header(auth, 1000), first);
    ck_assert_int_eq(s_signings, 3);
    assert_token(first, s_secret, 1000);
    jwt_auth_destroy(&auth);
}
END_TEST

START_TEST(test_header_depends_on_secret)
{
    uint8_t other[32];
    memset(other, 0x42, sizeof other);
    jwt_auth_t *a = jwt_auth_new_from_secret(s_secret);
    jwt_auth_t *b = jwt_auth_new_from_secret(other);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    char ha[512];
    copy_header(a, 5000, ha, sizeof ha);
    const char *hb = jwt_auth_header(b, 5000);
    ck_assert_str_ne(ha, hb);
    assert_token(hb, other, 5000);
    assert_token(ha, s_secret, 5000);
    jwt_auth_destroy(&a);
    jwt_auth_destroy(&b);
}
END_TEST

static Suite *jwt_suite(void)
{
    Suite *s = suite_create("jwt_auth");
    TCase *secret = tcase_create("secret");
    tcase_add_test(secret, test_parse_plain);
    tcase_add_test(secret, test_parse_prefix_case_whitespace);
    tcase_add_test(secret, test_parse_rejects);
    tcase_add_test(secret, test_parse_too_long);
    suite_add_tcase(s, secret);

    TCase *file = tcase_create("file");
    tcase_add_test(file, test_file_valid);
    tcase_add_test(file, test_file_missing);
    tcase_add_test(file, test_file_permissions);
    tcase_add_test(file, test_file_empty);
    tcase_add_test(file, test_file_bad_contents);
    tcase_add_test(file, test_file_is_directory);
    suite_add_tcase(s, file);

    TCase *header = tcase_create("header");
    tcase_add_test(header, test_header_verifies);
    tcase_add_test(header, test_header_at_zero);
    tcase_add_test(header, test_header_cached_within_second);
    tcase_add_test(header, test_header_depends_on_secret);
    suite_add_tcase(s, header);
    return s;
}

int main(void)
{
    SRunner *runner = srunner_create(jwt_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
