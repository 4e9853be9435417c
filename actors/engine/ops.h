/*  ops: the op handlers (ops_mutations.c, ops_queries.c) and what they
    share (ops_util.c). Each handler is a small state machine: a start
    function that issues an execution-client call and continuations that
    run when its answer arrives (request.h). Mutations run one at a time,
    once the fork choice is known, and change it only through fc_* calls
    (fork_choice.h). */
#ifndef ALYS_OPS_H
#define ALYS_OPS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "fork_choice.h"
#include "request.h"

/* ---------------------------------------------------------- handlers */

void op_ping(req_t *req);
void op_status(req_t *req);
void op_build_block(req_t *req);
void op_commit_block(req_t *req);
void op_validate_payload(req_t *req);
void op_finalize_block(req_t *req);
void op_revert_block(req_t *req);
void op_update_forkchoice(req_t *req);
/*  The actor's own update_forkchoice: the fork choice as it is when this
    runs goes to the client again. */
void op_resend_fork_choice(req_t *req);
void op_get_block(req_t *req);
void op_get_logs(req_t *req);
int op_get_logs_check(const void *args, char *why, size_t why_len);
void op_get_sync_status(req_t *req);
void op_get_transaction_receipt(req_t *req);
void op_get_block_with_receipts(req_t *req);
void op_get_payload(req_t *req);

/* ------------------------------------------------------------ shared */

static inline fc_t *ops_fc(req_t *req) { return engine_fc(req->engine); }
static inline const fork_choice_t *ops_view(req_t *req) { return fc_get(engine_fc(req->engine)); }

/*  A client that restarted may answer SYNCING for a head it had imported:
    EthereumJS does for a head that a reorg made canonical before its
    restart, though that block is still its latest; Geth, killed, comes back
    without the blocks above its last written state. When the head is a
    block this actor built and still holds, it goes to the client again
    (newPayload); when the client lacks its parent too, the cached chain up
    to it goes, oldest first. `retry` runs once the head is VALID; once per
    request. Returns true when that started (the request continues there). */
bool ops_reimport_head(req_t *req, json_t *status, const uint8_t head[32], op_fn *retry);

extern const uint8_t ops_zero32[32];

/*  A block selector as the client's JSON-RPC takes it. `pending` means
    `latest` (PROTOCOL.md). */
json_t *ops_selector_json(const proto_selector_t *sel);
/*  [selector, full] and the eth_getBlockBy* method for it. */
json_t *ops_selector_params(const proto_selector_t *sel, bool full, const char **method);
const char *ops_selector_text(const proto_selector_t *sel, char *buf, size_t n);

/*  Decodes a block answer into `out`: replies BLOCK_NOT_FOUND (naming
    `sel`) for null and EL_ERROR for a malformed block. Returns 0, or -1
    after replying. */
int ops_read_block(req_t *req, json_t *answer, const proto_selector_t *sel, proto_block_t *out);

/*  Reads a PayloadStatus, counts it, and replies on anything but VALID
    (true then). */
bool ops_status_rejected(req_t *req, json_t *status, const uint8_t *expect, bool for_payload,
                         const char *what);
/*  Counts a PayloadStatus answer by method and status (a fixed label set). */
void ops_count_status(req_t *req, json_t *status, bool for_payload);

/*  Replies EL_ERROR with the code and message of a lenient batch member's
    JSON-RPC error object. */
void ops_reply_member_error(req_t *req, json_t *error);

/*  Adds 1 to a counter family without labels. */
void ops_count(req_t *req, const char *family);

/*  Decodes transaction encoding i of a getPayloadBodies list into *out
    (freeing what it held). Returns 0, or -1 after replying EL_ERROR. */
int ops_decode_tx(req_t *req, json_t *list, size_t i, proto_data_t *out);

#endif
