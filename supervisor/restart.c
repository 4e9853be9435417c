#include "restart.h"

#include <stdlib.h>
#include <string.h>

struct restart_window {
    unsigned intensity;
    int64_t period_ms;
    /*  The most recent restarts, oldest first. Only intensity + 1 of them can
        ever matter: that many within the period is already too many. */
    int64_t *times;
    unsigned count;
};

restart_window_t *restart_window_new(unsigned intensity, int64_t period_ms)
{
    if (intensity > RESTART_MAX_INTENSITY || period_ms <= 0)
        return NULL;
    restart_window_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->times = calloc((size_t) intensity + 1, sizeof *self->times);
    if (!self->times) {
        free(self);
        return NULL;
    }
    self->intensity = intensity;
    self->period_ms = period_ms;
    return self;
}

void restart_window_destroy(restart_window_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->times);
    free(*self_p);
    *self_p = NULL;
}

/*  Drops restarts older than the window ending at now_ms, and the oldest
    ones beyond `keep`. */
static void prune(restart_window_t *self, int64_t now_ms, unsigned keep)
{
    unsigned first = 0;
    while (first < self->count && self->times[first] < now_ms - self->period_ms)
        first++;
    if (self->count - first > keep)
        first = self->count - keep;
    if (first > 0) {
        memmove(self->times, self->times + first, (self->count - first) * sizeof *self->times);
        self->count -= first;
    }
}

/*  OTP's add_restart: keep the restarts within the period (a restart exactly
    period_ms ago still counts), add this one, and compare with the
    intensity. */
int restart_window_add(restart_window_t *self, int64_t now_ms)
{
    prune(self, now_ms, self->intensity);
    self->times[self->count++] = now_ms;
    return self->count > self->intensity ? -1 : 0;
}

unsigned restart_window_count(const restart_window_t *self, int64_t now_ms)
{
    unsigned n = 0;
    for (unsigned i = 0; i < self->count; i++)
        if (self->times[i] >= now_ms - self->period_ms)
            n++;
    return n;
}

int restart_window_configure(restart_window_t *self, unsigned intensity, int64_t period_ms)
{
    if (intensity > RESTART_MAX_INTENSITY || period_ms <= 0)
        return -1;
    int64_t *times = calloc((size_t) intensity + 1, sizeof *times);
    if (!times)
        return -1;
    unsigned keep = self->count < intensity + 1 ? self->count : intensity + 1;
    memcpy(times, self->times + (self->count - keep), keep * sizeof *times);
    free(self->times);
    self->times = times;
    self->count = keep;
    self->intensity = intensity;
    self->period_ms = period_ms;
    return 0;
}

/*  Doubling stops at the cap before it can overflow: a delay above half the
    cap goes straight to the cap. */
int64_t backoff_delay_ms(const backoff_policy_t *policy, unsigned attempt)
{
    if (attempt == 0)
        return 0;
    int64_t delay = policy->initial_ms;
    for (unsigned i = 1; i < attempt && delay < policy->max_ms; i++)
        delay = delay > policy->max_ms / 2 ? policy->max_ms : delay * 2;
    return delay < policy->max_ms ? delay : policy->max_ms;
}

unsigned backoff_attempt(const backoff_policy_t *policy, unsigned streak, int64_t run_ms,
                         bool came_up)
{
    return came_up || run_ms >= policy->stable_ms ? 0 : streak;
}

bool backoff_crash_loop(const backoff_policy_t *policy, unsigned failures)
{
    return policy->start_failures > 0 && failures > policy->start_failures;
}
