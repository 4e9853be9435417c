#include "stub_proc.h"

#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "harness.h"

#define MAX_ARGS 64

struct stub_proc {
    harness_proc_t *proc;
    char *jwt_path;
    char *log_path;
    int port;
    char url[64];
};

const char *stub_proc_bin(void)
{
    const char *p = getenv("ALYS_STUB_EL_BIN");
    return p && *p ? p : "alys-stub-el";
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : 0;
}

/*  Reads the first "PORT=<n>" line written to the log after offset. */
static int read_port(const char *log_path, off_t offset)
{
    FILE *f = fopen(log_path, "r");
    if (!f)
        return -1;
    fseeko(f, offset, SEEK_SET);
    char line[256];
    int port = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "PORT=", 5) == 0 && strchr(line, '\n')) {
            port = atoi(line + 5);
            break;
        }
    fclose(f);
    return port;
}

static void dump_tail(const char *log_path, off_t offset)
{
    FILE *f = fopen(log_path, "r");
    if (!f)
        return;
    fseeko(f, offset, SEEK_SET);
    char buf[2048];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    fprintf(stderr, "stub_proc: the stub did not start; its log says:\n%s\n", buf);
}

/*  Spawns the stub on self->port (0: any) and waits for its PORT line. */
static int launch(stub_proc_t *self, const char *const *extra)
{
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%d", self->port);
    char *argv[MAX_ARGS];
    int n = 0;
    argv[n++] = (char *) stub_proc_bin();
    argv[n++] = "--jwt-secret";
    argv[n++] = self->jwt_path;
    argv[n++] = "--port";
    argv[n++] = port_text;
    for (size_t i = 0; extra && extra[i] && n < MAX_ARGS - 1; i++)
        argv[n++] = (char *) extra[i];
    argv[n] = NULL;
    off_t offset = file_size(self->log_path);
    self->proc = harness_proc_spawn(argv, self->log_path);
    if (!self->proc)
        return -1;
    int64_t deadline = clock_mono_ms() + 10000;
    while (clock_mono_ms() < deadline) {
        int port = read_port(self->log_path, offset);
        if (port > 0) {
            self->port = port;
            snprintf(self->url, sizeof self->url, "http://127.0.0.1:%d", port);
            return 0;
        }
        if (!harness_proc_running(self->proc))
            break;
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
    dump_tail(self->log_path, offset);
    harness_proc_destroy(&self->proc);
    return -1;
}

stub_proc_t *stub_proc_start(const char *jwt_path, int port, const char *const *extra,
                             const char *log_path)
{
    stub_proc_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->jwt_path = strdup(jwt_path);
    self->log_path = strdup(log_path);
    self->port = port;
    if (!self->jwt_path || !self->log_path || launch(self, extra) != 0) {
        stub_proc_destroy(&self);
        return NULL;
    }
    return self;
}

void stub_proc_destroy(stub_proc_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    stub_proc_t *self = *self_p;
    harness_proc_destroy(&self->proc);
    free(self->jwt_path);
    free(self->log_path);
    free(self);
    *self_p = NULL;
}

void stub_proc_kill(stub_proc_t *self)
{
    if (!self->proc)
        return;
    harness_proc_signal(self->proc, SIGKILL);
    harness_proc_wait(self->proc, 5000, NULL);
    harness_proc_destroy(&self->proc);
}

int stub_proc_restart(stub_proc_t *self, const char *const *extra)
{
    if (self->proc)
        harness_proc_destroy(&self->proc);
    /* the port may still be held for a moment by the old process' sockets */
    for (int attempt = 0; attempt < 20; attempt++) {
        if (launch(self, extra) == 0)
            return 0;
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return -1;
}

int stub_proc_port(const stub_proc_t *self) { return self->port; }
const char *stub_proc_url(const stub_proc_t *self) { return self->url; }
pid_t stub_proc_pid(const stub_proc_t *self)
{
    return self->proc ? harness_proc_pid(self->proc) : -1;
}

json_t *stub_proc_stats(const stub_proc_t *self)
{
    return harness_rpc(self->url, "stub_stats", NULL, NULL, NULL, 0);
}

int64_t stub_proc_stat(const stub_proc_t *self, const char *name)
{
    json_t *s = stub_proc_stats(self);
    json_t *v = json_object_get(s, name);
    int64_t n = json_is_integer(v) ? (int64_t) json_integer_value(v) : -1;
    json_decref(s);
    return n;
}
