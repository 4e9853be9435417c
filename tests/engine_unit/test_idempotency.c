/*  The retry rule's store alone: verdicts, joins, stored replies, the
    window, the bound, and what a retryable outcome leaves behind. Time is
    passed in, so no test waits. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idempotency.h"

static void key_of(idem_key_t *k, const char *peer, uint64_t id)
{
    idem_key(k, (const uint8_t *) peer, strlen(peer), id);
}

static idem_verdict_t check_of(idem_store_t *s, const char *peer, uint64_t id, const char *body,
                               int64_t now, const uint8_t **reply, size_t *len)
{
    idem_key_t k;
    key_of(&k, peer, id);
    return idem_check(s, &k, idem_body_hash((const uint8_t *) body, strlen(body)), now, reply, len);
}

static idem_entry_t *begin_of(idem_store_t *s, const char *peer, uint64_t id, const char *body)
{
    idem_key_t k;
    key_of(&k, peer, id);
    idem_entry_t *e = idem_begin(s, &k, idem_body_hash((const uint8_t *) body, strlen(body)));
    ck_assert_ptr_nonnull(e);
    return e;
}

/*  A new request, a retry while it runs (joined), then one after it ended
    (the stored reply, a copy that outlives the caller's buffer). */
START_TEST(test_new_join_replay)
{
    idem_store_t *s = idem_new(60000, 100);
    const uint8_t *r = NULL;
    size_t n = 0;
    ck_assert_int_eq(check_of(s, "chain", 7, "build", 0, &r, &n), IDEM_NEW);
    idem_entry_t *e = begin_of(s, "chain", 7, "build");
    ck_assert_int_eq(check_of(s, "chain", 7, "build", 10, &r, &n), IDEM_JOINED);
    ck_assert_int_eq(check_of(s, "chain", 7, "build", 20, &r, &n), IDEM_JOINED);
    char *reply = strdup("the reply");
    ck_assert_uint_eq(idem_end(s, e, (const uint8_t *) reply, 9, true, 100), 2);
    memset(reply, 'x', 9);
    free(reply);
    ck_assert_int_eq(check_of(s, "chain", 7, "build", 200, &r, &n), IDEM_REPLAY);
    ck_assert_uint_eq(n, 9);
    ck_assert_mem_eq(r, "the reply", 9);
    ck_assert_uint_eq(idem_count(s), 1);
    idem_destroy(&s);
    ck_assert_ptr_null(s);
}
END_TEST

/*  The same id with another body is a conflict, while running and after;
    the same id from another peer, or another id, is another request. */
START_TEST(test_conflict_and_other_keys)
{
    idem_store_t *s = idem_new(60000, 100);
    const uint8_t *r;
    size_t n;
    idem_entry_t *e = begin_of(s, "chain", 7, "build A");
    ck_assert_int_eq(check_of(s, "chain", 7, "build B", 1, &r, &n), IDEM_CONFLICT);
    ck_assert_int_eq(check_of(s, "bridge", 7, "build B", 1, &r, &n), IDEM_NEW);
    ck_assert_int_eq(check_of(s, "chain", 8, "build A", 1, &r, &n), IDEM_NEW);
    ck_assert_uint_eq(idem_end(s, e, (const uint8_t *) "ok", 2, true, 2), 0);
    ck_assert_int_eq(check_of(s, "chain", 7, "build B", 3, &r, &n), IDEM_CONFLICT);
    idem_destroy(&s);
}
END_TEST

/*  A retryable outcome is not kept: the joined retries get it, and the
    next retry runs again. */
START_TEST(test_retryable_not_kept)
{
    idem_store_t *s = idem_new(60000, 100);
    const uint8_t *r;
    size_t n;
    idem_entry_t *e = begin_of(s, "chain", 9, "commit");
    ck_assert_int_eq(check_of(s, "chain", 9, "commit", 1, &r, &n), IDEM_JOINED);
    ck_assert_uint_eq(idem_end(s, e, (const uint8_t *) "syncing", 7, false, 2), 1);
    ck_assert_uint_eq(idem_count(s), 0);
    ck_assert_int_eq(check_of(s, "chain", 9, "commit", 3, &r, &n), IDEM_NEW);
    idem_destroy(&s);
}
END_TEST

/*  The window: a stored reply answers until ttl after its end, not at it;
    the sweep forgets ended records past it and never a running one. */
START_TEST(test_window)
{
    idem_store_t *s = idem_new(1000, 100);
    ck_assert_int_eq(idem_ttl_ms(s), 1000);
    const uint8_t *r;
    size_t n;
    idem_entry_t *a = begin_of(s, "chain", 1, "a");
    idem_entry_t *b = begin_of(s, "chain", 2, "b");
    idem_end(s, a, (const uint8_t *) "A", 1, true, 500);
    ck_assert_int_eq(check_of(s, "chain", 1, "a", 1499, &r, &n), IDEM_REPLAY);
    ck_assert_int_eq(check_of(s, "chain", 1, "a", 1500, &r, &n), IDEM_NEW);
    ck_assert_uint_eq(idem_count(s), 1); /* forgotten by the check */
    idem_entry_t *c = begin_of(s, "chain", 3, "c");
    idem_end(s, c, (const uint8_t *) "C", 1, true, 600);
    idem_sweep(s, 1599);
    ck_assert_uint_eq(idem_count(s), 2);
    idem_sweep(s, 1600);
    ck_assert_uint_eq(idem_count(s), 1);
    idem_sweep(s, 1000000); /* b still runs */
    ck_assert_uint_eq(idem_count(s), 1);
    ck_assert_int_eq(check_of(s, "chain", 2, "b", 1000000, &r, &n), IDEM_JOINED);
    ck_assert_uint_eq(idem_end(s, b, (const uint8_t *) "B", 1, true, 1000000), 1);
    idem_destroy(&s);
}
END_TEST

/*  The bound: past max records, ended ones go, oldest first, down to nine
    tenths; running ones stay whatever their age. */
START_TEST(test_bound)
{
    idem_store_t *s = idem_new(60000, 10);
    const uint8_t *r;
    size_t n;
    idem_entry_t *running = begin_of(s, "chain", 100, "long");
    for (uint64_t id = 0; id < 9; id++) {
        char body[16];
        snprintf(body, sizeof body, "b%llu", (unsigned long long) id);
        idem_entry_t *e = begin_of(s, "chain", id, body);
        idem_end(s, e, (const uint8_t *) body, strlen(body), true, 1);
    }
    ck_assert_uint_eq(idem_count(s), 10);
    begin_of(s, "chain", 50, "new"); /* makes room: ids 0 and 1 go */
    ck_assert_uint_eq(idem_count(s), 9);
    ck_assert_int_eq(check_of(s, "chain", 0, "b0", 2, &r, &n), IDEM_NEW);
    ck_assert_int_eq(check_of(s, "chain", 1, "b1", 2, &r, &n), IDEM_NEW);
    ck_assert_int_eq(check_of(s, "chain", 2, "b2", 2, &r, &n), IDEM_REPLAY);
    ck_assert_int_eq(check_of(s, "chain", 8, "b8", 2, &r, &n), IDEM_REPLAY);
    ck_assert_int_eq(check_of(s, "chain", 100, "long", 2, &r, &n), IDEM_JOINED);
    ck_assert_uint_eq(idem_end(s, running, (const uint8_t *) "L", 1, true, 3), 1);
    idem_destroy(&s); /* frees the running "new" record too (valgrind) */
}
END_TEST

/*  A routing id longer than 255 bytes is cut: two that differ only past
    that are one peer. */
START_TEST(test_long_routing_id)
{
    uint8_t a[300], b[300];
    memset(a, 1, sizeof a);
    memcpy(b, a, sizeof b);
    b[299] = 2;
    idem_key_t ka, kb;
    idem_key(&ka, a, sizeof a, 5);
    idem_key(&kb, b, sizeof b, 5);
    ck_assert_uint_eq(ka.rid_len, 255);
    ck_assert_mem_eq(&ka, &kb, sizeof ka);
    b[0] = 9;
    idem_key(&kb, b, sizeof b, 5);
    ck_assert(memcmp(&ka, &kb, sizeof ka) != 0);
}
END_TEST

static Suite *idem_suite(void)
{
    Suite *s = suite_create("idempotency");
    TCase *tc = tcase_create("store");
    tcase_add_test(tc, test_new_join_replay);
    tcase_add_test(tc, test_conflict_and_other_keys);
    tcase_add_test(tc, test_retryable_not_kept);
    tcase_add_test(tc, test_window);
    tcase_add_test(tc, test_bound);
    tcase_add_test(tc, test_long_routing_id);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *runner = srunner_create(idem_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
