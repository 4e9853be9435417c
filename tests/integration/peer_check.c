#include "peer_check.h"

#include <check.h>

void peer_call_ok(peer_t *peer, const char *op, const void *args, void *out, int timeout_ms)
{
    proto_reply_t r;
    ck_assert_msg(peer_call(peer, op, args, &r, timeout_ms) == 0, "%s: no reply", op);
    ck_assert_msg(r.ok, "%s failed: %s: %s", op, r.error_code, r.message ? r.message : "");
    if (out)
        ck_assert_int_eq(peer_result(&r, op, out), 0);
    proto_reply_release(&r);
}
