/*  alys-stub-el: a stand-in execution client for fault tests and benchmarks.
    Parses flags, starts the server, prints PORT=<n>, serves until SIGTERM or
    SIGINT. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "stub_server.h"

#define MAX_FAULTS 64

static void usage(FILE *out)
{
    fprintf(out,
            "usage: alys-stub-el --jwt-secret PATH [--port N] [faults]\n"
            "\n"
            "A stub execution client: the Engine API and the public JSON-RPC methods on one\n"
            "HTTP port of 127.0.0.1, answering at once from a small consistent chain.\n"
            "\n"
            "  --port N                  port to listen on; 0 picks a free one (default 0).\n"
            "                            The port is printed as PORT=<n> on stdout.\n"
            "  --jwt-secret PATH         the hex secret that engine_* requests must be signed with\n"
            "  --genesis-time T          the genesis block's timestamp (default 0)\n"
            "Faults (METHOD is a method name, a prefix ending in *, or * for all):\n"
            "  --delay METHOD:MS         answer after MS milliseconds\n"
            "  --http-status METHOD:CODE answer with that HTTP status instead\n"
            "  --malformed METHOD        answer with a body that is not valid JSON\n"
            "  --rpc-error METHOD:CODE   answer with a JSON-RPC error of that code\n"
            "  --status METHOD:STATUS    answer payloadStatus STATUS (INVALID, SYNCING, ACCEPTED)\n"
            "  --null-payload-id         forkchoiceUpdated with attributes answers payloadId null\n"
            "The method stub_stats answers the counters (connections accepted, requests, calls\n"
            "per method) and is never subject to faults given with *.\n");
}

int main(int argc, char **argv)
{
    enum { O_PORT = 256, O_JWT, O_GEN, O_DELAY, O_HTTP, O_MAL, O_RPCERR, O_STATUS, O_NULLPID, O_HELP };
    static const struct option options[] = {
        {"port", required_argument, NULL, O_PORT},
        {"jwt-secret", required_argument, NULL, O_JWT},
        {"genesis-time", required_argument, NULL, O_GEN},
        {"delay", required_argument, NULL, O_DELAY},
        {"http-status", required_argument, NULL, O_HTTP},
        {"malformed", required_argument, NULL, O_MAL},
        {"rpc-error", required_argument, NULL, O_RPCERR},
        {"status", required_argument, NULL, O_STATUS},
        {"null-payload-id", no_argument, NULL, O_NULLPID},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    stub_fault_t faults[MAX_FAULTS];
    stub_config_t config = {.faults = faults};
    char err[256];
    uint64_t n;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        stub_fault_kind_t kind;
        switch (c) {
        case O_PORT:
            if (!parse_u64(optarg, &n) || n > 65535) {
                fprintf(stderr, "alys-stub-el: --port: expected 0..65535, got '%s'\n", optarg);
                return 2;
            }
            config.port = (int) n;
            continue;
        case O_JWT: config.jwt_secret_path = optarg; continue;
        case O_GEN:
            if (!parse_u64(optarg, &config.genesis_time)) {
                fprintf(stderr, "alys-stub-el: --genesis-time: expected a number, got '%s'\n", optarg);
                return 2;
            }
            continue;
        case O_NULLPID: config.null_payload_id = true; continue;
        case O_HELP: usage(stdout); return 0;
        case O_DELAY: kind = STUB_FAULT_DELAY; break;
        case O_HTTP: kind = STUB_FAULT_HTTP_STATUS; break;
        case O_MAL: kind = STUB_FAULT_MALFORMED; break;
        case O_RPCERR: kind = STUB_FAULT_RPC_ERROR; break;
        case O_STATUS: kind = STUB_FAULT_STATUS; break;
        default:
            fprintf(stderr, "alys-stub-el: unknown or incomplete option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        }
        if (config.n_faults == MAX_FAULTS) {
            fprintf(stderr, "alys-stub-el: at most %d faults\n", MAX_FAULTS);
            return 2;
        }
        if (stub_fault_parse(kind, optarg, &faults[config.n_faults], err, sizeof err) != 0) {
            fprintf(stderr, "alys-stub-el: %s: %s\n", argv[optind - 1], err);
            return 2;
        }
        config.n_faults++;
    }
    if (optind < argc) {
        fprintf(stderr, "alys-stub-el: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!config.jwt_secret_path) {
        fprintf(stderr, "alys-stub-el: --jwt-secret PATH is required\n");
        return 2;
    }
    /* the server's threads inherit this mask, so only sigwait sees them */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    stub_server_t *server = stub_server_new(&config, err, sizeof err);
    if (!server) {
        fprintf(stderr, "alys-stub-el: %s\n", err);
        return 1;
    }
    printf("PORT=%d\n", stub_server_port(server));
    fflush(stdout);
    int sig = 0;
    sigwait(&mask, &sig);
    stub_server_destroy(&server);
    return 0;
}
