/*  The fork choice at start (and after it was lost): read from the state
    file, checked against the execution client, or from the client's own
    block tags (fork_choice.c reads and adopts the answers). Until it is
    known, mutations wait in their queue; when it cannot be read, they are
    answered. Also where the chain's fork is read when none is configured. */
#include <stdio.h>
#include <string.h>

#include "engine_internal.h"
#include "log.h"

/*  The chain's own fork: a latest block with parentBeaconBlockRoot is past
    Cancun, one with requestsHash past Prague. */
static void detect_forks(engine_t *self, json_t *latest)
{
    if (self->config.schedule.configured)
        return;
    if (json_object_get(latest, "parentBeaconBlockRoot") && self->config.schedule.cancun != 0) {
        self->config.schedule.cancun = 0;
        log_info("the chain is past Cancun: using Engine API V3");
    }
    if (json_object_get(latest, "requestsHash") && self->config.schedule.prague != 0) {
        self->config.schedule.prague = 0;
        log_info("the chain is past Prague: using Engine API V4");
    }
}

static void on_recovered(void *ctx, el_response_t *resp)
{
    engine_t *self = ctx;
    engine_note_el_result(self, resp);
    bool from_file = false;
    if (resp->err != PROTO_OK || fc_recovery_adopt(self->fc, resp->result, &from_file) != 0) {
        self->fc_phase = FC_UNKNOWN;
        if (resp->err == PROTO_SHUTTING_DOWN)
            return;
        char message[320];
        snprintf(message, sizeof message, "fork choice not known yet: %s",
                 resp->err ? resp->message : "the execution client has no latest block");
        engine_drain_queue(self,
                           resp->err == PROTO_OK || resp->err == PROTO_EL_ERROR ? PROTO_EL_UNAVAILABLE
                                                                                : resp->err,
                           message);
        return;
    }
    detect_forks(self, json_array_get(resp->result, 0));
    self->fc_phase = FC_READY;
    if (!self->caps_checked)
        engine_check_caps(self);
    if (from_file)
        engine_resend_fork_choice(self, true); /* the client may not know it: tell it first */
    else
        engine_pump(self);
}

void engine_recover_fork_choice(engine_t *self)
{
    if (self->fc_phase != FC_UNKNOWN || self->aborting)
        return;
    self->fc_phase = FC_LOADING;
    if (el_client_batch_lenient(self->el, EL_RPC, fc_recovery_calls(self->fc), on_recovered, self) != 0)
        self->fc_phase = FC_UNKNOWN;
}
