/*  notify: the systemd notification protocol (sd_notify(3)) without
    libsystemd. A state such as "READY=1" or "STATUS=..." is one datagram
    sent to the AF_UNIX socket named by $NOTIFY_SOCKET: an absolute path, or
    an abstract name written with a leading '@'. The watchdog interval comes
    from $WATCHDOG_USEC, and applies to us only when $WATCHDOG_PID is unset or
    names this process.

    Without $NOTIFY_SOCKET every send is a successful no-op, so callers never
    need to know whether they run under systemd. */
#ifndef ALYS_NOTIFY_H
#define ALYS_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct notify notify_t;

/*  Reads $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID. With
    unset_environment the three variables are removed, so that child
    processes do not believe they are the service's main process. Returns
    NULL only when out of memory or when $NOTIFY_SOCKET is set but unusable
    (not absolute, not '@', too long, or no socket could be created); the
    reason is then written to err. */
notify_t *notify_new(bool unset_environment, char *err, size_t err_len);
void notify_destroy(notify_t **self_p);

/*  True when $NOTIFY_SOCKET was set. */
bool notify_enabled(const notify_t *self);

/*  Sends one datagram holding state (newline-separated assignments, e.g.
    "READY=1\nSTATUS=running"). Returns 0, also when notification is not
    enabled, or -1 with errno set when the datagram could not be sent. */
int notify_send(notify_t *self, const char *state);

/*  printf-style notify_send. */
int notify_sendf(notify_t *self, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*  The watchdog timeout in microseconds, 0 when there is none for us. The
    service should send "WATCHDOG=1" at about half of it. */
uint64_t notify_watchdog_usec(const notify_t *self);

#endif
