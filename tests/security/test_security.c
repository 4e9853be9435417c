/*  Start-up refusals and the trust boundary of the real alys-engine: what a
    misconfigured or unauthorised start or peer gets. Each test runs its own
    processes on its own endpoints and ports. */
#include <check.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actor_proc.h"
#include "clock.h"
#include "harness.h"
#include "peer.h"
#include "proto.h"
#include "stub_proc.h"

static char *s_dir;
static char s_jwt[512];

/*  Runs the actor with the given arguments (NULL-terminated) to its exit.
    Returns its exit code; *out gets stdout and stderr together (caller
    frees). Fails the test if it is still running after timeout_ms. */
static int run_actor(char **out, int timeout_ms, ...)
{
    char *argv[48];
    int n = 0;
    argv[n++] = "/bin/sh";
    argv[n++] = "-c";
    argv[n++] = "exec \"$0\" \"$@\" 2>&1";
    argv[n++] = (char *) actor_proc_bin();
    va_list ap;
    va_start(ap, timeout_ms);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < 47)
        argv[n++] = (char *) a;
    va_end(ap);
    argv[n] = NULL;
    int code = -1;
    ck_assert_msg(harness_run_capture(argv, out, &code, timeout_ms) == 0,
                  "the actor did not exit within %d ms", timeout_ms);
    return code;
}

/*  A TCP socket listening on a loopback port the kernel chose. */
static int listen_any(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(fd, (struct sockaddr *) &a, sizeof a), 0);
    ck_assert_int_eq(listen(fd, 4), 0);
    socklen_t len = sizeof a;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/*  A metrics address that cannot be bound stops the start, like a busy
    --bind, instead of an actor running without /health. */
START_TEST(test_busy_metrics_port_is_fatal)
{
    int port;
    int fd = listen_any(&port);
    char listen_at[64], endpoint[600];
    snprintf(listen_at, sizeof listen_at, "127.0.0.1:%d", port);
    snprintf(endpoint, sizeof endpoint, "ipc://%s/metrics-busy.sock", s_dir);
    char *out = NULL;
    int code = run_actor(&out, 10000, "--bind", endpoint, "--jwt-secret", s_jwt,
                         "--execution-endpoint", "http://127.0.0.1:9", "--execution-rpc",
                         "http://127.0.0.1:9", "--metrics-listen", listen_at, NULL);
    ck_assert_msg(code == 1, "exit code %d: %s", code, out);
    ck_assert_msg(strstr(out, "--metrics-listen") && strstr(out, listen_at), "%s", out);
    free(out);
    /* an address that is not HOST:PORT is refused the same way */
    code = run_actor(&out, 10000, "--bind", endpoint, "--jwt-secret", s_jwt,
                     "--metrics-listen", "nowhere", NULL);
    ck_assert_msg(code == 1, "exit code %d: %s", code, out);
    ck_assert_msg(strstr(out, "expected HOST:PORT"), "%s", out);
    free(out);
    close(fd);
}
END_TEST

int main(void)
{
    s_dir = harness_tmpdir("alys-security-");
    if (!s_dir)
        return 1;
    snprintf(s_jwt, sizeof s_jwt, "%s/jwt.hex", s_dir);
    if (stub_proc_write_secret(s_jwt, 0x20) != 0 || chmod(s_jwt, 0600) != 0) {
        fprintf(stderr, "cannot write the JWT secret into %s\n", s_dir);
        return 1;
    }
    Suite *s = suite_create("security");
    TCase *tc = tcase_create("trust boundary");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_busy_metrics_port_is_fatal);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (failed || getenv("ALYS_KEEP_TEST_DIRS"))
        fprintf(stderr, "test files kept in %s\n", s_dir);
    else
        harness_rmrf(s_dir);
    free(s_dir);
    return failed ? 1 : 0;
}
