/*  alys-supervisor: runs the engine actor (and whatever else its
    configuration names) under OTP-style supervision, as systemd's
    Type=notify main process. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alys_config.h"
#include "cmdline.h"
#include "config.h"
#include "log.h"
#include "spawn.h"
#include "supervisor.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: alys-supervisor --config FILE [--check] [--log-level LEVEL]\n"
            "       alys-supervisor [options] [--] PROGRAM [ARGS...]\n"
            "\n"
            "Starts its children, restarts them when they exit or stop answering pings\n"
            "(at once after a crash of a child that had come up, with growing backoff while\n"
            "it cannot come up), and gives up with exit status 1 when there are more than\n"
            "N restarts within a period, or 3 when a child keeps dying before it comes up\n"
            "(a crash loop). SIGTERM or SIGINT stops the\n"
            "children in reverse start order; SIGHUP re-reads the configuration file.\n"
            "Speaks the systemd notification protocol (READY, WATCHDOG, STOPPING, STATUS).\n"
            "\n"
            "  --config FILE              children and policy in ZPL (see deploy/alys-supervisor.conf)\n"
            "  --check                    with --config: validate the file and exit\n"
            "\n"
            "One child from the command line:\n"
            "  --name NAME                child name in logs (default: the program's file name)\n"
            "  --restart TYPE             permanent, transient or temporary (default permanent)\n"
            "  --shutdown-timeout TIME    SIGTERM, then SIGKILL after TIME (default 5s; 0: SIGKILL)\n"
            "  --ping ENDPOINT            ZeroMQ endpoint answering the `ping` op (health checks)\n"
            "  --ping-interval TIME       between pings (default 1s)\n"
            "  --ping-misses K            unanswered pings in a row that mean hung (default 3)\n"
            "  --start-grace TIME         time to answer the first ping (default 10s)\n"
            "  --intensity N              more than N restarts ... (default 200)\n"
            "  --period TIME              ... within TIME: stop and exit 1 (default 60s)\n"
            "  --backoff-initial TIME     wait before the second start that did not come up (default 100ms)\n"
            "  --backoff-max TIME         longest wait between restarts (default 5s)\n"
            "  --stable-after TIME        a run this long counts as up without pings (default 10s)\n"
            "  --start-failures N         more than N starts in a row that never come up\n"
            "                             (answer a ping): a crash loop, exit 3 (default 5; 0: off)\n"
            "\n"
            "  --log-level LEVEL          error, warn, info or debug (default info)\n"
            "  -h, --help                 this text\n"
            "  -V, --version              the version\n"
            "\n"
            "TIME is like systemd's: 250ms, 5s, 1.5s, 2min, 1h; a bare number is seconds.\n"
            "Exit status: 0 after SIGTERM/SIGINT or when no child may run any more; 1 when\n"
            "the restart intensity was exceeded or it could not start; 2 for a usage or\n"
            "configuration error; 3 for a crash loop.\n");
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int bad_value(const char *option, const char *value, const char *expected)
{
    fprintf(stderr, "alys-supervisor: --%s: expected %s, got '%s'\n", option, expected, value);
    return 2;
}

int main(int argc, char **argv)
{
    log_set_program("alys-supervisor");
    enum {
        O_CONFIG = 256, O_CHECK, O_NAME, O_RESTART, O_SHUTDOWN, O_PING, O_PING_INTERVAL,
        O_PING_MISSES, O_START_GRACE, O_INTENSITY, O_PERIOD, O_BACKOFF_INITIAL, O_BACKOFF_MAX,
        O_STABLE, O_START_FAILURES, O_LOG, O_HELP, O_VERSION
    };
    static const struct option options[] = {
        {"config", required_argument, NULL, O_CONFIG},
        {"check", no_argument, NULL, O_CHECK},
        {"name", required_argument, NULL, O_NAME},
        {"restart", required_argument, NULL, O_RESTART},
        {"shutdown-timeout", required_argument, NULL, O_SHUTDOWN},
        {"ping", required_argument, NULL, O_PING},
        {"ping-interval", required_argument, NULL, O_PING_INTERVAL},
        {"ping-misses", required_argument, NULL, O_PING_MISSES},
        {"start-grace", required_argument, NULL, O_START_GRACE},
        {"intensity", required_argument, NULL, O_INTENSITY},
        {"period", required_argument, NULL, O_PERIOD},
        {"backoff-initial", required_argument, NULL, O_BACKOFF_INITIAL},
        {"backoff-max", required_argument, NULL, O_BACKOFF_MAX},
        {"stable-after", required_argument, NULL, O_STABLE},
        {"start-failures", required_argument, NULL, O_START_FAILURES},
        {"log-level", required_argument, NULL, O_LOG},
        {"help", no_argument, NULL, O_HELP},
        {"version", no_argument, NULL, O_VERSION},
        {NULL, 0, NULL, 0},
    };
    sup_config_t *config = sup_config_new();
    child_spec_t spec;
    child_spec_defaults(&spec);
    if (!config) {
        fprintf(stderr, "alys-supervisor: out of memory\n");
        return 1;
    }
    const char *config_path = NULL, *name = NULL;
    bool check_only = false, child_options = false;
    int rc = 2;
    int c;
    char *end;
    unsigned long n;
    log_level_t level;
    opterr = 0;
    /*  '+': stop at the program's name, so that its own options are not
        taken for ours even without "--". */
    while ((c = getopt_long(argc, argv, "+hV", options, NULL)) != -1) {
        if (c >= O_NAME && c <= O_START_FAILURES)
            child_options = true;
        switch (c) {
        case O_CONFIG: config_path = optarg; break;
        case O_CHECK: check_only = true; break;
        case O_NAME: name = optarg; break;
        case O_RESTART:
            if (parse_restart_type(optarg, &spec.restart) != 0) {
                rc = bad_value("restart", optarg, "permanent, transient or temporary");
                goto out;
            }
            break;
        case O_SHUTDOWN:
            if (parse_duration_ms(optarg, &spec.shutdown_ms) != 0) {
                rc = bad_value("shutdown-timeout", optarg, "a duration such as 5s");
                goto out;
            }
            break;
        case O_PING:
            free(spec.health);
            spec.health = strdup(optarg);
            break;
        case O_PING_INTERVAL:
            if (parse_duration_ms(optarg, &spec.ping_interval_ms) != 0) {
                rc = bad_value("ping-interval", optarg, "a duration such as 1s");
                goto out;
            }
            break;
        case O_PING_MISSES:
            n = strtoul(optarg, &end, 10);
            if (*end || !*optarg || n < 1 || n > 1000) {
                rc = bad_value("ping-misses", optarg, "a number from 1 to 1000");
                goto out;
            }
            spec.ping_misses = (unsigned) n;
            break;
        case O_START_GRACE:
            if (parse_duration_ms(optarg, &spec.start_grace_ms) != 0) {
                rc = bad_value("start-grace", optarg, "a duration such as 10s");
                goto out;
            }
            break;
        case O_INTENSITY:
            n = strtoul(optarg, &end, 10);
            if (*end || !*optarg || optarg[0] == '-' || n > RESTART_MAX_INTENSITY) {
                rc = bad_value("intensity", optarg, "a number from 0 to 10000");
                goto out;
            }
            config->intensity = (unsigned) n;
            break;
        case O_PERIOD:
            if (parse_duration_ms(optarg, &config->period_ms) != 0) {
                rc = bad_value("period", optarg, "a duration such as 30s");
                goto out;
            }
            break;
        case O_BACKOFF_INITIAL:
            if (parse_duration_ms(optarg, &config->backoff.initial_ms) != 0) {
                rc = bad_value("backoff-initial", optarg, "a duration such as 100ms");
                goto out;
            }
            break;
        case O_BACKOFF_MAX:
            if (parse_duration_ms(optarg, &config->backoff.max_ms) != 0) {
                rc = bad_value("backoff-max", optarg, "a duration such as 5s");
                goto out;
            }
            break;
        case O_START_FAILURES:
            n = strtoul(optarg, &end, 10);
            if (*end || !*optarg || optarg[0] == '-' || n > RESTART_MAX_INTENSITY) {
                rc = bad_value("start-failures", optarg, "a number from 0 to 10000");
                goto out;
            }
            config->backoff.start_failures = (unsigned) n;
            break;
        case O_STABLE:
            if (parse_duration_ms(optarg, &config->backoff.stable_ms) != 0) {
                rc = bad_value("stable-after", optarg, "a duration such as 10s");
                goto out;
            }
            break;
        case O_LOG:
            if (log_level_parse(optarg, &level) != 0) {
                rc = bad_value("log-level", optarg, "error, warn, info or debug");
                goto out;
            }
            log_set_level(level);
            break;
        case 'h':
        case O_HELP:
            usage(stdout);
            rc = 0;
            goto out;
        case 'V':
        case O_VERSION:
            printf("alys-supervisor %s\n", ALYS_VERSION);
            rc = 0;
            goto out;
        default: {
            char why[160];
            fprintf(stderr, "alys-supervisor: %s (alys-supervisor --help lists the options)\n",
                    cmdline_option_error(why, sizeof why, argv, "+hV", options));
            goto out;
        }
        }
    }
    char err[512];
    if (config_path) {
        if (optind < argc || child_options) {
            fprintf(stderr, "alys-supervisor: --config takes the children and their settings "
                            "from the file; give no program or child options with it\n");
            goto out;
        }
        sup_config_destroy(&config);
        config = sup_config_load(config_path, err, sizeof err);
        if (!config) {
            fprintf(stderr, "alys-supervisor: %s\n", err);
            goto out;
        }
        if (check_only) {
            /* a program that cannot run is as much a configuration error as a bad key */
            for (size_t i = 0; i < config->n_children; i++) {
                const child_spec_t *child = &config->children[i];
                char *found = spawn_find_program(child->argv[0]);
                if (!found) {
                    fprintf(stderr, "alys-supervisor: %s: child '%s': program '%s': %s\n",
                            config_path, child->name, child->argv[0],
                            errno == EACCES ? "not an executable file" : "not found");
                    goto out;
                }
                free(found);
            }
            printf("%s: %zu children, valid\n", config_path, config->n_children);
            rc = 0;
            goto out;
        }
    } else {
        if (optind >= argc) {
            fprintf(stderr, "alys-supervisor: give --config FILE or a program to run "
                            "(alys-supervisor --help for usage)\n");
            goto out;
        }
        if (check_only) {
            fprintf(stderr, "alys-supervisor: --check needs --config\n");
            goto out;
        }
        spec.name = strdup(name ? name : base_name(argv[optind]));
        spec.argv = calloc((size_t) (argc - optind) + 1, sizeof *spec.argv);
        if (!spec.name || !spec.argv) {
            fprintf(stderr, "alys-supervisor: out of memory\n");
            rc = 1;
            goto out;
        }
        for (int i = optind; i < argc; i++) {
            spec.argv[spec.argc] = strdup(argv[i]);
            if (!spec.argv[spec.argc]) {
                fprintf(stderr, "alys-supervisor: out of memory\n");
                rc = 1;
                goto out;
            }
            spec.argc++;
        }
        if (sup_config_add_child(config, &spec) != 0) {
            fprintf(stderr, "alys-supervisor: out of memory\n");
            rc = 1;
            goto out;
        }
        if (sup_config_validate(config, err, sizeof err) != 0) {
            fprintf(stderr, "alys-supervisor: %s\n", err);
            goto out;
        }
    }
    supervisor_t *sup = supervisor_new(&config, config_path, err, sizeof err);
    if (!sup) {
        log_error("cannot start: %s", err);
        rc = 1;
        goto out;
    }
    rc = supervisor_run(sup);
    supervisor_destroy(&sup);
out:
    child_spec_release(&spec);
    sup_config_destroy(&config);
    return rc;
}
