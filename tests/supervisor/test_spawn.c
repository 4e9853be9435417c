/*  Unit tests of supervisor/spawn: what a supervised program inherits (and
    does not), how failures to start are reported, process groups, and exit
    statuses in words. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spawn.h"

/*  Runs sh -c script through spawn_process and returns its wait status. */
static int run_sh(const char *script, char *const extra_env[], int stdin_fd)
{
    char *argv[] = {"sh", "-c", (char *) script, NULL};
    pid_t pid = spawn_process(argv, extra_env, stdin_fd);
    ck_assert_msg(pid > 0, "spawn failed: %s", strerror(errno));
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return status;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

START_TEST(test_exit_statuses_in_words)
{
    char buf[128];
    int st = run_sh("exit 3", NULL, -1);
    spawn_describe_status(st, buf, sizeof buf);
    ck_assert_str_eq(buf, "exited with code 3");
    ck_assert(!spawn_status_is_success(st));
    st = run_sh("exit 0", NULL, -1);
    ck_assert(spawn_status_is_success(st));
    st = run_sh("kill -KILL $$", NULL, -1);
    spawn_describe_status(st, buf, sizeof buf);
    ck_assert_str_eq(buf, "killed by signal 9 (SIGKILL)");
    ck_assert(!spawn_status_is_success(st));
}
END_TEST

START_TEST(test_missing_program)
{
    char *abs_argv[] = {"/nonexistent/alys-prog", NULL};
    errno = 0;
    ck_assert_int_eq(spawn_process(abs_argv, NULL, -1), -1);
    ck_assert_int_eq(errno, ENOENT);
    char *path_argv[] = {"alys-no-such-program-anywhere", NULL};
    errno = 0;
    ck_assert_int_eq(spawn_process(path_argv, NULL, -1), -1);
    ck_assert_int_eq(errno, ENOENT);
    /* a file that exists but cannot be executed: the exec fails in the child */
    char path[] = "/tmp/alys-spawn-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    chmod(path, 0600);
    char *noexec_argv[] = {path, NULL};
    errno = 0;
    ck_assert_int_eq(spawn_process(noexec_argv, NULL, -1), -1);
    ck_assert_int_eq(errno, EACCES);
    unlink(path);
    char *none[] = {NULL};
    ck_assert_int_eq(spawn_process(none, NULL, -1), -1);
}
END_TEST

/*  A descriptor the supervisor left open without FD_CLOEXEC (as libzmq's
    or a library's might be) does not reach the program. */
START_TEST(test_no_descriptor_leaks)
{
    int fd = open("/dev/null", O_RDONLY);
    ck_assert_int_gt(fd, 2);
    char script[128];
    snprintf(script, sizeof script, "[ -e /proc/self/fd/%d ] && exit 1; exit 0", fd);
    int st = run_sh(script, NULL, -1);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fd %d leaked into the child", fd);
    close(fd);
}
END_TEST

START_TEST(test_environment_override)
{
    char *extra[] = {"ALYS_SPAWN_TEST=yes", "HOME=/override", NULL};
    setenv("HOME", "/original", 1);
    int st = run_sh("test \"$ALYS_SPAWN_TEST\" = yes && test \"$HOME\" = /override", extra, -1);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    st = run_sh("test \"$HOME\" = /original", NULL, -1);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}
END_TEST

/*  The supervisor blocks SIGTERM (it reads it from a signalfd) and ignores
    SIGPIPE; its children must start with neither. */
START_TEST(test_signal_mask_and_dispositions_reset)
{
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, &old);
    void (*prev)(int) = signal(SIGUSR1, SIG_IGN);
    int st = run_sh("kill -TERM $$; sleep 2; exit 0", NULL, -1);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "SIGTERM stayed blocked");
    st = run_sh("kill -USR1 $$; sleep 2; exit 0", NULL, -1);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR1, "SIGUSR1 stayed ignored");
    signal(SIGUSR1, prev);
    sigprocmask(SIG_SETMASK, &old, NULL);
}
END_TEST

START_TEST(test_stdin_redirect)
{
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int st = run_sh("read line; exit $?", NULL, null_fd);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) != 0); /* EOF at once, no hang */
    close(null_fd);
}
END_TEST

/*  The program leads its own group, and spawn_signal reaches its helpers. */
START_TEST(test_process_group)
{
    /* orphans of the group come back to us to be reaped, whatever init is */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    char *argv[] = {"sh", "-c", "sleep 30 & wait", NULL};
    pid_t pid = spawn_process(argv, NULL, -1);
    ck_assert_int_gt(pid, 0);
    ck_assert_int_eq(getpgid(pid), pid);
    ck_assert_int_eq(spawn_signal(pid, SIGKILL), 0);
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status));
    /* the background sleep was in the group too */
    int tries = 0;
    while (kill(-pid, 0) == 0 && tries++ < 200) {
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
        sleep_ms(10);
    }
    ck_assert_int_eq(kill(-pid, 0), -1);
    ck_assert_int_eq(errno, ESRCH);
    ck_assert_int_eq(spawn_signal(0, SIGTERM), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("spawn");
    TCase *tc = tcase_create("fork and exec");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_exit_statuses_in_words);
    tcase_add_test(tc, test_missing_program);
    tcase_add_test(tc, test_no_descriptor_leaks);
    tcase_add_test(tc, test_environment_override);
    tcase_add_test(tc, test_signal_mask_and_dispositions_reset);
    tcase_add_test(tc, test_stdin_redirect);
    tcase_add_test(tc, test_process_group);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
