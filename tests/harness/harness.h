/*  harness: runs real processes for the integration tests.

    An el_node_t is a throw-away execution client (EthereumJS or Geth) on
    loopback with its own data directory, genesis, JWT secret and free
    ports. A
    harness_proc_t is any child process in its own process group (the engine
    actor, the supervisor). harness_rpc() is a blocking JSON-RPC call for
    test code; the actor itself never blocks like this.

    Children are spawned with PR_SET_PDEATHSIG(SIGTERM): a test process that
    dies leaves no client holding ports. Spawn from the thread that outlives
    the child (the test's main thread). */
#ifndef ALYS_HARNESS_H
#define ALYS_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*  The pre-funded account of every el_node genesis (the first well-known
    Hardhat/Anvil test key; never use it anywhere real). */
#define HARNESS_DEV_KEY  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
#define HARNESS_DEV_ADDR "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
/*  1,000,000 ether in wei. */
#define HARNESS_DEV_BALANCE "0xd3c21bcecceda1000000"
#define HARNESS_DEFAULT_CHAIN_ID 263634

/* ---- small utilities ---------------------------------------------------- */

/*  Returns a TCP port on 127.0.0.1 that was free a moment ago, or -1. */
int harness_free_port(void);
/*  Creates /tmp/<prefix>XXXXXX; returns its path (caller frees) or NULL. */
char *harness_tmpdir(const char *prefix);
/*  Removes a file or a directory tree; symlinks are removed, not followed.
    NULL and missing paths are ignored. */
void harness_rmrf(const char *path);
/*  Waits until host:port accepts a TCP connection. Returns 0, or -1 when
    timeout_ms passes first. */
int harness_wait_tcp(const char *host, int port, int timeout_ms);

/* ---- JSON-RPC ----------------------------------------------------------- */

/*  Calls method at url and returns a new reference to the response's
    "result" (a JSON null is a valid result). params is stolen; NULL sends [].
    With jwt_path, sends "Authorization: Bearer" with an HS256 token (iat now)
    made from the hex secret in that file. On failure returns NULL and writes
    the reason to err (when err_len > 0): the transport error, "HTTP <status>"
    with the body, or "JSON-RPC error <code>: <message>". Times out after
    30 s. Safe to call from several threads at once. */
json_t *harness_rpc(const char *url, const char *method, json_t *params,
                    const char *jwt_path, char *err, size_t err_len);

/*  GET url; returns the body (caller frees; "" when empty) and the HTTP
    status in *status, or NULL on a transport error. Times out after 5 s. */
char *harness_http_get(const char *url, long *status);

/* ---- child processes ---------------------------------------------------- */

typedef struct harness_proc_t harness_proc_t;

/*  fork+exec argv (argv[0] is looked up in PATH) in a new process group,
    stdin from /dev/null, stdout and stderr appended to log_path (or inherited
    when NULL). Returns NULL if the fork or the exec fails. */
harness_proc_t *harness_proc_spawn(char *const argv[], const char *log_path);
/*  Sends sig to the process (harness_proc_signal) or to its whole process
    group (harness_proc_signal_group). Returns 0, or -1 once it was reaped. */
int harness_proc_signal(harness_proc_t *self, int sig);
int harness_proc_signal_group(harness_proc_t *self, int sig);
/*  Waits for the process to exit, reaping it. timeout_ms < 0 waits forever.
    Returns 0 and the waitpid status in *status (if status is not NULL) once
    it exited, also on later calls; -1 on timeout. */
int harness_proc_wait(harness_proc_t *self, int timeout_ms, int *status);
/*  True until the process has exited. */
bool harness_proc_running(harness_proc_t *self);
pid_t harness_proc_pid(harness_proc_t *self);
/*  Sends SIGTERM to the process group, SIGKILL after 2 s, reaps, frees. */
void harness_proc_destroy(harness_proc_t **self_p);

/*  Runs argv (PATH lookup) to completion with stdin from /dev/null, captures
    its stdout into *out (NUL-terminated, caller frees; pass NULL to discard)
    while stderr passes through. Returns 0 once it exited, with the exit code
    (or 128 + signal number) in *exit_code; -1 if it could not be run or
    timeout_ms passed (then its process group is killed). */
int harness_run_capture(char *const argv[], char **out, int *exit_code, int timeout_ms);

/* ---- execution client (EthereumJS or Geth) ------------------------------ */

/*  Which client el_node_new runs: opts->client, else $ALYS_TEST_EL, else
    EthereumJS. Geth is $ALYS_GETH_BIN, or `geth` from PATH. */
typedef enum { EL_KIND_DEFAULT = 0, EL_KIND_ETHEREUMJS, EL_KIND_GETH } el_kind_t;

/*  The client $ALYS_TEST_EL names ("geth" or "ethereumjs"; unset or empty:
    EthereumJS). An unknown name is reported on stderr and gives -1. */
int harness_el_kind_from_env(el_kind_t *out);
/*  "ethereumjs" or "geth". */
const char *harness_el_kind_name(el_kind_t kind);

typedef struct {
    el_kind_t client;               /* EL_KIND_DEFAULT: $ALYS_TEST_EL */
    bool cancun;                    /* cancunTime 0 (Engine API V3) */
    bool prague;                    /* pragueTime 0 (V4); implies cancun */
    const char *jwt_hex;            /* 64 hex digits; NULL: random */
    uint64_t chain_id;              /* 0: HARNESS_DEFAULT_CHAIN_ID */
    const char *extra_alloc_json;   /* NULL, or a JSON object merged into the
                                       genesis alloc ({"0xaddr": {"balance":
                                       "0x..", "code": "0x.."}}) */
} el_node_opts_t;

typedef struct el_node_t el_node_t;

/*  Starts a fresh execution client (Shanghai at genesis unless opts say
    otherwise; opts may be NULL). EthereumJS runs from
    <root>/deploy/ethereumjs, where root is $ALYS_SOURCE_ROOT or the source
    tree this file was built from; Geth gets `geth init` of the same genesis
    plus the system contracts its Cancun and Prague need (taken from its own
    dev genesis) and runs in full sync mode without peers. Returns once
    eth_chainId answers and the engine port accepts connections, or NULL
    after 30 s, on a startup error in its log, or when it exits (the log's
    tail goes to stderr). A port clash is retried once with new ports. */
el_node_t *el_node_new(const el_node_opts_t *opts);
/*  SIGTERM to the client's process group, SIGKILL after 3 s (Geth: 30 s, it
    flushes its state on SIGTERM), reap, and
    remove the data directory unless $ALYS_KEEP_TEST_DIRS is set. */
void el_node_destroy(el_node_t **self_p);

/*  Stops the client (as destroy) but keeps its data directory. Returns 0, or
    -1 if it was not running. */
int el_node_stop(el_node_t *self);
/*  Starts a stopped client again on the same ports, data and JWT secret, and
    waits as el_node_new does. Returns 0 or -1. */
int el_node_start(el_node_t *self);

const char *el_node_engine_url(el_node_t *self);   /* http://127.0.0.1:E */
const char *el_node_rpc_url(el_node_t *self);      /* http://127.0.0.1:P */
const char *el_node_jwt_path(el_node_t *self);
const char *el_node_jwt_hex(el_node_t *self);      /* 64 hex digits, no 0x */
const char *el_node_datadir(el_node_t *self);
const char *el_node_genesis_path(el_node_t *self);
const char *el_node_log_path(el_node_t *self);
uint64_t el_node_chain_id(el_node_t *self);
int el_node_rpc_port(el_node_t *self);
int el_node_engine_port(el_node_t *self);
/*  The client's pid, or -1 while it is stopped. */
pid_t el_node_pid(el_node_t *self);
/*  Which client this node runs (never EL_KIND_DEFAULT). */
el_kind_t el_node_kind(el_node_t *self);

/* ---- transactions from the dev account ---------------------------------- */

typedef struct {
    const char *to_hex;         /* NULL or "": contract creation */
    uint64_t value_wei;
    uint64_t nonce;
    const char *data_hex;       /* NULL: no data; init code for a creation */
    uint64_t gas;               /* 0: 21000, or 3,000,000 for a creation */
    uint64_t max_fee_wei;       /* 0: 10 gwei */
    uint64_t priority_fee_wei;  /* 0: 1 gwei */
    uint64_t chain_id;          /* 0: HARNESS_DEFAULT_CHAIN_ID */
} harness_tx_t;

/*  Signs tx (EIP-1559) with HARNESS_DEV_KEY by running
    tests/harness/sendtx.mjs with node. Returns the raw transaction as
    "0x..." hex (caller frees) or NULL with the reason in err. */
char *harness_sign_tx(const harness_tx_t *tx, char *err, size_t err_len);
/*  Signs tx (chain_id 0: asks the node's eth_chainId) and submits it with
    eth_sendRawTransaction. Writes the "0x"-prefixed hash (66 chars + NUL)
    to tx_hash_out. Returns 0 or -1 with the reason in err. */
int harness_send_tx(const char *rpc_url, const harness_tx_t *tx,
                    char tx_hash_out[67], char *err, size_t err_len);
/*  A plain value transfer from the dev account (see harness_send_tx). */
int harness_send_raw_tx(const char *rpc_url, const char *to_hex, uint64_t value_wei,
                        uint64_t nonce, char tx_hash_out[67], char *err, size_t err_len);

#endif
