/*  fork_schedule: which Engine API version a payload's timestamp calls for.
    Shanghai → V2, Cancun → V3, Prague → V4 (forkchoiceUpdated stays V3 from
    Cancun on: there is no V4 of it). */
#ifndef ALYS_FORK_SCHEDULE_H
#define ALYS_FORK_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { FORK_SHANGHAI = 0, FORK_CANCUN = 1, FORK_PRAGUE = 2 } fork_t;

typedef struct {
    bool configured;          /* given by the operator (else read from the chain) */
    uint64_t shanghai;        /* activation timestamps; UINT64_MAX = never */
    uint64_t cancun;
    uint64_t prague;
} fork_schedule_t;

/*  Shanghai at 0, Cancun and Prague never: what Alys runs. */
void fork_schedule_default(fork_schedule_t *s);
/*  Parses "shanghai=T,cancun=T,prague=T" (any subset; T a number or "never").
    Returns 0, or -1 with a reason in err. Later forks may not precede earlier. */
int fork_schedule_parse(const char *text, fork_schedule_t *s, char *err, size_t err_len);
fork_t fork_at(const fork_schedule_t *s, uint64_t timestamp);
const char *fork_name(fork_t fork);

/*  Engine API method names for a fork ("engine_forkchoiceUpdatedV3", ...). */
const char *fork_fcu_method(fork_t fork);
const char *fork_get_payload_method(fork_t fork);
const char *fork_new_payload_method(fork_t fork);

/*  The methods the actor needs from the client under this schedule, NULL
    terminated, for engine_exchangeCapabilities. */
size_t fork_required_methods(const fork_schedule_t *s, const char **out, size_t max);

#endif
