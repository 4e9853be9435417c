/*  instance: the state dir lock and the ipc endpoint claim. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "instance.h"

static char s_dir[] = "/tmp/alys-instance-XXXXXX";

/*  A unix socket bound at path; listening when `listen_too`. */
static int unix_socket_at(const char *path, bool listen_too)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    ck_assert(strlen(path) < sizeof addr.sun_path);
    memcpy(addr.sun_path, path, strlen(path) + 1);
    ck_assert_int_eq(bind(fd, (struct sockaddr *) &addr, sizeof addr), 0);
    if (listen_too)
        ck_assert_int_eq(listen(fd, 1), 0);
    return fd;
}

START_TEST(test_lock_dir_is_exclusive)
{
    char dir[64], err[256];
    snprintf(dir, sizeof dir, "%s/state", s_dir);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    instance_t *a = instance_new(), *b = instance_new();
    ck_assert_int_eq(instance_lock_dir(a, dir, err, sizeof err), 0);
    /* flock belongs to the open file: a second open in this process conflicts too */
    ck_assert_int_eq(instance_lock_dir(b, dir, err, sizeof err), -1);
    char want[64];
    snprintf(want, sizeof want, "(pid %ld)", (long) getpid());
    ck_assert_msg(strstr(err, "in use by another alys-engine") && strstr(err, want), "%s", err);
    instance_destroy(&a);
    ck_assert_ptr_null(a);
    ck_assert_int_eq(instance_lock_dir(b, dir, err, sizeof err), 0);
    instance_destroy(&b);
    instance_destroy(&b);
    char missing[80];
    snprintf(missing, sizeof missing, "%s/nope", s_dir);
    instance_t *c = instance_new();
    ck_assert_int_eq(instance_lock_dir(c, missing, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "cannot open"));
    instance_destroy(&c);
}
END_TEST

START_TEST(test_claim_endpoint)
{
    char path[80], endpoint[100], err[256];
    snprintf(path, sizeof path, "%s/e.sock", s_dir);
    snprintf(endpoint, sizeof endpoint, "ipc://%s", path);
    instance_t *self = instance_new();
    /* nothing there, or not ipc: nothing to do */
    ck_assert_int_eq(instance_claim_endpoint(self, endpoint, err, sizeof err), 0);
    ck_assert_int_eq(instance_claim_endpoint(self, "tcp://127.0.0.1:1", err, sizeof err), 0);
    ck_assert_int_eq(instance_claim_endpoint(self, "ipc://@abstract", err, sizeof err), 0);
    /* a live listener: refused, and its file stays */
    int live = unix_socket_at(path, true);
    ck_assert_int_eq(instance_claim_endpoint(self, endpoint, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "another process is serving"), "%s", err);
    struct stat st;
    ck_assert_int_eq(lstat(path, &st), 0);
    close(live);
    /* the same file with nobody listening: stale, removed */
    ck_assert_int_eq(instance_claim_endpoint(self, endpoint, err, sizeof err), 0);
    ck_assert_int_eq(lstat(path, &st), -1);
    /* a regular file: refused, kept */
    FILE *f = fopen(path, "w");
    fclose(f);
    ck_assert_int_eq(instance_claim_endpoint(self, endpoint, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "is not a socket"));
    ck_assert_int_eq(unlink(path), 0);
    instance_destroy(&self);
}
END_TEST

START_TEST(test_bound_sets_mode_and_cleans_up)
{
    char path[80], endpoint[100], err[256];
    snprintf(path, sizeof path, "%s/b.sock", s_dir);
    snprintf(endpoint, sizeof endpoint, "ipc://%s", path);
    mode_t before = umask(0);
    int fd = unix_socket_at(path, true);
    umask(before);
    instance_t *self = instance_new();
    ck_assert_int_eq(instance_bound(self, endpoint, 0660, err, sizeof err), 0);
    struct stat st;
    ck_assert_int_eq(lstat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0660);
    instance_destroy(&self);
    ck_assert_int_eq(lstat(path, &st), -1);
    close(fd);
    /* a file that replaced ours is not ours to remove */
    fd = unix_socket_at(path, false);
    self = instance_new();
    ck_assert_int_eq(instance_bound(self, endpoint, 0660, err, sizeof err), 0);
    close(fd);
    ck_assert_int_eq(unlink(path), 0);
    fd = unix_socket_at(path, false);
    instance_destroy(&self);
    ck_assert_int_eq(lstat(path, &st), 0);
    close(fd);
    unlink(path);
    ck_assert_str_eq(instance_ipc_path("ipc:///run/x.sock"), "/run/x.sock");
    ck_assert_ptr_null(instance_ipc_path("tcp://127.0.0.1:5"));
}
END_TEST

int main(void)
{
    if (!mkdtemp(s_dir))
        return 1;
    Suite *s = suite_create("instance");
    TCase *tc = tcase_create("instance");
    tcase_add_test(tc, test_lock_dir_is_exclusive);
    tcase_add_test(tc, test_claim_endpoint);
    tcase_add_test(tc, test_bound_sets_mode_and_cleans_up);
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
