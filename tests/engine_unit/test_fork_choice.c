/*  Unit tests for actors/engine/fork_choice.c: reading PayloadStatusV1
    answers, the ForkchoiceStateV1 object, and the error code mapping. */
#include "fork_choice.h"

#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

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
