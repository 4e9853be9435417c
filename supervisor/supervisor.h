/*  supervisor: keeps a list of child processes running, OTP style.

    One thread, one poll loop (zmq_poll) over a signalfd (SIGCHLD, SIGTERM,
    SIGINT, SIGHUP) and the health-check DEALER sockets, with every timer
    (restart backoff, ping interval, shutdown deadline, systemd watchdog)
    computed as the poll timeout. A child that exits is reaped as soon as its
    SIGCHLD is read, with no polling delay.

    - Restart types: permanent children always come back, transient ones
      unless they exited with code 0, temporary ones never.
    - Restart intensity: more than `intensity` restarts (of all children
      together) within `period` stops every child and makes supervisor_run
      return 1, so systemd sees the failure.
    - Backoff: quick restarts of one child are spaced 0, initial, 2 x initial
      ... up to a cap; a stable run resets it.
    - Health: a child with a health endpoint is pinged every ping_interval;
      ping_misses unanswered pings in a row (a hung or stopped process) get it
      SIGKILLed and restarted like any other failure.
    - Shutdown (SIGTERM, SIGINT): children stop one at a time in reverse start
      order, each with SIGTERM and, after its shutdown timeout, SIGKILL.
    - Reload (SIGHUP, with a configuration file): new children start, removed
      ones stop, changed ones restart; the others are left alone.
    - systemd: READY=1 once every child is up (answered its first ping, or
      started when it has no health endpoint), WATCHDOG=1 while all are
      healthy, RELOADING=1 and STOPPING=1, and STATUS= lines. */
#ifndef ALYS_SUPERVISOR_H
#define ALYS_SUPERVISOR_H

#include <stddef.h>

#include "config.h"

typedef struct supervisor supervisor_t;

/*  Takes the configuration (*config_p becomes NULL). config_path is the file
    to read again on SIGHUP, or NULL when the configuration came from the
    command line. Blocks the handled signals for the whole process and opens
    the signalfd and the systemd notification socket; starts nothing yet.
    Returns NULL with the reason in err. */
supervisor_t *supervisor_new(sup_config_t **config_p, const char *config_path, char *err,
                             size_t err_len);

/*  Stops nothing: call it after supervisor_run returned, when no child is
    left. */
void supervisor_destroy(supervisor_t **self_p);

/*  Starts the children and supervises them. Returns 0 after an orderly
    shutdown (a signal, or no child left that may run), 1 when the restart
    intensity was exceeded (every child has been stopped by then). */
int supervisor_run(supervisor_t *self);

#endif
