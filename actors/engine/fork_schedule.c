#include "fork_schedule.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fork_schedule_default(fork_schedule_t *s)
{
    s->configured = false;
    s->shanghai = 0;
    s->cancun = UINT64_MAX;
    s->prague = UINT64_MAX;
}

static int parse_time(const char *v, uint64_t *out)
{
    if (strcmp(v, "never") == 0) {
        *out = UINT64_MAX;
        return 0;
    }
    if (*v < '0' || *v > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long t = strtoull(v, &end, 10);
    if (errno || *end)
        return -1;
    *out = t;
    return 0;
}

int fork_schedule_parse(const char *text, fork_schedule_t *s, char *err, size_t err_len)
{
    fork_schedule_default(s);
    char buf[256];
    if (strlen(text) >= sizeof buf) {
        snprintf(err, err_len, "fork schedule too long");
        return -1;
    }
    snprintf(buf, sizeof buf, "%s", text);
    char *save = NULL;
    for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        if (!eq) {
            snprintf(err, err_len, "'%s': expected FORK=TIMESTAMP", item);
            return -1;
        }
        *eq = '\0';
        uint64_t *slot = strcmp(item, "shanghai") == 0 ? &s->shanghai
                         : strcmp(item, "cancun") == 0 ? &s->cancun
                         : strcmp(item, "prague") == 0 ? &s->prague
                                                       : NULL;
        if (!slot) {
            snprintf(err, err_len, "unknown fork '%s' (shanghai, cancun, prague)", item);
            return -1;
        }
        if (parse_time(eq + 1, slot) != 0) {
            snprintf(err, err_len, "%s: '%s' is not a timestamp or 'never'", item, eq + 1);
            return -1;
        }
    }
    if (s->shanghai != 0 && s->shanghai != UINT64_MAX) {
        /* the actor speaks V2 and later only: Shanghai must be active */
        snprintf(err, err_len, "shanghai must be active from genesis (shanghai=0)");
        return -1;
    }
    if (s->shanghai == UINT64_MAX || s->cancun < s->shanghai || s->prague < s->cancun) {
        snprintf(err, err_len, "forks must activate in order: shanghai <= cancun <= prague");
        return -1;
    }
    s->configured = true;
    return 0;
}

fork_t fork_at(const fork_schedule_t *s, uint64_t timestamp)
{
    if (timestamp >= s->prague)
        return FORK_PRAGUE;
    if (timestamp >= s->cancun)
        return FORK_CANCUN;
    return FORK_SHANGHAI;
}

const char *fork_name(fork_t fork)
{
    static const char *const names[] = {"shanghai", "cancun", "prague"};
    return names[fork];
}

const char *fork_fcu_method(fork_t fork)
{
    return fork == FORK_SHANGHAI ? "engine_forkchoiceUpdatedV2" : "engine_forkchoiceUpdatedV3";
}

const char *fork_get_payload_method(fork_t fork)
{
    static const char *const m[] = {"engine_getPayloadV2", "engine_getPayloadV3", "engine_getPayloadV4"};
    return m[fork];
}

const char *fork_new_payload_method(fork_t fork)
{
    static const char *const m[] = {"engine_newPayloadV2", "engine_newPayloadV3", "engine_newPayloadV4"};
    return m[fork];
}

size_t fork_required_methods(const fork_schedule_t *s, const char **out, size_t max)
{
    size_t n = 0;
    const fork_t forks[] = {FORK_SHANGHAI, FORK_CANCUN, FORK_PRAGUE};
    const uint64_t starts[] = {s->shanghai, s->cancun, s->prague};
    for (int f = 0; f < 3; f++) {
        if (starts[f] == UINT64_MAX)
            continue;
        const char *m[] = {fork_fcu_method(forks[f]), fork_get_payload_method(forks[f]),
                           fork_new_payload_method(forks[f])};
        for (int i = 0; i < 3; i++) {
            bool dup = false;
            for (size_t j = 0; j < n; j++)
                dup = dup || strcmp(out[j], m[i]) == 0;
            if (!dup && n + 1 < max)
                out[n++] = m[i];
        }
    }
    if (n + 1 < max)
        out[n++] = "engine_getPayloadBodiesByHashV1";
    out[n] = NULL;
    return n;
}
