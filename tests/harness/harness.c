/*  harness: real processes for the integration tests (see harness.h). */
#include "harness.h"

#include "clock.h"
#include "hex.h"
#include "jwt_file.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef HARNESS_SOURCE_ROOT
#define HARNESS_SOURCE_ROOT "."
#endif

#define RPC_TIMEOUT_MS        30000
#define RPC_MAX_RESPONSE      (64u << 20)
#define NODE_READY_TIMEOUT_MS 30000
#define NODE_STOP_GRACE_MS    3000
/*  Geth writes its in-memory state to disk on SIGTERM (about 2 s here, more
    under load); killed before that, it restarts at the last block whose
    state reached the disk. It exits as soon as it is done. */
#define GETH_STOP_GRACE_MS    30000
#define NODE_SETTLE_MS        250
#define PROC_STOP_GRACE_MS    2000
#define SIGN_TIMEOUT_MS       30000
#define LOG_TAIL_BYTES        4096
#define GETH_TOOL_TIMEOUT_MS  60000

static const char s_zero32[] =
    "0x0000000000000000000000000000000000000000000000000000000000000000";

static void set_err(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t err_len, const char *fmt, ...)
{
    if (!err || err_len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static const char *source_root(void)
{
    const char *root = getenv("ALYS_SOURCE_ROOT");
    return root && *root ? root : HARNESS_SOURCE_ROOT;
}

static bool keep_test_dirs(void)
{
    const char *keep = getenv("ALYS_KEEP_TEST_DIRS");
    return keep && *keep;
}

/* ---- small utilities ---------------------------------------------------- */

/*  Picks n distinct free loopback ports: all n sockets stay bound until
    every port is known, so the kernel cannot hand out one port twice. */
static int pick_ports(int *ports, int n)
{
    int fds[8];
    int opened = 0, rc = 0;
    if (n < 1 || n > 8)
        return -1;
    for (; opened < n; opened++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            rc = -1;
            break;
        }
        fds[opened] = fd;
        struct sockaddr_in addr = { .sin_family = AF_INET };
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        if (bind(fd, (struct sockaddr *) &addr, sizeof addr) < 0
            || getsockname(fd, (struct sockaddr *) &addr, &len) < 0) {
            opened++;
            rc = -1;
            break;
        }
        ports[opened] = ntohs(addr.sin_port);
    }
    for (int i = 0; i < opened; i++)
        close(fds[i]);
    return rc;
}

int harness_free_port(void)
{
    int port;
    return pick_ports(&port, 1) == 0 ? port : -1;
}

char *harness_tmpdir(const char *prefix)
{
    char *path;
    if (asprintf(&path, "/tmp/%sXXXXXX", prefix ? prefix : "alys-") < 0)
        return NULL;
    if (!mkdtemp(path)) {
        free(path);
        return NULL;
    }
    return path;
}

static int rmrf_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    if (remove(path) < 0 && errno != ENOENT)
        fprintf(stderr, "harness: cannot remove %s: %s\n", path, strerror(errno));
    return 0;
}

void harness_rmrf(const char *path)
{
    struct stat st;
    if (!path || !*path || lstat(path, &st) < 0)
        return;
    nftw(path, rmrf_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/*  One connection attempt; 0 when host:port accepted it. */
static int tcp_probe(const char *host, int port)
{
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *list = NULL;
    if (getaddrinfo(host, service, &hints, &list) != 0)
        return -1;
    int rc = -1;
    for (struct addrinfo *ai = list; ai && rc < 0; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            rc = 0;
        close(fd);
    }
    freeaddrinfo(list);
    return rc;
}

int harness_wait_tcp(const char *host, int port, int timeout_ms)
{
    int64_t deadline = clock_mono_ms() + timeout_ms;
    for (;;) {
        if (tcp_probe(host, port) == 0)
            return 0;
        if (clock_mono_ms() >= deadline)
            return -1;
        sleep_ms(50);
    }
}

/* ---- JSON-RPC ----------------------------------------------------------- */

typedef struct {
    char *data;
    size_t len;
    bool overflow;
} buffer_t;

static size_t buffer_write(char *ptr, size_t size, size_t nmemb, void *user)
{
    buffer_t *buf = user;
    size_t n = size * nmemb;
    if (buf->len + n > RPC_MAX_RESPONSE) {
        buf->overflow = true;
        return 0;
    }
    char *grown = realloc(buf->data, buf->len + n + 1);
    if (!grown)
        return 0;
    memcpy(grown + buf->len, ptr, n);
    buf->data = grown;
    buf->len += n;
    buf->data[buf->len] = '\0';
    return n;
}

static char *make_jwt(const char *jwt_path, char *err, size_t err_len)
{
    uint8_t key[32];
    if (jwt_file_read(jwt_path, key, err, err_len) < 0)
        return NULL;
    char *token = jwt_file_token(key, (long) time(NULL));
    if (!token)
        set_err(err, err_len, "cannot encode JWT");
    return token;
}

/*  Builds the request body; params is stolen. */
static char *rpc_body(const char *method, json_t *params)
{
    static json_int_t next_id = 1;
    json_int_t id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
    json_t *req = json_object();
    if (!req) {
        json_decref(params);
        return NULL;
    }
    json_object_set_new(req, "jsonrpc", json_string("2.0"));
    json_object_set_new(req, "id", json_integer(id));
    json_object_set_new(req, "method", json_string(method));
    json_object_set_new(req, "params", params ? params : json_array());
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    return body;
}

static json_t *rpc_parse(const buffer_t *resp, char *err, size_t err_len)
{
    json_error_t jerr;
    json_t *doc = json_loadb(resp->data ? resp->data : "", resp->len, 0, &jerr);
    if (!json_is_object(doc)) {
        set_err(err, err_len, "invalid JSON-RPC response: %.200s", resp->data ? resp->data : "");
        json_decref(doc);
        return NULL;
    }
    json_t *error = json_object_get(doc, "error");
    if (error && !json_is_null(error)) {
        json_t *code = json_object_get(error, "code");
        const char *message = json_string_value(json_object_get(error, "message"));
        json_t *data = json_object_get(error, "data");
        char *data_text = data ? json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        set_err(err, err_len, "JSON-RPC error %" JSON_INTEGER_FORMAT ": %s%s%.200s",
                json_is_integer(code) ? json_integer_value(code) : 0,
                message ? message : "(no message)",
                data_text ? " data=" : "", data_text ? data_text : "");
        free(data_text);
        json_decref(doc);
        return NULL;
    }
    json_t *result = json_object_get(doc, "result");
    if (!result) {
        set_err(err, err_len, "JSON-RPC response has neither result nor error");
        json_decref(doc);
        return NULL;
    }
    json_incref(result);
    json_decref(doc);
    return result;
}

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/*  harness_rpc with a caller-chosen timeout (short ones poll for readiness). */
static json_t *rpc_call(const char *url, const char *method, json_t *params,
                        const char *jwt_path, long timeout_ms, char *err, size_t err_len)
{
    char *token = NULL;
    if (jwt_path && !(token = make_jwt(jwt_path, err, err_len))) {
        json_decref(params);
        return NULL;
    }
    static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
    pthread_once(&curl_once, curl_init_once);
    char *body = rpc_body(method, params);
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = NULL;
    buffer_t resp = { 0 };
    json_t *result = NULL;
    if (!body || !curl) {
        set_err(err, err_len, "out of memory");
        goto done;
    }
    headers = curl_slist_append(headers, "Content-Type: application/json");
    if (token) {
        char *auth;
        if (asprintf(&auth, "Authorization: Bearer %s", token) < 0) {
            set_err(err, err_len, "out of memory");
            goto done;
        }
        headers = curl_slist_append(headers, auth);
        free(auth);
    }
    char curl_err[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long) strlen(body));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, buffer_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
    CURLcode rc = curl_easy_perform(curl);
    if (rc != CURLE_OK) {
        set_err(err, err_len, "%s %s: %s", method, url,
                resp.overflow ? "response too large" : *curl_err ? curl_err : curl_easy_strerror(rc));
        goto done;
    }
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        set_err(err, err_len, "%s: HTTP %ld: %.200s", method, status, resp.data ? resp.data : "");
        goto done;
    }
    result = rpc_parse(&resp, err, err_len);
done:
    curl_slist_free_all(headers);
    if (curl)
        curl_easy_cleanup(curl);
    free(body);
    free(resp.data);
    free(token);
    return result;
}

char *harness_http_get(const char *url, long *status)
{
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    buffer_t buf = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, buffer_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &buf);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    *status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        free(buf.data);
        return NULL;
    }
    return buf.data ? buf.data : strdup("");
}

json_t *harness_rpc(const char *url, const char *method, json_t *params,
                    const char *jwt_path, char *err, size_t err_len)
{
    return rpc_call(url, method, params, jwt_path, RPC_TIMEOUT_MS, err, err_len);
}

/* ---- child processes ---------------------------------------------------- */

struct harness_proc_t {
    pid_t pid;
    bool reaped;
    int status;
};

static void child_redirect(int fd, int target)
{
    if (fd == target) {
        int flags = fcntl(fd, F_GETFD);
        if (flags >= 0)
            fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
    } else if (dup2(fd, target) < 0) {
        _exit(126);
    }
}

/*  fork+exec in a new process group. out_fd and err_fd replace stdout and
    stderr unless -1; cwd is entered unless NULL. An exec failure comes back
    through a close-on-exec pipe, so the caller sees -1 and errno. */
static pid_t fork_exec(char *const argv[], int out_fd, int err_fd, const char *cwd)
{
    int report[2];
    if (!argv || !argv[0] || pipe2(report, O_CLOEXEC) < 0)
        return -1;
    pid_t parent = getpid();
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(report[0]);
        close(report[1]);
        return -1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(126);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int sig = 1; sig < NSIG; sig++)
            if (sig != SIGKILL && sig != SIGSTOP)
                signal(sig, SIG_DFL);
        int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null_fd >= 0)
            child_redirect(null_fd, STDIN_FILENO);
        if (out_fd >= 0)
            child_redirect(out_fd, STDOUT_FILENO);
        if (err_fd >= 0)
            child_redirect(err_fd, STDERR_FILENO);
        int e = 0;
        if (cwd && chdir(cwd) < 0)
            e = errno;
        if (!e) {
            execvp(argv[0], argv);
            e = errno;
        }
        ssize_t w = write(report[1], &e, sizeof e);
        (void) w;
        _exit(127);
    }
    setpgid(pid, pid);
    close(report[1]);
    int child_errno = 0;
    ssize_t n;
    while ((n = read(report[0], &child_errno, sizeof child_errno)) < 0 && errno == EINTR)
        ;
    close(report[0]);
    if (n > 0) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        errno = child_errno ? child_errno : ECHILD;
        return -1;
    }
    return pid;
}

harness_proc_t *harness_proc_spawn(char *const argv[], const char *log_path)
{
    int fd = -1;
    if (log_path) {
        fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0) {
            fprintf(stderr, "harness: cannot open %s: %s\n", log_path, strerror(errno));
            return NULL;
        }
    }
    harness_proc_t *self = calloc(1, sizeof *self);
    if (self) {
        self->pid = fork_exec(argv, fd, fd, NULL);
        if (self->pid < 0) {
            fprintf(stderr, "harness: cannot run %s: %s\n", argv && argv[0] ? argv[0] : "(null)",
                    strerror(errno));
            free(self);
            self = NULL;
        }
    }
    if (fd >= 0)
        close(fd);
    return self;
}

int harness_proc_signal(harness_proc_t *self, int sig)
{
    if (!self || self->reaped)
        return -1;
    return kill(self->pid, sig);
}

int harness_proc_signal_group(harness_proc_t *self, int sig)
{
    if (!self || self->reaped)
        return -1;
    return kill(-self->pid, sig);
}

int harness_proc_wait(harness_proc_t *self, int timeout_ms, int *status)
{
    if (!self)
        return -1;
    int64_t deadline = clock_mono_ms() + timeout_ms;
    int pause_ms = 1;
    while (!self->reaped) {
        int st = 0;
        pid_t r = waitpid(self->pid, &st, WNOHANG);
        if (r == self->pid) {
            self->reaped = true;
            self->status = st;
            break;
        }
        if (r < 0 && errno != EINTR) {
            self->reaped = true;
            self->status = 0;
            break;
        }
        if (timeout_ms >= 0 && clock_mono_ms() >= deadline)
            return -1;
        sleep_ms(pause_ms);
        if (pause_ms < 20)
            pause_ms *= 2;
    }
    if (status)
        *status = self->status;
    return 0;
}

/*  True once the process has exited, without reaping it: while it is a
    zombie its pid, and so its process group id, cannot be reused. */
static bool proc_exited(harness_proc_t *self)
{
    if (self->reaped)
        return true;
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_PID, (id_t) self->pid, &info, WEXITED | WNOHANG | WNOWAIT) < 0)
        return errno != EINTR;
    return info.si_pid != 0;
}

bool harness_proc_running(harness_proc_t *self)
{
    return self && !proc_exited(self);
}

pid_t harness_proc_pid(harness_proc_t *self)
{
    return self ? self->pid : -1;
}

/*  SIGTERM to the group, SIGKILL to the group after grace_ms (and to any
    member left once the leader is gone), then reap the leader. */
static void proc_terminate(harness_proc_t *self, int grace_ms)
{
    if (self->reaped)
        return;
    kill(-self->pid, SIGTERM);
    int64_t deadline = clock_mono_ms() + grace_ms;
    while (!proc_exited(self) && clock_mono_ms() < deadline)
        sleep_ms(10);
    kill(-self->pid, SIGKILL);
    if (harness_proc_wait(self, 10000, NULL) < 0)
        fprintf(stderr, "harness: pid %d did not die\n", (int) self->pid);
}

void harness_proc_destroy(harness_proc_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    proc_terminate(*self_p, PROC_STOP_GRACE_MS);
    free(*self_p);
    *self_p = NULL;
}

int harness_run_capture(char *const argv[], char **out, int *exit_code, int timeout_ms)
{
    if (out)
        *out = NULL;
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork_exec(argv, pipefd[1], -1, NULL);
    close(pipefd[1]);
    if (pid < 0) {
        fprintf(stderr, "harness: cannot run %s: %s\n", argv && argv[0] ? argv[0] : "(null)",
                strerror(errno));
        close(pipefd[0]);
        return -1;
    }
    harness_proc_t proc = { .pid = pid };
    buffer_t buf = { 0 };
    int64_t deadline = clock_mono_ms() + timeout_ms;
    bool timed_out = false, eof = false;
    while (!eof) {
        int64_t left = deadline - clock_mono_ms();
        if (timeout_ms >= 0 && left <= 0) {
            timed_out = true;
            break;
        }
        struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
        int r = poll(&pfd, 1, timeout_ms >= 0 ? (int) left : -1);
        if (r < 0 && errno != EINTR)
            break;
        if (r <= 0)
            continue;
        char chunk[4096];
        ssize_t n = read(pipefd[0], chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            eof = true;
        else if (buffer_write(chunk, 1, (size_t) n, &buf) != (size_t) n)
            break;
    }
    close(pipefd[0]);
    int status = 0;
    int64_t left = deadline - clock_mono_ms();
    if (timed_out || harness_proc_wait(&proc, timeout_ms >= 0 ? (int) (left > 0 ? left : 0) : -1,
                                       &status) < 0) {
        proc_terminate(&proc, 0);
        free(buf.data);
        return -1;
    }
    /* A pipe closed early (read error, out of memory) still waits above. */
    if (!eof) {
        free(buf.data);
        return -1;
    }
    if (exit_code)
        *exit_code = WIFEXITED(status) ? WEXITSTATUS(status)
                   : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
    if (out)
        *out = buf.data ? buf.data : strdup("");
    else
        free(buf.data);
    return 0;
}

/* ---- execution client (EthereumJS or Geth) ------------------------------ */

struct el_node_t {
    el_kind_t kind;
    char *datadir;
    char *chain_dir;
    char *genesis_path;
    char *jwt_path;
    char *log_path;
    char *cli_path;     /* EthereumJS's cli.js, or the geth binary */
    char jwt_hex[65];
    char rpc_url[64];
    char engine_url[64];
    int rpc_port;
    int engine_port;
    int p2p_port;
    uint64_t chain_id;
    harness_proc_t *proc;
};

typedef enum { LAUNCH_READY, LAUNCH_ADDR_IN_USE, LAUNCH_FAILED } launch_t;

/*  Reads the file from offset (at most max bytes from its end); caller
    frees. Returns NULL when nothing could be read. */
static char *read_from(const char *path, off_t offset, size_t max)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    char *text = NULL;
    if (fstat(fd, &st) == 0 && st.st_size >= offset) {
        off_t start = offset;
        if ((size_t) (st.st_size - start) > max)
            start = st.st_size - (off_t) max;
        size_t len = (size_t) (st.st_size - start);
        text = malloc(len + 1);
        ssize_t n = text ? pread(fd, text, len, start) : -1;
        if (n < 0) {
            free(text);
            text = NULL;
        } else {
            text[n] = '\0';
        }
    }
    close(fd);
    return text;
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : 0;
}

static void dump_log_tail(const el_node_t *self, off_t offset)
{
    char *tail = read_from(self->log_path, offset, LOG_TAIL_BYTES);
    fprintf(stderr, "harness: --- tail of %s ---\n%s\nharness: --- end ---\n",
            self->log_path, tail ? tail : "(unreadable)");
    free(tail);
}

/*  Adds to alloc the system contracts that Geth's Cancun and Prague call,
    with the code and nonce of the pinned Geth's own dev genesis: EIP-4788
    beacon roots from Cancun on; EIP-2935 block hashes, EIP-7002 withdrawal
    requests and EIP-7251 consolidation requests from Prague on (Geth
    rejects a Prague block whose request contracts have no code). Returns 0,
    or -1 with the reason in err. */
static int geth_system_contracts(const char *geth, bool prague, json_t *alloc,
                                 char *err, size_t err_len)
{
    static const char *const addrs[] = {
        "000f3df6d732807ef1319fb7b8bb8522d0beac02", /* EIP-4788, Cancun */
        "0000f90827f1c53a10cb7a02335b175320002935", /* EIP-2935, Prague */
        "00000961ef480eb55e80d19ad83579a64c007002", /* EIP-7002, Prague */
        "0000bbddc7ce488642fb579f8b00f3a590007251", /* EIP-7251, Prague */
    };
    char *const argv[] = {(char *) geth, "--dev", "dumpgenesis", NULL};
    char *out = NULL;
    int code = -1;
    if (harness_run_capture(argv, &out, &code, GETH_TOOL_TIMEOUT_MS) < 0 || code != 0) {
        set_err(err, err_len, "%s --dev dumpgenesis failed (exit %d)", geth, code);
        free(out);
        return -1;
    }
    json_error_t jerr;
    json_t *dev = json_loads(out, 0, &jerr);
    free(out);
    json_t *dev_alloc = json_object_get(dev, "alloc");
    int rc = 0;
    for (size_t i = 0; i < (prague ? 4u : 1u) && rc == 0; i++) {
        char key[43];
        snprintf(key, sizeof key, "0x%s", addrs[i]);
        json_t *entry = json_object_get(dev_alloc, addrs[i]);
        if (!entry)
            entry = json_object_get(dev_alloc, key);
        if (!json_is_string(json_object_get(entry, "code"))) {
            set_err(err, err_len, "geth's dev genesis has no code at %s", key);
            rc = -1;
            break;
        }
        json_object_set(alloc, key, entry);
    }
    json_decref(dev);
    return rc;
}

/*  The genesis that the old Alys node used (every pre-merge fork at block 0,
    merged at genesis, Shanghai at time 0), plus Cancun and Prague when
    asked. blobGasUsed/excessBlobGas and blobSchedule are what Geth expects
    of a Cancun genesis; EthereumJS accepts them and would default them. */
static json_t *genesis_build(const el_node_t *self, const el_node_opts_t *opts, uint64_t chain_id,
                             char *err, size_t err_len)
{
    static const char *const block_forks[] = {
        "homesteadBlock", "eip150Block", "eip155Block", "eip158Block", "byzantiumBlock",
        "constantinopleBlock", "petersburgBlock", "istanbulBlock", "berlinBlock",
        "londonBlock", "mergeNetsplitBlock",
    };
    bool prague = opts->prague;
    bool cancun = opts->cancun || prague;

    json_t *config = json_object();
    json_object_set_new(config, "chainId", json_integer((json_int_t) chain_id));
    for (size_t i = 0; i < sizeof block_forks / sizeof block_forks[0]; i++)
        json_object_set_new(config, block_forks[i], json_integer(0));
    json_object_set_new(config, "terminalTotalDifficulty", json_integer(0));
    json_object_set_new(config, "terminalTotalDifficultyPassed", json_true());
    json_object_set_new(config, "shanghaiTime", json_integer(0));
    if (cancun)
        json_object_set_new(config, "cancunTime", json_integer(0));
    if (prague)
        json_object_set_new(config, "pragueTime", json_integer(0));
    if (cancun) {
        json_t *schedule = json_object();
        json_object_set_new(schedule, "cancun",
                            json_pack("{s:i, s:i, s:i}", "target", 3, "max", 6,
                                      "baseFeeUpdateFraction", 3338477));
        if (prague)
            json_object_set_new(schedule, "prague",
                                json_pack("{s:i, s:i, s:i}", "target", 6, "max", 9,
                                          "baseFeeUpdateFraction", 5007716));
        json_object_set_new(config, "blobSchedule", schedule);
    }

    json_t *alloc = json_object();
    char dev[43];
    snprintf(dev, sizeof dev, "%s", HARNESS_DEV_ADDR);
    for (char *p = dev; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            *p = (char) (*p - 'A' + 'a');
    json_object_set_new(alloc, dev, json_pack("{s:s}", "balance", HARNESS_DEV_BALANCE));

    if (opts->extra_alloc_json) {
        json_error_t jerr;
        json_t *extra = json_loads(opts->extra_alloc_json, 0, &jerr);
        if (!json_is_object(extra)) {
            set_err(err, err_len, "extra_alloc_json is not a JSON object: %s", jerr.text);
            json_decref(extra);
            json_decref(config);
            json_decref(alloc);
            return NULL;
        }
        const char *key;
        json_t *value;
        json_object_foreach(extra, key, value) {
            /* Both clients key accounts case-insensitively, with or without
               0x: normalize so that an entry can replace the dev account. */
            char addr[64];
            const char *digits = (key[0] == '0' && (key[1] == 'x' || key[1] == 'X')) ? key + 2 : key;
            if (strlen(digits) != 40) {
                set_err(err, err_len, "extra_alloc_json: bad address %s", key);
                json_decref(extra);
                json_decref(config);
                json_decref(alloc);
                return NULL;
            }
            snprintf(addr, sizeof addr, "0x%s", digits);
            for (char *p = addr + 2; *p; p++)
                if (*p >= 'A' && *p <= 'F')
                    *p = (char) (*p - 'A' + 'a');
            json_object_set(alloc, addr, value);
        }
        json_decref(extra);
    }

    if (self->kind == EL_KIND_GETH && cancun
        && geth_system_contracts(self->cli_path, prague, alloc, err, err_len) < 0) {
        json_decref(config);
        json_decref(alloc);
        return NULL;
    }

    json_t *genesis = json_object();
    json_object_set_new(genesis, "config", config);
    json_object_set_new(genesis, "nonce", json_string("0x0"));
    json_object_set_new(genesis, "timestamp", json_string("0x0"));
    json_object_set_new(genesis, "extraData", json_string("0x"));
    json_object_set_new(genesis, "gasLimit", json_string("0x1c9c380"));
    json_object_set_new(genesis, "difficulty", json_string("0x0"));
    json_object_set_new(genesis, "mixHash", json_string(s_zero32));
    json_object_set_new(genesis, "coinbase", json_string("0x0000000000000000000000000000000000000000"));
    json_object_set_new(genesis, "number", json_string("0x0"));
    json_object_set_new(genesis, "gasUsed", json_string("0x0"));
    json_object_set_new(genesis, "parentHash", json_string(s_zero32));
    json_object_set_new(genesis, "baseFeePerGas", json_string("0x3b9aca00"));
    if (cancun) {
        json_object_set_new(genesis, "blobGasUsed", json_string("0x0"));
        json_object_set_new(genesis, "excessBlobGas", json_string("0x0"));
    }
    json_object_set_new(genesis, "alloc", alloc);
    return genesis;
}

/*  The node's secret: the given hex, or random bytes. key gets the bytes,
    self->jwt_hex the digits. */
static int jwt_hex_init(el_node_t *self, const char *given, uint8_t key[32], char *err,
                        size_t err_len)
{
    if (given) {
        const char *digits = (given[0] == '0' && (given[1] == 'x' || given[1] == 'X')) ? given + 2 : given;
        if (strlen(digits) != 64 || hex_decode_fixed(digits, key, 32) < 0) {
            set_err(err, err_len, "jwt_hex must be 64 hex digits");
            return -1;
        }
    } else if (getrandom(key, 32, 0) != 32) {
        set_err(err, err_len, "getrandom: %s", strerror(errno));
        return -1;
    }
    char text[67];
    hex_encode(key, 32, text);
    memcpy(self->jwt_hex, text + 2, 65);
    return 0;
}

/*  Reads the client's log since log_offset for the lines that end a start:
    a port clash or a startup error. */
static launch_t node_log_verdict(const el_node_t *self, off_t log_offset, bool *started,
                                 char *err, size_t err_len)
{
    char *log = read_from(self->log_path, log_offset, 1u << 20);
    launch_t verdict = LAUNCH_READY;
    bool geth = self->kind == EL_KIND_GETH;
    if (log && strstr(log, geth ? "address already in use" : "EADDRINUSE")) {
        set_err(err, err_len, "port already in use");
        verdict = LAUNCH_ADDR_IN_USE;
    } else if (log && strstr(log, geth ? "Fatal:" : "Error starting client")) {
        set_err(err, err_len, "the client reported an error while starting");
        verdict = LAUNCH_FAILED;
    }
    if (started && geth) {
        /* Geth names each HTTP endpoint once it listens on it, but serves
           them before its services have started and before it handles
           SIGTERM: a SIGTERM then kills it on the spot, and it restarts at
           the last block whose state reached the disk. The log indexer
           starts last, at the end of the Ethereum service's start. */
        char rpc[48], engine[48];
        snprintf(rpc, sizeof rpc, "endpoint=127.0.0.1:%d ", self->rpc_port);
        snprintf(engine, sizeof engine, "endpoint=127.0.0.1:%d ", self->engine_port);
        *started = log && strstr(log, rpc) && strstr(log, engine)
                   && strstr(log, "Started log indexer");
    } else if (started) {
        *started = log && strstr(log, "Client started successfully");
    }
    free(log);
    return verdict;
}

/*  Polls until the client serves: eth_chainId answers with our chain id on
    the RPC port, the engine port accepts connections and the log says the
    client started, with no port clash or startup error in the log, also a
    moment later. The log decides, not the ports alone: EthereumJS logs
    "Client started successfully" before a failed listen() reports
    EADDRINUSE, and a port held by another client answers too. */
static launch_t node_wait_ready(el_node_t *self, off_t log_offset, char *err, size_t err_len)
{
    char want[24];
    snprintf(want, sizeof want, "0x%llx", (unsigned long long) self->chain_id);
    int64_t deadline = clock_mono_ms() + NODE_READY_TIMEOUT_MS;
    bool rpc_ok = false, settling = false;
    for (;;) {
        bool exited = !harness_proc_running(self->proc);
        bool started = false;
        launch_t verdict = node_log_verdict(self, log_offset, &started, err, err_len);
        if (verdict != LAUNCH_READY)
            return verdict;
        if (exited) {
            int status = 0;
            harness_proc_wait(self->proc, 0, &status);
            set_err(err, err_len, "the client exited during startup (status 0x%x)", status);
            return LAUNCH_FAILED;
        }
        if (settling)
            return LAUNCH_READY;
        if (!rpc_ok && started) {
            char rpc_err[256];
            json_t *id = rpc_call(self->rpc_url, "eth_chainId", NULL, NULL, 1000,
                                  rpc_err, sizeof rpc_err);
            if (id) {
                if (!json_is_string(id) || strcmp(json_string_value(id), want) != 0) {
                    set_err(err, err_len, "eth_chainId on %s is not %s", self->rpc_url, want);
                    json_decref(id);
                    return LAUNCH_ADDR_IN_USE;
                }
                rpc_ok = true;
                json_decref(id);
            }
        }
        if (rpc_ok && tcp_probe("127.0.0.1", self->engine_port) == 0) {
            settling = true;
            sleep_ms(NODE_SETTLE_MS);
            continue;
        }
        if (clock_mono_ms() >= deadline) {
            set_err(err, err_len, "not ready after %d ms", NODE_READY_TIMEOUT_MS);
            return LAUNCH_FAILED;
        }
        sleep_ms(100);
    }
}

static int node_stop_grace_ms(const el_node_t *self)
{
    return self->kind == EL_KIND_GETH ? GETH_STOP_GRACE_MS : NODE_STOP_GRACE_MS;
}

/*  `geth init` of the node's genesis into an empty chain directory, with
    its output in the node's log. Returns 0 or -1. */
static int geth_init(el_node_t *self)
{
    harness_rmrf(self->chain_dir);
    char *const argv[] = {self->cli_path, "--datadir", self->chain_dir, "init",
                          self->genesis_path, NULL};
    off_t offset = file_size(self->log_path);
    harness_proc_t *init = harness_proc_spawn(argv, self->log_path);
    int status = -1;
    if (!init)
        return -1;
    if (harness_proc_wait(init, GETH_TOOL_TIMEOUT_MS, &status) < 0) {
        harness_proc_destroy(&init);
        fprintf(stderr, "harness: geth init did not finish\n");
        return -1;
    }
    harness_proc_destroy(&init);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "harness: geth init failed (status 0x%x)\n", status);
        dump_log_tail(self, offset);
        return -1;
    }
    return 0;
}

/*  Starts the client on the node's ports. With fresh set, picks new ports
    and an empty chain directory, and retries once on a port clash. */
static int node_launch(el_node_t *self, bool fresh)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (fresh) {
            int ports[3];
            if (pick_ports(ports, 3) < 0) {
                fprintf(stderr, "harness: no free ports: %s\n", strerror(errno));
                return -1;
            }
            self->rpc_port = ports[0];
            self->engine_port = ports[1];
            self->p2p_port = ports[2];
            harness_rmrf(self->chain_dir);
        }
        snprintf(self->rpc_url, sizeof self->rpc_url, "http://127.0.0.1:%d", self->rpc_port);
        snprintf(self->engine_url, sizeof self->engine_url, "http://127.0.0.1:%d", self->engine_port);
        char rpc_port[16], engine_port[16], p2p_port[16];
        snprintf(rpc_port, sizeof rpc_port, "%d", self->rpc_port);
        snprintf(engine_port, sizeof engine_port, "%d", self->engine_port);
        snprintf(p2p_port, sizeof p2p_port, "%d", self->p2p_port);
        char *const geth_argv[] = {
            self->cli_path, "--datadir", self->chain_dir,
            "--authrpc.addr", "127.0.0.1", "--authrpc.port", engine_port,
            "--authrpc.jwtsecret", self->jwt_path,
            "--http", "--http.addr", "127.0.0.1", "--http.port", rpc_port,
            "--http.api", "eth,net,web3",
            "--nodiscover", "--maxpeers", "0", "--port", "0", "--ipcdisable",
            "--syncmode", "full", "--verbosity", "3",
            NULL
        };
        char *const ejs_argv[] = {
            "node", self->cli_path,
            "--gethGenesis", self->genesis_path,
            "--dataDir", self->chain_dir,
            "--rpc", "--rpcPort", rpc_port, "--rpcAddr", "127.0.0.1",
            "--rpcEngine", "--rpcEnginePort", engine_port, "--rpcEngineAddr", "127.0.0.1",
            "--jwtSecret", self->jwt_path,
            "--port", p2p_port,
            "--maxPeers", "0", "--discDns", "false", "--discV4", "false",
            "--no-logFile", "--logLevel", "info",
            "--isSingleNode", "--sync", "none",
            NULL
        };
        char *const *argv = self->kind == EL_KIND_GETH ? geth_argv : ejs_argv;
        if (fresh && self->kind == EL_KIND_GETH && geth_init(self) < 0)
            return -1;
        off_t offset = file_size(self->log_path);
        int fd = open(self->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0) {
            fprintf(stderr, "harness: cannot open %s: %s\n", self->log_path, strerror(errno));
            return -1;
        }
        harness_proc_t *proc = calloc(1, sizeof *proc);
        if (proc)
            proc->pid = fork_exec((char *const *) argv, fd, fd, self->datadir);
        close(fd);
        if (!proc || proc->pid < 0) {
            fprintf(stderr, "harness: cannot run node: %s\n", strerror(errno));
            free(proc);
            return -1;
        }
        self->proc = proc;
        char err[256] = "";
        launch_t state = node_wait_ready(self, offset, err, sizeof err);
        if (state == LAUNCH_READY)
            return 0;
        proc_terminate(self->proc, node_stop_grace_ms(self));
        free(self->proc);
        self->proc = NULL;
        const char *name = self->kind == EL_KIND_GETH ? "Geth" : "EthereumJS";
        if (state == LAUNCH_ADDR_IN_USE && fresh && attempt == 0) {
            fprintf(stderr, "harness: %s: %s; retrying with new ports\n", name, err);
            continue;
        }
        fprintf(stderr, "harness: %s did not start: %s\n", name, err);
        dump_log_tail(self, offset);
        return -1;
    }
    return -1;
}

static void node_free(el_node_t *self)
{
    free(self->datadir);
    free(self->chain_dir);
    free(self->genesis_path);
    free(self->jwt_path);
    free(self->log_path);
    free(self->cli_path);
    free(self);
}

el_node_t *el_node_new(const el_node_opts_t *opts)
{
    static const el_node_opts_t defaults = { 0 };
    if (!opts)
        opts = &defaults;
    el_node_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    char err[256] = "";
    self->chain_id = opts->chain_id ? opts->chain_id : HARNESS_DEFAULT_CHAIN_ID;
    self->kind = opts->client;
    if (self->kind == EL_KIND_DEFAULT && harness_el_kind_from_env(&self->kind) < 0)
        goto fail;
    if (self->kind == EL_KIND_GETH) {
        const char *bin = getenv("ALYS_GETH_BIN");
        self->cli_path = strdup(bin && *bin ? bin : "geth");
        if (!self->cli_path)
            goto fail;
    } else if (asprintf(&self->cli_path, "%s/deploy/ethereumjs/node_modules/@ethereumjs/client/dist/esm/bin/cli.js",
                        source_root()) < 0) {
        self->cli_path = NULL;
        goto fail;
    } else if (access(self->cli_path, R_OK) < 0) {
        fprintf(stderr, "harness: %s: %s (run scripts/setup)\n", self->cli_path, strerror(errno));
        goto fail;
    }
    self->datadir = harness_tmpdir("alys-el-");
    if (!self->datadir
        || asprintf(&self->chain_dir, "%s/chain", self->datadir) < 0
        || asprintf(&self->genesis_path, "%s/genesis.json", self->datadir) < 0
        || asprintf(&self->jwt_path, "%s/jwt.hex", self->datadir) < 0
        || asprintf(&self->log_path, "%s/%s.log", self->datadir, harness_el_kind_name(self->kind)) < 0) {
        fprintf(stderr, "harness: cannot create a data directory: %s\n", strerror(errno));
        goto fail;
    }
    uint8_t key[32];
    if (jwt_hex_init(self, opts->jwt_hex, key, err, sizeof err) < 0)
        goto fail_msg;
    if (jwt_file_write(self->jwt_path, key) < 0) {
        set_err(err, sizeof err, "cannot write %s: %s", self->jwt_path, strerror(errno));
        goto fail_msg;
    }
    json_t *genesis = genesis_build(self, opts, self->chain_id, err, sizeof err);
    if (!genesis)
        goto fail_msg;
    int dumped = json_dump_file(genesis, self->genesis_path, JSON_INDENT(2));
    json_decref(genesis);
    if (dumped < 0) {
        set_err(err, sizeof err, "cannot write %s", self->genesis_path);
        goto fail_msg;
    }
    if (node_launch(self, true) < 0)
        goto fail;
    return self;

fail_msg:
    fprintf(stderr, "harness: el_node_new: %s\n", err);
fail:
    if (self->datadir) {
        if (keep_test_dirs())
            fprintf(stderr, "harness: kept %s\n", self->datadir);
        else
            harness_rmrf(self->datadir);
    }
    node_free(self);
    return NULL;
}

int el_node_stop(el_node_t *self)
{
    if (!self || !self->proc)
        return -1;
    proc_terminate(self->proc, node_stop_grace_ms(self));
    free(self->proc);
    self->proc = NULL;
    return 0;
}

int el_node_start(el_node_t *self)
{
    if (!self || self->proc)
        return -1;
    return node_launch(self, false);
}

void el_node_destroy(el_node_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    el_node_t *self = *self_p;
    el_node_stop(self);
    if (keep_test_dirs())
        fprintf(stderr, "harness: kept %s\n", self->datadir);
    else
        harness_rmrf(self->datadir);
    node_free(self);
    *self_p = NULL;
}

const char *el_node_engine_url(el_node_t *self) { return self->engine_url; }
const char *el_node_rpc_url(el_node_t *self) { return self->rpc_url; }
const char *el_node_jwt_path(el_node_t *self) { return self->jwt_path; }
const char *el_node_jwt_hex(el_node_t *self) { return self->jwt_hex; }
const char *el_node_datadir(el_node_t *self) { return self->datadir; }
const char *el_node_genesis_path(el_node_t *self) { return self->genesis_path; }
const char *el_node_log_path(el_node_t *self) { return self->log_path; }
uint64_t el_node_chain_id(el_node_t *self) { return self->chain_id; }
int el_node_rpc_port(el_node_t *self) { return self->rpc_port; }
int el_node_engine_port(el_node_t *self) { return self->engine_port; }
pid_t el_node_pid(el_node_t *self) { return self->proc ? self->proc->pid : -1; }
el_kind_t el_node_kind(el_node_t *self) { return self->kind; }

int harness_el_kind_from_env(el_kind_t *out)
{
    const char *name = getenv("ALYS_TEST_EL");
    if (!name || !*name || strcmp(name, "ethereumjs") == 0) {
        *out = EL_KIND_ETHEREUMJS;
        return 0;
    }
    if (strcmp(name, "geth") == 0) {
        *out = EL_KIND_GETH;
        return 0;
    }
    fprintf(stderr, "harness: ALYS_TEST_EL=%s: expected geth or ethereumjs\n", name);
    return -1;
}

const char *harness_el_kind_name(el_kind_t kind)
{
    return kind == EL_KIND_GETH ? "geth" : "ethereumjs";
}

/* ---- transactions from the dev account ---------------------------------- */

char *harness_sign_tx(const harness_tx_t *tx, char *err, size_t err_len)
{
    char script[4096];
    snprintf(script, sizeof script, "%s/tests/harness/sendtx.mjs", source_root());
    char chain_id[24], nonce[24], value[24], gas[24], max_fee[24], priority_fee[24];
    snprintf(chain_id, sizeof chain_id, "%llu",
             (unsigned long long) (tx->chain_id ? tx->chain_id : HARNESS_DEFAULT_CHAIN_ID));
    snprintf(nonce, sizeof nonce, "%llu", (unsigned long long) tx->nonce);
    snprintf(value, sizeof value, "%llu", (unsigned long long) tx->value_wei);
    snprintf(gas, sizeof gas, "%llu", (unsigned long long) tx->gas);
    snprintf(max_fee, sizeof max_fee, "%llu", (unsigned long long) tx->max_fee_wei);
    snprintf(priority_fee, sizeof priority_fee, "%llu", (unsigned long long) tx->priority_fee_wei);

    char *argv[24];
    int n = 0;
    argv[n++] = "node";
    argv[n++] = script;
    argv[n++] = "--key";
    argv[n++] = HARNESS_DEV_KEY;
    argv[n++] = "--chain-id";
    argv[n++] = chain_id;
    argv[n++] = "--nonce";
    argv[n++] = nonce;
    argv[n++] = "--value";
    argv[n++] = value;
    if (tx->to_hex && *tx->to_hex) {
        argv[n++] = "--to";
        argv[n++] = (char *) tx->to_hex;
    }
    if (tx->data_hex) {
        argv[n++] = "--data";
        argv[n++] = (char *) tx->data_hex;
    }
    if (tx->gas) {
        argv[n++] = "--gas";
        argv[n++] = gas;
    }
    if (tx->max_fee_wei) {
        argv[n++] = "--max-fee";
        argv[n++] = max_fee;
    }
    if (tx->priority_fee_wei) {
        argv[n++] = "--priority-fee";
        argv[n++] = priority_fee;
    }
    argv[n] = NULL;

    char *out = NULL;
    int code = -1;
    if (harness_run_capture(argv, &out, &code, SIGN_TIMEOUT_MS) < 0) {
        set_err(err, err_len, "could not run node %s", script);
        return NULL;
    }
    if (code != 0) {
        set_err(err, err_len, "%s exited with %d", script, code);
        free(out);
        return NULL;
    }
    size_t len = strlen(out);
    while (len && (out[len - 1] == '\n' || out[len - 1] == '\r' || out[len - 1] == ' '))
        out[--len] = '\0';
    if (len < 4 || strncmp(out, "0x", 2) != 0) {
        set_err(err, err_len, "%s printed no transaction", script);
        free(out);
        return NULL;
    }
    return out;
}

int harness_send_tx(const char *rpc_url, const harness_tx_t *tx,
                    char tx_hash_out[67], char *err, size_t err_len)
{
    harness_tx_t signing = *tx;
    if (!signing.chain_id) {
        json_t *id = harness_rpc(rpc_url, "eth_chainId", NULL, NULL, err, err_len);
        int parsed = id && json_is_string(id)
                     ? hex_quantity_parse(json_string_value(id), &signing.chain_id) : -1;
        json_decref(id);
        if (parsed < 0) {
            if (id)
                set_err(err, err_len, "eth_chainId gave no quantity");
            return -1;
        }
    }
    char *raw = harness_sign_tx(&signing, err, err_len);
    if (!raw)
        return -1;
    json_t *hash = harness_rpc(rpc_url, "eth_sendRawTransaction", json_pack("[s]", raw),
                               NULL, err, err_len);
    free(raw);
    if (!hash)
        return -1;
    const char *text = json_string_value(hash);
    int rc = -1;
    if (text && strlen(text) == 66 && strncmp(text, "0x", 2) == 0) {
        memcpy(tx_hash_out, text, 67);
        rc = 0;
    } else {
        set_err(err, err_len, "eth_sendRawTransaction returned no hash");
    }
    json_decref(hash);
    return rc;
}

int harness_send_raw_tx(const char *rpc_url, const char *to_hex, uint64_t value_wei,
                        uint64_t nonce, char tx_hash_out[67], char *err, size_t err_len)
{
    harness_tx_t tx = { .to_hex = to_hex, .value_wei = value_wei, .nonce = nonce };
    return harness_send_tx(rpc_url, &tx, tx_hash_out, err, err_len);
}
