/*  The execution client's health and identity: the state machine that
    `status` and /health report (synced, syncing, offline, auth_failed),
    fed by every call's outcome and a periodic eth_syncing; the
    capabilities check; naming the client and adopting its profile; and the
    idle check that the client's head is still the fork choice's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alys_config.h"
#include "build_info.h"
#include "clock.h"
#include "el_json.h"
#include "engine_internal.h"
#include "hex.h"
#include "log.h"

static void set_state(engine_t *self, el_state_t next, const char *why)
{
    el_state_t before = self->el_state;
    if (before == next)
        return;
    self->el_state = next;
    if (before == EL_STATE_UNKNOWN && next == EL_STATE_OFFLINE)
        /*  Started together with the client (a supervisor, a devnet): not
            up yet is the normal case, not a fault. */
        log_info("execution client not reachable yet, waiting for it: %s", why ? why : "");
    else if (next == EL_STATE_OFFLINE || next == EL_STATE_AUTH_FAILED)
        log_warn("execution client %s -> %s: %s", el_state_name(before), el_state_name(next),
                 why ? why : "");
    else
        log_info("execution client %s -> %s", el_state_name(before), el_state_name(next));
    bool was_down = before == EL_STATE_OFFLINE || before == EL_STATE_AUTH_FAILED;
    if (was_down && (next == EL_STATE_SYNCED || next == EL_STATE_SYNCING)
        && self->fc_phase == FC_READY && !self->shutting_down)
        engine_resend_fork_choice(self, false);
}

void engine_note_el_result(engine_t *self, const el_response_t *resp)
{
    switch (resp->err) {
    case PROTO_EL_UNAVAILABLE:
        set_state(self, EL_STATE_OFFLINE, resp->message);
        break;
    case PROTO_EL_AUTH_FAILED:
        set_state(self, EL_STATE_AUTH_FAILED, resp->message);
        break;
    case PROTO_EL_TIMEOUT:      /* slow, not gone: one slow read says little */
    case PROTO_SHUTTING_DOWN:
        break;
    default:
        /* an authenticated answer proves the client is back; the public
           port answers without a JWT, so it proves nothing about auth */
        if (resp->endpoint == EL_ENGINE
            && (self->el_state == EL_STATE_OFFLINE || self->el_state == EL_STATE_AUTH_FAILED
                || self->el_state == EL_STATE_UNKNOWN))
            set_state(self, EL_STATE_SYNCED, NULL);
        break;
    }
}

static void on_health_sync(void *ctx, el_response_t *resp)
{
    engine_t *self = ctx;
    if (resp->err == PROTO_EL_TIMEOUT) {
        /* a client that takes the whole timeout to answer eth_syncing is
           hung (or stopped), not merely slow */
        set_state(self, EL_STATE_OFFLINE, resp->message);
        return;
    }
    if (resp->err != PROTO_OK) {
        engine_note_el_result(self, resp);
        return;
    }
    if (self->el_state == EL_STATE_AUTH_FAILED || self->el_state == EL_STATE_OFFLINE)
        return; /* only an authenticated answer ends these (check_caps) */
    bool synced = json_is_false(resp->result);
    if (json_is_object(resp->result)) {
        uint64_t current = 0, highest = 0;
        bool have = el_json_quantity(json_object_get(resp->result, "currentBlock"), &current) == 0
                    && el_json_quantity(json_object_get(resp->result, "highestBlock"), &highest) == 0;
        if (have) {
            self->sync_current = current;
            self->sync_highest = highest;
        }
        /* Geth reports progress while only its background indexers lag
           (txIndexRemainingBlocks is 1 at genesis until a first block
           arrives): every block is there, so it can build and import */
        synced = have && current >= highest;
    }
    set_state(self, synced ? EL_STATE_SYNCED : EL_STATE_SYNCING, NULL);
}

static int on_fatal(zloop_t *loop, int timer_id, void *arg) { return -1; }

static void identify_client(engine_t *self);

static bool caps_list_has(json_t *list, const char *method)
{
    for (size_t j = 0; j < json_array_size(list); j++)
        if (strcmp(json_string_value(json_array_get(list, j)) ?: "", method) == 0)
            return true;
    return false;
}

/*  engine_exchangeCapabilities: a method the fork schedule needs and the
    client lacks is fatal at start-up, since every build would fail; later it
    is logged (the client was replaced under us). The first answer also
    says how to name the client. */
static void on_caps(void *ctx, el_response_t *resp)
{
    engine_t *self = ctx;
    engine_note_el_result(self, resp);
    if (resp->err != PROTO_OK)
        return;
    self->caps_client_version = caps_list_has(resp->result, "engine_getClientVersionV1");
    const char *need[16];
    fork_required_methods(&self->config.schedule, need, 16);
    char missing[256] = "";
    for (size_t i = 0; need[i]; i++) {
        bool found = caps_list_has(resp->result, need[i]);
        if (!found && strlen(missing) + strlen(need[i]) + 3 < sizeof missing) {
            strcat(missing, missing[0] ? ", " : "");
            strcat(missing, need[i]);
        }
    }
    bool first = !self->caps_checked;
    self->caps_checked = true;
    self->caps_checked_ms = clock_mono_ms();
    if (first && !self->client.known)
        identify_client(self);
    if (!missing[0])
        return;
    if (first) {
        log_error("the execution client at %s does not offer %s, which the fork schedule needs: "
                  "stopping",
                  self->config.engine_url, missing);
        self->fatal = true;
        zloop_timer(self->loop, 1, 1, on_fatal, self);
    } else {
        log_error("the execution client no longer offers %s", missing);
    }
}

/*  Offers every Engine API method the actor calls, as the spec asks: the
    ones the fork schedule needs, and engine_getClientVersionV1, which is
    optional (its absence only means web3_clientVersion names the client). */
void engine_check_caps(engine_t *self)
{
    const char *methods[16];
    size_t n = fork_required_methods(&self->config.schedule, methods, 16);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_string(methods[i]));
    json_array_append_new(list, json_string("engine_getClientVersionV1"));
    el_client_call(self->el, EL_ENGINE, "engine_exchangeCapabilities", json_pack("[o]", list),
                   on_caps, self);
}

static void parse_client_version(engine_t *self, const char *text)
{
    /* "EthereumJS/0.10.5/linux/node20" or "Geth/v1.14.0-stable/linux-amd64/go1.22" */
    char name[48] = "", version[64] = "";
    const char *slash = strchr(text, '/');
    size_t n = slash ? (size_t) (slash - text) : strlen(text);
    snprintf(name, sizeof name, "%.*s", (int) (n < sizeof name ? n : sizeof name - 1), text);
    if (slash) {
        const char *end = strchr(slash + 1, '/');
        size_t m = end ? (size_t) (end - slash - 1) : strlen(slash + 1);
        snprintf(version, sizeof version, "%.*s", (int) (m < sizeof version ? m : sizeof version - 1),
                 slash + 1);
    }
    const client_profile_t *p = client_profile_for(name);
    snprintf(self->client.code, sizeof self->client.code, "%s", p->code);
    memcpy(self->client.name, name, sizeof name);
    memcpy(self->client.version, version, sizeof version);
    self->client.known = true;
}

static void adopt_client(engine_t *self)
{
    if (strcmp(self->config.client, "auto") == 0)
        self->profile = client_profile_for(self->client.code);
    const client_profile_t *p = self->profile;
    log_info("execution client is %s %s (%s); behaving as for %s: unknown payload id %lld, "
             "payload ids %sreused, revert onto the finalized block %s; documented: %s to an "
             "ancestor, %s for an unknown parent",
             self->client.name, self->client.version, self->client.code, p->name,
             (long long) p->unknown_payload_code, p->keeps_payload_after_get ? "" : "not ",
             p->no_head_at_finalized ? "refused" : "allowed",
             p->rewinds_to_ancestor ? "rewinds" : "does not rewind", p->unknown_parent_status);
}

static void on_web3_version(void *ctx, el_response_t *resp)
{
    engine_t *self = ctx;
    if (resp->err == PROTO_OK && json_is_string(resp->result)) {
        parse_client_version(self, json_string_value(resp->result));
        adopt_client(self);
    }
}

static void on_client_version(void *ctx, el_response_t *resp)
{
    engine_t *self = ctx;
    json_t *first = json_array_get(resp->result, 0);
    const char *code = json_string_value(json_object_get(first, "code"));
    const char *name = json_string_value(json_object_get(first, "name"));
    const char *version = json_string_value(json_object_get(first, "version"));
    if (resp->err == PROTO_OK && code && name && version) {
        snprintf(self->client.code, sizeof self->client.code, "%s", code);
        snprintf(self->client.name, sizeof self->client.name, "%s", name);
        snprintf(self->client.version, sizeof self->client.version, "%s", version);
        self->client.known = true;
        adopt_client(self);
        return;
    }
    if (self->aborting || resp->err == PROTO_EL_UNAVAILABLE || resp->err == PROTO_EL_AUTH_FAILED
        || resp->err == PROTO_EL_TIMEOUT)
        return;
    /* listed but failing: the public name still says which client it is */
    el_client_call(self->el, EL_RPC, "web3_clientVersion", NULL, on_web3_version, self);
}

/*  Names the client: engine_getClientVersionV1 when exchangeCapabilities
    listed it (the spec's way, carrying this build's commit), else
    web3_clientVersion (EthereumJS and older clients lack the former, and a
    method the client did not list is not called). */
static void identify_client(engine_t *self)
{
    if (!self->caps_client_version) {
        el_client_call(self->el, EL_RPC, "web3_clientVersion", NULL, on_web3_version, self);
        return;
    }
    el_client_call(self->el, EL_ENGINE, "engine_getClientVersionV1",
                   json_pack("[{s:s,s:s,s:s,s:s}]", "code", "AL", "name", "alys-engine", "version",
                             ALYS_VERSION, "commit", build_info_commit()),
                   on_client_version, self);
}

/*  The client's head and the actor's head block as the client knows it,
    read while no fork-choice change runs or waits. A client that restarted
    may come back behind or beside the actor's fork choice (it lost blocks,
    or a head it took over a reorg): then the fork choice goes to it again.
    A client whose head is ahead of the actor's was moved on by someone
    else building on it; that is not fought (the next mutation says what
    the head is). */
static void on_head_check(void *ctx, el_response_t *resp)
{
    engine_t *self = ctx;
    uint8_t head[32];
    json_t *latest = json_array_get(resp->result, 0), *ours = json_array_get(resp->result, 1);
    if (resp->err != PROTO_OK || !fork_choice_block_hash(latest, head) || self->fc_phase != FC_READY
        || !fc_get(self->fc)->has_head || self->active || self->queue || self->shutting_down
        || fc_generation(self->fc) != self->head_check_generation)
        return; /* nothing to compare, or a change ran meanwhile */
    if (memcmp(head, fc_get(self->fc)->head, 32) == 0)
        return;
    uint64_t latest_n = 0, ours_n = 0;
    bool known = json_is_object(ours)
                 && el_json_quantity(json_object_get(ours, "number"), &ours_n) == 0;
    if (known && el_json_quantity(json_object_get(latest, "number"), &latest_n) == 0
        && latest_n > ours_n)
        return;
    char got[67], want[67];
    log_warn("the execution client's head %s is %s the fork choice's head %s (did it restart?)",
             hex_encode(head, 32, got), known ? "behind or beside" : "not, and it does not know",
             hex_encode(fc_get(self->fc)->head, 32, want));
    self->head_mismatches++;
    engine_resend_fork_choice(self, false);
}

int engine_on_health_timer(zloop_t *loop, int timer_id, void *arg)
{
    engine_t *self = arg;
    if (self->aborting)
        return 0;
    el_client_call(self->el, EL_RPC, "eth_syncing", NULL, on_health_sync, self);
    if (self->fc_phase == FC_READY && self->el_state == EL_STATE_SYNCED && !self->active
        && !self->queue) {
        self->head_check_generation = fc_generation(self->fc);
        el_client_batch_lenient(self->el, EL_RPC,
                                json_pack("[[s,[s,b]],[s,[o,b]]]", "eth_getBlockByNumber",
                                          "latest", 0, "eth_getBlockByHash",
                                          el_json_hex(fc_get(self->fc)->head, 32), 0),
                                on_head_check, self);
    }
    bool due = clock_mono_ms() - self->caps_checked_ms >= self->config.caps_interval_ms;
    if (self->caps_checked
        && (due || self->el_state == EL_STATE_AUTH_FAILED || self->el_state == EL_STATE_OFFLINE))
        engine_check_caps(self); /* also proves the JWT works again */
    if (!self->client.known && self->caps_checked)
        identify_client(self);
    if (self->fc_phase == FC_UNKNOWN)
        engine_recover_fork_choice(self);
    else if (!self->caps_checked && self->fc_phase == FC_READY)
        engine_check_caps(self);
    int64_t now = clock_mono_ms();
    payload_cache_sweep(self->payloads, now);
    return 0;
}

