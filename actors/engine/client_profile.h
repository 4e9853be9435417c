/*  client_profile: what differs between execution clients, as far as the
    actor's behaviour depends on it. Selected by the code that
    engine_getClientVersionV1 (or web3_clientVersion) reports, or by --client.
    Each field records an observed or documented behaviour; see the notes in
    client_profile.c for where each comes from. */
#ifndef ALYS_CLIENT_PROFILE_H
#define ALYS_CLIENT_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    const char *code;               /* GE, RH, NM, BU, EJ, EG, or ?? */
    const char *name;               /* geth, reth, ... (the --client value) */

    /* ---- what the actor does differently for this client ---- */

    /*  the JSON-RPC error code for an unknown payload id (spec: -38001):
        build_block starts a new build when a cached payload id gets it. */
    int64_t unknown_payload_code;
    /*  keeps a built payload after getPayload, so build_block may reuse a
        cached payload id for the same attributes on the same head. */
    bool keeps_payload_after_get;
    /*  said when a revert did not move the head, or NULL. */
    const char *revert_note;
    /*  a forkchoiceUpdated whose head is the finalized block itself does not
        reliably move the head there: revert_block onto the finalized block
        is refused before the call, with this said instead (NULL: allowed). */
    const char *no_head_at_finalized;

    /* ---- what the client does, as documented or observed: logged at
       start and checked against the running client by the integration
       suite; the actor's behaviour does not depend on it ---- */

    /*  forkchoiceUpdated to an ancestor above finality moves the head there. */
    bool rewinds_to_ancestor;
    /*  lists engine_getClientVersionV1 in exchangeCapabilities and answers
        it (the actor asks whatever the list says). */
    bool client_version_v1;
    /*  newPayload of a block whose parent the client does not know:
        "SYNCING" (the spec) or "ACCEPTED". Either is EL_SYNCING to peers. */
    const char *unknown_parent_status;
    /*  the JSON-RPC error code for payload attributes that the spec calls
        invalid, e.g. a timestamp not after the parent's (spec: -38003). */
    int64_t invalid_attributes_code;
} client_profile_t;

/*  The profile for a client code ("EJ") or --client name ("ethereumjs");
    the generic spec profile for anything unknown. Never NULL. */
const client_profile_t *client_profile_for(const char *code_or_name);
/*  True when `name` is a --client value (auto or a known name). */
bool client_profile_name_valid(const char *name);
/*  True when el_code means "unknown payload id" for this client. */
bool client_profile_unknown_payload(const client_profile_t *p, int64_t el_code);

#endif
