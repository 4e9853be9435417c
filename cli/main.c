/*  alys-engine-cli: sends one request to the engine actor and prints its
    reply. Exit status: 0 ok, 1 error reply, 2 usage error, 3 no reply. */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "alys_config.h"
#include "args.h"
#include "client.h"
#include "convert.h"
#include "curve.h"
#include "proto.h"

#define PROGRAM "alys-engine-cli"
#define DEFAULT_ENDPOINT "ipc:///run/alys/engine.sock"

enum { EXIT_OK = 0, EXIT_ERROR_REPLY = 1, EXIT_USAGE = 2, EXIT_TIMEOUT = 3 };

typedef struct {
    const char *endpoint;
    client_opts_t client;
    bool json;
    bool has_id;
    uint64_t id;
} options_t;

static void usage(FILE *out)
{
    fprintf(out,
"usage: " PROGRAM " [OPTIONS] OP [key=value ...]\n"
"\n"
"Sends one request to the Alys engine actor and prints its reply.\n"
"\n"
"options:\n"
"  -c, --connect ENDPOINT  the actor's endpoint (default: $ALYS_ENGINE_ENDPOINT,\n"
"                          else " DEFAULT_ENDPOINT ")\n"
"  -t, --timeout MS        wait this long for each attempt (default 10000)\n"
"  -r, --retries N         send again this many times after a lost reply or a\n"
"                          retryable error (default 3)\n"
"  -j, --json              print the whole reply as one JSON document\n"
"      --id N              the request id (default: random)\n"
"      --curve-cert FILE   CURVE: this client's certificate (zcert, with its secret key)\n"
"      --curve-server-key KEY  CURVE: the actor's public key (40 Z85 characters) or\n"
"                          its public certificate file; with --curve-cert\n"
"      --list-ops          list the operations and their arguments\n"
"  -h, --help              print this help\n"
"  -V, --version           print the version\n"
"\n"
"values: hashes, addresses and bytes as 0x hex; quantities and U256 in decimal\n"
"or 0x hex; blocks as a tag (latest, pending, earliest, safe, finalized), a\n"
"number or a 0x hash; maps and arrays as JSON text, @FILE or @- (stdin);\n"
"withdrawals also as 0xADDR:GWEI,0xADDR:GWEI.\n"
"\n"
"exit status: 0 ok, 1 error reply, 2 usage error, 3 no reply (timeout)\n"
"\n"
"examples:\n"
"  " PROGRAM " ping\n"
"  " PROGRAM " --json build_block timestamp=1700000000 > built.json\n"
"  jq .result.payload built.json > payload.json\n"
"  " PROGRAM " commit_block payload=@payload.json\n"
"  " PROGRAM " get_block block=latest\n"
"  " PROGRAM " keygen /etc/alys/curve/cli   # writes cli (public) and cli_secret\n");
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs(PROGRAM ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n(" PROGRAM " --help for usage)\n", stderr);
    return EXIT_USAGE;
}

static void list_ops(FILE *out)
{
    for (size_t i = 0; i < proto_n_ops; i++)
        args_describe(out, &proto_ops[i]);
}

static void random_bytes(void *buf, size_t n)
{
    if (getrandom(buf, n, 0) == (ssize_t) n)
        return;
    /*  No entropy source: uniqueness per invocation is all that is needed. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t) ts.tv_nsec ^ (uint64_t) ts.tv_sec << 20 ^ (uint64_t) getpid() << 40;
    uint8_t *p = buf;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (uint8_t) x;
    }
}

/*  Parses a non-negative int option within [min, max]. */
static int parse_int_option(const char *name, const char *text, int min, int max, int *out)
{
    uint64_t v;
    char why[128];
    if (convert_parse_quantity(text, &v, why, sizeof why) != 0 || v < (uint64_t) min
        || v > (uint64_t) max) {
        usage_error("--%s: expected a number from %d to %d, got '%s'", name, min, max, text);
        return -1;
    }
    *out = (int) v;
    return 0;
}

/*  Both CURVE options or neither, each readable: checked before anything is
    sent, as a usage error. */
static int check_curve_options(const client_opts_t *c)
{
    if (!c->curve_cert && !c->curve_server_key)
        return 0;
    if (!c->curve_cert || !c->curve_server_key)
        return usage_error("--curve-cert and --curve-server-key go together"), -1;
    char why[512], key[CURVE_KEY_TXT];
    if (curve_server_key(c->curve_server_key, key, why, sizeof why) != 0)
        return usage_error("--curve-server-key: %s", why), -1;
    zcert_t *cert = curve_load_secret(c->curve_cert, why, sizeof why);
    if (!cert)
        return usage_error("--curve-cert: %s", why), -1;
    curve_cert_destroy(&cert);
    return 0;
}

/*  `keygen PATH`: a new CURVE key pair in czmq's zcert files. */
static int keygen(int nargs, char **words)
{
    if (nargs != 1)
        return usage_error("keygen takes one argument: the path of the public certificate "
                           "(the secret one gets _secret appended)");
    char why[512];
    if (curve_keygen(words[0], why, sizeof why) != 0) {
        fprintf(stderr, PROGRAM ": keygen: %s\n", why);
        return EXIT_ERROR_REPLY;
    }
    printf("%s (public, for the other side's allow directory)\n%s_secret (keep private)\n",
           words[0], words[0]);
    return EXIT_OK;
}

/*  Parses the command line into opts; returns -1 with a message printed
    (exit 2), 0 to go on, or 1 when a query option (--help, --version,
    --list-ops) was answered (exit 0). *first_arg indexes the OP word. */
static int parse_options(int argc, char **argv, options_t *opts, int *first_arg)
{
    enum { OPT_ID = 256, OPT_LIST_OPS, OPT_CURVE_CERT, OPT_CURVE_SERVER_KEY };
    static const struct option long_opts[] = {
        {"connect", required_argument, NULL, 'c'},
        {"timeout", required_argument, NULL, 't'},
        {"retries", required_argument, NULL, 'r'},
        {"json", no_argument, NULL, 'j'},
        {"id", required_argument, NULL, OPT_ID},
        {"list-ops", no_argument, NULL, OPT_LIST_OPS},
        {"curve-cert", required_argument, NULL, OPT_CURVE_CERT},
        {"curve-server-key", required_argument, NULL, OPT_CURVE_SERVER_KEY},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *env = getenv("ALYS_ENGINE_ENDPOINT");
    opts->endpoint = env && *env ? env : DEFAULT_ENDPOINT;
    client_opts_default(&opts->client);
    opterr = 0;
    int c;
    /*  Options may also follow OP: getopt moves the other words, which never
        start with '-' (OP, key=value), to the end in their order. */
    while ((c = getopt_long(argc, argv, ":c:t:r:jhV", long_opts, NULL)) != -1) {
        char why[128];
        switch (c) {
        case 'c':
            if (!*optarg)
                return usage_error("--connect needs an endpoint"), -1;
            opts->endpoint = optarg;
            break;
        case 't':
            if (parse_int_option("timeout", optarg, 1, 24 * 3600 * 1000,
                                 &opts->client.timeout_ms) != 0)
                return -1;
            break;
        case 'r':
            if (parse_int_option("retries", optarg, 0, 1000, &opts->client.retries) != 0)
                return -1;
            break;
        case 'j':
            opts->json = true;
            break;
        case OPT_ID:
            if (convert_parse_quantity(optarg, &opts->id, why, sizeof why) != 0)
                return usage_error("--id: %s", why), -1;
            opts->has_id = true;
            break;
        case OPT_LIST_OPS:
            list_ops(stdout);
            return 1;
        case OPT_CURVE_CERT:
            opts->client.curve_cert = optarg;
            break;
        case OPT_CURVE_SERVER_KEY:
            opts->client.curve_server_key = optarg;
            break;
        case 'h':
            usage(stdout);
            return 1;
        case 'V':
            printf(PROGRAM " %s (protocol %d)\n", ALYS_VERSION, PROTO_VERSION);
            return 1;
        case ':':
            return usage_error("%s needs a value", argv[optind - 1]), -1;
        default:
            if (optopt && optopt < 256)
                return usage_error("unknown option -%c", optopt), -1;
            return usage_error("unknown option %s", argv[optind - 1]), -1;
        }
    }
    *first_arg = optind;
    return check_curve_options(&opts->client);
}

static void print_error_reply(const proto_reply_t *r)
{
    fprintf(stderr, "error: %s: %s", r->error_code, r->message ? r->message : "");
    if (r->retryable)
        fputs(" (retryable)", stderr);
    if (r->has_el_code)
        fprintf(stderr, " el_code=%" PRId64, r->el_code);
    fputc('\n', stderr);
}

/*  Prints the reply and returns the exit status it calls for. */
static int report(const options_t *opts, const client_reply_t *cr)
{
    const proto_reply_t *r = &cr->reply;
    if (opts->json) {
        convert_write_json(stdout, proto_frame_root(r->frame), true);
        fputc('\n', stdout);
    } else if (r->ok) {
        if (r->result->via.map.size == 0)
            puts("ok");
        else
            convert_write_human(stdout, r->result);
    } else {
        print_error_reply(r);
    }
    return r->ok ? EXIT_OK : EXIT_ERROR_REPLY;
}

int main(int argc, char **argv)
{
    options_t opts;
    memset(&opts, 0, sizeof opts);
    int first;
    int rc = parse_options(argc, argv, &opts, &first);
    if (rc != 0)
        return rc > 0 ? EXIT_OK : EXIT_USAGE;
    if (first >= argc) {
        fprintf(stderr, PROGRAM ": missing OP; valid ops: ");
        args_list_op_names(stderr);
        fputs("\nusage: " PROGRAM " [OPTIONS] OP [key=value ...] (" PROGRAM " --help for more)\n",
              stderr);
        return EXIT_USAGE;
    }
    const char *op_name = argv[first];
    if (strcmp(op_name, "keygen") == 0)
        return keygen(argc - first - 1, argv + first + 1);
    const proto_op_t *op = proto_op_find(op_name);
    if (!op) {
        fprintf(stderr, PROGRAM ": unknown op '%s'; valid ops: ", op_name);
        args_list_op_names(stderr);
        fputc('\n', stderr);
        return EXIT_USAGE;
    }
    int nargs = argc - first - 1;
    char **words = argv + first + 1;

    if (!opts.has_id) {
        random_bytes(&opts.id, sizeof opts.id);
        opts.id &= INT64_MAX;
    }
    proto_writer_t w;
    proto_writer_init(&w);
    char err[ARGS_ERR_LEN];
    if (args_build_request(op, opts.id, nargs, words, stdin, &w, err, sizeof err) != 0) {
        proto_writer_release(&w);
        return usage_error("%s", err);
    }

    uint8_t rid[8];
    char routing_id[4 + 2 * sizeof rid + 1];
    random_bytes(rid, sizeof rid);
    snprintf(routing_id, sizeof routing_id, "cli-");
    for (size_t i = 0; i < sizeof rid; i++)
        snprintf(routing_id + 4 + 2 * i, 3, "%02x", rid[i]);

    client_t *client = client_new(opts.endpoint, routing_id, stderr);
    if (!client) {
        proto_writer_release(&w);
        fprintf(stderr, PROGRAM ": out of memory\n");
        return EXIT_ERROR_REPLY;
    }
    client_reply_t reply;
    int attempts = 0;
    client_rc_t crc = client_call(client, (const uint8_t *) w.sbuf.data, w.sbuf.size, opts.id,
                                  &opts.client, &reply, &attempts);
    switch (crc) {
    case CLIENT_REPLY:
        rc = report(&opts, &reply);
        client_reply_release(&reply);
        break;
    case CLIENT_TIMEOUT:
        fprintf(stderr, PROGRAM ": no reply from %s after %d attempt%s (%d ms each)\n",
                opts.endpoint, attempts, attempts == 1 ? "" : "s", opts.client.timeout_ms);
        rc = EXIT_TIMEOUT;
        break;
    default:
        fprintf(stderr, PROGRAM ": %s\n", client_error(client));
        rc = EXIT_USAGE;
        break;
    }
    client_destroy(&client);
    proto_writer_release(&w);
    if (fflush(stdout) != 0 && rc == EXIT_OK)
        rc = EXIT_ERROR_REPLY;
    return rc;
}
