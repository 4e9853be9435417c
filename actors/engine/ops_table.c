/*  The actor's op table: for each op of the contract (proto_ops, which
    holds its lane and schemas), its handler, its argument rules and its
    preconditions. The engine indexes it once at start (engine_ops_index)
    and checks it against proto_ops there. */
#include "ops.h"

#define MUTATION (OPF_NEEDS_FORK_CHOICE | OPF_IDEMPOTENT)

const op_row_t op_table[] = {
    {"ping", op_ping, NULL, 0},
    {"status", op_status, NULL, 0},
    {"build_block", op_build_block, NULL, MUTATION | OPF_NOT_WHILE_SYNCING},
    {"commit_block", op_commit_block, NULL, MUTATION},
    {"validate_payload", op_validate_payload, NULL, MUTATION},
    {"finalize_block", op_finalize_block, NULL, MUTATION},
    {"revert_block", op_revert_block, NULL, MUTATION},
    {"update_forkchoice", op_update_forkchoice, NULL, MUTATION},
    {"get_block", op_get_block, NULL, 0},
    {"get_logs", op_get_logs, op_get_logs_check, 0},
    {"get_sync_status", op_get_sync_status, NULL, 0},
    {"get_transaction_receipt", op_get_transaction_receipt, NULL, 0},
    {"get_block_with_receipts", op_get_block_with_receipts, NULL, 0},
    {"get_payload", op_get_payload, NULL, 0},
};
const size_t op_table_len = sizeof op_table / sizeof *op_table;

/*  Not indexed by name: only the engine starts it. Not idempotent (it has
    no peer to retry it). */
const op_row_t op_resend_row = {"update_forkchoice", op_resend_fork_choice, NULL,
                                OPF_NEEDS_FORK_CHOICE};
