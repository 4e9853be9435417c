/*  spawn: fork+exec of a supervised program, signals to it, and its exit
    status in words.

    The supervisor has a ZeroMQ context (with its I/O thread) when it
    restarts a child, so everything the new process needs is prepared before
    fork(), and between fork() and exec() the child makes only
    async-signal-safe system calls: no allocation, no stdio, nothing of
    ZeroMQ. Every descriptor except stdin, stdout and stderr is marked
    close-on-exec there, so no socket of the supervisor leaks into a child.

    Each child leads its own process group, so that a signal reaches its
    helpers too (npx and the node process it starts, a shell and its
    pipeline), and a Ctrl-C on the terminal reaches only the supervisor,
    which then stops the children in order. A child also gets SIGTERM when
    the supervisor dies (PR_SET_PDEATHSIG), so that a new supervisor never
    finds an old actor holding the endpoint. */
#ifndef ALYS_SPAWN_H
#define ALYS_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*  Starts argv[0] (looked up in $PATH when it has no '/') with argv, the
    supervisor's environment plus extra_env ("KEY=VALUE", NULL-terminated,
    may be NULL; a key given there replaces the inherited one), stdin from
    stdin_fd, stdout and stderr inherited, signal mask and dispositions
    reset. Returns the pid once the program was exec'd, or -1 with errno when
    it could not be found, forked or exec'd (the failed child is reaped
    here). */
pid_t spawn_process(char *const argv[], char *const extra_env[], int stdin_fd);

/*  Where spawn_process would find the program `name` (a path, or a name
    looked up in $PATH), if it is an executable regular file: a malloc'd
    path, or NULL with errno ENOENT (not found) or EACCES (not executable). */
char *spawn_find_program(const char *name);

/*  Sends sig to the process group led by pid, or to pid alone if there is no
    such group (yet). Returns 0, or -1 with errno. */
int spawn_signal(pid_t pid, int sig);

/*  "exited with code 3", "killed by signal 9 (SIGKILL)", "killed by signal 6
    (SIGABRT), core dumped". */
void spawn_describe_status(int wait_status, char *buf, size_t len);

/*  True for an exit with code 0: the only "normal" end for a transient
    child. */
bool spawn_status_is_success(int wait_status);

#endif
