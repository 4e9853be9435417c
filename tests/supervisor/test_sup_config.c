/*  Unit tests of supervisor/config: durations, restart types, the ZPL file
    format, validation and spec comparison (what a reload restarts). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static const char *s_full =
    "#   a full configuration\n"
    "supervisor\n"
    "    intensity = 7\n"
    "    period = 1min          # sliding window\n"
    "    backoff_initial = 250ms\n"
    "    backoff_max = 8s\n"
    "    stable_after = 1.5s\n"
    "    start_failures = 9\n"
    "children\n"
    "    geth\n"
    "        program = /usr/bin/geth\n"
    "        arg = --authrpc.addr\n"
    "        arg = 127.0.0.1\n"
    "        arg = \"--http.api=eth,net,web3\"\n"
    "        restart = transient\n"
    "        shutdown_timeout = 2min\n"
    "    engine\n"
    "        arg = --bind\n"
    "        arg = \"ipc:///run/alys/engine.sock\"\n"
    "        program = alys-engine\n"
    "        health = \"ipc:///run/alys/engine.sock\"\n"
    "        ping_interval = 500ms\n"
    "        ping_misses = 4\n"
    "        start_grace = 20s\n"
    "        env\n"
    "            RUST_LOG = debug\n"
    "            EMPTY = \"\"\n";

START_TEST(test_durations)
{
    int64_t ms = -1;
    ck_assert_int_eq(parse_duration_ms("250ms", &ms), 0);
    ck_assert_int_eq(ms, 250);
    ck_assert_int_eq(parse_duration_ms("5s", &ms), 0);
    ck_assert_int_eq(ms, 5000);
    ck_assert_int_eq(parse_duration_ms("1.5s", &ms), 0);
    ck_assert_int_eq(ms, 1500);
    ck_assert_int_eq(parse_duration_ms("30", &ms), 0);
    ck_assert_int_eq(ms, 30000);
    ck_assert_int_eq(parse_duration_ms("2min", &ms), 0);
    ck_assert_int_eq(ms, 120000);
    ck_assert_int_eq(parse_duration_ms("2m", &ms), 0);
    ck_assert_int_eq(ms, 120000);
    ck_assert_int_eq(parse_duration_ms("1h", &ms), 0);
    ck_assert_int_eq(ms, 3600000);
    ck_assert_int_eq(parse_duration_ms("0", &ms), 0);
    ck_assert_int_eq(ms, 0);
    ck_assert_int_eq(parse_duration_ms("10 s", &ms), 0);
    ck_assert_int_eq(ms, 10000);
    const char *bad[] = {"", "-1s", "+1s", "abc", "5 parsecs", "1e400", "nan", "inf", "25h",
                         "5sec extra", NULL};
    for (int i = 0; bad[i]; i++)
        ck_assert_msg(parse_duration_ms(bad[i], &ms) == -1, "'%s' accepted", bad[i]);
    ck_assert_int_eq(parse_duration_ms(NULL, &ms), -1);
}
END_TEST

START_TEST(test_restart_types)
{
    restart_type_t t;
    ck_assert_int_eq(parse_restart_type("permanent", &t), 0);
    ck_assert_int_eq(t, RESTART_PERMANENT);
    ck_assert_int_eq(parse_restart_type("transient", &t), 0);
    ck_assert_int_eq(t, RESTART_TRANSIENT);
    ck_assert_int_eq(parse_restart_type("temporary", &t), 0);
    ck_assert_int_eq(t, RESTART_TEMPORARY);
    ck_assert_int_eq(parse_restart_type("Permanent", &t), -1);
    ck_assert_int_eq(parse_restart_type(NULL, &t), -1);
    ck_assert_str_eq(restart_type_name(RESTART_TRANSIENT), "transient");
}
END_TEST

START_TEST(test_parse_full)
{
    char err[256] = "";
    sup_config_t *c = sup_config_parse(s_full, err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_uint_eq(c->intensity, 7);
    ck_assert_int_eq(c->period_ms, 60000);
    ck_assert_int_eq(c->backoff.initial_ms, 250);
    ck_assert_int_eq(c->backoff.max_ms, 8000);
    ck_assert_int_eq(c->backoff.stable_ms, 1500);
    ck_assert_uint_eq(c->backoff.start_failures, 9);
    ck_assert_uint_eq(c->n_children, 2);

    const child_spec_t *geth = &c->children[0];
    ck_assert_str_eq(geth->name, "geth");
    ck_assert_uint_eq(geth->argc, 4);
    ck_assert_str_eq(geth->argv[0], "/usr/bin/geth");
    ck_assert_str_eq(geth->argv[1], "--authrpc.addr");
    ck_assert_str_eq(geth->argv[2], "127.0.0.1");
    ck_assert_str_eq(geth->argv[3], "--http.api=eth,net,web3");
    ck_assert_ptr_null(geth->argv[4]);
    ck_assert_int_eq(geth->restart, RESTART_TRANSIENT);
    ck_assert_int_eq(geth->shutdown_ms, 120000);
    ck_assert_ptr_null(geth->health);
    ck_assert_int_eq(geth->ping_interval_ms, CHILD_DEFAULT_PING_INTERVAL_MS);
    ck_assert_uint_eq(geth->ping_misses, CHILD_DEFAULT_PING_MISSES);

    /* the program comes first even when written after the args */
    const child_spec_t *engine = sup_config_find(c, "engine");
    ck_assert_ptr_eq(engine, &c->children[1]);
    ck_assert_uint_eq(engine->argc, 3);
    ck_assert_str_eq(engine->argv[0], "alys-engine");
    ck_assert_str_eq(engine->argv[2], "ipc:///run/alys/engine.sock");
    ck_assert_int_eq(engine->restart, RESTART_PERMANENT);
    ck_assert_int_eq(engine->shutdown_ms, CHILD_DEFAULT_SHUTDOWN_MS);
    ck_assert_str_eq(engine->health, "ipc:///run/alys/engine.sock");
    ck_assert_int_eq(engine->ping_interval_ms, 500);
    ck_assert_uint_eq(engine->ping_misses, 4);
    ck_assert_int_eq(engine->start_grace_ms, 20000);
    ck_assert_uint_eq(engine->n_env, 2);
    ck_assert_str_eq(engine->env[0], "RUST_LOG=debug");
    ck_assert_str_eq(engine->env[1], "EMPTY=");
    ck_assert_ptr_null(engine->env[2]);
    ck_assert_ptr_null(sup_config_find(c, "nethermind"));
    sup_config_destroy(&c);
    ck_assert_ptr_null(c);
    sup_config_destroy(&c);
}
END_TEST

START_TEST(test_defaults)
{
    char err[256] = "";
    sup_config_t *c = sup_config_parse("children\n    a\n        program = /bin/true\n", err,
                                       sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_uint_eq(c->intensity, SUP_DEFAULT_INTENSITY);
    ck_assert_int_eq(c->period_ms, SUP_DEFAULT_PERIOD_MS);
    ck_assert_int_eq(c->backoff.initial_ms, SUP_DEFAULT_BACKOFF_INITIAL_MS);
    ck_assert_int_eq(c->backoff.max_ms, SUP_DEFAULT_BACKOFF_MAX_MS);
    ck_assert_int_eq(c->backoff.stable_ms, SUP_DEFAULT_STABLE_MS);
    ck_assert_uint_eq(c->backoff.start_failures, SUP_DEFAULT_START_FAILURES);
    ck_assert_uint_eq(c->children[0].argc, 1);
    ck_assert_int_eq(c->children[0].start_grace_ms, CHILD_DEFAULT_START_GRACE_MS);
    sup_config_destroy(&c);
}
END_TEST

/*  Every mistake is refused with a message that names the place. */
START_TEST(test_errors_name_the_problem)
{
    static const struct { const char *text; const char *needle; } cases[] = {
        {"supervisor\n    intensity = 3\n", "no children"},
        {"children\n    a\n        arg = x\n", "children/a/program: missing"},
        {"children\n    a\n        program = /bin/true\n        program = /bin/false\n",
         "given twice"},
        {"children\n    a\n        program = /bin/true\n        helth = tcp://x:1\n",
         "unknown setting 'helth'"},
        {"children\n    a\n        program = /bin/true\n    a\n        program = /bin/false\n",
         "two children are named 'a'"},
        {"supervisor\n    intensity = many\nchildren\n    a\n        program = /bin/true\n",
         "supervisor/intensity"},
        {"supervisor\n    period = soon\nchildren\n    a\n        program = /bin/true\n",
         "supervisor/period"},
        {"supervisor\n    period = 0\nchildren\n    a\n        program = /bin/true\n",
         "period must be more than 0"},
        {"supervisor\n    backoff_initial = 10s\n    backoff_max = 1s\nchildren\n"
         "    a\n        program = /bin/true\n", "backoff_initial"},
        {"supervisor\n    colour = blue\nchildren\n    a\n        program = /bin/true\n",
         "unknown setting 'colour'"},
        {"extras\n    a = 1\nchildren\n    a\n        program = /bin/true\n",
         "unknown section 'extras'"},
        {"children\n    a\n        program = /bin/true\n        restart = sometimes\n",
         "children/a/restart"},
        {"children\n    a\n        program = /bin/true\n        shutdown_timeout = -1\n",
         "children/a/shutdown_timeout"},
        {"children\n    a\n        program = /bin/true\n        health = engine.sock\n",
         "not a ZeroMQ endpoint"},
        {"children\n    a\n        program = /bin/true\n        ping_misses = 0\n",
         "children/a/ping_misses"},
        {"children\n    a\n        program = /bin/true\n        ping_interval = 1ms\n",
         "ping_interval must be at least 10ms"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256] = "";
        sup_config_t *c = sup_config_parse(cases[i].text, err, sizeof err);
        ck_assert_msg(c == NULL, "case %zu accepted", i);
        ck_assert_msg(strstr(err, cases[i].needle) != NULL, "case %zu: '%s' lacks '%s'", i, err,
                      cases[i].needle);
    }
}
END_TEST

START_TEST(test_load_file)
{
    char path[] = "/tmp/alys-sup-config-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, s_full, strlen(s_full)), (ssize_t) strlen(s_full));
    close(fd);
    char err[256] = "";
    sup_config_t *c = sup_config_load(path, err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_uint_eq(c->n_children, 2);
    sup_config_destroy(&c);
    unlink(path);
    c = sup_config_load(path, err, sizeof err);
    ck_assert_ptr_null(c);
    ck_assert_msg(strstr(err, "No such file") != NULL, "%s", err);
}
END_TEST

START_TEST(test_spec_copy_and_equal)
{
    char err[256] = "";
    sup_config_t *c = sup_config_parse(s_full, err, sizeof err);
    ck_assert_ptr_nonnull(c);
    const child_spec_t *engine = &c->children[1];
    child_spec_t copy;
    ck_assert_int_eq(child_spec_copy(&copy, engine), 0);
    ck_assert(child_spec_equal(&copy, engine));
    ck_assert_ptr_ne(copy.argv, engine->argv);
    ck_assert_ptr_ne(copy.argv[0], engine->argv[0]);

    /* each field a reload looks at makes a difference */
    copy.ping_misses++;
    ck_assert(!child_spec_equal(&copy, engine));
    copy.ping_misses--;
    copy.shutdown_ms++;
    ck_assert(!child_spec_equal(&copy, engine));
    copy.shutdown_ms--;
    copy.restart = RESTART_TEMPORARY;
    ck_assert(!child_spec_equal(&copy, engine));
    copy.restart = engine->restart;
    free(copy.argv[2]);
    copy.argv[2] = strdup("ipc:///run/alys/other.sock");
    ck_assert(!child_spec_equal(&copy, engine));
    child_spec_release(&copy);

    ck_assert_int_eq(child_spec_copy(&copy, engine), 0);
    free(copy.health);
    copy.health = NULL;
    ck_assert(!child_spec_equal(&copy, engine));
    child_spec_release(&copy);

    ck_assert_int_eq(child_spec_copy(&copy, engine), 0);
    free(copy.env[0]);
    copy.env[0] = strdup("RUST_LOG=info");
    ck_assert(!child_spec_equal(&copy, engine));
    child_spec_release(&copy);
    child_spec_release(&copy); /* safe twice */
    sup_config_destroy(&c);
}
END_TEST

START_TEST(test_build_from_code)
{
    sup_config_t *c = sup_config_new();
    child_spec_t spec;
    child_spec_defaults(&spec);
    char err[256] = "";
    ck_assert_int_eq(sup_config_validate(c, err, sizeof err), -1);
    char *argv[] = {"/bin/sleep", "1", NULL};
    spec.name = "sleeper";
    spec.argv = argv;
    spec.argc = 2;
    ck_assert_int_eq(sup_config_add_child(c, &spec), 0);
    ck_assert_int_eq(sup_config_validate(c, err, sizeof err), 0);
    ck_assert_ptr_ne(c->children[0].argv, argv);
    ck_assert_str_eq(c->children[0].argv[1], "1");
    ck_assert_ptr_null(c->children[0].argv[2]);
    sup_config_destroy(&c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sup_config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, test_durations);
    tcase_add_test(tc, test_restart_types);
    tcase_add_test(tc, test_parse_full);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_errors_name_the_problem);
    tcase_add_test(tc, test_load_file);
    tcase_add_test(tc, test_spec_copy_and_equal);
    tcase_add_test(tc, test_build_from_code);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
