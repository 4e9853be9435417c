/*  supervisor_private: the supervisor's state, shared by the files that
    make up the supervisor (supervisor.c: the loop and its events;
    supervisor_child.c: one child's lifecycle and the shutdown;
    supervisor_reload.c: SIGHUP; supervisor_systemd.c: READY, WATCHDOG and
    STATUS). Not part of the supervisor's interface: only those files
    include it. */
#ifndef ALYS_SUPERVISOR_PRIVATE_H
#define ALYS_SUPERVISOR_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <zmq.h>

#include "config.h"
#include "health.h"
#include "notify.h"
#include "restart.h"
#include "supervisor.h"

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
/* ---- supervisor_child.c ------------------------------------------------- */

/*  "1.5 s", "3 s" or "250 ms" into buf, which it returns. */
const char *sup_fmt_ms(int64_t ms, char *buf, size_t len);
/*  A child that has not run yet, with a copy of spec; NULL when out of
    memory. */
child_t *sup_child_new(const child_spec_t *spec);
void sup_child_free(child_t **c_p);
/*  The child whose running (or stopping) instance has this pid, or NULL. */
child_t *sup_child_by_pid(supervisor_t *self, pid_t pid);
/*  Forks the child's program; a failure to start counts as an instance
    that ended at once. */
void sup_child_start(supervisor_t *self, child_t *c, int64_t now);
/*  SIGTERM (then SIGKILL at kill_at) to a running child. */
void sup_child_stop(supervisor_t *self, child_t *c, int64_t now);
/*  Applies the end of an instance: restart, backoff, intensity, reload
    actions. May free c. */
void sup_child_ended(supervisor_t *self, child_t *c, int wait_status, int64_t now);
/*  Creates the pinger of a running instance once the ZeroMQ context
    exists. */
void sup_child_watch(supervisor_t *self, child_t *c, int64_t now);
/*  Enters the shutdown (once) with the exit code supervisor_run returns. */
void sup_begin_shutdown(supervisor_t *self, int exit_code, const char *reason, int64_t now);
/*  Stops the next child in reverse start order; sets done when none is
    left. */
void sup_advance_shutdown(supervisor_t *self, int64_t now);

/* ---- supervisor_reload.c ------------------------------------------------ */

/*  Reads the configuration file again and applies the difference. */
void sup_reload(supervisor_t *self, int64_t now);

/* ---- supervisor_systemd.c ----------------------------------------------- */

/*  READY=1 once every child is up. */
void sup_check_ready(supervisor_t *self);
/*  WATCHDOG=1 when due and every child is healthy. */
void sup_watchdog(supervisor_t *self, int64_t now);
/*  STATUS= when the children's summary changed. */
void sup_update_status(supervisor_t *self);

#endif
