/*  request: one peer request from its decoding to its one reply, and what
    an op handler may do with it.

    A handler starts execution-client calls with engine_call and friends.
    The engine wraps every completion: it notes the outcome for the health
    state machine, maps the client's error and replies with it, so a
    continuation (el_cont_fn) runs for successes only. A handler that must
    see a failure first (to retry, or to look around before replying) gives
    an el_fail_fn. Every path ends in exactly one engine_reply_*, after
    which the request is freed. */
#ifndef ALYS_REQUEST_H
#define ALYS_REQUEST_H

#include <czmq.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "el_client.h"
#include "engine.h"
#include "proto.h"

typedef struct req req_t;

typedef void(op_fn)(req_t *req);
/*  The continuation of a call that succeeded. */
typedef void(el_cont_fn)(req_t *req, el_response_t *resp);
/*  Sees a failed call before the engine replies with its error. Returns
    true when it took the request over (it then replies or calls again). */
typedef bool(el_fail_fn)(req_t *req, el_response_t *resp);
/*  Rules on an op's arguments beyond their schema. Returns 0, or -1 with
    the reason (the request is refused BAD_REQUEST before it runs). */
typedef int(op_check_fn)(const void *args, char *why, size_t why_len);

/*  Preconditions, checked in one place (the engine) before a handler runs;
    a request that fails one is refused and counted against its op. */
enum {
    /*  Waits until the fork choice is known (recovered at start). */
    OPF_NEEDS_FORK_CHOICE = 1u << 0,
    /*  Refused EL_SYNCING while the execution client syncs. */
    OPF_NOT_WHILE_SYNCING = 1u << 1,
    /*  (peer, id) retries within a minute get the first run's reply. */
    OPF_IDEMPOTENT = 1u << 2,
};

/*  One row of the actor's op table (ops_table.c). The contract's half of
    the op (lane, args and result schemas) is proto_ops' row of the same
    name; the engine joins the two once, at start, and fails to start if
    either table has an op the other lacks. */
typedef struct {
    const char *name;
    op_fn *handler;
    op_check_fn *check;
    unsigned flags;
} op_row_t;

extern const op_row_t op_table[];
extern const size_t op_table_len;
/*  The actor's own re-send of its fork choice (after a client restart or
    at recovery): runs in the mutation lane under update_forkchoice's
    contract, never reached from the wire. */
extern const op_row_t op_resend_row;

/* ------------------------------------------------------ per-op state */

/*  The ancestry walk (fork_choice.c): does X descend from T? */
typedef struct {
    uint8_t x[32], t[32];
    uint64_t xn, tn;
    const char *what;
    int steps;
    op_fn *next;
} ancestry_t;

/*  A re-import after a client restart (ops_mutations.c): the head first,
    then, when the client lacks its parent too, the cached chain up to it. */
typedef struct {
    uint8_t head[32];
    uint8_t (*chain)[32];     /* head first; NULL until the head alone failed */
    size_t left;              /* blocks still to send: chain[left - 1] is next */
} reimport_t;

typedef struct {
    int fork;
    uint8_t parent[32];
    uint8_t key[32];          /* the payload attributes' digest */
    bool cached;              /* the payload id came from the cache */
    el_response_t refusal;    /* the refused fcU, replied after a look */
} build_state_t;

typedef struct {
    int fork;
    uint8_t hash[32];
    uint64_t number;
} payload_state_t;            /* commit_block, validate_payload */

typedef struct {
    uint8_t hash[32];         /* finalize: the block; revert: its parent */
    uint64_t number;          /* finalize: the block's; revert: the parent's */
} block_ref_t;                /* finalize_block, revert_block */

typedef struct {
    bool head_known;
    uint64_t head_number;
    bool new_finalized;
    uint64_t finalized_number; /* the new finalized block's, else the current */
} ufc_state_t;

typedef struct {
    uint64_t next, to;        /* the blocks still to ask for */
    size_t cap;               /* logs allocated in the result */
} logs_state_t;

typedef struct {
    size_t n_transactions;
} get_payload_state_t;

struct req {
    engine_t *engine;
    zframe_t *routing;        /* NULL for the actor's own requests */
    proto_request_t msg;
    const proto_op_t *op;     /* the contract: lane, args, result */
    struct op_entry *entry;   /* the op table row and its counters */
    void *args;               /* decoded with op->args, or NULL */
    void *result;             /* the result struct of op->result, or NULL */
    /* the call in flight */
    el_cont_fn *cont;
    el_fail_fn *on_fail;
    bool fcu_call;            /* -38002 means an invalid fork choice */
    op_fn *resume;            /* where a shared step (re-import) goes on */
    int attempts;             /* restarts of this request */
    uint64_t generation;      /* fork choice generation when a query started */
    size_t queued_bytes;      /* charged to the query queue while waiting */
    struct idem_entry *idem;  /* its retry record, while it runs */
    int64_t start_us;
    req_t *prev, *next;       /* lane queues (utlist) */
    ancestry_t anc;
    reimport_t reimport;
    union {
        build_state_t build;
        payload_state_t payload;
        block_ref_t block;
        ufc_state_t ufc;
        logs_state_t logs;
        get_payload_state_t get_payload;
    } st;
};

/* --------------------------------------------------------- calls */

/*  Starts an execution-client call whose success runs `cont`. If the call
    cannot start, replies with an error and returns -1 (the request is then
    gone). A forkchoiceUpdated call's -38002 is replied INVALID_FORKCHOICE. */
int engine_call(req_t *req, el_endpoint_t endpoint, const char *method, json_t *params,
                el_cont_fn *cont);
/*  The same, with `on_fail` seeing a failure first. */
int engine_call_or(req_t *req, el_endpoint_t endpoint, const char *method, json_t *params,
                   el_cont_fn *cont, el_fail_fn *on_fail);
int engine_batch(req_t *req, el_endpoint_t endpoint, json_t *calls, el_cont_fn *cont);
/*  A batch where a member's error leaves null in its place. */
int engine_batch_lenient(req_t *req, el_endpoint_t endpoint, json_t *calls, el_cont_fn *cont);
/*  engine_call for a read: while an identical call (endpoint, method,
    params) is in flight, req waits for its answer instead of making its
    own. The continuation must not modify resp->result. */
int engine_call_shared(req_t *req, el_endpoint_t endpoint, const char *method, json_t *params,
                       el_cont_fn *cont);

/* --------------------------------------------------------- replies */

void engine_reply_ok(req_t *req, const void *result);
/*  Replies with a result map that is already msgpack. */
void engine_reply_ok_encoded(req_t *req, const uint8_t *result, size_t len);
void engine_reply_error(req_t *req, proto_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*  Replies with the execution client's error (code, message, el_code). */
void engine_reply_el_error(req_t *req, const el_response_t *resp);

/*  The result struct of req's op, allocated zeroed on first use (freed
    with the request); NULL when out of memory. */
void *req_result(req_t *req);

#endif
