/*  config: what the supervisor runs, read from a ZPL file (czmq's zconfig)
    or built from the command line.

    A child spec is OTP's: a name, the program and its arguments, a restart
    type, a shutdown timeout, and here also an optional health endpoint that
    answers the `ping` op of the engine protocol. Durations are written like
    systemd time spans: "250ms", "5s", "1.5s", "2min", "1h"; a bare number is
    seconds.

        supervisor
            intensity = 200          # more than 200 restarts ...
            period = 60s             # ... within 60 s: give up, exit 1
            backoff_initial = 100ms  # quick restarts wait 0, 100ms, 200ms, ...
            backoff_max = 5s
            stable_after = 10s       # a run this long resets the backoff
            start_failures = 5       # more starts in a row that never come up: exit 3
        children                     # started in this order, stopped in reverse
            engine
                program = /usr/local/bin/alys-engine
                arg = --bind
                arg = ipc:///run/alys/engine.sock
                restart = permanent  # permanent, transient or temporary
                shutdown_timeout = 10s
                health = ipc:///run/alys/engine.sock
                # on a CURVE endpoint (tcp), both of:
                # health_curve_cert = /etc/alys/curve/supervisor_secret
                # health_curve_server_key = /etc/alys/curve/engine
                ping_interval = 1s
                ping_misses = 3
                start_grace = 10s
                env
                    RUST_LOG = info

    Unknown keys are errors, so a misspelt setting is never silently ignored. */
#ifndef ALYS_SUP_CONFIG_H
#define ALYS_SUP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "restart.h"

typedef enum {
    RESTART_PERMANENT = 0, /* always restarted */
    RESTART_TRANSIENT,     /* restarted unless it exited with code 0 */
    RESTART_TEMPORARY      /* never restarted */
} restart_type_t;

typedef struct {
    char *name;
    char **argv;            /* argv[0] is the program; NULL-terminated */
    size_t argc;
    char **env;             /* "KEY=VALUE" added to the environment; NULL-terminated */
    size_t n_env;
    restart_type_t restart;
    int64_t shutdown_ms;    /* SIGTERM, then SIGKILL after this; 0: SIGKILL at once */
    char *health;           /* ZeroMQ endpoint answering `ping`, or NULL */
    char *health_curve_cert;       /* CURVE: the supervisor's certificate, or NULL */
    char *health_curve_server_key; /* CURVE: the child's public key or certificate file */
    int64_t ping_interval_ms;
    unsigned ping_misses;   /* consecutive unanswered pings that mean "hung" */
    int64_t start_grace_ms; /* misses do not count before the first answer until then */
} child_spec_t;

typedef struct {
    unsigned intensity;
    int64_t period_ms;
    backoff_policy_t backoff;
    size_t n_children;
    child_spec_t *children; /* in start order */
} sup_config_t;

/*  A storm of crashes of a serving actor is ridden out (each restart at
    once, up to 200 within a minute); a child that dies before it comes up
    is given up on after 6 such starts in a row (about 2 s). */
#define SUP_DEFAULT_INTENSITY 200
#define SUP_DEFAULT_PERIOD_MS 60000
#define SUP_DEFAULT_START_FAILURES 5
#define SUP_DEFAULT_BACKOFF_INITIAL_MS 100
#define SUP_DEFAULT_BACKOFF_MAX_MS 5000
#define SUP_DEFAULT_STABLE_MS 10000
#define CHILD_DEFAULT_SHUTDOWN_MS 5000
#define CHILD_DEFAULT_PING_INTERVAL_MS 1000
#define CHILD_DEFAULT_PING_MISSES 3
#define CHILD_DEFAULT_START_GRACE_MS 10000

/*  A configuration with the defaults and no children. NULL when out of memory. */
sup_config_t *sup_config_new(void);
void sup_config_destroy(sup_config_t **self_p);

/*  Reads a ZPL file (sup_config_parse reads ZPL text). Returns NULL with the
    reason in err when the file cannot be read, is not ZPL, or describes an
    invalid configuration (no children, duplicate names, bad values). */
sup_config_t *sup_config_load(const char *path, char *err, size_t err_len);
sup_config_t *sup_config_parse(const char *text, char *err, size_t err_len);

/*  Checks the supervisor-wide settings and every child, and that there is at
    least one child and no two share a name. Returns 0 or -1 with err. */
int sup_config_validate(const sup_config_t *self, char *err, size_t err_len);

/*  Appends a deep copy of spec. Returns 0 or -1 (out of memory). */
int sup_config_add_child(sup_config_t *self, const child_spec_t *spec);
/*  The child of that name, or NULL. */
const child_spec_t *sup_config_find(const sup_config_t *self, const char *name);

/*  Fills spec with the defaults (no name, no program). */
void child_spec_defaults(child_spec_t *spec);
/*  Deep copy into dst (overwritten). Returns 0 or -1 (out of memory). */
int child_spec_copy(child_spec_t *dst, const child_spec_t *src);
/*  Frees what the spec owns and zeroes it. */
void child_spec_release(child_spec_t *spec);
/*  True when running a with b would be the same thing: any difference means
    a reload must restart the child. */
bool child_spec_equal(const child_spec_t *a, const child_spec_t *b);

/*  "250ms", "5s", "1.5s", "2min", "1h", or a bare number of seconds. Returns
    0 and the value in milliseconds, or -1. */
int parse_duration_ms(const char *text, int64_t *out);
int parse_restart_type(const char *text, restart_type_t *out);
const char *restart_type_name(restart_type_t type);

#endif
