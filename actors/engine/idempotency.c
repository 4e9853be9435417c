#include "idempotency.h"

#include <stdlib.h>
#include <string.h>
#include <uthash.h>

typedef enum { IDEM_RUNNING, IDEM_DONE } idem_state_t;

struct idem_entry {
    idem_key_t key;
    uint64_t body_hash;
    idem_state_t state;
    size_t joiners;   /* retries that arrived while it ran */
    uint8_t *reply;
    size_t reply_len;
    int64_t expires_ms;
    UT_hash_handle hh; /* insertion order: oldest first */
};

struct idem_store {
    idem_entry_t *entries;
    int ttl_ms;
    size_t max;
};

idem_store_t *idem_new(int ttl_ms, size_t max)
{
    idem_store_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->ttl_ms = ttl_ms;
    self->max = max;
    return self;
}

static void entry_free(idem_store_t *self, idem_entry_t *e)
{
    HASH_DEL(self->entries, e);
    free(e->reply);
    free(e);
}

void idem_destroy(idem_store_t **self_p)
{
    if (!*self_p)
        return;
    idem_store_t *self = *self_p;
    idem_entry_t *e, *tmp;
    HASH_ITER(hh, self->entries, e, tmp) {
        entry_free(self, e);
    }
    free(self);
    *self_p = NULL;
}

void idem_key(idem_key_t *key, const uint8_t *rid, size_t rid_len, uint64_t id)
{
    memset(key, 0, sizeof *key); /* the whole struct is the hash key */
    key->rid_len = (uint8_t) (rid_len > 255 ? 255 : rid_len);
    if (key->rid_len)
        memcpy(key->rid, rid, key->rid_len);
    key->id = id;
}

uint64_t idem_body_hash(const uint8_t *body, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= body[i];
        h *= 1099511628211ULL;
    }
    return h;
}

idem_verdict_t idem_check(idem_store_t *self, const idem_key_t *key, uint64_t body_hash,
                          int64_t now_ms, const uint8_t **reply, size_t *reply_len)
{
    idem_entry_t *e = NULL;
    HASH_FIND(hh, self->entries, key, sizeof *key, e);
    if (e && e->state == IDEM_DONE && e->expires_ms <= now_ms) {
        entry_free(self, e);
        e = NULL;
    }
    if (!e)
        return IDEM_NEW;
    if (e->body_hash != body_hash)
        return IDEM_CONFLICT;
    if (e->state == IDEM_RUNNING) {
        e->joiners++;
        return IDEM_JOINED;
    }
    *reply = e->reply;
    *reply_len = e->reply_len;
    return IDEM_REPLAY;
}

idem_entry_t *idem_begin(idem_store_t *self, const idem_key_t *key, uint64_t body_hash)
{
    if (HASH_COUNT(self->entries) >= self->max) {
        /* bounded memory: down to nine tenths, oldest ended records first */
        idem_entry_t *old, *tmp;
        HASH_ITER(hh, self->entries, old, tmp) {
            if (HASH_COUNT(self->entries) < self->max * 9 / 10)
                break;
            if (old->state == IDEM_DONE)
                entry_free(self, old);
        }
    }
    idem_entry_t *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->key = *key;
    e->body_hash = body_hash;
    e->state = IDEM_RUNNING;
    HASH_ADD(hh, self->entries, key, sizeof e->key, e);
    return e;
}

size_t idem_end(idem_store_t *self, idem_entry_t *e, const uint8_t *reply, size_t reply_len,
                bool final, int64_t now_ms)
{
    size_t joiners = e->joiners;
    e->joiners = 0;
    if (!final) {
        entry_free(self, e);
        return joiners;
    }
    e->reply = malloc(reply_len ? reply_len : 1);
    if (!e->reply) {
        entry_free(self, e); /* unkept: a retry runs again */
        return joiners;
    }
    memcpy(e->reply, reply, reply_len);
    e->reply_len = reply_len;
    e->state = IDEM_DONE;
    e->expires_ms = now_ms + self->ttl_ms;
    return joiners;
}

void idem_sweep(idem_store_t *self, int64_t now_ms)
{
    idem_entry_t *e, *tmp;
    HASH_ITER(hh, self->entries, e, tmp) {
        if (e->state == IDEM_DONE && e->expires_ms <= now_ms)
            entry_free(self, e);
    }
}

size_t idem_count(const idem_store_t *self) { return HASH_COUNT(self->entries); }

int idem_ttl_ms(const idem_store_t *self) { return self->ttl_ms; }
