/*  supervisor_reload: SIGHUP, applying a new configuration file to the
    running children. */
#include "supervisor_private.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"

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
void sup_reload(supervisor_t *self, int64_t now)
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
            c = sup_child_new(spec);
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
                sup_child_stop(self, c, now);
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
            sup_child_stop(self, c, now);
            next[k++] = c;
        } else {
            log_info("%s: removed", c->spec.name);
            sup_child_free(&c);
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
            sup_child_start(self, c, now);
        }
    }
    sup_config_destroy(&cfg);
    /*  Before the first READY=1, check_ready sends it once the children are
        up; sending it here would tell systemd the start is complete. */
    if (self->ready_sent)
        notify_send(self->notify, "READY=1");
}
