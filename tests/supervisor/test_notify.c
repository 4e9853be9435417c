/*  Unit tests of common/notify: datagrams to a path and to an abstract
    socket, the environment it reads and clears, and the watchdog interval. */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify.h"

/*  A receiving datagram socket bound to name ("/path" or "@abstract"). */
static int listener(const char *name)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    size_t len = strlen(name);
    socklen_t alen;
    if (name[0] == '@') {
        memcpy(addr.sun_path + 1, name + 1, len - 1);
        alen = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + len);
    } else {
        memcpy(addr.sun_path, name, len);
        alen = (socklen_t) sizeof addr;
    }
    ck_assert_msg(bind(fd, (struct sockaddr *) &addr, alen) == 0, "bind %s: %s", name,
                  strerror(errno));
    return fd;
}

static void expect_datagram(int fd, const char *want)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    ck_assert_int_eq(poll(&p, 1, 2000), 1);
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
    ck_assert_int_gt(n, 0);
    buf[n] = 0;
    ck_assert_str_eq(buf, want);
}

static void clear_env(void)
{
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
}

START_TEST(test_path_socket_and_env_cleared)
{
    char dir[] = "/tmp/alys-notify-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[200];
    snprintf(path, sizeof path, "%s/notify.sock", dir);
    int fd = listener(path);
    clear_env();
    setenv("NOTIFY_SOCKET", path, 1);
    setenv("WATCHDOG_USEC", "3000000", 1);
    char err[256] = "";
    notify_t *n = notify_new(true, err, sizeof err);
    ck_assert_msg(n != NULL, "%s", err);
    ck_assert(notify_enabled(n));
    ck_assert_uint_eq(notify_watchdog_usec(n), 3000000);
    ck_assert_ptr_null(getenv("NOTIFY_SOCKET"));
    ck_assert_ptr_null(getenv("WATCHDOG_USEC"));
    ck_assert_int_eq(notify_send(n, "READY=1"), 0);
    expect_datagram(fd, "READY=1");
    ck_assert_int_eq(notify_sendf(n, "STATUS=%d children, %s", 2, "all up"), 0);
    expect_datagram(fd, "STATUS=2 children, all up");
    ck_assert_int_eq(notify_send(n, "WATCHDOG=1\nSTATUS=fine"), 0);
    expect_datagram(fd, "WATCHDOG=1\nSTATUS=fine");
    notify_destroy(&n);
    ck_assert_ptr_null(n);
    notify_destroy(&n);
    close(fd);

    /* the manager went away: a send fails, nothing crashes */
    unlink(path);
    setenv("NOTIFY_SOCKET", path, 1);
    n = notify_new(false, err, sizeof err);
    ck_assert_ptr_nonnull(n);
    ck_assert_str_eq(getenv("NOTIFY_SOCKET"), path);
    ck_assert_int_eq(notify_send(n, "READY=1"), -1);
    notify_destroy(&n);
    rmdir(dir);
    clear_env();
}
END_TEST

START_TEST(test_abstract_socket)
{
    char name[64];
    snprintf(name, sizeof name, "@alys-notify-test-%d", (int) getpid());
    int fd = listener(name);
    clear_env();
    setenv("NOTIFY_SOCKET", name, 1);
    char err[256] = "";
    notify_t *n = notify_new(true, err, sizeof err);
    ck_assert_msg(n != NULL, "%s", err);
    ck_assert_uint_eq(notify_watchdog_usec(n), 0);
    ck_assert_int_eq(notify_send(n, "STOPPING=1"), 0);
    expect_datagram(fd, "STOPPING=1");
    notify_destroy(&n);
    close(fd);
}
END_TEST

START_TEST(test_disabled_is_a_no_op)
{
    clear_env();
    setenv("WATCHDOG_USEC", "1000000", 1);
    char err[256] = "";
    notify_t *n = notify_new(true, err, sizeof err);
    ck_assert_ptr_nonnull(n);
    ck_assert(!notify_enabled(n));
    ck_assert_uint_eq(notify_watchdog_usec(n), 0);
    ck_assert_int_eq(notify_send(n, "READY=1"), 0);
    ck_assert_int_eq(notify_sendf(n, "STATUS=%s", "x"), 0);
    notify_destroy(&n);
    ck_assert(!notify_enabled(NULL));
    ck_assert_uint_eq(notify_watchdog_usec(NULL), 0);
}
END_TEST

START_TEST(test_bad_socket_names)
{
    const char *bad[] = {"relative/path", "@", "vsock:2:1234", NULL};
    for (int i = 0; bad[i]; i++) {
        clear_env();
        setenv("NOTIFY_SOCKET", bad[i], 1);
        char err[256] = "";
        notify_t *n = notify_new(true, err, sizeof err);
        ck_assert_msg(n == NULL, "'%s' accepted", bad[i]);
        ck_assert_msg(strstr(err, "NOTIFY_SOCKET") != NULL, "%s", err);
    }
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[0] = '/';
    longname[sizeof longname - 1] = 0;
    setenv("NOTIFY_SOCKET", longname, 1);
    char err[256] = "";
    ck_assert_ptr_null(notify_new(true, err, sizeof err));
    ck_assert(strstr(err, "too long") != NULL);
    clear_env();
}
END_TEST

/*  WATCHDOG_PID names the process the watchdog is meant for. */
START_TEST(test_watchdog_pid)
{
    char name[64];
    snprintf(name, sizeof name, "@alys-notify-wd-%d", (int) getpid());
    int fd = listener(name);
    char pid[32];
    char err[256];
    clear_env();
    setenv("NOTIFY_SOCKET", name, 1);
    setenv("WATCHDOG_USEC", "500000", 1);
    snprintf(pid, sizeof pid, "%d", (int) getpid());
    setenv("WATCHDOG_PID", pid, 1);
    notify_t *n = notify_new(true, err, sizeof err);
    ck_assert_uint_eq(notify_watchdog_usec(n), 500000);
    ck_assert_ptr_null(getenv("WATCHDOG_PID"));
    notify_destroy(&n);

    setenv("NOTIFY_SOCKET", name, 1);
    setenv("WATCHDOG_USEC", "500000", 1);
    snprintf(pid, sizeof pid, "%d", (int) getpid() + 1);
    setenv("WATCHDOG_PID", pid, 1);
    n = notify_new(true, err, sizeof err);
    ck_assert_uint_eq(notify_watchdog_usec(n), 0);
    notify_destroy(&n);

    setenv("NOTIFY_SOCKET", name, 1);
    setenv("WATCHDOG_USEC", "soon", 1);
    n = notify_new(true, err, sizeof err);
    ck_assert_uint_eq(notify_watchdog_usec(n), 0);
    notify_destroy(&n);
    close(fd);
    clear_env();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("notify");
    TCase *tc = tcase_create("sd_notify protocol");
    tcase_add_test(tc, test_path_socket_and_env_cleared);
    tcase_add_test(tc, test_abstract_socket);
    tcase_add_test(tc, test_disabled_is_a_no_op);
    tcase_add_test(tc, test_bad_socket_names);
    tcase_add_test(tc, test_watchdog_pid);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
