/*  supervisor_systemd: what the supervisor tells systemd: READY=1 once the
    children are up, WATCHDOG=1 while they are healthy, STATUS= lines. */
#include "supervisor_private.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "log.h"

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

void sup_check_ready(supervisor_t *self)
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

void sup_watchdog(supervisor_t *self, int64_t now)
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
void sup_update_status(supervisor_t *self)
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
