/*  alys-engine: the engine actor. Parses flags, builds the actor, runs its
    loop until SIGTERM or SIGINT. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include "alys_config.h"
#include "cmdline.h"
#include "engine.h"
#include "hex.h"
#include "log.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: alys-engine --jwt-secret PATH [options]\n"
            "\n"
            "The Alys engine actor: serves build, commit, finalize and query operations to\n"
            "peers over ZeroMQ (msgpack, proto/PROTOCOL.md) and drives the execution client\n"
            "through the Engine API.\n"
            "\n"
            "  --bind ENDPOINT              ZeroMQ endpoint to bind (default ipc:///run/alys/engine.sock)\n"
            "  --execution-endpoint URL     Engine API, authenticated (default http://127.0.0.1:8551)\n"
            "  --execution-rpc URL          public JSON-RPC (default http://127.0.0.1:8545)\n"
            "  --jwt-secret PATH            file with the 32-byte secret as 64 hex characters (required)\n"
            "  --fee-recipient ADDR         default fee recipient (default 0x000000000000000000000000000000000000dEaD)\n"
            "  --timeout-multiplier X       scales every Engine API timeout (default 1.0)\n"
            "  --max-queries N              read requests running at once (default 256); more wait\n"
            "  --max-query-queue N          reads waiting beyond --max-queries before OVERLOADED\n"
            "                               (default 65536, and at most 64 MiB of waiting requests)\n"
            "  --el-connections N           connections per execution client endpoint (default 16);\n"
            "                               further calls wait for one, their timeout not yet running\n"
            "  --max-frame BYTES            largest request accepted (default 4194304)\n"
            "  --fork-schedule SPEC         shanghai=T,cancun=T,prague=T (timestamps or 'never');\n"
            "                               default: Shanghai, with later forks read from the chain\n"
            "  --client NAME                auto, geth, reth, nethermind, besu, ethereumjs (default auto)\n"
            "  --state-dir DIR              keep the fork choice in DIR/forkchoice across restarts\n"
            "  --block-cache N              blocks kept by hash (default 1024; 0 disables)\n"
            "  --payload-cache N            built payloads kept (default 32)\n"
            "  --payload-ttl SECONDS        how long a built payload is kept (default 120)\n"
            "  --logs-chunk N               largest block range per eth_getLogs call (default 2000)\n"
            "  --metrics-listen HOST:PORT   Prometheus /metrics and /health (default 127.0.0.1:9105; off)\n"
            "  --curve-secret FILE          CURVE: this actor's certificate (zcert, with its secret key)\n"
            "  --curve-allow DIR            CURVE: public certificates of the peers allowed in\n"
            "  --insecure-tcp               allow a non-loopback tcp --bind without CURVE (warned)\n"
            "  --strict-permissions         refuse a JWT secret file that group or others may read\n"
            "                               (default: a warning)\n"
            "  --max-el-buffer BYTES        execution-client answers being received at once, in total;\n"
            "                               past it an answer fails with EL_UNAVAILABLE (default 268435456;\n"
            "                               one answer is capped at 64 MiB)\n"
            "  --log-level LEVEL            error, warn, info or debug (default info)\n"
            "  -h, --help                   this text\n"
            "  -V, --version                the version\n"
            "\n"
            "Exit status: 0 after SIGTERM or SIGINT (every request answered), 1 when it\n"
            "cannot start (bad secret file, endpoint in use) or stops on a fatal error,\n"
            "2 for a usage error.\n");
}

static int parse_double(const char *text, double *out)
{
    char *end;
    double v = strtod(text, &end);
    if (*end || !(v > 0) || v > 1000)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    log_set_program("alys-engine");
    engine_config_t config;
    engine_config_defaults(&config);
    enum { O_BIND = 256, O_EE, O_ER, O_JWT, O_FEE, O_TM, O_LOG, O_MQ, O_MF, O_HELP, O_VERSION,
           O_FORKS, O_CLIENT, O_STATE, O_BCACHE, O_PCACHE, O_PTTL, O_CHUNK, O_METRICS,
           O_STRICT, O_CURVE_SECRET, O_CURVE_ALLOW, O_INSECURE_TCP, O_MAX_EL_BUFFER, O_MQQ,
           O_ELCONN };
    static const struct option options[] = {
        {"bind", required_argument, NULL, O_BIND},
        {"execution-endpoint", required_argument, NULL, O_EE},
        {"execution-rpc", required_argument, NULL, O_ER},
        {"jwt-secret", required_argument, NULL, O_JWT},
        {"fee-recipient", required_argument, NULL, O_FEE},
        {"timeout-multiplier", required_argument, NULL, O_TM},
        {"max-queries", required_argument, NULL, O_MQ},
        {"max-frame", required_argument, NULL, O_MF},
        {"max-query-queue", required_argument, NULL, O_MQQ},
        {"el-connections", required_argument, NULL, O_ELCONN},
        {"log-level", required_argument, NULL, O_LOG},
        {"fork-schedule", required_argument, NULL, O_FORKS},
        {"client", required_argument, NULL, O_CLIENT},
        {"state-dir", required_argument, NULL, O_STATE},
        {"block-cache", required_argument, NULL, O_BCACHE},
        {"payload-cache", required_argument, NULL, O_PCACHE},
        {"payload-ttl", required_argument, NULL, O_PTTL},
        {"logs-chunk", required_argument, NULL, O_CHUNK},
        {"metrics-listen", required_argument, NULL, O_METRICS},
        {"strict-permissions", no_argument, NULL, O_STRICT},
        {"curve-secret", required_argument, NULL, O_CURVE_SECRET},
        {"curve-allow", required_argument, NULL, O_CURVE_ALLOW},
        {"insecure-tcp", no_argument, NULL, O_INSECURE_TCP},
        {"max-el-buffer", required_argument, NULL, O_MAX_EL_BUFFER},
        {"help", no_argument, NULL, O_HELP},
        {"version", no_argument, NULL, O_VERSION},
        {NULL, 0, NULL, 0},
    };
    int c;
    uint64_t n;
    log_level_t level;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "hV", options, NULL)) != -1) {
        switch (c) {
        case O_BIND: config.bind = optarg; break;
        case O_EE: config.engine_url = optarg; break;
        case O_ER: config.rpc_url = optarg; break;
        case O_JWT: config.jwt_secret_path = optarg; break;
        case O_FEE:
            if (hex_decode_fixed(optarg, config.fee_recipient, 20) != 0) {
                fprintf(stderr, "alys-engine: --fee-recipient: expected a 20-byte hex address, got '%s'\n", optarg);
                return 2;
            }
            break;
        case O_TM:
            if (parse_double(optarg, &config.timeout_multiplier) != 0) {
                fprintf(stderr, "alys-engine: --timeout-multiplier: expected a number in (0, 1000], got '%s'\n", optarg);
                return 2;
            }
            break;
        case O_MQ:
            if (!parse_u64(optarg, &n) || n == 0 || n > 1000000) {
                fprintf(stderr, "alys-engine: --max-queries: expected 1..1000000, got '%s'\n", optarg);
                return 2;
            }
            config.max_queries = (size_t) n;
            break;
        case O_MQQ:
            if (!parse_u64(optarg, &n) || n > 10000000) {
                fprintf(stderr, "alys-engine: --max-query-queue: expected 0..10000000, got '%s'\n", optarg);
                return 2;
            }
            config.max_query_queue = (size_t) n;
            break;
        case O_ELCONN:
            if (!parse_u64(optarg, &n) || n == 0 || n > 1024) {
                fprintf(stderr, "alys-engine: --el-connections: expected 1..1024, got '%s'\n", optarg);
                return 2;
            }
            config.el_connections = (size_t) n;
            break;
        case O_MF:
            if (!parse_u64(optarg, &n) || n < 1024 || n > (1u << 30)) {
                fprintf(stderr, "alys-engine: --max-frame: expected 1024..1073741824, got '%s'\n", optarg);
                return 2;
            }
            config.max_frame = (size_t) n;
            break;
        case O_LOG:
            if (log_level_parse(optarg, &level) != 0) {
                fprintf(stderr, "alys-engine: --log-level: expected error, warn, info or debug, got '%s'\n", optarg);
                return 2;
            }
            log_set_level(level);
            break;
        case O_FORKS: {
            char why[160];
            if (fork_schedule_parse(optarg, &config.schedule, why, sizeof why) != 0) {
                fprintf(stderr, "alys-engine: --fork-schedule: %s\n", why);
                return 2;
            }
            break;
        }
        case O_CLIENT:
            if (!client_profile_name_valid(optarg)) {
                fprintf(stderr, "alys-engine: --client: expected auto, geth, reth, nethermind, besu, ethereumjs or erigon, got '%s'\n", optarg);
                return 2;
            }
            config.client = optarg;
            break;
        case O_STATE: {
            struct stat st;
            if (stat(optarg, &st) != 0 || !S_ISDIR(st.st_mode) || access(optarg, W_OK) != 0) {
                fprintf(stderr, "alys-engine: --state-dir: %s is not a writable directory\n", optarg);
                return 2;
            }
            config.state_dir = optarg;
            break;
        }
        case O_BCACHE:
        case O_PCACHE:
        case O_PTTL:
        case O_CHUNK:
            if (!parse_u64(optarg, &n) || n > 100000000 || (c != O_BCACHE && n == 0)) {
                const char *name = "?";
                for (const struct option *o = options; o->name; o++)
                    if (o->val == c)
                        name = o->name;
                fprintf(stderr, "alys-engine: --%s: expected a whole number%s, got '%s'\n", name,
                        c == O_BCACHE ? "" : " above 0", optarg);
                return 2;
            }
            if (c == O_BCACHE) config.block_cache_size = (size_t) n;
            if (c == O_PCACHE) config.payload_cache_size = (size_t) n;
            if (c == O_PTTL) config.payload_ttl_ms = (int) (n > 86400 ? 86400000 : n * 1000);
            if (c == O_CHUNK) config.logs_chunk = n;
            break;
        case O_METRICS:
            config.metrics_listen = strcmp(optarg, "off") == 0 ? NULL : optarg;
            break;
        case O_STRICT: config.strict_permissions = true; break;
        case O_CURVE_SECRET: config.curve_secret_path = optarg; break;
        case O_CURVE_ALLOW: config.curve_allow_dir = optarg; break;
        case O_INSECURE_TCP: config.insecure_tcp = true; break;
        case O_MAX_EL_BUFFER:
            /* at least one largest answer (64 MiB) must fit */
            if (!parse_u64(optarg, &n) || n < (64u << 20) || n > (64ull << 30)) {
                fprintf(stderr, "alys-engine: --max-el-buffer: expected 67108864..68719476736 bytes, got '%s'\n", optarg);
                return 2;
            }
            config.max_el_buffer = (size_t) n;
            break;
        case 'h':
        case O_HELP: usage(stdout); return 0;
        case 'V':
        case O_VERSION: printf("alys-engine %s\n", ALYS_VERSION); return 0;
        default: {
            char why[160];
            fprintf(stderr, "alys-engine: %s (alys-engine --help lists the options)\n",
                    cmdline_option_error(why, sizeof why, argv, "hV", options));
            return 2;
        }
        }
    }
    if (optind < argc) {
        fprintf(stderr, "alys-engine: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!config.jwt_secret_path) {
        fprintf(stderr, "alys-engine: --jwt-secret PATH is required (alys-engine --help lists "
                        "the options)\n");
        return 2;
    }
    char err[512];
    engine_t *engine = engine_new(&config, err, sizeof err);
    if (!engine) {
        log_error("cannot start: %s", err);
        return 1;
    }
    int rc = engine_run(engine);
    engine_destroy(&engine);
    return rc;
}
