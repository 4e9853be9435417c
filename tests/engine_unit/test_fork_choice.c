/*  Unit tests for actors/engine/fork_choice.c: reading PayloadStatusV1
    answers, the ForkchoiceStateV1 object, the error code mapping, and the
    owner's transitions (persistence, generation, block cache cuts) and
    recovery. */
#include "fork_choice.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state_file.h"

#define HASH_A "0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HASH_B "0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HASH_ZERO "0x0000000000000000000000000000000000000000000000000000000000000000"

static uint8_t s_a[32], s_b[32], s_c[32];

static void setup(void)
{
    memset(s_a, 0xaa, sizeof s_a);
    memset(s_b, 0xbb, sizeof s_b);
    memset(s_c, 0xcc, sizeof s_c);
}

/*  Parses JSON text that the test itself wrote. */
static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    ck_assert_msg(j != NULL, "bad test JSON: %s", e.text);
    return j;
}

typedef struct {
    proto_err_t err;
    bool syncing;
    char msg[256];
} reading_t;

static reading_t read_status(const char *text, const uint8_t *expect, bool for_payload)
{
    reading_t r;
    memset(&r, 0, sizeof r);
    r.syncing = true; /* the reader must clear it */
    json_t *j = parse(text);
    r.err = fork_choice_read_status(j, expect, for_payload, r.msg, sizeof r.msg, &r.syncing);
    json_decref(j);
    return r;
}

/* -------------------------------------------------------------- VALID */

START_TEST(test_valid_matching)
{
    reading_t r = read_status("{\"status\":\"VALID\",\"latestValidHash\":\"" HASH_A "\","
                              "\"validationError\":null}", s_a, true);
    ck_assert_int_eq(r.err, PROTO_OK);
    ck_assert(!r.syncing);

    /* upper-case hex names the same hash */
    r = read_status("{\"status\":\"VALID\",\"latestValidHash\":"
                    "\"0xAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
                    s_a, false);
    ck_assert_int_eq(r.err, PROTO_OK);
}
END_TEST

START_TEST(test_valid_mismatching)
{
    reading_t r = read_status("{\"status\":\"VALID\",\"latestValidHash\":\"" HASH_B "\"}", s_a, true);
    ck_assert_int_eq(r.err, PROTO_EL_ERROR);
    ck_assert(!r.syncing);
    ck_assert_ptr_nonnull(strstr(r.msg, HASH_B));
    ck_assert_ptr_nonnull(strstr(r.msg, HASH_A));

    /* a malformed hash is not a match either */
    r = read_status("{\"status\":\"VALID\",\"latestValidHash\":\"0xaaaa\"}", s_a, true);
    ck_assert_int_eq(r.err, PROTO_EL_ERROR);
    ck_assert_ptr_nonnull(strstr(r.msg, "0xaaaa"));
    r = read_status("{\"status\":\"VALID\",\"latestValidHash\":42}", s_a, false);
    ck_assert_int_eq(r.err, PROTO_EL_ERROR);
    ck_assert_ptr_nonnull(strstr(r.msg, "malformed"));
}
END_TEST

START_TEST(test_valid_without_check)
{
    /* nothing to compare: VALID stands */
    reading_t r = read_status("{\"status\":\"VALID\",\"latestValidHash\":\"" HASH_B "\"}", NULL, true);
    ck_assert_int_eq(r.err, PROTO_OK);
    r = read_status("{\"status\":\"VALID\",\"latestValidHash\":null}", s_a, true);
    ck_assert_int_eq(r.err, PROTO_OK);
    r = read_status("{\"status\":\"VALID\"}", s_a, false);
    ck_assert_int_eq(r.err, PROTO_OK);
    ck_assert(!r.syncing);
}
END_TEST

/* ------------------------------------------------------------ INVALID */

START_TEST(test_invalid_payload_vs_forkchoice)
{
    const char *text = "{\"status\":\"INVALID\",\"latestValidHash\":\"" HASH_B "\","
                       "\"validationError\":\"bad state root\"}";
    reading_t r = read_status(text, s_a, true);
    ck_assert_int_eq(r.err, PROTO_INVALID_PAYLOAD);
    ck_assert(!r.syncing);
    ck_assert_ptr_nonnull(strstr(r.msg, "INVALID"));
    ck_assert_ptr_nonnull(strstr(r.msg, "bad state root"));

    r = read_status(text, s_a, false);
    ck_assert_int_eq(r.err, PROTO_INVALID_FORKCHOICE);
    ck_assert(!r.syncing);
    ck_assert_ptr_nonnull(strstr(r.msg, "bad state root"));

    /* no reason given */
    r = read_status("{\"status\":\"INVALID\",\"latestValidHash\":null,\"validationError\":null}",
                    NULL, true);
    ck_assert_int_eq(r.err, PROTO_INVALID_PAYLOAD);
    ck_assert_ptr_nonnull(strstr(r.msg, "no reason"));
}
END_TEST

START_TEST(test_invalid_block_hash)
{
    const char *text = "{\"status\":\"INVALID_BLOCK_HASH\",\"latestValidHash\":null,"
                       "\"validationError\":\"blockhash mismatch\"}";
    reading_t r = read_status(text, s_a, true);
    ck_assert_int_eq(r.err, PROTO_INVALID_PAYLOAD);
    ck_assert(!r.syncing);
    ck_assert_ptr_nonnull(strstr(r.msg, "INVALID_BLOCK_HASH"));
    ck_assert_ptr_nonnull(strstr(r.msg, "blockhash mismatch"));
    r = read_status(text, s_a, false);
    ck_assert_int_eq(r.err, PROTO_INVALID_FORKCHOICE);
}
END_TEST

/* ---------------------------------------------------- SYNCING/ACCEPTED */

START_TEST(test_syncing_accepted)
{
    const char *texts[] = {
        "{\"status\":\"SYNCING\",\"latestValidHash\":null,\"validationError\":null}",
        "{\"status\":\"ACCEPTED\",\"latestValidHash\":null,\"validationError\":null}",
    };
    for (size_t i = 0; i < 2; i++)
        for (int fp = 0; fp < 2; fp++) {
            reading_t r = read_status(texts[i], s_a, fp);
            ck_assert_int_eq(r.err, PROTO_EL_SYNCING);
            ck_assert(r.syncing);
            ck_assert_ptr_nonnull(strstr(r.msg, i == 0 ? "SYNCING" : "ACCEPTED"));
        }
}
END_TEST

/* ------------------------------------------------------------- others */

START_TEST(test_unknown_status)
{
    reading_t r = read_status("{\"status\":\"MAYBE\",\"latestValidHash\":null}", s_a, true);
    ck_assert_int_eq(r.err, PROTO_EL_ERROR);
    ck_assert(!r.syncing);
    ck_assert_ptr_nonnull(strstr(r.msg, "MAYBE"));

    /* names are case sensitive in the spec */
    r = read_status("{\"status\":\"valid\"}", NULL, true);
    ck_assert_int_eq(r.err, PROTO_EL_ERROR);
}
END_TEST

START_TEST(test_missing_status)
{
    reading_t r = read_status("{\"latestValidHash\":\"" HASH_A "\"}", s_a, true);
    ck_assert_int_eq(r.err, PROTO_EL_ERROR);
    ck_assert(!r.syncing);
    ck_assert_ptr_nonnull(strstr(r.msg, "without a payload status"));

    r = read_status("{\"status\":null}", s_a, true);
    ck_assert_int_eq(r.err, PROTO_EL_ERROR);
    r = read_status("{\"status\":1}", s_a, true);
    ck_assert_int_eq(r.err, PROTO_EL_ERROR);
    r = read_status("[\"VALID\"]", s_a, true);
    ck_assert_int_eq(r.err, PROTO_EL_ERROR);

    bool syncing = true;
    char msg[128] = "";
    ck_assert_int_eq(fork_choice_read_status(NULL, s_a, true, msg, sizeof msg, &syncing),
                     PROTO_EL_ERROR);
    ck_assert(!syncing);
    ck_assert_str_ne(msg, "");
}
END_TEST

START_TEST(test_map_el_code)
{
    ck_assert_int_eq(fork_choice_map_el_code(-38002), PROTO_INVALID_FORKCHOICE);
    ck_assert_int_eq(fork_choice_map_el_code(-38001), PROTO_EL_ERROR);
    ck_assert_int_eq(fork_choice_map_el_code(-38003), PROTO_EL_ERROR);
    ck_assert_int_eq(fork_choice_map_el_code(-32000), PROTO_EL_ERROR);
    ck_assert_int_eq(fork_choice_map_el_code(0), PROTO_EL_ERROR);
    ck_assert_int_eq(fork_choice_map_el_code(38002), PROTO_EL_ERROR);
}
END_TEST

START_TEST(test_state_json)
{
    json_t *j = fork_choice_state_json(s_a, true, s_b, true, s_c);
    ck_assert_ptr_nonnull(j);
    ck_assert_uint_eq(json_object_size(j), 3);
    ck_assert_str_eq(json_string_value(json_object_get(j, "headBlockHash")), HASH_A);
    ck_assert_str_eq(json_string_value(json_object_get(j, "safeBlockHash")), HASH_B);
    ck_assert_str_eq(json_string_value(json_object_get(j, "finalizedBlockHash")),
                     "0xcccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc");
    json_decref(j);

    /* unknown safe and finalized go as the zero hash, whatever the buffers hold */
    j = fork_choice_state_json(s_a, false, s_b, false, s_c);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(j, "headBlockHash")), HASH_A);
    ck_assert_str_eq(json_string_value(json_object_get(j, "safeBlockHash")), HASH_ZERO);
    ck_assert_str_eq(json_string_value(json_object_get(j, "finalizedBlockHash")), HASH_ZERO);
    json_decref(j);

    j = fork_choice_state_json(s_a, true, s_b, false, s_c);
    ck_assert_str_eq(json_string_value(json_object_get(j, "safeBlockHash")), HASH_B);
    ck_assert_str_eq(json_string_value(json_object_get(j, "finalizedBlockHash")), HASH_ZERO);
    json_decref(j);
}
END_TEST

/* ------------------------------------------------------------ the owner */

static char s_dir[64];

static void owner_setup(void)
{
    setup();
    snprintf(s_dir, sizeof s_dir, "/tmp/alys-fc-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_dir));
}

static void owner_teardown(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/forkchoice", s_dir);
    unlink(path);
    rmdir(s_dir);
}

/*  A cache holding canonical blocks 1..n, block i's hash filled with i. */
static block_cache_t *cache_with_blocks(uint64_t n)
{
    block_cache_t *c = block_cache_new(64);
    ck_assert_ptr_nonnull(c);
    for (uint64_t i = 1; i <= n; i++) {
        proto_block_t b;
        memset(&b, 0, sizeof b);
        memset(b.hash, (int) i, 32);
        b.number = i;
        block_cache_put(c, &b, true);
    }
    return c;
}

static bool has_number(block_cache_t *c, uint64_t n) { return block_cache_get_number(c, n, false) != NULL; }

static void assert_saved(const fork_choice_t *want)
{
    fork_choice_t got;
    char err[256];
    ck_assert_int_eq(state_file_load(s_dir, &got, err, sizeof err), 1);
    ck_assert_int_eq(got.has_head, want->has_head);
    ck_assert_mem_eq(got.head, want->head, 32);
    ck_assert_int_eq(got.has_finalized, want->has_finalized);
    if (want->has_finalized) {
        ck_assert_mem_eq(got.finalized, want->finalized, 32);
        ck_assert_uint_eq(got.finalized_number, want->finalized_number);
    }
}

START_TEST(test_transitions)
{
    block_cache_t *cache = cache_with_blocks(6);
    fc_t *fc = fc_new(s_dir, cache);
    ck_assert_ptr_nonnull(fc);
    ck_assert_uint_eq(fc_generation(fc), 0);
    ck_assert(!fc_get(fc)->has_head);

    uint8_t h3[32], h4[32], h2[32];
    memset(h3, 3, 32);
    memset(h4, 4, 32);
    memset(h2, 2, 32);
    /* a build on a parent moves the head, cuts nothing */
    fc_build_on(fc, h3);
    ck_assert_uint_eq(fc_generation(fc), 1);
    ck_assert(fc_get(fc)->has_head);
    ck_assert_mem_eq(fc_get(fc)->head, h3, 32);
    ck_assert(has_number(cache, 6));
    assert_saved(fc_get(fc));

    /* a commit of block 4: numbers from 4 up may name other blocks now */
    fc_commit(fc, h4, 4);
    ck_assert_uint_eq(fc_generation(fc), 2);
    ck_assert_mem_eq(fc_get(fc)->head, h4, 32);
    ck_assert(has_number(cache, 3));
    ck_assert(!has_number(cache, 4));
    ck_assert(!has_number(cache, 6));
    assert_saved(fc_get(fc));

    /* finalizing block 2 makes it safe and finalized */
    fc_finalize(fc, h2, 2);
    ck_assert_uint_eq(fc_generation(fc), 3);
    ck_assert(fc_get(fc)->has_safe && fc_get(fc)->has_finalized);
    ck_assert_mem_eq(fc_get(fc)->safe, h2, 32);
    ck_assert_mem_eq(fc_get(fc)->finalized, h2, 32);
    ck_assert_uint_eq(fc_get(fc)->finalized_number, 2);
    ck_assert(fc_is_final_number(fc, 2));
    ck_assert(!fc_is_final_number(fc, 3));
    assert_saved(fc_get(fc));

    /* a revert to block 2's child 3: numbers from 4 go (already), 3 stays */
    fc_revert(fc, h3, 3);
    ck_assert_uint_eq(fc_generation(fc), 4);
    ck_assert_mem_eq(fc_get(fc)->head, h3, 32);
    ck_assert(has_number(cache, 3));
    fc_revert(fc, h2, 2);
    ck_assert(!has_number(cache, 3));
    ck_assert(has_number(cache, 2));

    /* update_forkchoice to another head cuts above the finalized block;
       the same head cuts nothing; NULL safe/finalized keep theirs */
    block_cache_t *c2 = cache_with_blocks(5);
    fc_t *fc2 = fc_new(NULL, c2);
    fc_update(fc2, h2, NULL, h2, 2);
    ck_assert_uint_eq(fc_get(fc2)->finalized_number, 2);
    ck_assert(!fc_get(fc2)->has_safe);
    ck_assert(!has_number(c2, 1)); /* the head changed from none: cut above finalized 0 */
    block_cache_put(c2, &(proto_block_t){.number = 4, .hash = {4}}, true);
    fc_update(fc2, h2, h2, NULL, 0);
    ck_assert(has_number(c2, 4));
    ck_assert(fc_get(fc2)->has_safe);
    ck_assert_uint_eq(fc_get(fc2)->finalized_number, 2);
    fc_update(fc2, h3, NULL, NULL, 0);
    ck_assert(!has_number(c2, 4));
    ck_assert_uint_eq(fc_generation(fc2), 3);

    fc_destroy(&fc2);
    fc_destroy(&fc2);
    block_cache_destroy(&c2);
    fc_destroy(&fc);
    ck_assert_ptr_null(fc);
    block_cache_destroy(&cache);
}
END_TEST

START_TEST(test_recovery_from_client)
{
    block_cache_t *cache = cache_with_blocks(0);
    fc_t *fc = fc_new(NULL, cache);
    json_t *calls = fc_recovery_calls(fc);
    ck_assert_uint_eq(json_array_size(calls), 3); /* latest, safe, finalized */
    ck_assert_str_eq(json_string_value(json_array_get(json_array_get(json_array_get(calls, 2), 1), 0)),
                     "finalized");
    json_decref(calls);

    bool from_file = true;
    json_t *none = parse("[null, null, null]");
    ck_assert_int_eq(fc_recovery_adopt(fc, none, &from_file), -1);
    ck_assert(!fc_get(fc)->known);
    json_decref(none);

    json_t *r = parse("[{\"hash\": \"" HASH_A "\", \"number\": \"0x9\"}, null,"
                      " {\"hash\": \"" HASH_B "\", \"number\": \"0x4\"}]");
    ck_assert_int_eq(fc_recovery_adopt(fc, r, &from_file), 0);
    ck_assert(!from_file);
    const fork_choice_t *v = fc_get(fc);
    ck_assert(v->known && v->has_head && !v->has_safe && v->has_finalized);
    ck_assert_mem_eq(v->head, s_a, 32);
    ck_assert_mem_eq(v->finalized, s_b, 32);
    ck_assert_uint_eq(v->finalized_number, 4);
    ck_assert_uint_eq(fc_generation(fc), 1);
    json_decref(r);
    fc_destroy(&fc);
    block_cache_destroy(&cache);
}
END_TEST

/*  The state file's hashes win where the client still knows them, and
    safe/finalized come as a pair from one source. */
START_TEST(test_recovery_from_file)
{
    block_cache_t *cache = cache_with_blocks(0);
    fc_t *before = fc_new(s_dir, cache);
    fc_update(before, s_c, s_b, s_b, 7);
    fc_destroy(&before);

    fc_t *fc = fc_new(s_dir, cache);
    json_t *calls = fc_recovery_calls(fc);
    ck_assert_uint_eq(json_array_size(calls), 6); /* and the three saved hashes */
    ck_assert_str_eq(json_string_value(json_array_get(json_array_get(json_array_get(calls, 3), 1), 0)),
                     "0xcccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc");
    json_decref(calls);
    /* the client's finalized (number 5) is behind the saved one (7) */
    json_t *r = parse("[{\"hash\": \"" HASH_A "\", \"number\": \"0x9\"}, null,"
                      " {\"hash\": \"" HASH_A "\", \"number\": \"0x5\"},"
                      " {\"hash\": \"0xcccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\"},"
                      " {\"hash\": \"" HASH_B "\"}, {\"hash\": \"" HASH_B "\", \"number\": \"0x7\"}]");
    bool from_file = false;
    ck_assert_int_eq(fc_recovery_adopt(fc, r, &from_file), 0);
    ck_assert(from_file);
    const fork_choice_t *v = fc_get(fc);
    ck_assert_mem_eq(v->head, s_c, 32);
    ck_assert_mem_eq(v->safe, s_b, 32);
    ck_assert_mem_eq(v->finalized, s_b, 32);
    ck_assert_uint_eq(v->finalized_number, 7);
    json_decref(r);
    fc_destroy(&fc);

    /* a client whose finalized is past the saved one keeps its own pair;
       a saved head it no longer knows gives way to its latest */
    fc = fc_new(s_dir, cache);
    json_decref(fc_recovery_calls(fc));
    r = parse("[{\"hash\": \"" HASH_A "\", \"number\": \"0x9\"}, {\"hash\": \"" HASH_A "\"},"
              " {\"hash\": \"" HASH_A "\", \"number\": \"0x8\"}, null,"
              " {\"hash\": \"" HASH_B "\"}, {\"hash\": \"" HASH_B "\", \"number\": \"0x7\"}]");
    ck_assert_int_eq(fc_recovery_adopt(fc, r, &from_file), 0);
    ck_assert(!from_file);
    v = fc_get(fc);
    ck_assert_mem_eq(v->head, s_a, 32);
    ck_assert_mem_eq(v->finalized, s_a, 32);
    ck_assert_uint_eq(v->finalized_number, 8);
    json_decref(r);
    fc_destroy(&fc);
    block_cache_destroy(&cache);
}
END_TEST

static Suite *fork_choice_suite(void)
{
    Suite *s = suite_create("fork_choice");
    TCase *status = tcase_create("status");
    tcase_add_checked_fixture(status, setup, NULL);
    tcase_add_test(status, test_valid_matching);
    tcase_add_test(status, test_valid_mismatching);
    tcase_add_test(status, test_valid_without_check);
    tcase_add_test(status, test_invalid_payload_vs_forkchoice);
    tcase_add_test(status, test_invalid_block_hash);
    tcase_add_test(status, test_syncing_accepted);
    tcase_add_test(status, test_unknown_status);
    tcase_add_test(status, test_missing_status);
    suite_add_tcase(s, status);

    TCase *misc = tcase_create("misc");
    tcase_add_checked_fixture(misc, setup, NULL);
    tcase_add_test(misc, test_map_el_code);
    tcase_add_test(misc, test_state_json);
    suite_add_tcase(s, misc);

    TCase *own = tcase_create("owner");
    tcase_add_checked_fixture(own, owner_setup, owner_teardown);
    tcase_add_test(own, test_transitions);
    tcase_add_test(own, test_recovery_from_client);
    tcase_add_test(own, test_recovery_from_file);
    suite_add_tcase(s, own);
    return s;
}

int main(void)
{
    SRunner *runner = srunner_create(fork_choice_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
