/*  Lazy Pirate request/reply over czmq; see client.h. */
#include "client.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "curve.h"

struct client {
    char *endpoint;
    char *routing_id;
    FILE *notices;
    zsock_t *sock;
    zpoller_t *poller;
    char error[256];
};

void client_opts_default(client_opts_t *opts)
{
    opts->timeout_ms = 5000;
    opts->retries = 2;
    opts->backoff_initial_ms = 100;
    opts->backoff_max_ms = 2000;
    opts->max_reply = 256u * 1024 * 1024;
}

void client_reply_release(client_reply_t *r)
{
    if (!r)
        return;
    proto_reply_release(&r->reply);
    free(r->body);
    memset(r, 0, sizeof *r);
}

client_t *client_new(const char *endpoint, const char *routing_id, FILE *notices)
{
    client_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->endpoint = strdup(endpoint);
    self->routing_id = strdup(routing_id);
    self->notices = notices;
    if (!self->endpoint || !self->routing_id) {
        client_destroy(&self);
        return NULL;
    }
    /*  A command-line tool should die on Ctrl-C as usual, not have czmq turn
        the signal into a flag. */
    zsys_handler_set(NULL);
    return self;
}

static void s_disconnect(client_t *self)
{
    zpoller_destroy(&self->poller);
    zsock_destroy(&self->sock);
}

void client_destroy(client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    client_t *self = *self_p;
    s_disconnect(self);
    free(self->endpoint);
    free(self->routing_id);
    free(self);
    *self_p = NULL;
}

/*  Connects a non-blocking stream socket to addr and waits up to wait_ms.
    Returns 0 connected (or undecided), or the errno that refused it. */
static int s_probe(int family, const struct sockaddr *addr, socklen_t addr_len, int wait_ms)
{
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    int rc = 0;
    if (connect(fd, addr, addr_len) != 0) {
        rc = errno;
        if (rc == EINPROGRESS || rc == EAGAIN) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            rc = 0;
            if (poll(&p, 1, wait_ms) == 1) {
                socklen_t n = sizeof rc;
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &rc, &n) != 0)
                    rc = 0;
            }
        }
    }
    close(fd);
    return rc;
}

/*  The probe connects and closes at once: the actor sees a connection that
    ends before the ZeroMQ greeting, which libzmq drops quietly. */
bool client_endpoint_unreachable(const char *endpoint, char *why, size_t why_len)
{
    if (strncmp(endpoint, "ipc://", 6) == 0) {
        const char *path = endpoint + 6;
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        /*  '@' is the abstract namespace: no file to look at. */
        if (path[0] == '@' || strlen(path) >= sizeof sun.sun_path)
            return false;
        struct stat st;
        if (stat(path, &st) != 0) {
            if (errno == ENOENT)
                snprintf(why, why_len, "%s does not exist", path);
            else
                snprintf(why, why_len, "%s: %s", path, strerror(errno));
            return errno == ENOENT || errno == ENOTDIR || errno == EACCES;
        }
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(why, why_len, "%s is not a socket", path);
            return true;
        }
        memcpy(sun.sun_path, path, strlen(path) + 1);
        int err = s_probe(AF_UNIX, (struct sockaddr *) &sun, sizeof sun, 1000);
        if (err == ECONNREFUSED)
            snprintf(why, why_len, "nothing listens on %s (a socket file left behind by an "
                     "actor that stopped)", path);
        else if (err == EACCES || err == EPERM)
            snprintf(why, why_len, "%s: permission denied", path);
        else
            return false;
        return true;
    }
    if (strncmp(endpoint, "tcp://", 6) == 0) {
        char host[256];
        const char *hp = endpoint + 6;
        const char *colon = strrchr(hp, ':');
        if (!colon || (size_t) (colon - hp) >= sizeof host || colon == hp)
            return false;
        memcpy(host, hp, (size_t) (colon - hp));
        host[colon - hp] = '\0';
        /*  [::1] as libzmq spells IPv6 */
        char *h = host;
        size_t hl = strlen(h);
        if (h[0] == '[' && hl > 2 && h[hl - 1] == ']') {
            h[hl - 1] = '\0';
            h++;
        }
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                                 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
        struct addrinfo *ai = NULL;
        if (getaddrinfo(h, colon + 1, &hints, &ai) != 0 || !ai)
            return false;
        int err = s_probe(ai->ai_family, ai->ai_addr, ai->ai_addrlen, 1000);
        freeaddrinfo(ai);
        if (err != ECONNREFUSED)
            return false;
        snprintf(why, why_len, "nothing listens on %s (connection refused)", endpoint + 6);
        return true;
    }
    return false;
}

const char *client_error(const client_t *self)
{
    return self->error;
}

/*  A fresh DEALER: linger 0 so that closing it never waits for unsent
    requests, and the routing id set before connect so that the actor sees
    every attempt as the same peer. */
static int s_connect(client_t *self, const client_opts_t *opts)
{
    self->sock = zsock_new(ZMQ_DEALER);
    if (!self->sock) {
        snprintf(self->error, sizeof self->error, "cannot create a socket: %s",
                 zmq_strerror(zmq_errno()));
        return -1;
    }
    zsock_set_linger(self->sock, 0);
    zsock_set_sndtimeo(self->sock, opts->timeout_ms);
    if (opts->curve_cert
        && curve_client_setup(zsock_resolve(self->sock), opts->curve_cert, opts->curve_server_key,
                              self->error, sizeof self->error) != 0) {
        zsock_destroy(&self->sock);
        return -1;
    }
    if (zmq_setsockopt(zsock_resolve(self->sock), ZMQ_ROUTING_ID, self->routing_id,
                       strlen(self->routing_id)) != 0
        || zsock_connect(self->sock, "%s", self->endpoint) != 0) {
        snprintf(self->error, sizeof self->error, "cannot connect to %s: %s", self->endpoint,
                 zmq_strerror(zmq_errno()));
        zsock_destroy(&self->sock);
        return -1;
    }
    self->poller = zpoller_new(self->sock, NULL);
    if (!self->poller) {
        snprintf(self->error, sizeof self->error, "cannot create a poller");
        zsock_destroy(&self->sock);
        return -1;
    }
    return 0;
}

static int s_send(client_t *self, const uint8_t *req, size_t len)
{
    zmsg_t *msg = zmsg_new();
    if (!msg)
        return -1;
    zmsg_addmem(msg, NULL, 0);
    zmsg_addmem(msg, req, len);
    if (zmsg_send(&msg, self->sock) != 0) {
        zmsg_destroy(&msg);
        return -1;
    }
    return 0;
}

/*  Takes the reply out of a received message if it answers `id`. A reply
    whose id is nil answers a request too broken to read; this client has
    only one request outstanding, so it is ours. Returns 0 when out holds the
    reply, -1 when the message was discarded. */
static int s_accept(client_t *self, zmsg_t *msg, uint64_t id, const client_opts_t *opts,
                    client_reply_t *out)
{
    zframe_t *delim = zmsg_first(msg);
    zframe_t *body = zmsg_next(msg);
    if (zmsg_size(msg) != 2 || zframe_size(delim) != 0) {
        if (self->notices)
            fprintf(self->notices, "alys-engine-cli: discarding a message of %zu frames without "
                    "the [empty][body] envelope\n", zmsg_size(msg));
        return -1;
    }
    size_t len = zframe_size(body);
    if (len > opts->max_reply) {
        if (self->notices)
            fprintf(self->notices, "alys-engine-cli: discarding a reply of %zu bytes\n", len);
        return -1;
    }
    memset(out, 0, sizeof *out);
    out->body = malloc(len ? len : 1);
    if (!out->body)
        return -1;
    memcpy(out->body, zframe_data(body), len);
    out->body_len = len;
    char err[PROTO_ERR_LEN];
    if (proto_reply_decode(out->body, len, len, &out->reply, err, sizeof err) != PROTO_OK) {
        if (self->notices)
            fprintf(self->notices, "alys-engine-cli: discarding a malformed reply: %s\n", err);
        client_reply_release(out);
        return -1;
    }
    if (out->reply.has_id ? out->reply.id != id : out->reply.ok) {
        if (self->notices && out->reply.has_id)
            fprintf(self->notices, "alys-engine-cli: discarding a reply for id %llu\n",
                    (unsigned long long) out->reply.id);
        client_reply_release(out);
        return -1;
    }
    return 0;
}

/*  Waits up to timeout_ms for the reply to id. Returns 0 with *out filled,
    or -1 when the time ran out. */
static int s_wait(client_t *self, uint64_t id, const client_opts_t *opts, client_reply_t *out)
{
    int64_t deadline = clock_mono_ms() + opts->timeout_ms;
    for (;;) {
        int64_t left = deadline - clock_mono_ms();
        if (left <= 0)
            return -1;
        if (!zpoller_wait(self->poller, (int) left))
            continue;
        zmsg_t *msg = zmsg_recv(self->sock);
        if (!msg)
            continue;
        int rc = s_accept(self, msg, id, opts, out);
        zmsg_destroy(&msg);
        if (rc == 0)
            return 0;
    }
}

client_rc_t client_call(client_t *self, const uint8_t *req, size_t len, uint64_t id,
                        const client_opts_t *opts, client_reply_t *out, int *attempts)
{
    int backoff = opts->backoff_initial_ms;
    int total = opts->retries + 1;
    memset(out, 0, sizeof *out);
    for (int attempt = 1;; attempt++) {
        *attempts = attempt;
        if (!self->sock && s_connect(self, opts) != 0)
            return CLIENT_FAILED;
        bool got = s_send(self, req, len) == 0 && s_wait(self, id, opts, out) == 0;
        if (got && (out->reply.ok || !out->reply.retryable || attempt >= total))
            return CLIENT_REPLY;
        if (!got) {
            /*  The reply may be lost with the socket's state: start over. */
            s_disconnect(self);
            if (attempt >= total)
                return CLIENT_TIMEOUT;
        }
        if (self->notices) {
            if (got)
                fprintf(self->notices, "alys-engine-cli: %s: %s; retrying in %d ms (attempt %d "
                        "of %d)\n", out->reply.error_code, out->reply.message ? out->reply.message
                        : "", backoff, attempt + 1, total);
            else
                fprintf(self->notices, "alys-engine-cli: no reply from %s within %d ms; "
                        "retrying in %d ms (attempt %d of %d)\n", self->endpoint,
                        opts->timeout_ms, backoff, attempt + 1, total);
        }
        if (got)
            client_reply_release(out);
        zclock_sleep(backoff);
        backoff = backoff > opts->backoff_max_ms / 2 ? opts->backoff_max_ms : backoff * 2;
    }
}
