/*  Start-up refusals and the trust boundary of the real alys-engine: what a
    misconfigured or unauthorised start or peer gets. Each test runs its own
    processes on its own endpoints and ports. */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "actor_proc.h"
#include "clock.h"
#include "harness.h"
#include "jwt_file.h"
#include "peer.h"
#include "proto.h"
#include "stub_proc.h"

static char *s_dir;
static char s_jwt[512];

/*  Runs program with the arguments in ap (NULL-terminated) to its exit.
    Returns its exit code; *out gets stdout and stderr together (caller
    frees; NULL: discarded). Fails the test if it still runs after
    timeout_ms. */
static int run_program(const char *program, char **out, int timeout_ms, va_list ap)
{
    char *argv[48];
    int n = 0;
    argv[n++] = "/bin/sh";
    argv[n++] = "-c";
    argv[n++] = "exec \"$0\" \"$@\" 2>&1";
    argv[n++] = (char *) program;
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < 47)
        argv[n++] = (char *) a;
    argv[n] = NULL;
    int code = -1;
    char *text = NULL;
    ck_assert_msg(harness_run_capture(argv, &text, &code, timeout_ms) == 0,
                  "%s did not exit within %d ms", program, timeout_ms);
    if (out)
        *out = text;
    else
        free(text);
    return code;
}

/*  The actor with the arguments that follow (NULL-terminated). */
static int run_actor(char **out, int timeout_ms, ...)
{
    va_list ap;
    va_start(ap, timeout_ms);
    int code = run_program(actor_proc_bin(), out, timeout_ms, ap);
    va_end(ap);
    return code;
}

/*  A TCP socket listening on a loopback port the kernel chose. */
static int listen_any(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(fd, (struct sockaddr *) &a, sizeof a), 0);
    ck_assert_int_eq(listen(fd, 4), 0);
    socklen_t len = sizeof a;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/*  A metrics address that cannot be bound stops the start, like a busy
    --bind, instead of an actor running without /health. */
START_TEST(test_busy_metrics_port_is_fatal)
{
    int port;
    int fd = listen_any(&port);
    char listen_at[64], endpoint[600];
    snprintf(listen_at, sizeof listen_at, "127.0.0.1:%d", port);
    snprintf(endpoint, sizeof endpoint, "ipc://%s/metrics-busy.sock", s_dir);
    char *out = NULL;
    int code = run_actor(&out, 10000, "--bind", endpoint, "--jwt-secret", s_jwt,
                         "--execution-endpoint", "http://127.0.0.1:9", "--execution-rpc",
                         "http://127.0.0.1:9", "--metrics-listen", listen_at, NULL);
    ck_assert_msg(code == 1, "exit code %d: %s", code, out);
    ck_assert_msg(strstr(out, "--metrics-listen") && strstr(out, listen_at), "%s", out);
    free(out);
    /* an address that is not HOST:PORT is refused the same way */
    code = run_actor(&out, 10000, "--bind", endpoint, "--jwt-secret", s_jwt,
                     "--metrics-listen", "nowhere", NULL);
    ck_assert_msg(code == 1, "exit code %d: %s", code, out);
    ck_assert_msg(strstr(out, "expected HOST:PORT"), "%s", out);
    free(out);
    close(fd);
}
END_TEST

/*  A running actor on its own endpoint (with extra flags, NULL-terminated
    list may be NULL), answering ping; stub is the execution client. */
static harness_proc_t *start_actor(const char *name, const char *endpoint, stub_proc_t *stub,
                                   const char *const *extra)
{
    char log_path[600];
    snprintf(log_path, sizeof log_path, "%s/%s.log", s_dir, name);
    harness_proc_t *p = actor_proc_start(endpoint, stub_proc_url(stub), stub_proc_url(stub), s_jwt,
                                         extra, log_path);
    ck_assert_msg(p != NULL, "%s: the actor did not start", name);
    return p;
}

static stub_proc_t *start_stub(const char *name)
{
    char log_path[600];
    snprintf(log_path, sizeof log_path, "%s/%s-stub.log", s_dir, name);
    stub_proc_t *stub = stub_proc_start(s_jwt, 0, NULL, log_path);
    ck_assert_msg(stub != NULL, "%s: the stub did not start", name);
    return stub;
}

static bool pings(const char *endpoint)
{
    peer_t *peer = peer_new(endpoint, NULL);
    proto_reply_t r;
    bool ok = peer && peer_call(peer, "ping", NULL, &r, 3000) == 0 && r.ok;
    if (peer && ok)
        proto_reply_release(&r);
    peer_destroy(&peer);
    return ok;
}

/*  SIGTERM, and the exit status (asserted to come within 10 s). */
static int stop_actor(harness_proc_t **p)
{
    ck_assert_int_eq(harness_proc_signal(*p, SIGTERM), 0);
    int status = -1;
    ck_assert_msg(harness_proc_wait(*p, 10000, &status) == 0, "the actor did not stop");
    harness_proc_destroy(p);
    return status;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/*  Two actors on one state dir: the second is refused, naming the first's
    pid, and the first keeps serving. After the first stops, the dir is free. */
START_TEST(test_state_dir_is_locked)
{
    stub_proc_t *stub = start_stub("lock");
    char state[600], e1[600], e2[600];
    snprintf(state, sizeof state, "%s/lock-state", s_dir);
    ck_assert_int_eq(mkdir(state, 0700), 0);
    snprintf(e1, sizeof e1, "ipc://%s/lock-1.sock", s_dir);
    snprintf(e2, sizeof e2, "ipc://%s/lock-2.sock", s_dir);
    const char *flags[] = {"--state-dir", state, NULL};
    harness_proc_t *first = start_actor("lock-1", e1, stub, flags);
    char *out = NULL;
    int code = run_actor(&out, 10000, "--bind", e2, "--jwt-secret", s_jwt, "--state-dir", state,
                         "--execution-endpoint", stub_proc_url(stub), "--execution-rpc",
                         stub_proc_url(stub), "--metrics-listen", "off", NULL);
    char pid[32];
    snprintf(pid, sizeof pid, "pid %ld", (long) harness_proc_pid(first));
    ck_assert_msg(code == 1, "exit code %d: %s", code, out);
    ck_assert_msg(strstr(out, "in use by another alys-engine") && strstr(out, pid), "%s", out);
    free(out);
    ck_assert(pings(e1));
    int status = stop_actor(&first);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    harness_proc_t *second = start_actor("lock-2", e2, stub, flags);
    ck_assert(pings(e2));
    harness_proc_destroy(&second);
    stub_proc_destroy(&stub);
}
END_TEST

/*  A second actor on a live ipc endpoint is refused and the first keeps its
    peers; a stale socket file (nobody listening) is replaced; a clean exit
    removes the file; the file is 0660 even under umask 0. */
START_TEST(test_ipc_endpoint_one_owner)
{
    stub_proc_t *stub = start_stub("ipc");
    char path[600], endpoint[620];
    snprintf(path, sizeof path, "%s/ipc.sock", s_dir);
    snprintf(endpoint, sizeof endpoint, "ipc://%s", path);
    /* a stale file: bound, never listened on, closed without unlink */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    ck_assert(strlen(path) < sizeof addr.sun_path);
    memcpy(addr.sun_path, path, strlen(path) + 1);
    ck_assert_int_eq(bind(fd, (struct sockaddr *) &addr, sizeof addr), 0);
    close(fd);
    umask(0);
    harness_proc_t *first = start_actor("ipc-1", endpoint, stub, NULL);
    struct stat st;
    ck_assert_int_eq(lstat(path, &st), 0);
    ck_assert(S_ISSOCK(st.st_mode));
    ck_assert_msg((st.st_mode & 0777) == 0660, "mode %o", st.st_mode & 0777);
    char *out = NULL;
    int code = run_actor(&out, 10000, "--bind", endpoint, "--jwt-secret", s_jwt,
                         "--execution-endpoint", stub_proc_url(stub), "--execution-rpc",
                         stub_proc_url(stub), "--metrics-listen", "off", NULL);
    ck_assert_msg(code == 1, "exit code %d: %s", code, out);
    ck_assert_msg(strstr(out, "another process is serving on it"), "%s", out);
    free(out);
    ck_assert(pings(endpoint));
    int status = stop_actor(&first);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_msg(lstat(path, &st) != 0 && errno == ENOENT, "the socket file is still there");
    /* a regular file in the way is not removed */
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    code = run_actor(&out, 10000, "--bind", endpoint, "--jwt-secret", s_jwt, "--metrics-listen",
                     "off", NULL);
    ck_assert_msg(code == 1 && strstr(out, "is not a socket"), "exit code %d: %s", code, out);
    free(out);
    ck_assert_int_eq(lstat(path, &st), 0);
    stub_proc_destroy(&stub);
}
END_TEST

/*  A secret file that group or others may read: a warning by default, a
    start-up error with --strict-permissions; 0600 passes both. */
START_TEST(test_jwt_secret_permissions)
{
    stub_proc_t *stub = start_stub("perm");
    char loose[600], endpoint[600];
    snprintf(loose, sizeof loose, "%s/loose.hex", s_dir);
    ck_assert_int_eq(jwt_file_write_fill(loose, 0x20), 0);
    ck_assert_int_eq(chmod(loose, 0644), 0);
    snprintf(endpoint, sizeof endpoint, "ipc://%s/perm.sock", s_dir);
    char *out = NULL;
    int code = run_actor(&out, 10000, "--bind", endpoint, "--jwt-secret", loose,
                         "--strict-permissions", "--metrics-listen", "off", NULL);
    ck_assert_msg(code == 1, "exit code %d: %s", code, out);
    ck_assert_msg(strstr(out, loose) && strstr(out, "mode 0644"), "%s", out);
    free(out);
    /* the same file without the flag: served, with a warning in the log */
    char log_path[600];
    snprintf(log_path, sizeof log_path, "%s/perm-loose.log", s_dir);
    harness_proc_t *p = actor_proc_start(endpoint, stub_proc_url(stub), stub_proc_url(stub), loose,
                                         NULL, log_path);
    ck_assert_ptr_nonnull(p);
    harness_proc_destroy(&p);
    const char *log = read_text(log_path);
    ck_assert_msg(strstr(log, "WARN") || strstr(log, "warn"), "%s", log);
    ck_assert_msg(strstr(log, "mode 0644"), "%s", log);
    /* 0600 with the flag: served, no warning */
    snprintf(log_path, sizeof log_path, "%s/perm-strict.log", s_dir);
    const char *strict[] = {"--strict-permissions", NULL};
    p = actor_proc_start(endpoint, stub_proc_url(stub), stub_proc_url(stub), s_jwt, strict,
                         log_path);
    ck_assert_ptr_nonnull(p);
    harness_proc_destroy(&p);
    ck_assert_ptr_null(strstr(read_text(log_path), "mode 0"));
    stub_proc_destroy(&stub);
}
END_TEST

static const char *cli_bin(void)
{
    const char *p = getenv("ALYS_CLI_BIN");
    return p && *p ? p : "alys-engine-cli";
}

/*  alys-engine-cli with the arguments that follow (NULL-terminated). */
static int run_cli(char **out, ...)
{
    va_list ap;
    va_start(ap, out);
    int code = run_program(cli_bin(), out, 30000, ap);
    va_end(ap);
    return code;
}

/*  Key pairs for the actor, an allowed client and a stranger, made with the
    CLI's keygen; the allowed client's public file is in the allow dir. */
typedef struct {
    char server[600], server_secret[620];
    char client[600], client_secret[620];
    char stranger[600], stranger_secret[620];
    char allow[600];
} keys_t;

static void make_keys(keys_t *k, const char *name)
{
    char dir[500];
    snprintf(dir, sizeof dir, "%s/%s-keys", s_dir, name);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    snprintf(k->allow, sizeof k->allow, "%s/%s-allow", s_dir, name);
    ck_assert_int_eq(mkdir(k->allow, 0700), 0);
    snprintf(k->server, sizeof k->server, "%s/server", dir);
    snprintf(k->client, sizeof k->client, "%s/client", dir);
    snprintf(k->stranger, sizeof k->stranger, "%s/stranger", dir);
    snprintf(k->server_secret, sizeof k->server_secret, "%s_secret", k->server);
    snprintf(k->client_secret, sizeof k->client_secret, "%s_secret", k->client);
    snprintf(k->stranger_secret, sizeof k->stranger_secret, "%s_secret", k->stranger);
    char *out = NULL;
    ck_assert_int_eq(run_cli(&out, "keygen", k->server, NULL), 0);
    ck_assert_msg(strstr(out, "_secret"), "%s", out);
    free(out);
    ck_assert_int_eq(run_cli(NULL, "keygen", k->client, NULL), 0);
    ck_assert_int_eq(run_cli(NULL, "keygen", k->stranger, NULL), 0);
    /* never over an existing key */
    ck_assert_int_eq(run_cli(NULL, "keygen", k->client, NULL), 1);
    struct stat st;
    ck_assert_int_eq(stat(k->client_secret, &st), 0);
    ck_assert_msg((st.st_mode & 077) == 0, "secret file mode %o", st.st_mode & 0777);
    char copy[700];
    snprintf(copy, sizeof copy, "%s/client", k->allow);
    FILE *in = fopen(k->client, "r"), *outf = fopen(copy, "w");
    ck_assert(in && outf);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, in);
    ck_assert_uint_eq(fwrite(buf, 1, n, outf), n);
    fclose(in);
    fclose(outf);
}

/*  Waits until the CLI with the allowed key gets an answer from endpoint. */
static bool curve_ping(const char *endpoint, const keys_t *k, const char *cert, int *code)
{
    *code = run_cli(NULL, "-c", endpoint, "--curve-cert", cert, "--curve-server-key", k->server,
                    "-t", "1000", "-r", "0", "ping", NULL);
    return *code == 0;
}

/*  CURVE on tcp: an allowed key is served, an unknown key and a plaintext
    client get nothing, and the actor keeps serving the allowed one. */
START_TEST(test_curve_allows_only_known_keys)
{
    keys_t k;
    make_keys(&k, "curve");
    stub_proc_t *stub = start_stub("curve");
    int port = harness_free_port();
    char endpoint[64], log_path[600];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    snprintf(log_path, sizeof log_path, "%s/curve-actor.log", s_dir);
    char *argv[] = {(char *) actor_proc_bin(), "--bind", endpoint, "--jwt-secret", s_jwt,
                    "--execution-endpoint", (char *) stub_proc_url(stub), "--execution-rpc",
                    (char *) stub_proc_url(stub), "--metrics-listen", "off",
                    "--curve-secret", k.server_secret, "--curve-allow", k.allow, NULL};
    harness_proc_t *actor = harness_proc_spawn(argv, log_path);
    ck_assert_ptr_nonnull(actor);
    int code = -1;
    int64_t deadline = clock_mono_ms() + 10000;
    bool up = false;
    while (!up && clock_mono_ms() < deadline && harness_proc_running(actor))
        up = curve_ping(endpoint, &k, k.client_secret, &code);
    ck_assert_msg(up, "the allowed client got no answer (exit %d): %s", code, read_text(log_path));
    /* an unknown key: no reply (exit 3), however long it waits */
    ck_assert(!curve_ping(endpoint, &k, k.stranger_secret, &code));
    ck_assert_int_eq(code, 3);
    /* plaintext: the CLI without keys, and a raw DEALER, get nothing */
    code = run_cli(NULL, "-c", endpoint, "-t", "1000", "-r", "0", "ping", NULL);
    ck_assert_int_eq(code, 3);
    peer_t *plain = peer_new(endpoint, NULL);
    proto_reply_t r;
    ck_assert_int_eq(peer_call(plain, "ping", NULL, &r, 1000), -1);
    peer_destroy(&plain);
    /* the right key, but a wrong idea of the server's key: nothing either */
    code = run_cli(NULL, "-c", endpoint, "--curve-cert", k.client_secret, "--curve-server-key",
                   k.stranger, "-t", "1000", "-r", "0", "ping", NULL);
    ck_assert_int_eq(code, 3);
    /* and the allowed client is still served */
    ck_assert(curve_ping(endpoint, &k, k.client_secret, &code));
    /* a key added to the allow dir while running is accepted */
    char copy[700];
    snprintf(copy, sizeof copy, "%s/stranger", k.allow);
    ck_assert_int_eq(link(k.stranger, copy), 0);
    deadline = clock_mono_ms() + 5000;
    up = false;
    while (!up && clock_mono_ms() < deadline)
        up = curve_ping(endpoint, &k, k.stranger_secret, &code);
    ck_assert_msg(up, "a key added to the allow dir was not accepted (exit %d)", code);
    int status = stop_actor(&actor);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    stub_proc_destroy(&stub);
}
END_TEST

/*  A tcp bind other hosts can reach needs CURVE or an explicit
    --insecure-tcp (warned); bad CURVE options are start-up errors. */
START_TEST(test_exposed_tcp_needs_curve)
{
    int port = harness_free_port();
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://0.0.0.0:%d", port);
    char *out = NULL;
    int code = run_actor(&out, 10000, "--bind", endpoint, "--jwt-secret", s_jwt,
                         "--metrics-listen", "off", NULL);
    ck_assert_msg(code == 1 && strstr(out, "--insecure-tcp") && strstr(out, "--curve-secret"),
                  "exit code %d: %s", code, out);
    free(out);
    snprintf(endpoint, sizeof endpoint, "tcp://*:%d", port);
    code = run_actor(&out, 10000, "--bind", endpoint, "--jwt-secret", s_jwt,
                     "--metrics-listen", "off", NULL);
    ck_assert_msg(code == 1, "exit code %d: %s", code, out);
    free(out);
    /* with --insecure-tcp it starts, with a warning */
    stub_proc_t *stub = start_stub("insecure");
    char loopback[64], log_path[600];
    snprintf(loopback, sizeof loopback, "tcp://127.0.0.1:%d", port);
    snprintf(log_path, sizeof log_path, "%s/insecure.log", s_dir);
    char *argv[] = {(char *) actor_proc_bin(), "--bind", endpoint, "--jwt-secret", s_jwt,
                    "--execution-endpoint", (char *) stub_proc_url(stub), "--execution-rpc",
                    (char *) stub_proc_url(stub), "--metrics-listen", "off", "--insecure-tcp",
                    NULL};
    harness_proc_t *actor = harness_proc_spawn(argv, log_path);
    ck_assert_ptr_nonnull(actor);
    int64_t deadline = clock_mono_ms() + 10000;
    bool up = false;
    while (!up && clock_mono_ms() < deadline && harness_proc_running(actor))
        up = pings(loopback);
    ck_assert_msg(up, "%s", read_text(log_path));
    ck_assert_ptr_nonnull(strstr(read_text(log_path), "accepts unauthenticated peers"));
    harness_proc_destroy(&actor);
    stub_proc_destroy(&stub);
    /* loopback tcp needs nothing; bad CURVE options are refused */
    keys_t k;
    make_keys(&k, "badcurve");
    code = run_actor(&out, 10000, "--bind", loopback, "--jwt-secret", s_jwt, "--metrics-listen",
                     "off", "--curve-secret", k.server_secret, NULL);
    ck_assert_msg(code == 1 && strstr(out, "go together"), "exit code %d: %s", code, out);
    free(out);
    /* a public certificate alone has no secret key */
    char public_only[700];
    snprintf(public_only, sizeof public_only, "%s/client", k.allow);
    code = run_actor(&out, 10000, "--bind", loopback, "--jwt-secret", s_jwt, "--metrics-listen",
                     "off", "--curve-secret", public_only, "--curve-allow", k.allow, NULL);
    ck_assert_msg(code == 1 && strstr(out, "no secret key"), "exit code %d: %s", code, out);
    free(out);
    char missing[700];
    snprintf(missing, sizeof missing, "%s/none", s_dir);
    code = run_actor(&out, 10000, "--bind", loopback, "--jwt-secret", s_jwt, "--metrics-listen",
                     "off", "--curve-secret", missing, "--curve-allow", k.allow, NULL);
    ck_assert_msg(code == 1 && strstr(out, missing), "exit code %d: %s", code, out);
    free(out);
    code = run_actor(&out, 10000, "--bind", loopback, "--jwt-secret", s_jwt, "--metrics-listen",
                     "off", "--curve-secret", k.server_secret, "--curve-allow", missing, NULL);
    ck_assert_msg(code == 1 && strstr(out, "not a directory"), "exit code %d: %s", code, out);
    free(out);
    /* the CLI: both options or neither, and readable */
    code = run_cli(&out, "--curve-cert", k.client_secret, "ping", NULL);
    ck_assert_msg(code == 2 && strstr(out, "go together"), "exit code %d: %s", code, out);
    free(out);
    code = run_cli(&out, "--curve-cert", k.client, "--curve-server-key", "short", "ping", NULL);
    ck_assert_msg(code == 2 && strstr(out, "--curve-server-key"), "exit code %d: %s", code, out);
    free(out);
}
END_TEST

static const char *sup_bin(void)
{
    const char *p = getenv("ALYS_SUPERVISOR_BIN");
    return p && *p ? p : "alys-supervisor";
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_ge(fputs(text, f), 0);
    fclose(f);
}

/*  The supervisor's health pings reach a CURVE actor with the keys from its
    config; a config naming a missing key fails --check. */
START_TEST(test_supervisor_pings_over_curve)
{
    keys_t k;
    make_keys(&k, "sup");
    /* the supervisor uses the allowed client's key */
    int port = harness_free_port();
    char endpoint[64], conf[600], text[4096], log_path[600];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    snprintf(conf, sizeof conf, "%s/sup-curve.conf", s_dir);
    snprintf(log_path, sizeof log_path, "%s/sup-curve.log", s_dir);
    snprintf(text, sizeof text,
             "supervisor\n    intensity = 1\n    period = 60s\n"
             "children\n    engine\n        program = %s\n"
             "        arg = --bind\n        arg = \"%s\"\n"
             "        arg = --jwt-secret\n        arg = %s\n"
             "        arg = --execution-endpoint\n        arg = \"http://127.0.0.1:9\"\n"
             "        arg = --execution-rpc\n        arg = \"http://127.0.0.1:9\"\n"
             "        arg = --metrics-listen\n        arg = off\n"
             "        arg = --curve-secret\n        arg = %s\n"
             "        arg = --curve-allow\n        arg = %s\n"
             "        health = \"%s\"\n        ping_interval = 200ms\n"
             "        health_curve_cert = %s\n        health_curve_server_key = %s\n",
             actor_proc_bin(), endpoint, s_jwt, k.server_secret, k.allow, endpoint,
             k.client_secret, k.server);
    write_file(conf, text);
    char *check[] = {(char *) sup_bin(), "--config", conf, "--check", NULL};
    int code = -1;
    ck_assert_int_eq(harness_run_capture(check, NULL, &code, 10000), 0);
    ck_assert_int_eq(code, 0);
    char *argv[] = {(char *) sup_bin(), "--config", conf, NULL};
    harness_proc_t *sup = harness_proc_spawn(argv, log_path);
    ck_assert_ptr_nonnull(sup);
    int64_t deadline = clock_mono_ms() + 10000;
    bool answered = false;
    while (!answered && clock_mono_ms() < deadline) {
        answered = strstr(read_text(log_path), "answers ping") != NULL;
        if (!answered)
            usleep(50000);
    }
    ck_assert_msg(answered, "no ping answered over CURVE: %s", read_text(log_path));
    harness_proc_destroy(&sup);
    /* a missing key file is a configuration error */
    char missing_conf[600];
    snprintf(missing_conf, sizeof missing_conf, "%s/sup-missing.conf", s_dir);
    char *at = strstr(text, k.client_secret);
    ck_assert_ptr_nonnull(at);
    memcpy(at + strlen(k.client_secret) - 6, "absent", 6);
    write_file(missing_conf, text);
    char *check_missing[] = {(char *) sup_bin(), "--config", missing_conf, "--check", NULL};
    ck_assert_int_eq(harness_run_capture(check_missing, NULL, &code, 10000), 0);
    ck_assert_int_eq(code, 2);
}
END_TEST

int main(void)
{
    s_dir = harness_tmpdir("alys-security-");
    if (!s_dir)
        return 1;
    snprintf(s_jwt, sizeof s_jwt, "%s/jwt.hex", s_dir);
    if (jwt_file_write_fill(s_jwt, 0x20) != 0 || chmod(s_jwt, 0600) != 0) {
        fprintf(stderr, "cannot write the JWT secret into %s\n", s_dir);
        return 1;
    }
    Suite *s = suite_create("security");
    TCase *tc = tcase_create("trust boundary");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_busy_metrics_port_is_fatal);
    tcase_add_test(tc, test_state_dir_is_locked);
    tcase_add_test(tc, test_ipc_endpoint_one_owner);
    tcase_add_test(tc, test_jwt_secret_permissions);
    tcase_add_test(tc, test_curve_allows_only_known_keys);
    tcase_add_test(tc, test_exposed_tcp_needs_curve);
    tcase_add_test(tc, test_supervisor_pings_over_curve);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (failed || getenv("ALYS_KEEP_TEST_DIRS"))
        fprintf(stderr, "test files kept in %s\n", s_dir);
    else
        harness_rmrf(s_dir);
    free(s_dir);
    return failed ? 1 : 0;
}
