#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

extern char **environ;

/*  The $PATH search happens here, in the parent, because execvp may
    allocate and must not run between fork and exec. */
static char *resolve_program(const char *name)
{
    if (strchr(name, '/'))
        return strdup(name);
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    int saved = ENOENT;
    for (const char *p = path; *p;) {
        const char *colon = strchr(p, ':');
        size_t dir_len = colon ? (size_t) (colon - p) : strlen(p);
        char *full = NULL;
        if (asprintf(&full, "%.*s/%s", (int) dir_len, dir_len ? p : ".", name) < 0)
            return NULL;
        if (access(full, X_OK) == 0)
            return full;
        if (errno == EACCES)
            saved = EACCES;
        free(full);
        p += dir_len;
        if (*p == ':')
            p++;
    }
    errno = saved;
    return NULL;
}

char *spawn_find_program(const char *name)
{
    char *path = resolve_program(name);
    if (!path)
        return NULL;
    struct stat st;
    if (stat(path, &st) != 0) {
        free(path);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || access(path, X_OK) != 0) {
        free(path);
        errno = EACCES;
        return NULL;
    }
    return path;
}

static bool overridden(const char *entry, char *const extra_env[])
{
    const char *eq = strchr(entry, '=');
    size_t key_len = eq ? (size_t) (eq - entry) : strlen(entry);
    for (size_t i = 0; extra_env && extra_env[i]; i++)
        if (strncmp(extra_env[i], entry, key_len) == 0 && extra_env[i][key_len] == '=')
            return true;
    return false;
}

/*  The child's environment: ours without the keys that extra_env sets, then
    extra_env. Only the vector is allocated; the strings are borrowed. */
static char **build_env(char *const extra_env[])
{
    size_t n = 0, m = 0;
    while (environ && environ[n])
        n++;
    while (extra_env && extra_env[m])
        m++;
    char **env = calloc(n + m + 1, sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!overridden(environ[i], extra_env))
            env[k++] = environ[i];
    for (size_t i = 0; i < m; i++)
        env[k++] = extra_env[i];
    env[k] = NULL;
    return env;
}

/*  Marks every descriptor above stderr close-on-exec. close_range does it in
    one call (Linux 5.11); the fallback walks the descriptor table, still
    using only async-signal-safe calls. */
static void cloexec_from(int first)
{
    if (syscall(SYS_close_range, (unsigned) first, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
        return;
    struct rlimit rl;
    int max = 65536;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
        && rl.rlim_cur < (rlim_t) max)
        max = (int) rl.rlim_cur;
    for (int fd = first; fd < max; fd++) {
        int flags = fcntl(fd, F_GETFD);
        if (flags >= 0 && !(flags & FD_CLOEXEC))
            fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
}

/*  Runs in the child between fork and exec: async-signal-safe calls only.
    Reports errno through the close-on-exec pipe if exec fails. */
static void __attribute__((noreturn))
child_exec(const char *path, char *const argv[], char *const envp[], int stdin_fd,
           int report_fd, pid_t parent)
{
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    int e = 0;
    if (getppid() != parent) {
        e = ESRCH; /* the supervisor died already: do not start an orphan */
        goto fail;
    }
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (stdin_fd >= 0 && stdin_fd != STDIN_FILENO && dup2(stdin_fd, STDIN_FILENO) < 0) {
        e = errno;
        goto fail;
    }
    cloexec_from(STDERR_FILENO + 1);
    execve(path, argv, envp);
    e = errno;
fail:;
    ssize_t w = write(report_fd, &e, sizeof e);
    (void) w;
    _exit(127);
}

pid_t spawn_process(char *const argv[], char *const extra_env[], int stdin_fd)
{
    if (!argv || !argv[0]) {
        errno = EINVAL;
        return -1;
    }
    char *path = resolve_program(argv[0]);
    if (!path)
        return -1;
    char **envp = build_env(extra_env);
    int report[2] = {-1, -1};
    if (!envp || pipe2(report, O_CLOEXEC) < 0) {
        int e = envp ? errno : ENOMEM;
        free(path);
        free(envp);
        errno = e;
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0)
        child_exec(path, argv, envp, stdin_fd, report[1], parent);
    int fork_errno = errno;
    close(report[1]);
    free(path);
    free(envp);
    if (pid < 0) {
        close(report[0]);
        errno = fork_errno;
        return -1;
    }
    /*  Also set from this side: a signal sent to the group right after we
        return must not miss a child that has not run yet. */
    setpgid(pid, pid);
    int child_errno = 0;
    ssize_t n;
    while ((n = read(report[0], &child_errno, sizeof child_errno)) < 0 && errno == EINTR)
        ;
    close(report[0]);
    if (n > 0) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        errno = child_errno ? child_errno : ECHILD;
        return -1;
    }
    return pid;
}

int spawn_signal(pid_t pid, int sig)
{
    if (pid <= 0) {
        errno = EINVAL;
        return -1;
    }
    if (kill(-pid, sig) == 0)
        return 0;
    return kill(pid, sig);
}

void spawn_describe_status(int wait_status, char *buf, size_t len)
{
    if (WIFEXITED(wait_status))
        snprintf(buf, len, "exited with code %d", WEXITSTATUS(wait_status));
    else if (WIFSIGNALED(wait_status)) {
        int sig = WTERMSIG(wait_status);
        const char *abbrev = sigabbrev_np(sig);
        snprintf(buf, len, "killed by signal %d (SIG%s)%s", sig, abbrev ? abbrev : "?",
                 WCOREDUMP(wait_status) ? ", core dumped" : "");
    } else
        snprintf(buf, len, "ended with wait status 0x%x", (unsigned) wait_status);
}

bool spawn_status_is_success(int wait_status)
{
    return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
}
