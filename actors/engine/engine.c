/*  The engine's life cycle: configuration defaults, creation (secrets,
    instance lock, socket, CURVE, execution client, caches, metrics, op
    index), the loop, the socket reader, the sweep timer and the shutdown
    drain. A request's own life is in request.c. */
#include "engine.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alys_config.h"
#include "clock.h"
#include "curve.h"
#include "engine_internal.h"
#include "log.h"

#define HEALTH_INTERVAL_MS 5000
#define SWEEP_INTERVAL_MS 5000

void engine_config_defaults(engine_config_t *config)
{
    memset(config, 0, sizeof *config);
    config->bind = "ipc:///run/alys/engine.sock";
    config->engine_url = "http://127.0.0.1:8551";
    config->rpc_url = "http://127.0.0.1:8545";
    static const uint8_t dead[20] = {[18] = 0xde, [19] = 0xad};
    memcpy(config->fee_recipient, dead, 20);
    config->timeout_multiplier = 1.0;
    config->max_frame = PROTO_MAX_FRAME_DEFAULT;
    config->max_queries = 256;
    config->max_query_queue = 65536;
    config->max_query_queue_bytes = 64u * 1024 * 1024;
    config->el_connections = 16;
    config->max_queue = 1024;
    config->shutdown_grace_ms = 1200;
    config->retry_window_ms = 60000;
    config->retry_store_max = 20000;
    fork_schedule_default(&config->schedule);
    config->client = "auto";
    config->block_cache_size = 1024;
    config->payload_cache_size = 32;
    config->payload_ttl_ms = 120000;
    config->logs_chunk = 2000;
    config->health_interval_ms = HEALTH_INTERVAL_MS;
    config->caps_interval_ms = 15 * 60 * 1000;
    config->metrics_listen = "127.0.0.1:9105";
    config->max_el_buffer = 256u * 1024 * 1024;
}

const char *el_state_name(el_state_t state)
{
    static const char *const names[] = {"unknown", "synced", "syncing", "offline", "auth_failed"};
    return state <= EL_STATE_AUTH_FAILED ? names[state] : "unknown";
}

struct fc *engine_fc(engine_t *self) { return self->fc; }
zloop_t *engine_loop(engine_t *self) { return self->loop; }
el_client_t *engine_el(engine_t *self) { return self->el; }
const engine_config_t *engine_config(engine_t *self) { return &self->config; }
el_state_t engine_el_state(engine_t *self) { return self->el_state; }
const el_client_info_t *engine_client_info(engine_t *self) { return &self->client; }
int64_t engine_uptime_ms(engine_t *self) { return clock_mono_ms() - self->start_ms; }
bool engine_aborting(engine_t *self) { return self->aborting; }
const fork_schedule_t *engine_schedule(engine_t *self) { return &self->config.schedule; }
const client_profile_t *engine_profile(engine_t *self) { return self->profile; }
payload_cache_t *engine_payload_cache(engine_t *self) { return self->payloads; }
metrics_t *engine_metrics(engine_t *self) { return self->metrics; }
int engine_metrics_port(engine_t *self)
{
    return self->metrics_server ? metrics_server_port(self->metrics_server) : -1;
}
block_cache_t *engine_block_cache(engine_t *self) { return self->blocks; }

void engine_stats(engine_t *self, proto_actor_stats_t *out)
{
    el_client_stats_t el;
    el_client_stats(self->el, &el);
    cache_stats_t b, p;
    block_cache_stats(self->blocks, &b);
    payload_cache_stats(self->payloads, &p);
    *out = (proto_actor_stats_t){
        .requests = self->requests,
        .mutations_queued = self->queue_len + (self->active ? 1 : 0),
        .queries_in_flight = self->n_queries,
        .el_calls = el.calls,
        .el_failures = el.failures,
        .el_connections_opened = el.connections_opened,
        .dropped_envelopes = self->dropped_envelopes,
        .unroutable_replies = self->unroutable_replies,
        .block_cache_hits = b.hits,
        .block_cache_misses = b.misses,
        .block_cache_entries = b.entries,
        .payload_cache_hits = p.hits,
        .payload_cache_misses = p.misses,
        .payload_cache_entries = p.entries,
    };
}

/*  Reads what is waiting, up to a batch, with zmq_msg_t (no per-frame
    allocations): [routing id][empty][body] is a request; any other shape
    cannot be answered reliably and is dropped and counted. */
static int on_router(zloop_t *loop, zsock_t *reader, void *arg)
{
    engine_t *self = arg;
    void *sock = zsock_resolve(reader);
    for (int i = 0; i < 256; i++) {
        zmq_msg_t part[3];
        zmq_msg_init(&part[0]);
        if (zmq_msg_recv(&part[0], sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&part[0]);
            break;
        }
        int n = 1;
        bool more = zmq_msg_more(&part[0]), extra = false;
        while (more) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, sock, 0) < 0) {
                zmq_msg_close(&m);
                break;
            }
            more = zmq_msg_more(&m);
            if (n < 3) {
                zmq_msg_init(&part[n]);
                zmq_msg_move(&part[n++], &m);
            } else {
                extra = true;
            }
            zmq_msg_close(&m);
        }
        if (n != 3 || extra || zmq_msg_size(&part[1]) != 0) {
            self->dropped_envelopes++;
            log_debug("dropped a message with a malformed envelope");
        } else {
            zframe_t *routing = zframe_new(zmq_msg_data(&part[0]), zmq_msg_size(&part[0]));
            if (routing)
                engine_handle_request(self, routing, zmq_msg_data(&part[2]), zmq_msg_size(&part[2]));
        }
        for (int k = 0; k < n; k++)
            zmq_msg_close(&part[k]);
    }
    return 0;
}

static int on_sweep(zloop_t *loop, int timer_id, void *arg)
{
    engine_t *self = arg;
    int64_t now = clock_mono_ms();
    engine_sweep_requests(self, now);
    /* freed memory stays with the allocator (a reconnect storm leaves
       ZeroMQ's per-connection buffers behind it): give it back while idle.
       Peers may only connect, without a request, so no condition on work
       done; a trim of a small, idle heap costs well under a millisecond */
    if (engine_busy(self) == 0)
        malloc_trim(0);
    return 0;
}

/* ------------------------------------------------------------- shutdown */

static int on_drain(zloop_t *loop, int timer_id, void *arg)
{
    engine_t *self = arg;
    if (!self->aborting
        && clock_mono_ms() - self->shutdown_started_ms >= self->config.shutdown_grace_ms) {
        self->aborting = true;
        log_warn("%zu requests still running after %d ms: answering SHUTTING_DOWN", engine_busy(self),
                 self->config.shutdown_grace_ms);
        el_client_abort_all(self->el, PROTO_SHUTTING_DOWN, "the actor is stopping");
    }
    if (engine_busy(self) == 0) {
        self->aborting = true;
        el_client_abort_all(self->el, PROTO_SHUTTING_DOWN, "the actor is stopping");
        return -1; /* ends zloop_start */
    }
    return 0;
}

static int on_signal(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    engine_t *self = arg;
    struct signalfd_siginfo si;
    if (read(self->signal_fd, &si, sizeof si) != (ssize_t) sizeof si)
        return 0;
    if (self->shutting_down)
        return 0;
    self->shutting_down = true;
    self->shutdown_started_ms = clock_mono_ms();
    log_info("received %s: finishing %zu requests in flight, then stopping",
             strsignal((int) si.ssi_signo), engine_busy(self));
    zloop_timer(loop, 10, 0, on_drain, self);
    engine_drain_queue(self, PROTO_SHUTTING_DOWN, "the actor is stopping"); /* not started: answer now */
    engine_pump(self); /* the waiting reads too */
    return 0;
}

/* ------------------------------------------------------------ lifecycle */

/*  Makes the ROUTER a CURVE server that serves only the clients whose public
    certificates are in --curve-allow (zauth re-reads the directory when it
    changes), or, without CURVE, refuses a tcp bind that other hosts could
    reach unless --insecure-tcp says so. Before bind. Returns 0 or -1. */
static int setup_curve(engine_t *self, char *err, size_t err_len)
{
    const engine_config_t *c = &self->config;
    if (!c->curve_secret_path && !c->curve_allow_dir) {
        if (!curve_endpoint_exposed(c->bind))
            return 0;
        if (!c->insecure_tcp) {
            snprintf(err, err_len, "--bind %s is reachable from other hosts and anyone who "
                                   "reaches it can build and commit blocks: give --curve-secret "
                                   "and --curve-allow, bind to 127.0.0.1, or say --insecure-tcp",
                     c->bind);
            return -1;
        }
        log_warn("--insecure-tcp: %s accepts unauthenticated peers from other hosts", c->bind);
        return 0;
    }
    if (!c->curve_secret_path || !c->curve_allow_dir) {
        snprintf(err, err_len, "--curve-secret and --curve-allow go together");
        return -1;
    }
    struct stat st;
    if (stat(c->curve_allow_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, err_len, "--curve-allow %s: not a directory", c->curve_allow_dir);
        return -1;
    }
    self->curve_cert = curve_load_secret(c->curve_secret_path, err, err_len);
    if (!self->curve_cert)
        return -1;
    self->auth = zactor_new(zauth, NULL);
    if (!self->auth) {
        snprintf(err, err_len, "cannot start the ZAP handler");
        return -1;
    }
    if (log_get_level() >= ALOG_DEBUG) {
        zstr_sendx(self->auth, "VERBOSE", NULL);
        zsock_wait(self->auth);
    }
    zstr_sendx(self->auth, "CURVE", c->curve_allow_dir, NULL);
    zsock_wait(self->auth);
    zcert_apply(self->curve_cert, self->router);
    zsock_set_curve_server(self->router, 1);
    zsock_set_zap_domain(self->router, "alys-engine");
    log_info("CURVE on %s: clients allowed from %s", c->bind, c->curve_allow_dir);
    return 0;
}

engine_t *engine_new(const engine_config_t *config, char *err, size_t err_len)
{
    engine_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    self->config = *config;
    self->signal_fd = -1;
    self->start_ms = clock_mono_ms();
    proto_writer_init(&self->writer);
    self->metrics = metrics_new();
    if (!self->metrics) {
        snprintf(err, err_len, "out of memory");
        free(self);
        return NULL;
    }
    engine_metrics_define(self->metrics);
    if (engine_ops_index(self, err, err_len) != 0)
        goto fail;
    self->jwt = jwt_auth_load(config->jwt_secret_path, config->strict_permissions, err, err_len);
    if (!self->jwt)
        goto fail;
    self->instance = instance_new();
    if (!self->instance) {
        snprintf(err, err_len, "out of memory");
        goto fail;
    }
    if (config->state_dir && instance_lock_dir(self->instance, config->state_dir, err, err_len) != 0)
        goto fail;
    if (instance_claim_endpoint(self->instance, config->bind, err, err_len) != 0)
        goto fail;

    zsys_handler_set(NULL); /* signals arrive through signalfd below */
    /* blocked before any thread starts (zauth's is one), so that every
       thread inherits the mask and only the signalfd sees them */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    self->loop = zloop_new();
    self->router = zsock_new(ZMQ_ROUTER);
    if (!self->loop || !self->router) {
        snprintf(err, err_len, "cannot create the ZeroMQ socket");
        goto fail;
    }
    zsock_set_router_mandatory(self->router, 1);
    zsock_set_router_handover(self->router, 1);
    zsock_set_sndhwm(self->router, 10000);
    zsock_set_rcvhwm(self->router, 10000);
    zsock_set_maxmsgsize(self->router, (int) config->max_frame);
    zsock_set_rcvtimeo(self->router, 0);
    zsock_set_linger(self->router, 500);
    if (setup_curve(self, err, err_len) != 0)
        goto fail;
    /*  Before the bind: a peer already waiting (the supervisor's pinger
        retries every 10 ms) connects at once and must be counted. */
    self->peer_conns = peer_conns_new(self->loop, self->router);
    if (!self->peer_conns)
        log_warn("cannot monitor peer connections: the peers gauge stays at 0");
    /* the ipc socket file is created rw for owner and group (the peers'
       group), never for others, whatever umask the actor was started with */
    mode_t umask_before = umask(0117);
    int bound = zsock_bind(self->router, "%s", config->bind);
    umask(umask_before);
    if (bound < 0) {
        int e = zmq_errno();
        /*  The default's /run/alys exists only where systemd made it. */
        snprintf(err, err_len, "cannot bind %s: %s%s", config->bind, zmq_strerror(e),
                 e == ENOENT && strncmp(config->bind, "ipc://", 6) == 0
                     ? " (its directory does not exist: create it, as systemd's "
                       "RuntimeDirectory= does for /run/alys, or bind elsewhere, e.g. "
                       "--bind ipc://$XDG_RUNTIME_DIR/alys-engine.sock)"
                     : "");
        goto fail;
    }
    if (instance_bound(self->instance, config->bind, 0660, err, err_len) != 0)
        goto fail;
    el_client_config_t elc = {
        .engine_url = config->engine_url,
        .rpc_url = config->rpc_url,
        .jwt = self->jwt,
        .timeout_multiplier = config->timeout_multiplier,
        .max_buffered = config->max_el_buffer,
        .max_connections = config->el_connections,
    };
    self->el = el_client_new(self->loop, &elc);
    self->payloads = payload_cache_new(config->payload_cache_size, config->payload_ttl_ms);
    self->blocks = block_cache_new(config->block_cache_size);
    self->fc = fc_new(config->state_dir, self->blocks);
    self->idem = idem_new(config->retry_window_ms, config->retry_store_max);
    if (!self->el || !self->payloads || !self->blocks || !self->fc || !self->idem) {
        snprintf(err, err_len, "cannot initialise libcurl or the caches");
        goto fail;
    }
    self->profile = client_profile_for(strcmp(config->client, "auto") == 0 ? NULL : config->client);
    el_client_set_observer(self->el, engine_metrics_el_call, self);
    if (config->metrics_listen) {
        char why[160];
        self->metrics_server = metrics_server_new(self->loop, config->metrics_listen, engine_metrics_render,
                                                  engine_metrics_health, self, why, sizeof why);
        /* a configured address that cannot serve is a configuration error,
           like a busy --bind: the supervisor's /health would be blind */
        if (!self->metrics_server) {
            snprintf(err, err_len, "--metrics-listen: %s", why);
            goto fail;
        }
    }
    self->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (self->signal_fd < 0) {
        snprintf(err, err_len, "signalfd: %s", strerror(errno));
        goto fail;
    }
    zmq_pollitem_t sig_item = {NULL, self->signal_fd, ZMQ_POLLIN, 0};
    zloop_poller(self->loop, &sig_item, on_signal, self);
    zloop_reader(self->loop, self->router, on_router, self);
    zloop_timer(self->loop, (size_t) config->health_interval_ms, 0, engine_on_health_timer, self);
    zloop_timer(self->loop, SWEEP_INTERVAL_MS, 0, on_sweep, self);
    return self;
fail:
    engine_destroy(&self);
    return NULL;
}

void engine_destroy(engine_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    engine_t *self = *self_p;
    self->aborting = true;
    el_client_destroy(&self->el);
    engine_requests_free(self);
    fc_destroy(&self->fc);
    payload_cache_destroy(&self->payloads);
    block_cache_destroy(&self->blocks);
    metrics_server_destroy(&self->metrics_server);
    metrics_destroy(&self->metrics);
    peer_conns_destroy(&self->peer_conns);
    zsock_destroy(&self->router);
    zactor_destroy(&self->auth);
    curve_cert_destroy(&self->curve_cert);
    instance_destroy(&self->instance); /* after the socket: removes its file, then unlocks */
    zloop_destroy(&self->loop);
    if (self->signal_fd >= 0)
        close(self->signal_fd);
    jwt_auth_destroy(&self->jwt);
    proto_writer_release(&self->writer);
    free(self);
    *self_p = NULL;
}

int engine_run(engine_t *self)
{
    char metrics_at[32] = "off";
    if (self->metrics_server)
        snprintf(metrics_at, sizeof metrics_at, "port %d", engine_metrics_port(self));
    log_info("alys-engine %s serving %s; execution client engine %s, rpc %s; metrics %s",
             ALYS_VERSION, self->config.bind, self->config.engine_url, self->config.rpc_url,
             metrics_at);
    engine_on_health_timer(self->loop, -1, self);
    zloop_start(self->loop);
    if (self->fatal)
        return 1;
    log_info("stopped (%llu requests served, %llu malformed envelopes dropped, %llu replies "
             "unroutable)",
             (unsigned long long) self->requests, (unsigned long long) self->dropped_envelopes,
             (unsigned long long) self->unroutable_replies);
    return 0;
}
