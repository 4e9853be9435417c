#include "fork_choice.h"

#include <stdio.h>
#include <string.h>

#include "el_json.h"
#include "hex.h"

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

proto_err_t fork_choice_map_el_code(int64_t el_code)
{
    return el_code == -38002 ? PROTO_INVALID_FORKCHOICE : PROTO_EL_ERROR;
}
