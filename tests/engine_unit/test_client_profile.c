/*  Unit tests for actors/engine/client_profile.c: selecting a profile by
    client code or --client name, and what each profile records. */
#include "client_profile.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *code, *name;
} s_known[] = {
    {"EJ", "ethereumjs"}, {"GE", "geth"}, {"RH", "reth"},
    {"NM", "nethermind"}, {"BU", "besu"}, {"EG", "erigon"},
};

#define N_KNOWN (sizeof s_known / sizeof *s_known)

START_TEST(test_lookup_by_code_and_name)
{
    for (size_t i = 0; i < N_KNOWN; i++) {
        const client_profile_t *by_code = client_profile_for(s_known[i].code);
        const client_profile_t *by_name = client_profile_for(s_known[i].name);
        ck_assert_ptr_nonnull(by_code);
        ck_assert_ptr_eq(by_code, by_name);
        ck_assert_str_eq(by_code->code, s_known[i].code);
        ck_assert_str_eq(by_code->name, s_known[i].name);
    }
    /* each client has its own profile */
    for (size_t i = 0; i < N_KNOWN; i++)
        for (size_t j = i + 1; j < N_KNOWN; j++)
            ck_assert_ptr_ne(client_profile_for(s_known[i].code), client_profile_for(s_known[j].code));
}
END_TEST

START_TEST(test_lookup_any_case)
{
    const client_profile_t *geth = client_profile_for("geth");
    ck_assert_ptr_eq(client_profile_for("ge"), geth);
    ck_assert_ptr_eq(client_profile_for("Ge"), geth);
    ck_assert_ptr_eq(client_profile_for("GETH"), geth);
    ck_assert_ptr_eq(client_profile_for("EthereumJS"), client_profile_for("EJ"));
}
END_TEST

START_TEST(test_unknown_is_generic)
{
    const char *unknown[] = {"", "XX", "??x", "gethx", "get", "lighthouse", "auto", "generic"};
    const client_profile_t *g = client_profile_for(NULL);
    ck_assert_ptr_nonnull(g);
    ck_assert_str_eq(g->code, "??");
    ck_assert_str_eq(g->name, "generic");
    ck_assert_int_eq(g->unknown_payload_code, -38001);
    ck_assert(g->rewinds_to_ancestor);
    ck_assert(g->keeps_payload_after_get);
    ck_assert_ptr_null(g->revert_note);
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++)
        ck_assert_msg(client_profile_for(unknown[i]) == g, "'%s' is not generic", unknown[i]);
    /* the generic profile's own code names it */
    ck_assert_ptr_eq(client_profile_for("??"), g);
}
END_TEST

START_TEST(test_profile_fields)
{
    const client_profile_t *ej = client_profile_for("EJ");
    ck_assert_int_eq(ej->unknown_payload_code, -32001);
    ck_assert(ej->rewinds_to_ancestor);

    const client_profile_t *reth = client_profile_for("reth");
    ck_assert(!reth->rewinds_to_ancestor);
    ck_assert(!reth->keeps_payload_after_get);
    ck_assert_ptr_nonnull(reth->revert_note);
    ck_assert_ptr_nonnull(strstr(reth->revert_note, "reth"));

    const client_profile_t *geth = client_profile_for("geth");
    ck_assert(geth->rewinds_to_ancestor);
    ck_assert_int_eq(geth->unknown_payload_code, -38001);
    ck_assert_ptr_nonnull(geth->revert_note);

    /* where EthereumJS and Geth differ (both checked against the real
       clients by the integration suite) */
    ck_assert(!ej->client_version_v1);
    ck_assert(geth->client_version_v1);
    ck_assert_str_eq(ej->unknown_parent_status, "ACCEPTED");
    ck_assert_str_eq(geth->unknown_parent_status, "SYNCING");
    ck_assert_int_eq(ej->invalid_attributes_code, -32602);
    ck_assert_int_eq(geth->invalid_attributes_code, -38003);
    /* every profile says something for every field */
    const client_profile_t *all[] = {ej, geth, reth, client_profile_for("NM"), client_profile_for("BU"),
                                     client_profile_for("EG"), client_profile_for(NULL)};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        ck_assert_ptr_nonnull(all[i]->unknown_parent_status);
        ck_assert(strcmp(all[i]->unknown_parent_status, "SYNCING") == 0
                  || strcmp(all[i]->unknown_parent_status, "ACCEPTED") == 0);
        ck_assert_int_lt(all[i]->invalid_attributes_code, 0);
        ck_assert_int_lt(all[i]->unknown_payload_code, 0);
    }
}
END_TEST

START_TEST(test_name_valid)
{
    ck_assert(client_profile_name_valid("auto"));
    for (size_t i = 0; i < N_KNOWN; i++)
        ck_assert_msg(client_profile_name_valid(s_known[i].name), "%s refused", s_known[i].name);
    const char *bad[] = {"", "GE", "EJ", "generic", "??", "Geth", "AUTO", "geth ", "lighthouse"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(!client_profile_name_valid(bad[i]), "'%s' accepted", bad[i]);
}
END_TEST

START_TEST(test_unknown_payload_codes)
{
    const client_profile_t *ej = client_profile_for("ethereumjs");
    const client_profile_t *geth = client_profile_for("geth");
    const client_profile_t *g = client_profile_for(NULL);

    /* the spec's code, whatever the client */
    ck_assert(client_profile_unknown_payload(ej, -38001));
    ck_assert(client_profile_unknown_payload(geth, -38001));
    ck_assert(client_profile_unknown_payload(g, -38001));

    /* EthereumJS's own code only for EthereumJS */
    ck_assert(client_profile_unknown_payload(ej, -32001));
    ck_assert(!client_profile_unknown_payload(geth, -32001));
    ck_assert(!client_profile_unknown_payload(g, -32001));

    const int64_t others[] = {0, -32000, -32602, -38002, -38003, -38005, 38001};
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
        ck_assert(!client_profile_unknown_payload(ej, others[i]));
        ck_assert(!client_profile_unknown_payload(geth, others[i]));
        ck_assert(!client_profile_unknown_payload(g, others[i]));
    }
}
END_TEST

static Suite *client_profile_suite(void)
{
    Suite *s = suite_create("client_profile");
    TCase *tc = tcase_create("profiles");
    tcase_add_test(tc, test_lookup_by_code_and_name);
    tcase_add_test(tc, test_lookup_any_case);
    tcase_add_test(tc, test_unknown_is_generic);
    tcase_add_test(tc, test_profile_fields);
    tcase_add_test(tc, test_name_valid);
    tcase_add_test(tc, test_unknown_payload_codes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *runner = srunner_create(client_profile_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
