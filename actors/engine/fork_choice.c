#include "fork_choice.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "el_json.h"
#include "hex.h"
#include "log.h"
#include "request.h"
#include "state_file.h"

static const uint8_t s_zero[32];

json_t *fork_choice_state_json(const uint8_t head[32], bool has_safe, const uint8_t safe[32],
                               bool has_finalized, const uint8_t finalized[32])
{
    return json_pack("{s:o, s:o, s:o}", "headBlockHash", el_json_hex(head, 32), "safeBlockHash",
                     el_json_hex(has_safe ? safe : s_zero, 32), "finalizedBlockHash",
                     el_json_hex(has_finalized ? finalized : s_zero, 32));
}

/*  The old node took any non-null latestValidHash as success, so an INVALID
    block could pass. Here only VALID with the expected hash is success. */
proto_err_t fork_choice_read_status(json_t *status, const uint8_t *expect, bool for_payload,
                                    char *msg, size_t msg_len, bool *syncing)
{
    *syncing = false;
    const char *s = json_string_value(json_object_get(status, "status"));
    const char *why = json_string_value(json_object_get(status, "validationError"));
    json_t *lvh = json_object_get(status, "latestValidHash");
    if (!s) {
        snprintf(msg, msg_len, "execution client answered without a payload status");
        return PROTO_EL_ERROR;
    }
    if (strcmp(s, "VALID") == 0) {
        if (expect && !json_is_null(lvh) && lvh) {
            uint8_t got[32];
            if (el_json_fixed(lvh, got, 32) != 0 || memcmp(got, expect, 32) != 0) {
                char want[67];
                snprintf(msg, msg_len, "execution client said VALID but latestValidHash %s is not %s",
                         json_string_value(lvh) ? json_string_value(lvh) : "(malformed)",
                         hex_encode(expect, 32, want));
                return PROTO_EL_ERROR;
            }
        }
        return PROTO_OK;
    }
    if (strcmp(s, "SYNCING") == 0 || strcmp(s, "ACCEPTED") == 0) {
        *syncing = true;
        snprintf(msg, msg_len, "execution client answered %s: it cannot validate this yet", s);
        return PROTO_EL_SYNCING;
    }
    if (strcmp(s, "INVALID") == 0 || strcmp(s, "INVALID_BLOCK_HASH") == 0) {
        snprintf(msg, msg_len, "execution client answered %s: %s", s, why ? why : "(no reason given)");
        return for_payload ? PROTO_INVALID_PAYLOAD : PROTO_INVALID_FORKCHOICE;
    }
    snprintf(msg, msg_len, "execution client answered an unknown payload status '%s'", s);
    return PROTO_EL_ERROR;
}

bool fork_choice_block_hash(json_t *block, uint8_t out[32])
{
    return json_is_object(block) && el_json_fixed(json_object_get(block, "hash"), out, 32) == 0;
}

proto_err_t fork_choice_map_el_code(int64_t el_code)
{
    return el_code == -38002 ? PROTO_INVALID_FORKCHOICE : PROTO_EL_ERROR;
}

/* ------------------------------------------------------------ the owner */

struct fc {
    fork_choice_t fc;
    uint64_t generation;
    const char *state_dir;
    block_cache_t *blocks;
    fork_choice_t saved;     /* the state file as read, until checked */
    bool have_saved;
};

fc_t *fc_new(const char *state_dir, block_cache_t *blocks)
{
    fc_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->state_dir = state_dir;
    self->blocks = blocks;
    return self;
}

void fc_destroy(fc_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

const fork_choice_t *fc_get(const fc_t *self) { return &self->fc; }
uint64_t fc_generation(const fc_t *self) { return self->generation; }

bool fc_is_final_number(const fc_t *self, uint64_t number)
{
    return self->fc.has_finalized && number <= self->fc.finalized_number;
}

json_t *fc_fcu_params(const fc_t *self, const uint8_t head[32])
{
    const fork_choice_t *fc = &self->fc;
    return json_pack("[o,n]", fork_choice_state_json(head, fc->has_safe, fc->safe, fc->has_finalized,
                                                     fc->finalized));
}

/*  Every transition ends here: queries that started before it see the
    generation move, and the state file follows. */
static void changed(fc_t *self)
{
    self->generation++;
    if (self->state_dir && state_file_save(self->state_dir, &self->fc) != 0)
        log_error("cannot save the fork choice under %s: %s", self->state_dir, strerror(errno));
}

static void set_head(fc_t *self, const uint8_t head[32])
{
    memcpy(self->fc.head, head, 32);
    self->fc.has_head = true;
}

void fc_build_on(fc_t *self, const uint8_t parent[32])
{
    set_head(self, parent);
    changed(self);
}

void fc_commit(fc_t *self, const uint8_t hash[32], uint64_t number)
{
    set_head(self, hash);
    /* numbers at and above this block may have named other blocks before */
    block_cache_cut_numbers(self->blocks, number);
    changed(self);
}

void fc_finalize(fc_t *self, const uint8_t hash[32], uint64_t number)
{
    memcpy(self->fc.safe, hash, 32);
    memcpy(self->fc.finalized, hash, 32);
    self->fc.has_safe = self->fc.has_finalized = true;
    self->fc.finalized_number = number;
    changed(self);
}

void fc_revert(fc_t *self, const uint8_t parent[32], uint64_t parent_number)
{
    set_head(self, parent);
    block_cache_cut_numbers(self->blocks, parent_number + 1);
    changed(self);
}

void fc_update(fc_t *self, const uint8_t head[32], const uint8_t *safe, const uint8_t *finalized,
               uint64_t finalized_number)
{
    fork_choice_t *fc = &self->fc;
    if (memcmp(fc->head, head, 32) != 0)
        block_cache_cut_numbers(self->blocks, fc->finalized_number + 1);
    set_head(self, head);
    if (safe) {
        memcpy(fc->safe, safe, 32);
        fc->has_safe = true;
    }
    if (finalized) {
        memcpy(fc->finalized, finalized, 32);
        fc->has_finalized = true;
        fc->finalized_number = finalized_number;
    }
    changed(self);
}

/* ------------------------------------------------------------- recovery */


/*  The tag lookups go in the same batch as the saved hashes; errors for
    individual members (a client that has no safe block yet) count as
    "none". */
json_t *fc_recovery_calls(fc_t *self)
{
    self->have_saved = false;
    if (self->state_dir) {
        char err[256];
        int rc = state_file_load(self->state_dir, &self->saved, err, sizeof err);
        if (rc < 0)
            log_warn("%s", err);
        self->have_saved = rc == 1;
    }
    json_t *calls = json_pack("[[s,[s,b]],[s,[s,b]],[s,[s,b]]]", "eth_getBlockByNumber", "latest",
                              0, "eth_getBlockByNumber", "safe", 0, "eth_getBlockByNumber",
                              "finalized", 0);
    if (self->have_saved) {
        const fork_choice_t *s = &self->saved;
        const bool has[] = {s->has_head, s->has_safe, s->has_finalized};
        const uint8_t *hashes[] = {s->head, s->safe, s->finalized};
        for (int i = 0; i < 3; i++)
            json_array_append_new(calls, json_pack("[s,[o,b]]", "eth_getBlockByHash",
                                                   el_json_hex(has[i] ? hashes[i] : s->head, 32), 0));
    }
    return calls;
}

int fc_recovery_adopt(fc_t *self, json_t *r, bool *from_file)
{
    *from_file = false;
    fork_choice_t fc = {0};
    json_t *latest = json_array_get(r, 0);
    if (!fork_choice_block_hash(latest, fc.head))
        return -1;
    /* the client's own view first */
    fc.has_head = true;
    fc.has_safe = fork_choice_block_hash(json_array_get(r, 1), fc.safe);
    fc.has_finalized = fork_choice_block_hash(json_array_get(r, 2), fc.finalized)
                       && el_json_quantity(json_object_get(json_array_get(r, 2), "number"),
                                           &fc.finalized_number) == 0;
    /* then each saved hash the client still knows wins: clients that keep
       safe and finalized only in memory forget them on a restart */
    const fork_choice_t *saved = &self->saved;
    uint8_t h[32];
    uint64_t saved_number = 0;
    if (self->have_saved && saved->has_head && fork_choice_block_hash(json_array_get(r, 3), h)) {
        memcpy(fc.head, saved->head, 32);
        *from_file = true;
    }
    /* safe and finalized come as a pair from one source, so that safe never
       lags behind finalized: the saved pair when its finalized is known and
       not behind the client's */
    if (self->have_saved && saved->has_finalized && fork_choice_block_hash(json_array_get(r, 5), h)
        && el_json_quantity(json_object_get(json_array_get(r, 5), "number"), &saved_number) == 0
        && (!fc.has_finalized || saved_number >= fc.finalized_number)) {
        memcpy(fc.finalized, saved->finalized, 32);
        fc.finalized_number = saved_number;
        fc.has_finalized = *from_file = true;
        bool saved_safe_known = saved->has_safe && fork_choice_block_hash(json_array_get(r, 4), h);
        memcpy(fc.safe, saved_safe_known ? saved->safe : saved->finalized, 32);
        fc.has_safe = true;
    }
    fc.known = true;
    self->fc = fc;
    self->have_saved = false;
    char hh[67], fh[67];
    log_info("fork choice recovered from %s: head %s, finalized %s (%llu)",
             *from_file ? "the state file, checked against the execution client"
                        : "the execution client's latest, safe and finalized blocks",
             hex_encode(fc.head, 32, hh), fc.has_finalized ? hex_encode(fc.finalized, 32, fh) : "none",
             (unsigned long long) fc.finalized_number);
    changed(self);
    return 0;
}

/* ------------------------------------------------------- the ancestry walk */

#define ANCESTRY_MAX_STEPS 256

static void anc_fail(req_t *req, const char *why)
{
    engine_reply_error(req, PROTO_FINALIZED_CONFLICT, "%s %s", req->anc.what, why);
}

static void anc_step(req_t *req, el_response_t *resp);

static void anc_walk(req_t *req)
{
    ancestry_t *a = &req->anc;
    if (a->xn == a->tn) {
        if (memcmp(a->x, a->t, 32) == 0)
            a->next(req);
        else
            anc_fail(req, "is not a descendant of the finalized block");
        return;
    }
    if (a->steps >= ANCESTRY_MAX_STEPS) {
        anc_fail(req, "is on a branch more than 256 blocks deep; cannot show it descends from the "
                      "finalized block");
        return;
    }
    a->steps++;
    engine_call(req, EL_RPC, "eth_getBlockByHash", json_pack("[o,b]", el_json_hex(a->x, 32), 0),
                anc_step);
}

static void anc_step(req_t *req, el_response_t *resp)
{
    ancestry_t *a = &req->anc;
    if (!json_is_object(resp->result)
        || el_json_fixed(json_object_get(resp->result, "parentHash"), a->x, 32) != 0) {
        anc_fail(req, "has an ancestor the execution client does not know");
        return;
    }
    a->xn--;
    anc_walk(req);
}

static void anc_on_canonical(req_t *req, el_response_t *resp)
{
    ancestry_t *a = &req->anc;
    uint8_t x[32], t[32];
    if (fork_choice_block_hash(json_array_get(resp->result, 0), x)
        && fork_choice_block_hash(json_array_get(resp->result, 1), t) && memcmp(x, a->x, 32) == 0
        && memcmp(t, a->t, 32) == 0) {
        a->next(req); /* both on the canonical chain: X descends from T */
        return;
    }
    anc_walk(req);
}

void fc_check_descends(req_t *req, const uint8_t x[32], uint64_t xn, const uint8_t t[32],
                       uint64_t tn, const char *what, fc_next_fn *next)
{
    if (xn < tn) {
        engine_reply_error(req, PROTO_FINALIZED_CONFLICT,
                           "%s (block %llu) is below the finalized block %llu", what,
                           (unsigned long long) xn, (unsigned long long) tn);
        return;
    }
    ancestry_t *a = &req->anc;
    memcpy(a->x, x, 32);
    memcpy(a->t, t, 32);
    a->xn = xn;
    a->tn = tn;
    a->what = what;
    a->steps = 0;
    a->next = next;
    json_t *calls = json_pack("[[s,[o,b]],[s,[o,b]]]", "eth_getBlockByNumber", el_json_qty(xn), 0,
                              "eth_getBlockByNumber", el_json_qty(tn), 0);
    engine_batch_lenient(req, EL_RPC, calls, anc_on_canonical);
}
