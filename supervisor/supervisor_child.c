/*  supervisor_child: one child's lifecycle (start, stop, end and what
    follows it: restart with backoff, intensity, reload actions) and the
    ordered shutdown of all children. */
#include "supervisor_private.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "spawn.h"

/* ---- helpers ------------------------------------------------------------ */

const char *sup_fmt_ms(int64_t ms, char *buf, size_t len)
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

child_t *sup_child_new(const child_spec_t *spec)
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

void sup_child_free(child_t **c_p)
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

child_t *sup_child_by_pid(supervisor_t *self, pid_t pid)
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
    sup_child_free(&c);
}

/* ---- lifecycle of one child ---------------------------------------------- */

/*  Creates the pinger of a running instance. Only possible once the ZeroMQ
    context exists, which is after the first children were forked. */
void sup_child_watch(supervisor_t *self, child_t *c, int64_t now)
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
void sup_child_ended(supervisor_t *self, child_t *c, int wait_status, int64_t now)
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
                (int) c->pid, c->last_exit, sup_fmt_ms(run_ms, took, sizeof took));
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
            sup_child_start(self, c, now);
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
    sup_fmt_ms(self->period_ms, period, sizeof period);
    if (backoff_crash_loop(&self->backoff, c->start_failures)) {
        log_error("crash loop: %s ended %u times in a row before it came up (%s); last: %s; "
                  "stopping all children and exiting with status 3",
                  c->spec.name, c->start_failures,
                  c->spec.health ? "never answered a ping" : "never ran stable_after",
                  c->last_exit);
        char reason[256];
        snprintf(reason, sizeof reason, "crash loop: %.60s ended %u times before coming up, last: %.120s",
                 c->spec.name, c->start_failures, c->last_exit);
        sup_begin_shutdown(self, 3, reason, now);
        return;
    }
    if (restart_window_add(self->window, now) != 0) {
        log_error("restart intensity exceeded: more than %u restarts within %s; last: %s %s; "
                  "stopping all children", self->intensity, period, c->spec.name, c->last_exit);
        char reason[256];
        snprintf(reason, sizeof reason, "restart intensity exceeded, last: %.60s %.150s",
                 c->spec.name, c->last_exit);
        sup_begin_shutdown(self, 1, reason, now);
        return;
    }
    unsigned attempt = backoff_attempt(&self->backoff, c->streak, run_ms, came_up);
    int64_t delay = backoff_delay_ms(&self->backoff, attempt);
    c->streak = attempt + 1;
    c->restarts++;
    log_info("%s: restart in %lld ms (%u of %u restarts allowed within %s)", c->spec.name,
             (long long) delay, restart_window_count(self->window, now), self->intensity, period);
    if (delay == 0)
        sup_child_start(self, c, now);
    else {
        c->state = CHILD_WAITING;
        c->restart_at = now + delay;
    }
}

/*  A failure to start (program missing, fork failing) is treated as an
    instance that ended at once, so it is retried with backoff and, if it
    persists, ends in an intensity failure that names the reason. */
void sup_child_start(supervisor_t *self, child_t *c, int64_t now)
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
        sup_child_ended(self, c, -1, now);
        return;
    }
    c->pid = pid;
    c->state = CHILD_RUNNING;
    c->ever_started = true;
    char cmd[512];
    join_argv(c->spec.argv, cmd, sizeof cmd);
    log_info("%s: started with pid %d: %s", c->spec.name, (int) pid, cmd);
    sup_child_watch(self, c, now);
}

/*  SIGTERM, and SIGCONT so that a stopped process can act on it (as systemd
    does); SIGKILL follows at kill_at. A shutdown timeout of 0 is OTP's
    brutal_kill. */
void sup_child_stop(supervisor_t *self, child_t *c, int64_t now)
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
                 sup_fmt_ms(c->spec.shutdown_ms, t, sizeof t));
    }
}

/* ---- shutdown ------------------------------------------------------------ */

/*  Stops children one at a time from the last started to the first (OTP's
    order: a child may depend on those started before it). Sets done once
    none is left. */
void sup_advance_shutdown(supervisor_t *self, int64_t now)
{
    for (size_t i = self->n_children; i-- > 0;) {
        child_t *c = self->children[i];
        if (c->state == CHILD_STOPPING)
            return;
        if (c->state == CHILD_RUNNING) {
            sup_child_stop(self, c, now);
            return;
        }
    }
    self->done = true;
}

/*  Enters the shutdown: no more restarts or pings; the children are stopped
    by advance_shutdown. reason goes to the STATUS= line until the end. */
void sup_begin_shutdown(supervisor_t *self, int exit_code, const char *reason, int64_t now)
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
    sup_advance_shutdown(self, now);
}
