#include "client_profile.h"

#include <string.h>
#include <strings.h>

/*  Sources: EthereumJS 0.10.5 and Geth 1.17.10 as run against this actor
    (the integration suite checks every field below that a client shows
    through the Engine API: test_client_profile in
    tests/integration/test_engine.c); Reth and the others from their source
    and the Engine API specification.
    - EthereumJS: fcU to the parent moves latest there; to genesis or at or
      below finalized it answers VALID without moving. Unknown payload id is
      -32001, not -38001; keeps the 3 newest builds per head. newPayload with
      an unknown parent answers ACCEPTED. Invalid payload attributes (a
      timestamp not after the parent's) are -32602, not -38003. No
      engine_getClientVersionV1. Seen in the integration suite: after a
      restart of its own (--sync none), a head on a side branch that was
      made canonical by a reorg before the restart answers SYNCING; the actor
      logs that when it re-sends its fork choice. With the head's parent
      finalized, fcU(head = finalized = that parent) answers VALID and keeps
      the head; a second one moves it and a third moves it back: the finalized
      block cannot be made the head reliably.
    - Geth: rewinds to an older canonical block (since 2026-05) above
      finality; deeper than --engine.maxreorgdepth gives -38006. Keeps 10
      payloads and returns the same one on repeat. SYNCING for an unknown
      parent, ACCEPTED when the parent is known but its state is missing.
      The spec's codes (-38001, -38003) and engine_getClientVersionV1 (code
      GE). Strict about parameter shapes: a forkchoiceUpdated without its
      second parameter or a payload with members outside the spec's
      ExecutionPayload is -32602. eth_syncing reports progress at genesis
      (txIndexRemainingBlocks 1 until the first block arrives) although
      currentBlock equals highestBlock. Killed (SIGKILL), it comes back at
      the last block whose state it had written (here: its last clean stop)
      and answers SYNCING for the blocks above; the actor gives it the blocks
      it built again from the payload cache (test_resilience, Geth).
    - Reth: below finality -38006; above it (since 2026-08) builds on the
      ancestor without moving the head; never answers ACCEPTED (side chains
      are executed). Drops a payload job once fetched and caches the last
      result, so a payload id is not reused after its payload was fetched;
      requires exactly "Bearer " in the Authorization header (which is what
      the actor always sends); may answer getPayload with an empty payload
      it races while building (an empty block is a valid block: Alys builds
      on a timer). */
static const client_profile_t s_profiles[] = {
    {.code = "EJ", .name = "ethereumjs", .rewinds_to_ancestor = true,
     .unknown_payload_code = -32001, .keeps_payload_after_get = true,
     .client_version_v1 = false, .unknown_parent_status = "ACCEPTED",
     .invalid_attributes_code = -32602,
     .no_head_at_finalized =
         "ethereumjs does not reliably make the finalized block its head (it answers VALID and "
         "keeps its head); build a block on the finalized block instead (build_block with parent "
         "= the finalized hash), which replaces the blocks above it"},
    {.code = "GE", .name = "geth", .rewinds_to_ancestor = true,
     .unknown_payload_code = -38001, .keeps_payload_after_get = true,
     .revert_note = "geth does not rewind at or below the finalized block, nor deeper than "
                    "--engine.maxreorgdepth",
     .client_version_v1 = true, .unknown_parent_status = "SYNCING",
     .invalid_attributes_code = -38003},
    {.code = "RH", .name = "reth", .rewinds_to_ancestor = false,
     .unknown_payload_code = -38001, .keeps_payload_after_get = false,
     .revert_note = "reth keeps its head on a forkchoiceUpdated to an ancestor; run it with "
                    "--engine.always-process-payload-attributes-on-canonical-head or revert by "
                    "building a sibling block instead",
     .client_version_v1 = true, .unknown_parent_status = "SYNCING",
     .invalid_attributes_code = -38003},
    {.code = "NM", .name = "nethermind", .rewinds_to_ancestor = true,
     .unknown_payload_code = -38001, .keeps_payload_after_get = true, .client_version_v1 = true,
     .unknown_parent_status = "SYNCING", .invalid_attributes_code = -38003},
    {.code = "BU", .name = "besu", .rewinds_to_ancestor = true,
     .unknown_payload_code = -38001, .keeps_payload_after_get = true, .client_version_v1 = true,
     .unknown_parent_status = "SYNCING", .invalid_attributes_code = -38003},
    {.code = "EG", .name = "erigon", .rewinds_to_ancestor = true,
     .unknown_payload_code = -38001, .keeps_payload_after_get = true, .client_version_v1 = true,
     .unknown_parent_status = "SYNCING", .invalid_attributes_code = -38003},
};

static const client_profile_t s_generic = {
    .code = "??", .name = "generic", .rewinds_to_ancestor = true,
    .unknown_payload_code = -38001, .keeps_payload_after_get = true, .client_version_v1 = true,
    .unknown_parent_status = "SYNCING", .invalid_attributes_code = -38003};

const client_profile_t *client_profile_for(const char *code_or_name)
{
    if (!code_or_name)
        return &s_generic;
    for (size_t i = 0; i < sizeof s_profiles / sizeof *s_profiles; i++)
        if (strcasecmp(code_or_name, s_profiles[i].code) == 0
            || strcasecmp(code_or_name, s_profiles[i].name) == 0)
            return &s_profiles[i];
    return &s_generic;
}

bool client_profile_name_valid(const char *name)
{
    if (strcmp(name, "auto") == 0)
        return true;
    for (size_t i = 0; i < sizeof s_profiles / sizeof *s_profiles; i++)
        if (strcmp(name, s_profiles[i].name) == 0)
            return true;
    return false;
}

bool client_profile_unknown_payload(const client_profile_t *p, int64_t el_code)
{
    /* whatever the profile, the spec's code means the same */
    return el_code == -38001 || el_code == p->unknown_payload_code;
}
