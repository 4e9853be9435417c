#include "actor_proc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "clock.h"

#define MAX_ARGS 48

const char *actor_proc_bin(void)
{
    const char *p = getenv("ALYS_ENGINE_BIN");
    return p && *p ? p : "alys-engine";
}

static void dump_tail(const char *log_path)
{
    FILE *f = fopen(log_path, "r");
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, size > 4000 ? size - 4000 : 0, SEEK_SET);
    char buf[4001];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    fprintf(stderr, "actor_proc: the actor did not answer; its log ends with:\n%s\n", buf);
}

harness_proc_t *actor_proc_start(const char *endpoint, const char *engine_url, const char *rpc_url,
                                 const char *jwt_path, const char *const *extra,
                                 const char *log_path)
{
    char *argv[MAX_ARGS];
    int n = 0;
    argv[n++] = (char *) actor_proc_bin();
    argv[n++] = "--bind";
    argv[n++] = (char *) endpoint;
    argv[n++] = "--execution-endpoint";
    argv[n++] = (char *) engine_url;
    argv[n++] = "--execution-rpc";
    argv[n++] = (char *) rpc_url;
    argv[n++] = "--jwt-secret";
    argv[n++] = (char *) jwt_path;
    /* metrics on, but on a free port: other actors may run on this machine */
    argv[n++] = "--metrics-listen";
    argv[n++] = "127.0.0.1:0";
    for (size_t i = 0; extra && extra[i] && n < MAX_ARGS - 1; i++)
        argv[n++] = (char *) extra[i];
    argv[n] = NULL;
    harness_proc_t *p = harness_proc_spawn(argv, log_path);
    if (!p)
        return NULL;
    int64_t deadline = clock_mono_ms() + 10000;
    bool up = false;
    while (!up && clock_mono_ms() < deadline && harness_proc_running(p)) {
        peer_t *peer = peer_new(endpoint, NULL);
        proto_reply_t r;
        if (peer && peer_call(peer, "ping", NULL, &r, 200) == 0) {
            up = r.ok;
            proto_reply_release(&r);
        }
        peer_destroy(&peer);
    }
    if (!up) {
        dump_tail(log_path);
        harness_proc_destroy(&p);
    }
    return p;
}

int actor_proc_wait_ready(peer_t *peer, const char *want_state, int timeout_ms)
{
    int64_t deadline = clock_mono_ms() + timeout_ms;
    const proto_schema_t *rs = proto_op_find("status")->result;
    while (clock_mono_ms() < deadline) {
        proto_reply_t r;
        if (peer_call(peer, "status", NULL, &r, 1000) == 0) {
            proto_status_result_t st = {0};
            bool ready = false;
            if (peer_result(&r, "status", &st) == 0) {
                ready = st.forkchoice.has_head
                        && (!want_state || (st.el.state && strcmp(st.el.state, want_state) == 0));
                proto_free(rs, &st);
            }
            proto_reply_release(&r);
            if (ready)
                return 0;
        }
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return -1;
}
