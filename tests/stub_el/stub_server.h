/*  stub_server: the HTTP side of the stub execution client.

    One libmicrohttpd daemon on 127.0.0.1 serves both the Engine API and the
    public JSON-RPC methods, single requests and batches, with HTTP
    keep-alive. A request that names any engine_* method must carry a valid
    HS256 JWT (iat within 60 s), as real clients require on their engine
    port; otherwise it gets HTTP 401.

    Faults are injected per method name ("*" for every method except the
    stub's own stub_* methods, "prefix*" for a family): a delay before the
    answer, an HTTP status instead of the answer, a body that is not JSON,
    a JSON-RPC error object, a payload status other than VALID, or a null
    payloadId. Each connection has its own thread, so a delayed answer never
    holds up the others. When asked (config.log_calls), it keeps a log of
    the calls in the order they arrived and were answered, from which a test
    in the same process reads which calls overlapped. */
#ifndef ALYS_STUB_SERVER_H
#define ALYS_STUB_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    STUB_FAULT_DELAY,       /* value: milliseconds */
    STUB_FAULT_HTTP_STATUS, /* value: the HTTP status to answer */
    STUB_FAULT_MALFORMED,   /* a 200 whose body is not valid JSON */
    STUB_FAULT_RPC_ERROR,   /* value: the JSON-RPC error code */
    STUB_FAULT_STATUS       /* status: INVALID, SYNCING or ACCEPTED */
} stub_fault_kind_t;

typedef struct {
    stub_fault_kind_t kind;
    char method[96];
    long value;
    char status[16];
} stub_fault_t;

/*  Parses a flag's argument: "METHOD:VALUE", or "METHOD" for a malformed
    body. Returns 0, or -1 with the reason in err. */
int stub_fault_parse(stub_fault_kind_t kind, const char *text, stub_fault_t *out, char *err,
                     size_t err_len);

typedef struct {
    int port;                    /* 0: any free port */
    const char *jwt_secret_path; /* 64 hex digits, optional 0x, whitespace allowed */
    const stub_fault_t *faults;  /* copied */
    size_t n_faults;
    bool null_payload_id;
    uint64_t genesis_time;
    bool log_calls;              /* keep the log that stub_server_calls reads */
} stub_config_t;

/*  One JSON-RPC call as the stub saw it (after authentication). begin and
    end are positions in one order of events shared by every call: begin
    when the call arrived (before any delay), end when its answer was ready
    (0 until then). A call whose begin is greater than another's end arrived
    after that one was answered; two calls overlapped when each began before
    the other ended. Members of one batch share begin and end. */
typedef struct {
    char method[64];
    char params[512]; /* compact JSON text, cut short */
    uint64_t begin, end;
} stub_call_t;

/*  The log keeps the first STUB_CALL_LOG_MAX calls. */
#define STUB_CALL_LOG_MAX 4096

typedef struct stub_server stub_server_t;

/*  Loads the secret, builds the chain and starts serving. NULL with the
    reason in err on failure. */
stub_server_t *stub_server_new(const stub_config_t *config, char *err, size_t err_len);
/*  Wakes delayed answers, stops the daemon (joining its threads), frees. */
void stub_server_destroy(stub_server_t **self_p);
/*  The port actually bound. */
int stub_server_port(const stub_server_t *self);
/*  Copies the logged calls from index `from` on, at most max of them, into
    out, in order of arrival. Returns how many were copied (0 when the log is
    off). Tests take the log's length as a mark and read what came after. */
size_t stub_server_calls(stub_server_t *self, size_t from, stub_call_t *out, size_t max);

#endif
