/*  alys-engine-cli: sends one request to the engine actor and prints its
    reply. Exit status: 0 ok, 1 error reply, 2 usage error, 3 no reply. */
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
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
#include "cmdline.h"
#include "convert.h"
#include "duration.h"
#include "curve.h"
#include "proto.h"

#define PROGRAM "alys-engine-cli"
#define DEFAULT_ENDPOINT "ipc:///run/alys/engine.sock"

enum { EXIT_OK = 0, EXIT_ERROR_REPLY = 1, EXIT_USAGE = 2, EXIT_TIMEOUT = 3 };

/*  Request ids stay below 2^53 so that every JSON reader (jq, JavaScript)
    reads the id of the JSON output exactly. */
#define ID_LIMIT (UINT64_C(1) << 53)

/*  A routing id is at most 255 bytes: "cli-" IDENTITY "#" ID. */
#define IDENTITY_MAX 200

typedef struct {
    const char *endpoint;
    client_opts_t client;
    bool json;
    bool has_id;
    uint64_t id;
    char identity[IDENTITY_MAX + 1];
    bool help;
} options_t;

static void usage(FILE *out)
{
    fprintf(out,
"usage: " PROGRAM " [OPTIONS] OP [key=value ...]\n"
"       " PROGRAM " help [OP]        (or OP --help) the arguments of one op\n"
"\n"
"Sends one request to the Alys engine actor and prints its reply.\n"
"\n"
"options:\n"
"  -c, --connect ENDPOINT  the actor's endpoint (default: $ALYS_ENGINE_ENDPOINT,\n"
"                          else " DEFAULT_ENDPOINT ")\n"
"  -t, --timeout TIME      wait this long for each attempt: 500ms, 5s, 1min; a bare\n"
"                          number is milliseconds (default 5s)\n"
"  -r, --retries N         send again this many times after a lost reply or a\n"
"                          retryable error (default 2)\n"
"  -j, --json              print the whole reply as one JSON document\n"
"      --id N              the request id, below 2^53 (default: random); the same\n"
"                          id from the same identity is a retry of the same request\n"
"      --identity NAME     who this CLI is to the actor (default: USER@HOST, or\n"
"                          $ALYS_ENGINE_IDENTITY); retries are recognised per identity\n"
"      --curve-cert FILE   CURVE: this client's certificate (zcert, with its secret key)\n"
"      --curve-server-key KEY  CURVE: the actor's public key (40 Z85 characters) or\n"
"                          its public certificate file; with --curve-cert\n"
"      --list-ops          list the operations and their arguments\n"
"      --complete WHAT     for shell completion: op names (WHAT = ops) or the keys\n"
"                          of the op WHAT\n"
"  -h, --help              print this help\n"
"  -V, --version           print the version\n"
"\n"
"values: hashes, addresses and bytes as 0x hex; quantities and U256 in decimal\n"
"or 0x hex; blocks as a tag (latest, pending = latest, safe, finalized,\n"
"earliest), a number or a 0x hash; maps and\n"
"arrays as JSON text, @FILE or @- (stdin);\n"
"withdrawals also as 0xADDR:GWEI,0xADDR:GWEI.\n"
"\n"
"output: numbers in decimal, wei amounts with their gwei and ether reading,\n"
"times in UTC (ISO 8601); --json prints the reply unchanged (bytes as 0x hex).\n"
"\n"
"exit status:\n"
"  0  ok\n"
"  1  the actor answered with an error\n"
"  2  usage error (nothing was sent)\n"
"  3  no reply: the actor is not running, not reachable, or did not answer\n"
"     within --timeout after --retries\n"
"\n"
"examples:\n"
"  " PROGRAM " ping\n"
"  " PROGRAM " help build_block\n"
"  " PROGRAM " --json build_block timestamp=$(date +%%s) > built.json\n"
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

/*  `help OP` and `OP --help`: the op's usage line and one line per argument,
    both from its schema. */
static void op_help(FILE *out, const proto_op_t *op)
{
    fprintf(out, "usage: " PROGRAM " [OPTIONS] ");
    args_usage_line(out, op);
    fputs("\n\narguments:\n", out);
    args_describe_fields(out, op);
    if (op->lane == PROTO_LANE_MUTATION)
        fprintf(out, "\n%s changes the fork choice: it runs in order with the other changes,\n"
                     "and re-running it with the same --id is a retry, answered once.\n",
                op->name);
}

/*  The unknown op message, with the nearest op when there is one. */
static int unknown_op(const char *name)
{
    const char *near = args_suggest_op(name);
    if (near)
        fprintf(stderr, PROGRAM ": unknown op '%s'; did you mean %s?\n", name, near);
    else
        fprintf(stderr, PROGRAM ": unknown op '%s'\n", name);
    fputs("valid ops: ", stderr);
    args_list_op_names(stderr);
    fputs("\n(" PROGRAM " help OP describes one)\n", stderr);
    return EXIT_USAGE;
}

/*  `--complete ops` prints the op names, `--complete OP` the op's keys as
    "key=", one per line, for the bash completion script. */
static int complete(const char *what)
{
    if (strcmp(what, "ops") == 0) {
        for (size_t i = 0; i < proto_n_ops; i++)
            puts(proto_ops[i].name);
        puts("help");
        puts("keygen");
        return EXIT_OK;
    }
    const proto_op_t *op = proto_op_find(what);
    if (!op)
        return EXIT_USAGE;
    for (size_t i = 0; op->args && i < op->args->n_fields; i++)
        printf("%s=\n", op->args->fields[i].key);
    return EXIT_OK;
}

/*  The default identity: $ALYS_ENGINE_IDENTITY, else USER@HOST. The same
    person on the same machine is the same peer across runs, which is what
    lets the actor recognise a re-run with the same --id as a retry. */
static void default_identity(char *out, size_t len)
{
    const char *env = getenv("ALYS_ENGINE_IDENTITY");
    if (env && *env) {
        snprintf(out, len, "%s", env);
        return;
    }
    char host[256] = "localhost";
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    const struct passwd *pw = getpwuid(geteuid());
    if (pw && pw->pw_name && *pw->pw_name)
        snprintf(out, len, "%s@%s", pw->pw_name, host);
    else
        snprintf(out, len, "uid%u@%s", (unsigned) geteuid(), host);
    for (char *p = out; *p; p++)
        if (*p <= ' ' || *p > '~')
            *p = '_';
}

/*  Printable ASCII without spaces, 1 to IDENTITY_MAX characters. */
static bool identity_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > IDENTITY_MAX)
        return false;
    for (; *s; s++)
        if (*s <= ' ' || *s > '~')
            return false;
    return true;
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

static void keygen_help(FILE *out)
{
    fputs("usage: " PROGRAM " keygen PATH\n"
          "  writes a new CURVE key pair as czmq certificates: PATH (public: goes in the\n"
          "  other side's --curve-allow directory, or to --curve-server-key) and\n"
          "  PATH_secret (keep private: --curve-cert here, --curve-secret for the actor).\n"
          "  Runs locally; it sends nothing to the actor.\n",
          out);
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
    enum { OPT_ID = 256, OPT_LIST_OPS, OPT_IDENTITY, OPT_COMPLETE, OPT_CURVE_CERT,
           OPT_CURVE_SERVER_KEY };
    static const struct option long_opts[] = {
        {"connect", required_argument, NULL, 'c'},
        {"timeout", required_argument, NULL, 't'},
        {"retries", required_argument, NULL, 'r'},
        {"json", no_argument, NULL, 'j'},
        {"id", required_argument, NULL, OPT_ID},
        {"list-ops", no_argument, NULL, OPT_LIST_OPS},
        {"identity", required_argument, NULL, OPT_IDENTITY},
        {"complete", required_argument, NULL, OPT_COMPLETE},
        {"curve-cert", required_argument, NULL, OPT_CURVE_CERT},
        {"curve-server-key", required_argument, NULL, OPT_CURVE_SERVER_KEY},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *env = getenv("ALYS_ENGINE_ENDPOINT");
    opts->endpoint = env && *env ? env : DEFAULT_ENDPOINT;
    client_opts_default(&opts->client);
    default_identity(opts->identity, sizeof opts->identity);
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
        case 't': {
            int64_t ms;
            if (duration_parse_ms(optarg, 1, 24 * 3600 * 1000, &ms) != 0 || ms < 1)
                return usage_error("--timeout: expected a duration from 1ms to 24h such as "
                                   "500ms, 5s or 1min (a bare number is milliseconds), got '%s'",
                                   optarg), -1;
            opts->client.timeout_ms = (int) ms;
            break;
        }
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
            if (opts->id >= ID_LIMIT)
                return usage_error("--id: %s is not below 2^53 (9007199254740992), the "
                                   "largest id JSON readers keep exact", optarg), -1;
            opts->has_id = true;
            break;
        case OPT_IDENTITY:
            if (!identity_valid(optarg))
                return usage_error("--identity: expected 1 to %d printable characters "
                                   "without spaces, got '%s'", IDENTITY_MAX, optarg), -1;
            snprintf(opts->identity, sizeof opts->identity, "%s", optarg);
            break;
        case OPT_COMPLETE:
            exit(complete(optarg));
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
            /*  `OP --help` describes OP: the words are read after the loop. */
            opts->help = true;
            break;
        case 'V':
            printf(PROGRAM " %s (protocol %d)\n", ALYS_VERSION, PROTO_VERSION);
            return 1;
        default: {
            char msg[160];
            return usage_error("%s", cmdline_option_error(msg, sizeof msg, argv, ":c:t:r:jhV",
                                                          long_opts)), -1;
        }
        }
    }
    *first_arg = optind;
    if (opts->help) {
        const proto_op_t *op = optind < argc ? proto_op_find(argv[optind]) : NULL;
        if (op)
            op_help(stdout, op);
        else if (optind < argc && strcmp(argv[optind], "keygen") == 0)
            keygen_help(stdout);
        else if (optind < argc && strcmp(argv[optind], "help") != 0)
            return unknown_op(argv[optind]), -1;
        else
            usage(stdout);
        return 1;
    }
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
static int report(const options_t *opts, const client_reply_t *cr, const convert_numbers_t *nums)
{
    const proto_reply_t *r = &cr->reply;
    if (opts->json) {
        convert_write_json(stdout, proto_frame_root(r->frame), true);
        fputc('\n', stdout);
    } else if (r->ok) {
        if (r->result->via.map.size == 0)
            puts("ok");
        else
            convert_write_human_numbered(stdout, r->result, nums);
    } else {
        print_error_reply(r);
    }
    return r->ok ? EXIT_OK : EXIT_ERROR_REPLY;
}

/*  The routing id: the identity and the request id, so that a re-run with
    the same --id is the same (peer, id) to the actor (a retry), while runs
    with different ids, even at the same time, never share a connection's
    identity (the actor hands a routing id over to its newest connection). */
static void make_routing_id(const options_t *opts, char *out, size_t len)
{
    snprintf(out, len, "cli-%s#%" PRIu64, opts->identity, opts->id);
}

/*  Exit status 3 at once, before any request, when the endpoint surely has
    no actor behind it. */
static int unreachable(const options_t *opts, const char *why)
{
    const char *env = getenv("ALYS_ENGINE_ENDPOINT");
    fprintf(stderr, PROGRAM ": cannot reach the engine actor at %s: %s\n", opts->endpoint, why);
    fprintf(stderr, "  is alys-engine running? It listens where its --bind says (default "
                    DEFAULT_ENDPOINT ");\n  point the CLI there with --connect ENDPOINT or "
                    "ALYS_ENGINE_ENDPOINT=ENDPOINT%s.\n",
            env && *env ? " (set now, to the endpoint above)" : "");
    return EXIT_TIMEOUT;
}

/*  Looks up the block numbers of the status reply's fork choice hashes with
    get_block, for the human output only. Failures leave a number out. */
static void status_numbers(const options_t *opts, client_t *client, const proto_reply_t *r,
                           convert_numbers_t *nums)
{
    const msgpack_object *fc = convert_map_get(r->result, "forkchoice");
    static const char *const keys[] = {"head", "safe", "finalized"};
    client_opts_t quick = opts->client;
    quick.retries = 0;
    for (size_t i = 0; fc && i < 3; i++) {
        const msgpack_object *h = convert_map_get(fc, keys[i]);
        if (!h || h->type != MSGPACK_OBJECT_BIN || h->via.bin.size != 32)
            continue;
        uint64_t number;
        if (convert_numbers_find(nums, (const uint8_t *) h->via.bin.ptr, &number))
            continue;
        proto_writer_t w;
        proto_writer_init(&w);
        proto_request_begin(&w.pk, opts->id + 1 + i, "get_block", true);
        msgpack_pack_map(&w.pk, 1);
        proto_pack_str(&w.pk, "block");
        proto_pack_bin(&w.pk, h->via.bin.ptr, 32);
        client_reply_t reply;
        int attempts;
        if (client_call(client, (const uint8_t *) w.sbuf.data, w.sbuf.size, opts->id + 1 + i,
                        &quick, &reply, &attempts) == CLIENT_REPLY) {
            const msgpack_object *block = reply.reply.ok
                                              ? convert_map_get(reply.reply.result, "block")
                                              : NULL;
            const msgpack_object *n = block ? convert_map_get(block, "number") : NULL;
            if (n && n->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                convert_numbers_add(nums, (const uint8_t *) h->via.bin.ptr, n->via.u64);
            client_reply_release(&reply);
        }
        proto_writer_release(&w);
    }
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
    if (strcmp(op_name, "help") == 0) {
        if (first + 1 >= argc) {
            usage(stdout);
            return EXIT_OK;
        }
        if (strcmp(argv[first + 1], "keygen") == 0) {
            keygen_help(stdout);
            return EXIT_OK;
        }
        const proto_op_t *op = proto_op_find(argv[first + 1]);
        if (!op)
            return unknown_op(argv[first + 1]);
        op_help(stdout, op);
        return EXIT_OK;
    }
    const proto_op_t *op = proto_op_find(op_name);
    if (!op)
        return unknown_op(op_name);
    int nargs = argc - first - 1;
    char **words = argv + first + 1;

    if (!opts.has_id) {
        random_bytes(&opts.id, sizeof opts.id);
        /*  Leave room below 2^53 for the ids of follow-up lookups. */
        opts.id %= ID_LIMIT - 8;
    }
    proto_writer_t w;
    proto_writer_init(&w);
    char err[ARGS_ERR_LEN];
    if (args_build_request(op, opts.id, nargs, words, stdin, &w, err, sizeof err) != 0) {
        proto_writer_release(&w);
        return usage_error("%s", err);
    }
    char why[512];
    if (client_endpoint_unreachable(opts.endpoint, why, sizeof why)) {
        proto_writer_release(&w);
        return unreachable(&opts, why);
    }

    char routing_id[256];
    make_routing_id(&opts, routing_id, sizeof routing_id);
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
    case CLIENT_REPLY: {
        convert_numbers_t nums = {0};
        if (!opts.json && reply.reply.ok && strcmp(op->name, "status") == 0)
            status_numbers(&opts, client, &reply.reply, &nums);
        rc = report(&opts, &reply, &nums);
        client_reply_release(&reply);
        break;
    }
    case CLIENT_TIMEOUT:
        fprintf(stderr, PROGRAM ": no reply from %s after %d attempt%s (%d ms each); the "
                "request's id is %" PRIu64 ": add --id %" PRIu64 " to retry this same request\n",
                opts.endpoint, attempts, attempts == 1 ? "" : "s", opts.client.timeout_ms, opts.id,
                opts.id);
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
