/*  curve: key files, server keys, client setup and which tcp binds are
    exposed to other hosts. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "curve.h"

static char s_dir[] = "/tmp/alys-curve-XXXXXX";

START_TEST(test_exposed)
{
    ck_assert(!curve_endpoint_exposed("ipc:///run/alys/engine.sock"));
    ck_assert(!curve_endpoint_exposed("tcp://127.0.0.1:5555"));
    ck_assert(!curve_endpoint_exposed("tcp://127.1.2.3:5555"));
    ck_assert(!curve_endpoint_exposed("tcp://localhost:5555"));
    ck_assert(!curve_endpoint_exposed("tcp://[::1]:5555"));
    ck_assert(curve_endpoint_exposed("tcp://0.0.0.0:5555"));
    ck_assert(curve_endpoint_exposed("tcp://*:5555"));
    ck_assert(curve_endpoint_exposed("tcp://10.0.0.5:5555"));
    ck_assert(curve_endpoint_exposed("tcp://eth0:5555"));
    ck_assert(curve_endpoint_exposed("tcp://[::]:5555"));
    ck_assert(curve_endpoint_exposed("tcp://127.0.0.1.evil:5555"));
    ck_assert(curve_endpoint_exposed("tcp://128.0.0.1:5555"));
    ck_assert(curve_endpoint_exposed("tcp://nocolon"));
}
END_TEST

START_TEST(test_keygen_and_load)
{
    char path[80], secret[96], err[512];
    snprintf(path, sizeof path, "%s/peer", s_dir);
    snprintf(secret, sizeof secret, "%s_secret", path);
    ck_assert_int_eq(curve_keygen(path, err, sizeof err), 0);
    struct stat st;
    ck_assert_int_eq(stat(secret, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0644);
    /* never over an existing pair */
    ck_assert_int_eq(curve_keygen(path, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "already exists"));
    /* both names find the secret file */
    zcert_t *a = curve_load_secret(secret, err, sizeof err);
    zcert_t *b = curve_load_secret(path, err, sizeof err);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_str_eq(zcert_public_txt(a), zcert_public_txt(b));
    /* the server key: the file, or its 40 characters */
    char key[CURVE_KEY_TXT], key2[CURVE_KEY_TXT];
    ck_assert_int_eq(curve_server_key(path, key, err, sizeof err), 0);
    ck_assert_str_eq(key, zcert_public_txt(a));
    ck_assert_int_eq(curve_server_key(key, key2, err, sizeof err), 0);
    ck_assert_str_eq(key2, key);
    ck_assert_int_eq(curve_server_key("not a key", key2, err, sizeof err), -1);
    ck_assert_int_eq(curve_server_key("0123456789012345678901234567890123456789~", key2, err,
                                      sizeof err), -1);
    /* a public file alone has no secret key */
    char lone[96];
    snprintf(lone, sizeof lone, "%s/lone", s_dir);
    ck_assert_int_eq(link(path, lone), 0);
    ck_assert_ptr_null(curve_load_secret(lone, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "no secret key"));
    char missing[96];
    snprintf(missing, sizeof missing, "%s/missing", s_dir);
    ck_assert_ptr_null(curve_load_secret(missing, err, sizeof err));
    /* a client socket takes the keys */
    zsock_t *sock = zsock_new(ZMQ_DEALER);
    ck_assert_int_eq(curve_client_setup(zsock_resolve(sock), secret, path, err, sizeof err), 0);
    ck_assert_int_eq(curve_client_setup(zsock_resolve(sock), lone, path, err, sizeof err), -1);
    zsock_destroy(&sock);
    curve_cert_destroy(&a);
    curve_cert_destroy(&b);
    curve_cert_destroy(&b);
    ck_assert_ptr_null(a);
}
END_TEST

int main(void)
{
    if (!mkdtemp(s_dir))
        return 1;
    Suite *s = suite_create("curve");
    TCase *tc = tcase_create("curve");
    tcase_add_test(tc, test_exposed);
    tcase_add_test(tc, test_keygen_and_load);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    char cmd[80];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s_dir);
    if (system(cmd) != 0)
        failed++;
    return failed ? 1 : 0;
}
