/*  restart: the two pure computations of the restart policy.

    The restart window is OTP's restart intensity: at most `intensity`
    restarts within any `period` (a sliding window, shared by all children of
    the supervisor). One more means the children cannot be kept alive, and
    the supervisor gives up so that its own supervisor (systemd) sees it.

    The backoff spaces out restarts of a child that cannot come up: an
    instance that came up (answered its first ping, or ran `stable` without
    a health endpoint) and then died is restarted at once, however often
    that happens (a storm of kill -9 must not slow recovery); instances that
    die before they come up wait initial, 2 x initial, 4 x initial ... up to
    max, and more than `start_failures` of them in a row is a crash loop
    that the supervisor gives up on. Debian 12's systemd (252) has no
    RestartSteps, so this is done here.

    Times are monotonic milliseconds supplied by the caller, which keeps both
    computations deterministic and testable. */
#ifndef ALYS_RESTART_H
#define ALYS_RESTART_H

#include <stdbool.h>
#include <stdint.h>

#define RESTART_MAX_INTENSITY 10000

typedef struct restart_window restart_window_t;

/*  intensity may be 0 (no restart allowed); at most RESTART_MAX_INTENSITY.
    period_ms > 0. Returns NULL on bad arguments or when out of memory. */
restart_window_t *restart_window_new(unsigned intensity, int64_t period_ms);
void restart_window_destroy(restart_window_t **self_p);

/*  Records a restart at now_ms (never earlier than the previous one).
    Returns 0 when it is within the intensity, -1 when it makes more than
    `intensity` restarts within the last `period_ms` (inclusive, as OTP: a
    restart exactly period_ms ago still counts). */
int restart_window_add(restart_window_t *self, int64_t now_ms);

/*  Restarts that still count at now_ms. */
unsigned restart_window_count(const restart_window_t *self, int64_t now_ms);

/*  Changes the limits (a configuration reload), keeping the restarts
    recorded so far that still fit. Returns 0, or -1 on bad arguments or when
    out of memory (then nothing changed). */
int restart_window_configure(restart_window_t *self, unsigned intensity, int64_t period_ms);

typedef struct {
    int64_t initial_ms; /* delay before the second quick restart, > 0 */
    int64_t max_ms;     /* cap, >= initial_ms */
    int64_t stable_ms;  /* a run this long resets the backoff */
    unsigned start_failures; /* instances in a row that end before coming
                                up, at most, before it is a crash loop (0: no limit) */
} backoff_policy_t;

/*  The delay before quick restart number `attempt` (0 for the first one after
    a stable run): 0, then initial_ms * 2^(attempt-1), capped at max_ms. */
int64_t backoff_delay_ms(const backoff_policy_t *policy, unsigned attempt);

/*  The attempt number of the restart that follows a run of run_ms, when
    `streak` quick restarts of this child preceded that run: 0 when the
    instance came up or ran a stable run (the streak is over), else streak.
    The caller then keeps attempt + 1 as the new streak. */
unsigned backoff_attempt(const backoff_policy_t *policy, unsigned streak, int64_t run_ms,
                         bool came_up);

/*  True when `failures` instances in a row ended before coming up are more
    than the policy allows: a crash loop. */
bool backoff_crash_loop(const backoff_policy_t *policy, unsigned failures);

#endif
