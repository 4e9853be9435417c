/*  The actor's Prometheus families: defined once, counted as requests and
    execution-client calls finish, and the gauges read from the state they
    describe at scrape time. Every label value comes from a fixed set (op
    names, error codes, method names the actor calls, states). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine_internal.h"

#define NBUCKETS(a) (sizeof(a) / sizeof *(a))
static const double s_latency[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                   0.25, 0.5, 1, 2.5, 5, 10};
static const double s_counts[] = {0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
static const double s_gas[] = {21000, 100000, 1e6, 5e6, 1e7, 1.5e7, 2e7, 3e7, 6e7};

/*  Every family the actor exports, in the order /metrics shows them. */
static const struct {
    const char *name;
    metric_type_t type;
    const double *buckets;
    size_t n_buckets;
    const char *help;
} s_families[] = {
    {"alys_engine_requests_total", METRIC_COUNTER, NULL, 0,
     "Requests answered, by op and outcome (ok or the error code)."},
    {"alys_engine_request_duration_seconds", METRIC_HISTOGRAM, s_latency, NBUCKETS(s_latency),
     "Time from receiving a request to sending its reply, by op."},
    {"alys_engine_el_call_duration_seconds", METRIC_HISTOGRAM, s_latency, NBUCKETS(s_latency),
     "Execution client JSON-RPC call latency, by method."},
    {"alys_engine_el_calls_total", METRIC_COUNTER, NULL, 0,
     "Execution client calls, by method and outcome."},
    {"alys_engine_payload_status_total", METRIC_COUNTER, NULL, 0,
     "PayloadStatus answers of the execution client, by method and status."},
    {"alys_engine_errors_total", METRIC_COUNTER, NULL, 0,
     "Error replies sent to peers, by error code."},
    {"alys_engine_requests_rejected_total", METRIC_COUNTER, NULL, 0,
     "Requests refused before their handler ran (arguments, preconditions, queue bounds), by op "
     "and error code."},
    {"alys_engine_blocks_built_total", METRIC_COUNTER, NULL, 0,
     "Blocks built."},
    {"alys_engine_blocks_committed_total", METRIC_COUNTER, NULL, 0,
     "Blocks committed (made the head)."},
    {"alys_engine_blocks_finalized_total", METRIC_COUNTER, NULL, 0,
     "Finalizations applied."},
    {"alys_engine_blocks_reverted_total", METRIC_COUNTER, NULL, 0,
     "Blocks reverted."},
    {"alys_engine_built_block_gas_used", METRIC_HISTOGRAM, s_gas, NBUCKETS(s_gas),
     "Gas used by built blocks."},
    {"alys_engine_built_block_value_wei_total", METRIC_COUNTER, NULL, 0,
     "Sum of the value (fees to the recipient) of built blocks, in wei."},
    {"alys_engine_built_block_transactions", METRIC_HISTOGRAM, s_counts, NBUCKETS(s_counts),
     "Transactions per built block."},
    {"alys_engine_built_block_withdrawals", METRIC_HISTOGRAM, s_counts, NBUCKETS(s_counts),
     "Withdrawals (peg-ins) per built block."},
    {"alys_engine_cache_hits_total", METRIC_COUNTER, NULL, 0,
     "Cache hits, by cache."},
    {"alys_engine_cache_misses_total", METRIC_COUNTER, NULL, 0,
     "Cache misses, by cache."},
    {"alys_engine_cache_evictions_total", METRIC_COUNTER, NULL, 0,
     "Entries evicted for room or age, by cache."},
    {"alys_engine_cache_entries", METRIC_GAUGE, NULL, 0,
     "Entries held, by cache."},
    {"alys_engine_mutation_lane_depth", METRIC_GAUGE, NULL, 0,
     "Fork choice changes running or queued."},
    {"alys_engine_queries_in_flight", METRIC_GAUGE, NULL, 0,
     "Read requests running."},
    {"alys_engine_queries_queued", METRIC_GAUGE, NULL, 0,
     "Read requests waiting for one of the --max-queries slots."},
    {"alys_engine_el_calls_shared_total", METRIC_COUNTER, NULL, 0,
     "Reads answered by an identical execution client call already in flight."},
    {"alys_engine_peers_evicted_total", METRIC_COUNTER, NULL, 0,
     "Peer records dropped because more than 10,000 peers were known."},
    {"alys_engine_el_head_mismatches_total", METRIC_COUNTER, NULL, 0,
     "Times the execution client's head was found off the fork choice (then re-sent)."},
    {"alys_engine_el_calls_waiting", METRIC_GAUGE, NULL, 0,
     "Execution client calls waiting for a pooled connection."},
    {"alys_engine_peers", METRIC_GAUGE, NULL, 0,
     "Peer connections open now."},
    {"alys_engine_execution_client_state", METRIC_GAUGE, NULL, 0,
     "1 for the execution client's current state, 0 for the others."},
    {"alys_engine_execution_client_sync_current_block", METRIC_GAUGE, NULL, 0,
     "Current block while the execution client syncs."},
    {"alys_engine_execution_client_sync_highest_block", METRIC_GAUGE, NULL, 0,
     "Highest known block while the execution client syncs."},
    {"alys_engine_el_connections_opened_total", METRIC_COUNTER, NULL, 0,
     "TCP connections opened to the execution client (keep-alive reuses them)."},
    {"alys_engine_dropped_envelopes_total", METRIC_COUNTER, NULL, 0,
     "Messages dropped for a malformed envelope."},
    {"alys_engine_unroutable_replies_total", METRIC_COUNTER, NULL, 0,
     "Replies that could not be delivered."},
    {"alys_engine_uptime_seconds", METRIC_GAUGE, NULL, 0,
     "Seconds since start."},
    {"process_resident_memory_bytes", METRIC_GAUGE, NULL, 0,
     "Resident memory size."},
};

void engine_metrics_define(metrics_t *m)
{
    for (size_t i = 0; i < sizeof s_families / sizeof *s_families; i++)
        metrics_define(m, s_families[i].name, s_families[i].type, s_families[i].help,
                       s_families[i].buckets, s_families[i].n_buckets);
}

void engine_metrics_el_call(void *ctx, const char *method, const el_response_t *resp)
{
    engine_t *self = ctx;
    char labels[128];
    snprintf(labels, sizeof labels, "method=\"%s\"", method);
    metrics_observe(self->metrics, "alys_engine_el_call_duration_seconds", labels,
                    (double) resp->latency_us / 1e6);
    snprintf(labels, sizeof labels, "method=\"%s\",outcome=\"%s\"", method,
             resp->err == PROTO_OK ? "ok" : proto_err_name(resp->err));
    metrics_add(self->metrics, "alys_engine_el_calls_total", labels, 1);
}

static void set_cache_metrics(metrics_t *m, const char *name, const cache_stats_t *s)
{
    char labels[32];
    snprintf(labels, sizeof labels, "cache=\"%s\"", name);
    metrics_set(m, "alys_engine_cache_hits_total", labels, (double) s->hits);
    metrics_set(m, "alys_engine_cache_misses_total", labels, (double) s->misses);
    metrics_set(m, "alys_engine_cache_evictions_total", labels, (double) (s->evictions + s->expirations));
    metrics_set(m, "alys_engine_cache_entries", labels, (double) s->entries);
}

/*  Gauges are read from the state they describe at scrape time. */
char *engine_metrics_render(void *ctx)
{
    engine_t *self = ctx;
    metrics_t *m = self->metrics;
    cache_stats_t b, p;
    block_cache_stats(self->blocks, &b);
    payload_cache_stats(self->payloads, &p);
    set_cache_metrics(m, "block", &b);
    set_cache_metrics(m, "payload", &p);
    metrics_set(m, "alys_engine_mutation_lane_depth", NULL, (double) (self->queue_len + (self->active ? 1 : 0)));
    metrics_set(m, "alys_engine_queries_in_flight", NULL, (double) self->n_queries);
    metrics_set(m, "alys_engine_queries_queued", NULL, (double) self->qq_len);
    metrics_set(m, "alys_engine_el_calls_shared_total", NULL, (double) self->shared_joins);
    metrics_set(m, "alys_engine_el_head_mismatches_total", NULL, (double) self->head_mismatches);
    metrics_set(m, "alys_engine_peers_evicted_total", NULL, (double) self->peers_evicted);
    metrics_set(m, "alys_engine_el_calls_waiting", NULL, (double) el_client_waiting(self->el));
    metrics_set(m, "alys_engine_peers", NULL, (double) peer_conns_open(self->peer_conns));
    for (el_state_t s = EL_STATE_UNKNOWN; s <= EL_STATE_AUTH_FAILED; s++) {
        char labels[40];
        snprintf(labels, sizeof labels, "state=\"%s\"", el_state_name(s));
        metrics_set(m, "alys_engine_execution_client_state", labels, self->el_state == s);
    }
    bool syncing = self->el_state == EL_STATE_SYNCING;
    metrics_set(m, "alys_engine_execution_client_sync_current_block", NULL, syncing ? (double) self->sync_current : 0);
    metrics_set(m, "alys_engine_execution_client_sync_highest_block", NULL, syncing ? (double) self->sync_highest : 0);
    el_client_stats_t el;
    el_client_stats(self->el, &el);
    metrics_set(m, "alys_engine_el_connections_opened_total", NULL, (double) el.connections_opened);
    metrics_set(m, "alys_engine_dropped_envelopes_total", NULL, (double) self->dropped_envelopes);
    metrics_set(m, "alys_engine_unroutable_replies_total", NULL, (double) self->unroutable_replies);
    metrics_set(m, "alys_engine_uptime_seconds", NULL, (double) engine_uptime_ms(self) / 1000.0);
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    metrics_set(m, "process_resident_memory_bytes", NULL, (double) resident * (double) sysconf(_SC_PAGESIZE));
    return metrics_render(m);
}

bool engine_metrics_health(void *ctx, char *reason, size_t reason_len)
{
    engine_t *self = ctx;
    if (self->el_state == EL_STATE_SYNCED) {
        snprintf(reason, reason_len, "ok: the execution client is synced");
        return true;
    }
    snprintf(reason, reason_len, "unhealthy: the execution client is %s",
             el_state_name(self->el_state));
    return false;
}

/*  Per-op series are resolved once, on the op's first request. */
void engine_metrics_request(engine_t *self, op_entry_t *entry, proto_err_t outcome, int64_t took_us)
{
    char labels[96];
    const char *op = entry->op->name;
    if (!entry->duration) {
        snprintf(labels, sizeof labels, "op=\"%s\",outcome=\"ok\"", op);
        entry->ok = metrics_series(self->metrics, "alys_engine_requests_total", labels);
        snprintf(labels, sizeof labels, "op=\"%s\"", op);
        entry->duration = metrics_series(self->metrics, "alys_engine_request_duration_seconds", labels);
    }
    metric_series_observe(entry->duration, (double) took_us / 1e6);
    if (outcome == PROTO_OK) {
        metric_series_add(entry->ok, 1);
        return;
    }
    snprintf(labels, sizeof labels, "op=\"%s\",outcome=\"%s\"", op, proto_err_name(outcome));
    metrics_add(self->metrics, "alys_engine_requests_total", labels, 1);
    snprintf(labels, sizeof labels, "code=\"%s\"", proto_err_name(outcome));
    metrics_add(self->metrics, "alys_engine_errors_total", labels, 1);
}

void engine_metrics_rejected(engine_t *self, op_entry_t *entry, proto_err_t err)
{
    char labels[96];
    snprintf(labels, sizeof labels, "op=\"%s\",code=\"%s\"", entry->op->name, proto_err_name(err));
    metrics_add(self->metrics, "alys_engine_requests_rejected_total", labels, 1);
}
