/*  idempotency: the protocol's retry rule for mutating requests. The same
    (peer, id) within the window (the protocol's 60 s) is the same request:
    a retry while it runs joins it (and gets its reply when it ends), a
    retry after it ended gets the stored reply without running again, and
    the id with another body is a conflict. Only final replies are kept; a
    retryable outcome ends the record, so a retry runs again.

    A store of records, owned by the loop: no engine, no sockets, no clock
    of its own (callers pass the time), so it is tested alone. */
#ifndef ALYS_IDEMPOTENCY_H
#define ALYS_IDEMPOTENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct idem_store idem_store_t;
typedef struct idem_entry idem_entry_t;

/*  A request's identity: its peer's routing id (up to 255 bytes, longer
    ones cut) and its id. Fill with idem_key. */
typedef struct {
    uint8_t rid_len;
    uint8_t rid[255];
    uint64_t id;
} idem_key_t;

typedef enum {
    IDEM_NEW,      /* not seen: run it (idem_begin records it) */
    IDEM_JOINED,   /* running: it gets the reply when the first run ends */
    IDEM_REPLAY,   /* ended: the stored reply is the answer */
    IDEM_CONFLICT, /* the id was used for another body */
} idem_verdict_t;

/*  ttl_ms: how long a final reply is kept; max: records at most (past it
    the oldest ended ones go first, and a retry of one of them runs again,
    as after a restart). NULL when out of memory. */
idem_store_t *idem_new(int ttl_ms, size_t max);
void idem_destroy(idem_store_t **self_p);

void idem_key(idem_key_t *key, const uint8_t *rid, size_t rid_len, uint64_t id);
uint64_t idem_body_hash(const uint8_t *body, size_t len);

/*  The verdict for a request. IDEM_REPLAY points *reply, *reply_len at the
    stored reply (valid until the store changes); IDEM_JOINED counts the
    join. An ended record past its window is forgotten here (IDEM_NEW). */
idem_verdict_t idem_check(idem_store_t *self, const idem_key_t *key, uint64_t body_hash,
                          int64_t now_ms, const uint8_t **reply, size_t *reply_len);
/*  Records a request that is about to run; NULL when out of memory (it
    then runs unrecorded). */
idem_entry_t *idem_begin(idem_store_t *self, const idem_key_t *key, uint64_t body_hash);
/*  The run ended with this reply. Returns how many joined retries are to
    get it as well. A final reply is kept for the window (a copy), a
    retryable one ends the record. */
size_t idem_end(idem_store_t *self, idem_entry_t *entry, const uint8_t *reply, size_t reply_len,
                bool final, int64_t now_ms);
/*  Forgets ended records past their window. */
void idem_sweep(idem_store_t *self, int64_t now_ms);
size_t idem_count(const idem_store_t *self);
int idem_ttl_ms(const idem_store_t *self);

#endif
