/*  engine: the actor's core. One zloop owns the ROUTER socket, the execution
    client's HTTP sockets and every timer; all state below is touched only
    from that loop, so nothing here is locked.

    A request is decoded and validated once (envelope, op, args schema), then
    runs in its lane: mutations (anything that changes fork choice) one at a
    time in arrival order, queries concurrently up to a bound. request.h is
    what op handlers see of a request; docs/architecture.md maps the files. */
#ifndef ALYS_ENGINE_H
#define ALYS_ENGINE_H

#include <czmq.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "cache.h"
#include "client_profile.h"
#include "el_client.h"
#include "fork_schedule.h"
#include "metrics.h"
#include "proto.h"

typedef struct {
    const char *bind;
    const char *engine_url;
    const char *rpc_url;
    const char *jwt_secret_path;
    bool strict_permissions; /* refuse, not just warn about, a group/other-readable secret */
    const char *curve_secret_path; /* the actor's CURVE certificate (zcert), or NULL */
    const char *curve_allow_dir;   /* public certificates of the allowed peers */
    bool insecure_tcp;       /* allow a non-loopback tcp bind without CURVE */
    size_t max_el_buffer;    /* bytes of execution-client answers received at once */
    uint8_t fee_recipient[20];
    double timeout_multiplier;
    size_t max_frame;
    size_t max_queries;      /* concurrent reads */
    size_t max_query_queue;  /* reads waiting for a slot, at most */
    size_t max_query_queue_bytes; /* and their frames plus bookkeeping */
    size_t el_connections;   /* per execution-client endpoint */
    size_t max_queue;        /* queued mutations */
    int shutdown_grace_ms;   /* in-flight requests get this long on SIGTERM */
    int retry_window_ms;     /* final replies kept for retries: the protocol's 60 s */
    size_t retry_store_max;  /* and at most this many of them */
    fork_schedule_t schedule; /* configured, or read from the chain at start */
    const char *client;      /* auto, or a profile name */
    size_t block_cache_size;
    size_t payload_cache_size;
    int payload_ttl_ms;
    const char *state_dir;   /* NULL: fork choice only from the client's tags */
    uint64_t logs_chunk;     /* largest block range per eth_getLogs */
    int health_interval_ms;
    int caps_interval_ms;
    const char *metrics_listen; /* HOST:PORT, or NULL for none */
} engine_config_t;

void engine_config_defaults(engine_config_t *config);

typedef struct engine engine_t;

/*  The execution client's health, as `status` reports it. */
typedef enum { EL_STATE_UNKNOWN = 0, EL_STATE_SYNCED, EL_STATE_SYNCING, EL_STATE_OFFLINE,
               EL_STATE_AUTH_FAILED } el_state_t;
const char *el_state_name(el_state_t state);

typedef struct {
    bool known;
    char code[8];
    char name[48];
    char version[64];
} el_client_info_t;

/*  Creates the actor: loads the JWT secret, binds the socket. NULL with a
    message in err on failure. */
engine_t *engine_new(const engine_config_t *config, char *err, size_t err_len);
void engine_destroy(engine_t **self_p);
/*  Runs the loop until a stop signal and the drain that follows. Returns 0,
    or 1 when it stopped because the execution client lacks a method the
    fork schedule needs. */
int engine_run(engine_t *self);

/* ---------------- read by op handlers ---------------- */

struct fc; /* fork_choice.h */
struct fc *engine_fc(engine_t *self);
el_client_t *engine_el(engine_t *self);
const engine_config_t *engine_config(engine_t *self);
el_state_t engine_el_state(engine_t *self);
const el_client_info_t *engine_client_info(engine_t *self);
int64_t engine_uptime_ms(engine_t *self);
bool engine_aborting(engine_t *self);
const fork_schedule_t *engine_schedule(engine_t *self);
const client_profile_t *engine_profile(engine_t *self);
payload_cache_t *engine_payload_cache(engine_t *self);
block_cache_t *engine_block_cache(engine_t *self);
metrics_t *engine_metrics(engine_t *self);
zloop_t *engine_loop(engine_t *self);
/*  The bound metrics port, or -1 when metrics are off. */
int engine_metrics_port(engine_t *self);
/*  Fills the actor's counters for status (and metrics). */
void engine_stats(engine_t *self, proto_actor_stats_t *out);

#endif
