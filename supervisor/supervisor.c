#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "health.h"
#include "log.h"
#include "notify.h"
#include "restart.h"
#include "spawn.h"

/*  While the watchdog is due but a child is unhealthy, health is looked at
    again this often, so that WATCHDOG=1 resumes promptly. */
#define WATCHDOG_RECHECK_MS 100

typedef enum {
    CHILD_IDLE,     /* not running and not scheduled */
    CHILD_WAITING,  /* backing off before a restart */
    CHILD_RUNNING,
    CHILD_STOPPING  /* SIGTERM sent; SIGKILL at kill_at */
} child_state_t;

typedef struct {
    child_spec_t spec;
    child_state_t state;
    pid_t pid;
    int64_t started_at;
    int64_t restart_at;   /* CHILD_WAITING */
    int64_t kill_at;      /* CHILD_STOPPING */
    bool killed;          /* SIGKILL sent to this instance */
    bool hung;            /* killed for missing its pings */
    unsigned hung_misses; /* how many it had missed then */
    unsigned streak;      /* quick restarts in a row, for the backoff */
    bool came_up;         /* this instance answered a ping */
    unsigned start_failures; /* instances in a row that ended before coming up */
    unsigned restarts;    /* for STATUS= */
    health_t *health;     /* this instance's pinger, or NULL */
    int64_t next_ping_at;
    bool ever_started;
    bool ever_answered;
    bool removing;        /* dropped from the configuration: forget once stopped */
    bool has_next_spec;   /* changed in the configuration: start next_spec once stopped */
    child_spec_t next_spec;
    bool start_pending;   /* start at the end of a reload */
    char last_exit[192];
} child_t;

struct supervisor {
    char *config_path;
    unsigned intensity;
    int64_t period_ms;
    backoff_policy_t backoff;
    child_t **children; /* start order */
    size_t n_children;
    restart_window_t *window;
    notify_t *notify;
    int sig_fd;
    int null_fd;
    void *zctx;
    bool stopping;
    char stop_reason[256];
    bool done;
    int exit_code;
    bool ready_sent;
    int64_t watchdog_ms; /* interval between WATCHDOG=1, 0: none */
    int64_t last_watchdog_at;
    bool watchdog_withheld;
    char status_sent[1024];
    zmq_pollitem_t *items;
    child_t **item_child;
    size_t items_cap;
};

/* ---- helpers ------------------------------------------------------------ */

static const char *fmt_ms(int64_t ms, char *buf, size_t len)
{
    if (ms >= 1000 && ms % 1000 == 0)
        snprintf(buf, len, "%lld s", (long long) (ms / 1000));
    else if (ms >= 1000)
        snprintf(buf, len, "%.1f s", (double) ms / 1000.0);
    else
        snprintf(buf, len, "%lld ms", (long long) ms);
    return buf;
}

/*  The command line for the log, shortened: it says which program runs,
    it is not meant to be pasted back into a shell. */
static void join_argv(char *const argv[], char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; argv[i] && used + 1 < len; i++) {
        int n = snprintf(buf + used, len - used, "%s%s", i ? " " : "", argv[i]);
        if (n < 0)
            break;
        used += (size_t) n;
    }
    if (used >= len && len > 4)
        memcpy(buf + len - 4, "...", 4);
}

static child_t *child_new(const child_spec_t *spec)
{
    child_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (child_spec_copy(&c->spec, spec) != 0) {
        free(c);
        return NULL;
    }
    snprintf(c->last_exit, sizeof c->last_exit, "never ran");
    return c;
}

static void child_free(child_t **c_p)
{
    if (!c_p || !*c_p)
        return;
    child_t *c = *c_p;
    health_destroy(&c->health);
    child_spec_release(&c->spec);
    child_spec_release(&c->next_spec);
    free(c);
    *c_p = NULL;
}

static child_t *find_by_pid(supervisor_t *self, pid_t pid)
{
    for (size_t i = 0; i < self->n_children; i++)
        if (self->children[i]->pid == pid && self->children[i]->state != CHILD_IDLE
            && self->children[i]->state != CHILD_WAITING)
            return self->children[i];
    return NULL;
}

static void remove_child(supervisor_t *self, child_t *c)
{
    for (size_t i = 0; i < self->n_children; i++)
        if (self->children[i] == c) {
            memmove(&self->children[i], &self->children[i + 1],
                    (self->n_children - i - 1) * sizeof *self->children);
            self->n_children--;
            break;
        }
    child_free(&c);
}

/* ---- lifecycle of one child ---------------------------------------------- */

static void child_start(supervisor_t *self, child_t *c, int64_t now);
static void begin_shutdown(supervisor_t *self, int exit_code, const char *reason, int64_t now);

/*  Creates the pinger of a running instance. Only possible once the ZeroMQ
    context exists, which is after the first children were forked. */
static void ensure_health(supervisor_t *self, child_t *c, int64_t now)
{
    if (!self->zctx || !c->spec.health || c->state != CHILD_RUNNING || c->health || c->killed)
        return;
    char err[256];
    c->health = health_new_curve(self->zctx, c->spec.health, c->spec.health_curve_cert,
                                 c->spec.health_curve_server_key, err, sizeof err);
    if (!c->health) {
        log_error("%s: no health checks for pid %d: %s", c->spec.name, (int) c->pid, err);
        return;
    }
    c->next_ping_at = now;
}

/*  Decides what follows the end of an instance (wait_status < 0: it could
    not even be started), in OTP's terms: nothing while shutting down; the
    pending reload action if we stopped it; otherwise the restart type
    decides, the restart is counted against the intensity (exceeding it
    stops everything, naming this child), and the backoff decides when. May
    free c (a child removed by a reload). */
static void child_ended(supervisor_t *self, child_t *c, int wait_status, int64_t now)
{
    health_destroy(&c->health);
    int64_t run_ms = now - c->started_at;
    /* an instance came up when it answered a ping (or, with no health
       endpoint, ran a stable run); a crash after that is restarted at once */
    bool came_up = wait_status >= 0
                   && (c->spec.health ? c->came_up : run_ms >= self->backoff.stable_ms);
    child_state_t was = c->state;
    if (wait_status >= 0) {
        char how[96], took[32];
        spawn_describe_status(wait_status, how, sizeof how);
        if (c->hung)
            snprintf(c->last_exit, sizeof c->last_exit, "%s for missing %u pings", how,
                     c->hung_misses);
        else
            snprintf(c->last_exit, sizeof c->last_exit, "%s", how);
        bool expected = self->stopping || was == CHILD_STOPPING
                        || (c->spec.restart != RESTART_PERMANENT && !c->hung
                            && spawn_status_is_success(wait_status));
        log_msg(expected ? ALOG_INFO : ALOG_WARN, "%s (pid %d) %s (ran %s)", c->spec.name,
                (int) c->pid, c->last_exit, fmt_ms(run_ms, took, sizeof took));
    }
    c->pid = 0;
    c->state = CHILD_IDLE;
    if (self->stopping)
        return;
    if (was == CHILD_STOPPING) {
        if (c->removing) {
            log_info("%s: removed", c->spec.name);
            remove_child(self, c);
        } else if (c->has_next_spec) {
            child_spec_release(&c->spec);
            c->spec = c->next_spec;
            memset(&c->next_spec, 0, sizeof c->next_spec);
            c->has_next_spec = false;
            c->streak = 0;
            c->start_failures = 0;
            log_info("%s: starting with its new configuration", c->spec.name);
            child_start(self, c, now);
        }
        return;
    }
    bool normal = wait_status >= 0 && spawn_status_is_success(wait_status) && !c->hung;
    if (c->spec.restart == RESTART_TEMPORARY
        || (c->spec.restart == RESTART_TRANSIENT && normal)) {
        log_info("%s: not restarted (%s child)", c->spec.name, restart_type_name(c->spec.restart));
        return;
    }
    c->start_failures = came_up ? 0 : c->start_failures + 1;
    char period[32];
    fmt_ms(self->period_ms, period, sizeof period);
    if (backoff_crash_loop(&self->backoff, c->start_failures)) {
        log_error("crash loop: %s ended %u times in a row before it came up (%s); last: %s; "
                  "stopping all children and exiting with status 3",
                  c->spec.name, c->start_failures,
                  c->spec.health ? "never answered a ping" : "never ran stable_after",
                  c->last_exit);
        char reason[256];
        snprintf(reason, sizeof reason, "crash loop: %.60s ended %u times before coming up, last: %.120s",
                 c->spec.name, c->start_failures, c->last_exit);
        begin_shutdown(self, 3, reason, now);
        return;
    }
    if (restart_window_add(self->window, now) != 0) {
        log_error("restart intensity exceeded: more than %u restarts within %s; last: %s %s; "
                  "stopping all children", self->intensity, period, c->spec.name, c->last_exit);
        char reason[256];
        snprintf(reason, sizeof reason, "restart intensity exceeded, last: %.60s %.150s",
                 c->spec.name, c->last_exit);
        begin_shutdown(self, 1, reason, now);
        return;
    }
    unsigned attempt = backoff_attempt(&self->backoff, c->streak, run_ms, came_up);
    int64_t delay = backoff_delay_ms(&self->backoff, attempt);
    c->streak = attempt + 1;
    c->restarts++;
    log_info("%s: restart in %lld ms (%u of %u restarts allowed within %s)", c->spec.name,
             (long long) delay, restart_window_count(self->window, now), self->intensity, period);
    if (delay == 0)
        child_start(self, c, now);
    else {
        c->state = CHILD_WAITING;
        c->restart_at = now + delay;
    }
}

/*  A failure to start (program missing, fork failing) is treated as an
    instance that ended at once, so it is retried with backoff and, if it
    persists, ends in an intensity failure that names the reason. */
static void child_start(supervisor_t *self, child_t *c, int64_t now)
{
    c->killed = false;
    c->hung = false;
    c->came_up = false;
    c->started_at = now;
    pid_t pid = spawn_process(c->spec.argv, c->spec.env, self->null_fd);
    if (pid < 0) {
        int e = errno;
        snprintf(c->last_exit, sizeof c->last_exit, "could not be started: %s: %s",
                 c->spec.argv[0], strerror(e));
        log_error("%s %s", c->spec.name, c->last_exit);
        c->state = CHILD_RUNNING;
        child_ended(self, c, -1, now);
        return;
    }
    c->pid = pid;
    c->state = CHILD_RUNNING;
    c->ever_started = true;
    char cmd[512];
    join_argv(c->spec.argv, cmd, sizeof cmd);
    log_info("%s: started with pid %d: %s", c->spec.name, (int) pid, cmd);
    ensure_health(self, c, now);
}

/*  SIGTERM, and SIGCONT so that a stopped process can act on it (as systemd
    does); SIGKILL follows at kill_at. A shutdown timeout of 0 is OTP's
    brutal_kill. */
static void child_stop(supervisor_t *self, child_t *c, int64_t now)
{
    if (c->state != CHILD_RUNNING)
        return;
    health_destroy(&c->health);
    c->state = CHILD_STOPPING;
    c->kill_at = now + c->spec.shutdown_ms;
    char t[32];
    if (c->spec.shutdown_ms == 0 || c->killed) {
        spawn_signal(c->pid, SIGKILL);
        c->killed = true;
        log_info("stopping %s (pid %d): SIGKILL", c->spec.name, (int) c->pid);
    } else {
        spawn_signal(c->pid, SIGTERM);
        spawn_signal(c->pid, SIGCONT);
        log_info("stopping %s (pid %d): SIGTERM, SIGKILL after %s", c->spec.name, (int) c->pid,
                 fmt_ms(c->spec.shutdown_ms, t, sizeof t));
    }
}

/* ---- shutdown ------------------------------------------------------------ */

/*  Stops children one at a time from the last started to the first (OTP's
    order: a child may depend on those started before it). Sets done once
    none is left. */
static void advance_shutdown(supervisor_t *self, int64_t now)
{
    for (size_t i = self->n_children; i-- > 0;) {
        child_t *c = self->children[i];
        if (c->state == CHILD_STOPPING)
            return;
        if (c->state == CHILD_RUNNING) {
            child_stop(self, c, now);
            return;
        }
    }
    self->done = true;
}

/*  Enters the shutdown: no more restarts or pings; the children are stopped
    by advance_shutdown. reason goes to the STATUS= line until the end. */
static void begin_shutdown(supervisor_t *self, int exit_code, const char *reason, int64_t now)
{
    if (self->stopping)
        return;
    self->stopping = true;
    self->exit_code = exit_code;
    snprintf(self->stop_reason, sizeof self->stop_reason, "%s", reason);
    notify_sendf(self->notify, "STOPPING=1\nSTATUS=stopping (%s)", reason);
    for (size_t i = 0; i < self->n_children; i++) {
        child_t *c = self->children[i];
        if (c->state == CHILD_WAITING)
            c->state = CHILD_IDLE;
        health_destroy(&c->health);
    }
    advance_shutdown(self, now);
}

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
        child_t *c = find_by_pid(self, pid);
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
            child_ended(self, c, status, clock_mono_ms());
        }
    }
}

static void reload(supervisor_t *self, int64_t now);

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
            begin_shutdown(self, 0, reason, now);
        }
    }
    if (hup)
        reload(self, now);
}

/*  Per-instance timers: restart after backoff, the ping interval (and the
    hang verdict), the SIGKILL deadline of a child being stopped. */
static void run_timers(supervisor_t *self, int64_t now)
{
    for (size_t i = 0; i < self->n_children; i++) {
        child_t *c = self->children[i];
        if (c->state == CHILD_WAITING && now >= c->restart_at && !self->stopping) {
            c->state = CHILD_IDLE;
            child_start(self, c, now);
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
                     (int) c->pid, fmt_ms(c->spec.shutdown_ms, t, sizeof t));
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
                 fmt_ms(now - c->started_at, t, sizeof t));
        uint64_t reported = health_reported_pid(c->health);
        if (reported && reported != (uint64_t) c->pid)
            log_warn("%s: the process answering on %s reports pid %llu, not %d", c->spec.name,
                     c->spec.health, (unsigned long long) reported, (int) c->pid);
    }
}

/* ---- reload -------------------------------------------------------------- */

static int set_next_spec(child_t *c, const child_spec_t *spec)
{
    child_spec_release(&c->next_spec);
    c->has_next_spec = child_spec_copy(&c->next_spec, spec) == 0;
    return c->has_next_spec ? 0 : -1;
}

/*  Applies a new configuration file: new children start, removed ones stop,
    changed ones stop and start again with their new spec (not counted as
    restarts), unchanged ones are not touched. A file that cannot be read or
    is invalid changes nothing. The new file's order becomes the start (and
    reverse shutdown) order. */
static void reload(supervisor_t *self, int64_t now)
{
    if (!self->config_path) {
        log_warn("SIGHUP: started without --config, nothing to reload");
        return;
    }
    if (self->stopping) {
        log_info("SIGHUP: ignored while stopping");
        return;
    }
    notify_sendf(self->notify, "RELOADING=1\nMONOTONIC_USEC=%lld\nSTATUS=reloading %s",
                 (long long) clock_mono_us(), self->config_path);
    char err[512];
    sup_config_t *cfg = sup_config_load(self->config_path, err, sizeof err);
    child_t **next = cfg ? calloc(cfg->n_children + self->n_children, sizeof *next) : NULL;
    bool *seen = cfg ? calloc(self->n_children + 1, sizeof *seen) : NULL;
    if (!cfg || !next || !seen
        || restart_window_configure(self->window, cfg->intensity, cfg->period_ms) != 0) {
        log_error("reload failed, keeping the running configuration: %s",
                  cfg ? "out of memory" : err);
        sup_config_destroy(&cfg);
        free(next);
        free(seen);
        if (self->ready_sent)
            notify_send(self->notify, "READY=1");
        return;
    }
    self->intensity = cfg->intensity;
    self->period_ms = cfg->period_ms;
    self->backoff = cfg->backoff;
    unsigned added = 0, removed = 0, changed = 0, same = 0;
    size_t k = 0;
    for (size_t i = 0; i < cfg->n_children; i++) {
        const child_spec_t *spec = &cfg->children[i];
        child_t *c = NULL;
        for (size_t j = 0; j < self->n_children && !c; j++)
            if (!seen[j] && strcmp(self->children[j]->spec.name, spec->name) == 0) {
                c = self->children[j];
                seen[j] = true;
            }
        if (!c) {
            c = child_new(spec);
            if (!c) {
                log_error("reload: out of memory for child %s", spec->name);
                continue;
            }
            c->start_pending = true;
            added++;
        } else if (c->removing) {
            c->removing = false;
            set_next_spec(c, spec);
            changed++;
        } else if (child_spec_equal(c->has_next_spec ? &c->next_spec : &c->spec, spec)) {
            same++;
        } else {
            changed++;
            if (c->state == CHILD_RUNNING) {
                set_next_spec(c, spec);
                child_stop(self, c, now);
            } else if (c->state == CHILD_STOPPING) {
                set_next_spec(c, spec);
            } else {
                child_spec_t copy;
                if (child_spec_copy(&copy, spec) == 0) {
                    child_spec_release(&c->spec);
                    c->spec = copy;
                }
                c->state = CHILD_IDLE;
                c->streak = 0;
                c->start_failures = 0;
            c->start_failures = 0;
                c->start_pending = true;
            }
        }
        next[k++] = c;
    }
    for (size_t j = 0; j < self->n_children; j++) {
        child_t *c = self->children[j];
        if (seen[j])
            continue;
        removed++;
        if (c->state == CHILD_RUNNING || c->state == CHILD_STOPPING) {
            c->removing = true;
            c->has_next_spec = false;
            child_stop(self, c, now);
            next[k++] = c;
        } else {
            log_info("%s: removed", c->spec.name);
            child_free(&c);
        }
    }
    free(self->children);
    free(seen);
    self->children = next;
    self->n_children = k;
    log_info("reloaded %s: %u added, %u removed, %u changed, %u unchanged", self->config_path,
             added, removed, changed, same);
    for (size_t i = 0; i < self->n_children && !self->stopping; i++) {
        child_t *c = self->children[i];
        if (c->start_pending) {
            c->start_pending = false;
            child_start(self, c, now);
        }
    }
    sup_config_destroy(&cfg);
    /*  Before the first READY=1, check_ready sends it once the children are
        up; sending it here would tell systemd the start is complete. */
    if (self->ready_sent)
        notify_send(self->notify, "READY=1");
}

/* ---- systemd ------------------------------------------------------------- */

/*  Healthy: every child that should run is running and, if it has a health
    endpoint, answered and has no miss pending. Children being replaced or
    removed by a reload do not count against it. */
static bool all_healthy(supervisor_t *self, char *why, size_t why_len)
{
    for (size_t i = 0; i < self->n_children; i++) {
        child_t *c = self->children[i];
        if (c->removing || c->has_next_spec)
            continue;
        switch (c->state) {
        case CHILD_WAITING:
            snprintf(why, why_len, "%s is waiting to restart", c->spec.name);
            return false;
        case CHILD_STOPPING:
            snprintf(why, why_len, "%s is stopping", c->spec.name);
            return false;
        case CHILD_RUNNING:
            if (c->killed) {
                snprintf(why, why_len, "%s was killed", c->spec.name);
                return false;
            }
            if (c->health && !health_answered(c->health)) {
                snprintf(why, why_len, "%s has not answered a ping yet", c->spec.name);
                return false;
            }
            if (c->health && health_misses(c->health) > 0) {
                snprintf(why, why_len, "%s missed %u pings", c->spec.name,
                         health_misses(c->health));
                return false;
            }
            break;
        case CHILD_IDLE:
            break;
        }
    }
    return true;
}

static void check_ready(supervisor_t *self)
{
    if (self->ready_sent || self->stopping)
        return;
    for (size_t i = 0; i < self->n_children; i++) {
        child_t *c = self->children[i];
        if (!(c->spec.health ? c->ever_answered : c->ever_started))
            return;
    }
    self->ready_sent = true;
    self->last_watchdog_at = clock_mono_ms();
    notify_send(self->notify, "READY=1");
    if (self->watchdog_ms)
        notify_send(self->notify, "WATCHDOG=1");
    log_info("all %zu children are up", self->n_children);
}

static void watchdog(supervisor_t *self, int64_t now)
{
    if (!self->watchdog_ms || !self->ready_sent || self->stopping
        || now - self->last_watchdog_at < self->watchdog_ms)
        return;
    char why[256];
    if (all_healthy(self, why, sizeof why)) {
        notify_send(self->notify, "WATCHDOG=1");
        self->last_watchdog_at = now;
        if (self->watchdog_withheld)
            log_info("children healthy again: sending WATCHDOG=1");
        self->watchdog_withheld = false;
    } else if (!self->watchdog_withheld) {
        log_warn("withholding WATCHDOG=1: %s", why);
        self->watchdog_withheld = true;
    }
}

/*  One STATUS= line describing every child; sent only when it changed. */
static void update_status(supervisor_t *self)
{
    char status[sizeof self->status_sent - 64];
    size_t used = 0;
    size_t up = 0;
    status[0] = 0;
    for (size_t i = 0; i < self->n_children; i++) {
        child_t *c = self->children[i];
        char item[160];
        switch (c->state) {
        case CHILD_RUNNING:
            if (c->killed)
                snprintf(item, sizeof item, "%s killed (pid %d)", c->spec.name, (int) c->pid);
            else if (c->health && !health_answered(c->health))
                snprintf(item, sizeof item, "%s starting (pid %d)", c->spec.name, (int) c->pid);
            else if (c->health && health_misses(c->health) > 0)
                snprintf(item, sizeof item, "%s not answering (pid %d)", c->spec.name,
                         (int) c->pid);
            else {
                if (c->restarts)
                    snprintf(item, sizeof item, "%s up (pid %d, %u restarts)", c->spec.name,
                             (int) c->pid, c->restarts);
                else
                    snprintf(item, sizeof item, "%s up (pid %d)", c->spec.name, (int) c->pid);
                up++;
            }
            break;
        case CHILD_WAITING:
            snprintf(item, sizeof item, "%.60s restarting (%.80s)", c->spec.name, c->last_exit);
            break;
        case CHILD_STOPPING:
            snprintf(item, sizeof item, "%s stopping (pid %d)", c->spec.name, (int) c->pid);
            break;
        default:
            snprintf(item, sizeof item, "%.60s not running (%.80s)", c->spec.name, c->last_exit);
            break;
        }
        int n = snprintf(status + used, sizeof status - used, "%s%s", i ? ", " : "", item);
        if (n < 0 || (size_t) n >= sizeof status - used)
            break;
        used += (size_t) n;
    }
    char line[sizeof self->status_sent];
    if (self->stopping)
        snprintf(line, sizeof line, "STATUS=stopping (%.200s): %s", self->stop_reason, status);
    else
        snprintf(line, sizeof line, "STATUS=%zu/%zu up: %s", up, self->n_children, status);
    if (strcmp(line, self->status_sent) == 0)
        return;
    snprintf(self->status_sent, sizeof self->status_sent, "%s", line);
    notify_send(self->notify, line);
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
        advance_shutdown(self, now);
    if (self->done)
        return;
    if (!self->stopping) {
        bool any = false;
        for (size_t i = 0; i < self->n_children && !any; i++)
            any = self->children[i]->state != CHILD_IDLE;
        if (!any) {
            log_info("no child left to run");
            begin_shutdown(self, 0, "no child left to run", now);
            return;
        }
    }
    check_ready(self);
    watchdog(self, now);
    update_status(self);

    if (grow_items(self, self->n_children + 1) != 0) {
        log_error("out of memory");
        begin_shutdown(self, 1, "out of memory", now);
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
            begin_shutdown(self, 1, "poll failed", clock_mono_ms());
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
             self->intensity, fmt_ms(self->period_ms, period, sizeof period));
    notify_sendf(self->notify, "STATUS=starting %zu children", self->n_children);
    for (size_t i = 0; i < self->n_children && !self->stopping; i++)
        child_start(self, self->children[i], now);
    /*  The context, and with it libzmq's I/O thread, exists only from here
        on: the first children were forked from a process without one. */
    self->zctx = zmq_ctx_new();
    if (!self->zctx) {
        log_error("cannot create a ZeroMQ context: %s", zmq_strerror(zmq_errno()));
        begin_shutdown(self, 1, "no ZeroMQ context", now);
    } else {
        zmq_ctx_set(self->zctx, ZMQ_BLOCKY, 0);
        now = clock_mono_ms();
        for (size_t i = 0; i < self->n_children; i++)
            ensure_health(self, self->children[i], now);
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
        self->children[i] = child_new(&config->children[i]);
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
        child_free(&self->children[i]);
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
