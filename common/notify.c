#include "notify.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct notify {
    int fd; /* -1: notification not enabled */
    struct sockaddr_un addr;
    socklen_t addr_len;
    uint64_t watchdog_usec;
};

static void set_err(char *err, size_t err_len, const char *fmt, const char *arg)
{
    if (err && err_len)
        snprintf(err, err_len, fmt, arg);
}

/*  Parses a decimal number of microseconds the way systemd writes it; any
    other text means "no watchdog" rather than an error, as in sd_watchdog_enabled. */
static uint64_t parse_usec(const char *text)
{
    if (!text || !*text)
        return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end || text[0] == '-')
        return 0;
    return (uint64_t) v;
}

/*  The watchdog is ours unless WATCHDOG_PID names another process: systemd
    sets it so that a forking child that inherits the environment does not
    answer for the main process. */
static bool watchdog_is_ours(const char *pid_text)
{
    if (!pid_text || !*pid_text)
        return true;
    char *end;
    long pid = strtol(pid_text, &end, 10);
    return !*end && pid == (long) getpid();
}

/*  Fills addr from the $NOTIFY_SOCKET text. The abstract namespace has no
    terminating NUL in its address length, so the length is computed here
    rather than taken as sizeof(addr). */
static int parse_address(notify_t *self, const char *name, char *err, size_t err_len)
{
    size_t len = strlen(name);
    memset(&self->addr, 0, sizeof self->addr);
    self->addr.sun_family = AF_UNIX;
    if (name[0] == '@') {
        if (len < 2 || len > sizeof self->addr.sun_path) {
            set_err(err, err_len, "NOTIFY_SOCKET: bad abstract socket name '%s'", name);
            return -1;
        }
        memcpy(self->addr.sun_path + 1, name + 1, len - 1);
        self->addr_len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + len);
    } else if (name[0] == '/') {
        if (len >= sizeof self->addr.sun_path) {
            set_err(err, err_len, "NOTIFY_SOCKET: path too long: '%s'", name);
            return -1;
        }
        memcpy(self->addr.sun_path, name, len);
        self->addr_len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + len + 1);
    } else {
        set_err(err, err_len, "NOTIFY_SOCKET: expected an absolute path or '@name', got '%s'", name);
        return -1;
    }
    return 0;
}

notify_t *notify_new(bool unset_environment, char *err, size_t err_len)
{
    notify_t *self = calloc(1, sizeof *self);
    if (!self) {
        set_err(err, err_len, "%s", "out of memory");
        return NULL;
    }
    self->fd = -1;
    const char *socket_name = getenv("NOTIFY_SOCKET");
    if (socket_name && *socket_name) {
        if (parse_address(self, socket_name, err, err_len) != 0) {
            free(self);
            return NULL;
        }
        self->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (self->fd < 0) {
            set_err(err, err_len, "cannot create the notification socket: %s", strerror(errno));
            free(self);
            return NULL;
        }
        if (watchdog_is_ours(getenv("WATCHDOG_PID")))
            self->watchdog_usec = parse_usec(getenv("WATCHDOG_USEC"));
    }
    if (unset_environment) {
        unsetenv("NOTIFY_SOCKET");
        unsetenv("WATCHDOG_USEC");
        unsetenv("WATCHDOG_PID");
    }
    return self;
}

void notify_destroy(notify_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    if ((*self_p)->fd >= 0)
        close((*self_p)->fd);
    free(*self_p);
    *self_p = NULL;
}

bool notify_enabled(const notify_t *self)
{
    return self && self->fd >= 0;
}

/*  One sendto per state, never blocking: systemd reads the socket promptly,
    and a supervisor that stalls on its own notification would miss child
    events. MSG_NOSIGNAL keeps a vanished manager from killing us. */
int notify_send(notify_t *self, const char *state)
{
    if (!notify_enabled(self))
        return 0;
    size_t len = strlen(state);
    ssize_t n;
    do
        n = sendto(self->fd, state, len, MSG_NOSIGNAL | MSG_DONTWAIT,
                   (const struct sockaddr *) &self->addr, self->addr_len);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -1;
    if ((size_t) n != len) {
        errno = EMSGSIZE;
        return -1;
    }
    return 0;
}

int notify_sendf(notify_t *self, const char *fmt, ...)
{
    if (!notify_enabled(self))
        return 0;
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) {
        errno = EINVAL;
        return -1;
    }
    return notify_send(self, buf);
}

uint64_t notify_watchdog_usec(const notify_t *self)
{
    return self ? self->watchdog_usec : 0;
}
