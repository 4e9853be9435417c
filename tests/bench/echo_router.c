/*  echo_router: the least a ZeroMQ ROUTER server can do. It answers every
    message with the same frames (routing id, delimiter, body), from one
    thread, so the benchmark can tell the actor's own cost from the cost of
    ZeroMQ itself. Runs until SIGTERM or SIGINT. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#define MAX_FRAMES 8

static volatile sig_atomic_t s_stop;

static void on_signal(int sig) { s_stop = 1; }

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: echo_router ENDPOINT\n");
        return 2;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    void *ctx = zmq_ctx_new();
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    int hwm = 10000, zero = 0;
    zmq_setsockopt(router, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(router, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_bind(router, argv[1]) != 0) {
        fprintf(stderr, "echo_router: cannot bind %s: %s\n", argv[1], zmq_strerror(zmq_errno()));
        return 1;
    }
    printf("READY\n");
    fflush(stdout);
    zmq_msg_t frames[MAX_FRAMES];
    while (!s_stop) {
        int n = 0, more = 1;
        while (more && n < MAX_FRAMES) {
            zmq_msg_init(&frames[n]);
            if (zmq_msg_recv(&frames[n], router, 0) < 0) {
                zmq_msg_close(&frames[n]);
                break;
            }
            more = zmq_msg_more(&frames[n]);
            n++;
        }
        if (more) { /* interrupted, or too many frames: drop what came */
            for (int i = 0; i < n; i++)
                zmq_msg_close(&frames[i]);
            continue;
        }
        for (int i = 0; i < n; i++)
            if (zmq_msg_send(&frames[i], router, i + 1 < n ? ZMQ_SNDMORE : 0) < 0)
                zmq_msg_close(&frames[i]);
    }
    zmq_close(router);
    zmq_ctx_term(ctx);
    return 0;
}
