/*  supervisor: the poll loop and its events (signals, reaped children,
    timers, ping replies), construction and teardown. */
#include "supervisor_private.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "spawn.h"

/*  While the watchdog is due but a child is unhealthy, health is looked at
    again this often, so that WATCHDOG=1 resumes promptly. */
#define WATCHDOG_RECHECK_MS 100

/* ---- events -------------------------------------------------------------- */

/*  Reaps every child that changed state. Stops and continues are only
    logged: a stopped child is a hung child as far as supervision goes, and
    it is the missed pings that decide. */
static void reap(supervisor_t *self)
{
    for (;;) {
        int status = 0;
        pid_t pid = waitpid(-1, &status, WNOHANG | WUNTRACED | WCONTINUED);
        if (pid < 0 && errno == EINTR)
            continue;
        if (pid <= 0)
            return;
        child_t *c = sup_child_by_pid(self, pid);
        if (!c) {
            log_debug("reaped pid %d, not a supervised child", (int) pid);
            continue;
        }
        if (WIFSTOPPED(status)) {
            const char *abbrev = sigabbrev_np(WSTOPSIG(status));
            log_warn("%s (pid %d) was stopped by SIG%s", c->spec.name, (int) pid,
                     abbrev ? abbrev : "?");
        } else if (WIFCONTINUED(status)) {
            log_info("%s (pid %d) continued", c->spec.name, (int) pid);
        } else {
            sup_child_ended(self, c, status, clock_mono_ms());
        }
    }
}

static void handle_signals(supervisor_t *self)
{
    bool chld = false, hup = false;
    int term = 0;
    struct signalfd_siginfo si;
    ssize_t n;
    while ((n = read(self->sig_fd, &si, sizeof si)) == (ssize_t) sizeof si) {
        if (si.ssi_signo == SIGCHLD)
            chld = true;
        else if (si.ssi_signo == SIGHUP)
            hup = true;
        else
            term = (int) si.ssi_signo;
    }
    if (chld)
        reap(self);
    int64_t now = clock_mono_ms();
    if (term) {
        const char *abbrev = sigabbrev_np(term);
        if (self->stopping)
            log_info("SIG%s: already stopping", abbrev ? abbrev : "?");
        else {
            log_info("SIG%s: stopping %zu children in reverse start order", abbrev ? abbrev : "?",
                     self->n_children);
            char reason[64];
            snprintf(reason, sizeof reason, "SIG%s", abbrev ? abbrev : "?");
            sup_begin_shutdown(self, 0, reason, now);
        }
    }
    if (hup)
        sup_reload(self, now);
}

/*  Per-instance timers: restart after backoff, the ping interval (and the
    hang verdict), the SIGKILL deadline of a child being stopped. */
static void run_timers(supervisor_t *self, int64_t now)
{
    for (size_t i = 0; i < self->n_children; i++) {
        child_t *c = self->children[i];
        if (c->state == CHILD_WAITING && now >= c->restart_at && !self->stopping) {
            c->state = CHILD_IDLE;
            sup_child_start(self, c, now);
        } else if (c->state == CHILD_RUNNING && c->health && now >= c->next_ping_at) {
            unsigned misses = health_tick(c->health);
            c->next_ping_at += c->spec.ping_interval_ms;
            if (c->next_ping_at <= now)
                c->next_ping_at = now + c->spec.ping_interval_ms;
            bool in_grace = !health_answered(c->health)
                            && now - c->started_at < c->spec.start_grace_ms;
            if (misses >= c->spec.ping_misses && !in_grace) {
                if (health_answered(c->health))
                    log_warn("%s (pid %d) missed %u pings in a row: killing it", c->spec.name,
                             (int) c->pid, misses);
                else
                    log_warn("%s (pid %d) did not answer a ping within %lld ms of starting: "
                             "killing it", c->spec.name, (int) c->pid,
                             (long long) (now - c->started_at));
                health_destroy(&c->health);
                c->hung = true;
                c->hung_misses = misses;
                c->killed = true;
                spawn_signal(c->pid, SIGKILL);
            }
        } else if (c->state == CHILD_STOPPING && !c->killed && now >= c->kill_at) {
            char t[32];
            log_warn("%s (pid %d) still running %s after SIGTERM: SIGKILL", c->spec.name,
                     (int) c->pid, sup_fmt_ms(c->spec.shutdown_ms, t, sizeof t));
            spawn_signal(c->pid, SIGKILL);
            c->killed = true;
        }
    }
}

/*  Reads a child's ping replies; logs the first answer of an instance. */
static void on_health_readable(child_t *c, int64_t now)
{
    bool first = !health_answered(c->health);
    if (health_receive(c->health) && first) {
        c->ever_answered = true;
        c->came_up = true;
        char t[32];
        log_info("%s (pid %d) answers ping, %s after it started", c->spec.name, (int) c->pid,
                 sup_fmt_ms(now - c->started_at, t, sizeof t));
        uint64_t reported = health_reported_pid(c->health);
        if (reported && reported != (uint64_t) c->pid)
            log_warn("%s: the process answering on %s reports pid %llu, not %d", c->spec.name,
                     c->spec.health, (unsigned long long) reported, (int) c->pid);
    }
}
/* ---- the loop ------------------------------------------------------------ */

static int64_t next_deadline(supervisor_t *self, int64_t now)
{
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < self->n_children; i++) {
        child_t *c = self->children[i];
        int64_t t = INT64_MAX;
        if (c->state == CHILD_WAITING && !self->stopping)
            t = c->restart_at;
        else if (c->state == CHILD_RUNNING && c->health)
            t = c->next_ping_at;
        else if (c->state == CHILD_STOPPING && !c->killed)
            t = c->kill_at;
        if (t < next)
            next = t;
    }
    if (self->watchdog_ms && self->ready_sent && !self->stopping) {
        int64_t due = self->last_watchdog_at + self->watchdog_ms;
        if (due <= now)
            due = now + WATCHDOG_RECHECK_MS;
        if (due < next)
            next = due;
    }
    return next;
}

static int grow_items(supervisor_t *self, size_t need)
{
    if (need <= self->items_cap)
        return 0;
    zmq_pollitem_t *items = realloc(self->items, need * sizeof *items);
    if (!items)
        return -1;
    self->items = items;
    child_t **owners = realloc(self->item_child, need * sizeof *owners);
    if (!owners)
        return -1;
    self->item_child = owners;
    self->items_cap = need;
    return 0;
}

/*  One turn: timers, bookkeeping, then a poll whose timeout is the nearest
    deadline. Health replies are read before signals are handled, because
    handling a signal may free children that the poll items point to. */
static void loop_once(supervisor_t *self)
{
    int64_t now = clock_mono_ms();
    run_timers(self, now);
    if (self->stopping)
        sup_advance_shutdown(self, now);
    if (self->done)
        return;
    if (!self->stopping) {
        bool any = false;
        for (size_t i = 0; i < self->n_children && !any; i++)
            any = self->children[i]->state != CHILD_IDLE;
        if (!any) {
            log_info("no child left to run");
            sup_begin_shutdown(self, 0, "no child left to run", now);
            return;
        }
    }
    sup_check_ready(self);
    sup_watchdog(self, now);
    sup_update_status(self);

    if (grow_items(self, self->n_children + 1) != 0) {
        log_error("out of memory");
        sup_begin_shutdown(self, 1, "out of memory", now);
        return;
    }
    size_t n = 0;
    self->items[n++] = (zmq_pollitem_t) {.socket = NULL, .fd = self->sig_fd, .events = ZMQ_POLLIN};
    for (size_t i = 0; i < self->n_children; i++)
        if (self->children[i]->health) {
            self->item_child[n] = self->children[i];
            self->items[n++] = (zmq_pollitem_t) {
                .socket = health_socket(self->children[i]->health), .events = ZMQ_POLLIN};
        }
    int64_t deadline = next_deadline(self, now);
    long timeout = -1;
    if (deadline != INT64_MAX)
        timeout = deadline > now ? (long) (deadline - now) : 0;
    int rc = zmq_poll(self->items, (int) n, timeout);
    if (rc < 0) {
        if (zmq_errno() != EINTR) {
            log_error("poll failed: %s", zmq_strerror(zmq_errno()));
            sup_begin_shutdown(self, 1, "poll failed", clock_mono_ms());
        }
        return;
    }
    now = clock_mono_ms();
    for (size_t i = 1; i < n; i++)
        if ((self->items[i].revents & ZMQ_POLLIN) && self->item_child[i]->health)
            on_health_readable(self->item_child[i], now);
    if (self->items[0].revents & ZMQ_POLLIN)
        handle_signals(self);
}

int supervisor_run(supervisor_t *self)
{
    int64_t now = clock_mono_ms();
    char period[32];
    log_info("supervising %zu children (at most %u restarts within %s)", self->n_children,
             self->intensity, sup_fmt_ms(self->period_ms, period, sizeof period));
    notify_sendf(self->notify, "STATUS=starting %zu children", self->n_children);
    for (size_t i = 0; i < self->n_children && !self->stopping; i++)
        sup_child_start(self, self->children[i], now);
    /*  The context, and with it libzmq's I/O thread, exists only from here
        on: the first children were forked from a process without one. */
    self->zctx = zmq_ctx_new();
    if (!self->zctx) {
        log_error("cannot create a ZeroMQ context: %s", zmq_strerror(zmq_errno()));
        sup_begin_shutdown(self, 1, "no ZeroMQ context", now);
    } else {
        zmq_ctx_set(self->zctx, ZMQ_BLOCKY, 0);
        now = clock_mono_ms();
        for (size_t i = 0; i < self->n_children; i++)
            sup_child_watch(self, self->children[i], now);
    }
    while (!self->done)
        loop_once(self);
    log_info("all children stopped; exiting with status %d", self->exit_code);
    return self->exit_code;
}

/* ---- construction --------------------------------------------------------- */

supervisor_t *supervisor_new(sup_config_t **config_p, const char *config_path, char *err,
                             size_t err_len)
{
    sup_config_t *config = *config_p;
    supervisor_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    self->sig_fd = -1;
    self->null_fd = -1;
    self->intensity = config->intensity;
    self->period_ms = config->period_ms;
    self->backoff = config->backoff;
    self->window = restart_window_new(config->intensity, config->period_ms);
    self->children = calloc(config->n_children + 1, sizeof *self->children);
    if (!self->window || !self->children || (config_path && !(self->config_path = strdup(config_path)))) {
        snprintf(err, err_len, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < config->n_children; i++) {
        self->children[i] = sup_child_new(&config->children[i]);
        if (!self->children[i]) {
            snprintf(err, err_len, "out of memory");
            goto fail;
        }
        self->n_children++;
    }
    self->notify = notify_new(true, err, err_len);
    if (!self->notify)
        goto fail;
    uint64_t wd = notify_watchdog_usec(self->notify);
    if (wd) {
        self->watchdog_ms = (int64_t) (wd / 2000);
        if (self->watchdog_ms < 1)
            self->watchdog_ms = 1;
    }
    self->null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (self->null_fd < 0) {
        snprintf(err, err_len, "cannot open /dev/null: %s", strerror(errno));
        goto fail;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0
        || (self->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
        snprintf(err, err_len, "cannot set up signal handling: %s", strerror(errno));
        goto fail;
    }
    signal(SIGPIPE, SIG_IGN);
    sup_config_destroy(config_p);
    return self;
fail:
    supervisor_destroy(&self);
    return NULL;
}

void supervisor_destroy(supervisor_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    supervisor_t *self = *self_p;
    for (size_t i = 0; i < self->n_children; i++)
        sup_child_free(&self->children[i]);
    free(self->children);
    if (self->zctx)
        zmq_ctx_term(self->zctx);
    if (self->sig_fd >= 0)
        close(self->sig_fd);
    if (self->null_fd >= 0)
        close(self->null_fd);
    notify_destroy(&self->notify);
    restart_window_destroy(&self->window);
    free(self->items);
    free(self->item_child);
    free(self->config_path);
    free(self);
    *self_p = NULL;
}
