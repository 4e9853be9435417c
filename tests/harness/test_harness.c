/*  Integration test of the harness itself: processes, JSON-RPC with JWT,
    and real execution clients (EthereumJS, or Geth with ALYS_TEST_EL=geth)
    at Shanghai, Cancun and Prague that build a
    block holding a transfer from the dev account. */
#include "harness.h"

#include "clock.h"
#include "hex.h"

#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define ZERO32 "0x0000000000000000000000000000000000000000000000000000000000000000"
#define BURN_ADDR "0x000000000000000000000000000000000000dEaD"

static bool path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/*  Calls the public RPC (engine false) or the Engine API with the node's
    JWT, and fails the test on any error. */
static json_t *call_ok(el_node_t *node, bool engine, const char *method, json_t *params)
{
    char err[512] = "";
    json_t *result = harness_rpc(engine ? el_node_engine_url(node) : el_node_rpc_url(node),
                                 method, params, engine ? el_node_jwt_path(node) : NULL,
                                 err, sizeof err);
    ck_assert_msg(result != NULL, "%s: %s", method, err);
    return result;
}

static uint64_t quantity(json_t *value)
{
    uint64_t out = 0;
    ck_assert_msg(json_is_string(value), "not a quantity");
    ck_assert_int_eq(hex_quantity_parse(json_string_value(value), &out), 0);
    return out;
}

static uint64_t block_number(el_node_t *node)
{
    json_t *n = call_ok(node, false, "eth_blockNumber", NULL);
    uint64_t out = quantity(n);
    json_decref(n);
    return out;
}

/*  The balance as the node spells it (a quantity of up to 256 bits). */
static char *balance_of(el_node_t *node, const char *addr)
{
    json_t *b = call_ok(node, false, "eth_getBalance", json_pack("[s,s]", addr, "latest"));
    ck_assert(json_is_string(b));
    char *out = strdup(json_string_value(b));
    json_decref(b);
    return out;
}

/*  True while a process of the group is alive; zombies waiting for a
    reaper do not count. */
static bool group_alive(pid_t pgid)
{
    DIR *proc = opendir("/proc");
    ck_assert_ptr_nonnull(proc);
    bool alive = false;
    struct dirent *entry;
    while (!alive && (entry = readdir(proc))) {
        char path[300], text[512];
        if (entry->d_name[0] < '0' || entry->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", entry->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t n = fread(text, 1, sizeof text - 1, f);
        fclose(f);
        text[n] = '\0';
        /* pid (comm) state ppid pgrp ...; comm may hold spaces */
        char *close_paren = strrchr(text, ')');
        char state;
        int ppid, pgrp;
        if (close_paren && sscanf(close_paren + 1, " %c %d %d", &state, &ppid, &pgrp) == 3
            && pgrp == pgid && state != 'Z')
            alive = true;
    }
    closedir(proc);
    return alive;
}

/*  Builds one block on the head with the Engine API version of the fork
    (2 Shanghai, 3 Cancun, 4 Prague), checks that it holds expect_txs
    transactions, imports it and makes it the head. */
static void build_block(el_node_t *node, int version, size_t expect_txs)
{
    json_t *head = call_ok(node, false, "eth_getBlockByNumber", json_pack("[s,b]", "latest", 0));
    char parent[67];
    snprintf(parent, sizeof parent, "%s", json_string_value(json_object_get(head, "hash")));
    uint64_t number = quantity(json_object_get(head, "number"));
    uint64_t timestamp = quantity(json_object_get(head, "timestamp")) + 12;
    json_decref(head);

    char ts[24];
    hex_quantity_format(timestamp, ts);
    json_t *attrs = json_pack("{s:s, s:s, s:s, s:[]}", "timestamp", ts, "prevRandao", ZERO32,
                              "suggestedFeeRecipient", BURN_ADDR, "withdrawals");
    if (version >= 3)
        json_object_set_new(attrs, "parentBeaconBlockRoot", json_string(ZERO32));
    json_t *state = json_pack("{s:s, s:s, s:s}", "headBlockHash", parent,
                              "safeBlockHash", parent, "finalizedBlockHash", parent);
    const char *fcu = version == 2 ? "engine_forkchoiceUpdatedV2" : "engine_forkchoiceUpdatedV3";
    json_t *res = call_ok(node, true, fcu, json_pack("[O, o]", state, attrs));
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(res, "payloadStatus"), "status")),
                     "VALID");
    char payload_id[24];
    ck_assert(json_is_string(json_object_get(res, "payloadId")));
    snprintf(payload_id, sizeof payload_id, "%s", json_string_value(json_object_get(res, "payloadId")));
    json_decref(res);

    /* Geth first seals an empty payload and fills it in the background: a
       getPayload at once can get the empty one, so give it time to fill */
    if (expect_txs > 0)
        usleep(500 * 1000);
    char method[32];
    snprintf(method, sizeof method, "engine_getPayloadV%d", version);
    json_t *built = call_ok(node, true, method, json_pack("[s]", payload_id));
    json_t *payload = json_object_get(built, "executionPayload");
    ck_assert(json_is_object(payload));
    ck_assert_uint_eq(json_array_size(json_object_get(payload, "transactions")), expect_txs);
    ck_assert_uint_eq(quantity(json_object_get(payload, "blockNumber")), number + 1);
    char block_hash[67];
    snprintf(block_hash, sizeof block_hash, "%s", json_string_value(json_object_get(payload, "blockHash")));

    json_t *params = json_pack("[O]", payload);
    if (version >= 3) {
        json_array_append_new(params, json_array());
        json_array_append_new(params, json_string(ZERO32));
    }
    if (version >= 4) {
        /* EthereumJS omits executionRequests when there are none. */
        json_t *requests = json_object_get(built, "executionRequests");
        json_array_append_new(params, requests ? json_incref(requests) : json_array());
    }
    json_decref(built);
    snprintf(method, sizeof method, "engine_newPayloadV%d", version);
    json_t *status = call_ok(node, true, method, params);
    ck_assert_str_eq(json_string_value(json_object_get(status, "status")), "VALID");
    json_decref(status);

    json_object_set_new(state, "headBlockHash", json_string(block_hash));
    json_object_set_new(state, "safeBlockHash", json_string(block_hash));
    res = call_ok(node, true, fcu, json_pack("[o, n]", state));
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(res, "payloadStatus"), "status")),
                     "VALID");
    ck_assert(json_is_null(json_object_get(res, "payloadId")));
    json_decref(res);
    ck_assert_uint_eq(block_number(node), number + 1);
}

static void check_capabilities(el_node_t *node, const char *expected)
{
    json_t *caps = call_ok(node, true, "engine_exchangeCapabilities",
                           json_pack("[[s]]", "engine_forkchoiceUpdatedV2"));
    ck_assert(json_is_array(caps));
    bool found = false;
    size_t i;
    json_t *item;
    json_array_foreach(caps, i, item)
        if (json_is_string(item) && strcmp(json_string_value(item), expected) == 0)
            found = true;
    ck_assert_msg(found, "%s not among the capabilities", expected);
    json_decref(caps);
}

/*  Occupies 127.0.0.1:port as another server would. */
static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *) &addr, sizeof addr), 0);
    ck_assert_int_eq(listen(fd, 4), 0);
    return fd;
}

/*  Destroys the node and checks that neither its process nor its data
    directory is left. */
static void destroy_and_check(el_node_t **node)
{
    pid_t pid = el_node_pid(*node);
    char *dir = strdup(el_node_datadir(*node));
    ck_assert_int_gt(pid, 0);
    el_node_destroy(node);
    ck_assert_ptr_null(*node);
    el_node_destroy(node);
    errno = 0;
    ck_assert_int_eq(kill(pid, 0), -1);
    ck_assert_int_eq(errno, ESRCH);
    ck_assert(!group_alive(pid));
    ck_assert_msg(!path_exists(dir), "%s still exists", dir);
    free(dir);
}

START_TEST(test_free_port_and_tmpdir)
{
    int a = harness_free_port();
    int b = harness_free_port();
    ck_assert_int_gt(a, 0);
    ck_assert_int_gt(b, 0);
    ck_assert_int_eq(harness_wait_tcp("127.0.0.1", a, 100), -1);

    char *dir = harness_tmpdir("alys-harness-");
    ck_assert_ptr_nonnull(dir);
    ck_assert(strncmp(dir, "/tmp/alys-harness-", 18) == 0);
    char sub[512], file[600];
    snprintf(sub, sizeof sub, "%s/a/b", dir);
    char *mk[] = { "mkdir", "-p", sub, NULL };
    int code = -1;
    ck_assert_int_eq(harness_run_capture(mk, NULL, &code, 5000), 0);
    ck_assert_int_eq(code, 0);
    snprintf(file, sizeof file, "%s/file", sub);
    FILE *f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fputs("x", f);
    fclose(f);
    char link[600];
    snprintf(link, sizeof link, "%s/etc-link", dir);
    ck_assert_int_eq(symlink("/etc", link), 0);
    harness_rmrf(dir);
    ck_assert(!path_exists(dir));
    ck_assert(path_exists("/etc/hostname") || path_exists("/etc/passwd"));
    harness_rmrf(dir);
    harness_rmrf(NULL);
    free(dir);
}
END_TEST

START_TEST(test_run_capture)
{
    char *out = NULL;
    int code = -1;
    char *echo[] = { "sh", "-c", "printf 'hello\\nworld'; echo to-stderr >&2", NULL };
    ck_assert_int_eq(harness_run_capture(echo, &out, &code, 5000), 0);
    ck_assert_int_eq(code, 0);
    ck_assert_str_eq(out, "hello\nworld");
    free(out);

    char *fail[] = { "sh", "-c", "exit 3", NULL };
    ck_assert_int_eq(harness_run_capture(fail, &out, &code, 5000), 0);
    ck_assert_int_eq(code, 3);
    ck_assert_str_eq(out, "");
    free(out);

    char *killed[] = { "sh", "-c", "kill -9 $$", NULL };
    ck_assert_int_eq(harness_run_capture(killed, NULL, &code, 5000), 0);
    ck_assert_int_eq(code, 128 + SIGKILL);

    char *slow[] = { "sleep", "10", NULL };
    ck_assert_int_eq(harness_run_capture(slow, &out, &code, 200), -1);
    ck_assert_ptr_null(out);

    char *missing[] = { "/nonexistent/alys-no-such-program", NULL };
    ck_assert_int_eq(harness_run_capture(missing, &out, &code, 5000), -1);
}
END_TEST

START_TEST(test_proc)
{
    char *dir = harness_tmpdir("alys-harness-");
    ck_assert_ptr_nonnull(dir);
    char log[512];
    snprintf(log, sizeof log, "%s/proc.log", dir);

    char *argv[] = { "sh", "-c", "echo started; echo oops >&2; exec sleep 30", NULL };
    harness_proc_t *proc = harness_proc_spawn(argv, log);
    ck_assert_ptr_nonnull(proc);
    pid_t pid = harness_proc_pid(proc);
    ck_assert_int_gt(pid, 0);
    ck_assert_int_eq(getpgid(pid), pid);
    int status = 0;
    ck_assert_int_eq(harness_proc_wait(proc, 100, &status), -1);
    ck_assert(harness_proc_running(proc));
    ck_assert_int_eq(harness_proc_signal(proc, SIGTERM), 0);
    ck_assert_int_eq(harness_proc_wait(proc, 5000, &status), 0);
    ck_assert(WIFSIGNALED(status));
    ck_assert_int_eq(WTERMSIG(status), SIGTERM);
    ck_assert(!harness_proc_running(proc));
    ck_assert_int_eq(harness_proc_signal(proc, SIGTERM), -1);
    ck_assert_int_eq(harness_proc_wait(proc, 0, &status), 0);
    harness_proc_destroy(&proc);
    ck_assert_ptr_null(proc);
    harness_proc_destroy(&proc);

    char *text = NULL;
    char *cat[] = { "cat", log, NULL };
    int code = -1;
    ck_assert_int_eq(harness_run_capture(cat, &text, &code, 5000), 0);
    ck_assert_str_eq(text, "started\noops\n");
    free(text);

    /* destroy on a live process that ignores SIGTERM: SIGKILL after 2 s */
    char *stubborn[] = { "sh", "-c", "trap '' TERM; sleep 30 & wait", NULL };
    proc = harness_proc_spawn(stubborn, NULL);
    ck_assert_ptr_nonnull(proc);
    pid = harness_proc_pid(proc);
    usleep(200 * 1000);
    harness_proc_destroy(&proc);
    errno = 0;
    ck_assert_int_eq(kill(pid, 0), -1);
    ck_assert_int_eq(errno, ESRCH);
    /* the group's orphaned child is reaped by init, not by us: give it a moment */
    for (int i = 0; i < 100 && group_alive(pid); i++)
        usleep(10 * 1000);
    ck_assert(!group_alive(pid));

    char *missing[] = { "/nonexistent/alys-no-such-program", NULL };
    ck_assert_ptr_null(harness_proc_spawn(missing, NULL));
    harness_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(test_shanghai_node)
{
    el_node_t *node = el_node_new(NULL);
    ck_assert_ptr_nonnull(node);
    ck_assert(path_exists(el_node_datadir(node)));
    ck_assert(path_exists(el_node_genesis_path(node)));
    ck_assert(path_exists(el_node_log_path(node)));
    ck_assert_uint_eq(el_node_chain_id(node), HARNESS_DEFAULT_CHAIN_ID);
    ck_assert_uint_eq(strlen(el_node_jwt_hex(node)), 64);

    json_t *id = call_ok(node, false, "eth_chainId", NULL);
    ck_assert_str_eq(json_string_value(id), "0x405d2");
    json_decref(id);
    check_capabilities(node, "engine_getPayloadV2");

    /* a wrong secret and a missing token are both refused with 401 */
    char *dir = harness_tmpdir("alys-harness-");
    char wrong[512];
    snprintf(wrong, sizeof wrong, "%s/wrong.hex", dir);
    FILE *f = fopen(wrong, "w");
    ck_assert_ptr_nonnull(f);
    fputs("0x1111111111111111111111111111111111111111111111111111111111111111\n", f);
    fclose(f);
    char err[512] = "";
    json_t *none = harness_rpc(el_node_engine_url(node), "engine_exchangeCapabilities",
                               json_pack("[[]]"), wrong, err, sizeof err);
    ck_assert_ptr_null(none);
    ck_assert_msg(strstr(err, "401") != NULL, "error was: %s", err);
    err[0] = '\0';
    none = harness_rpc(el_node_engine_url(node), "engine_exchangeCapabilities",
                       json_pack("[[]]"), NULL, err, sizeof err);
    ck_assert_ptr_null(none);
    ck_assert_msg(strstr(err, "401") != NULL, "error was: %s", err);
    harness_rmrf(dir);
    free(dir);

    /* a JSON-RPC error carries its code */
    err[0] = '\0';
    none = harness_rpc(el_node_rpc_url(node), "eth_noSuchMethod", NULL, NULL, err, sizeof err);
    ck_assert_ptr_null(none);
    ck_assert_msg(strstr(err, "-32601") != NULL, "error was: %s", err);

    /* null is a valid result */
    json_t *receipt = call_ok(node, false, "eth_getBlockByHash", json_pack("[s,b]", ZERO32, 0));
    ck_assert(json_is_null(receipt));
    json_decref(receipt);

    char *balance = balance_of(node, HARNESS_DEV_ADDR);
    ck_assert_str_eq(balance, HARNESS_DEV_BALANCE);
    free(balance);
    char hash[67] = "";
    ck_assert_msg(harness_send_raw_tx(el_node_rpc_url(node), BURN_ADDR, 12345, 0, hash,
                                      err, sizeof err) == 0, "send: %s", err);
    ck_assert_uint_eq(strlen(hash), 66);
    ck_assert(strncmp(hash, "0x", 2) == 0);
    build_block(node, 2, 1);
    json_t *tx = call_ok(node, false, "eth_getTransactionByHash", json_pack("[s]", hash));
    ck_assert_str_eq(json_string_value(json_object_get(tx, "blockNumber")), "0x1");
    json_decref(tx);

    destroy_and_check(&node);
}
END_TEST

START_TEST(test_cancun_node)
{
    const char *jwt = "0x0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef";
    el_node_opts_t opts = {
        .cancun = true,
        .jwt_hex = jwt,
        .chain_id = 1337,
        .extra_alloc_json = "{\"1000000000000000000000000000000000000001\": {\"balance\": \"0x2a\"}}",
    };
    el_node_t *node = el_node_new(&opts);
    ck_assert_ptr_nonnull(node);
    ck_assert_str_eq(el_node_jwt_hex(node), "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");

    json_t *id = call_ok(node, false, "eth_chainId", NULL);
    ck_assert_str_eq(json_string_value(id), "0x539");
    json_decref(id);
    check_capabilities(node, "engine_getPayloadV3");
    char *balance = balance_of(node, "0x1000000000000000000000000000000000000001");
    ck_assert_str_eq(balance, "0x2a");
    free(balance);

    json_t *genesis = call_ok(node, false, "eth_getBlockByNumber", json_pack("[s,b]", "0x0", 0));
    ck_assert_str_eq(json_string_value(json_object_get(genesis, "excessBlobGas")), "0x0");
    ck_assert_str_eq(json_string_value(json_object_get(genesis, "parentBeaconBlockRoot")), ZERO32);
    json_decref(genesis);

    char err[512] = "", hash[67] = "";
    harness_tx_t tx = { .to_hex = BURN_ADDR, .value_wei = 7, .nonce = 0, .chain_id = 1337 };
    ck_assert_msg(harness_send_tx(el_node_rpc_url(node), &tx, hash, err, sizeof err) == 0,
                  "send: %s", err);
    /* a second transaction with the node's chain id asked for */
    ck_assert_msg(harness_send_raw_tx(el_node_rpc_url(node), BURN_ADDR, 8, 1, hash,
                                      err, sizeof err) == 0, "send: %s", err);
    /* the wrong chain id is refused */
    tx.nonce = 2;
    tx.chain_id = 1338;
    ck_assert_int_eq(harness_send_tx(el_node_rpc_url(node), &tx, hash, err, sizeof err), -1);
    build_block(node, 3, 2);

    /* stop and start keep the chain, the ports and the secret */
    pid_t old_pid = el_node_pid(node);
    ck_assert_int_eq(el_node_stop(node), 0);
    ck_assert_int_eq(el_node_pid(node), -1);
    ck_assert_int_eq(el_node_stop(node), -1);
    errno = 0;
    ck_assert_int_eq(kill(old_pid, 0), -1);
    json_t *down = harness_rpc(el_node_rpc_url(node), "eth_chainId", NULL, NULL, err, sizeof err);
    ck_assert_ptr_null(down);
    ck_assert_int_eq(el_node_start(node), 0);
    ck_assert_int_eq(el_node_start(node), -1);
    ck_assert_uint_eq(block_number(node), 1);
    check_capabilities(node, "engine_newPayloadV3");
    build_block(node, 3, 0);

    /* a start whose RPC port is taken fails fast, and works once it is free */
    ck_assert_int_eq(el_node_stop(node), 0);
    int blocker = listen_on(el_node_rpc_port(node));
    int64_t started = clock_mono_ms();
    ck_assert_int_eq(el_node_start(node), -1);
    ck_assert_int_lt(clock_mono_ms() - started, 15000);
    ck_assert_int_eq(el_node_pid(node), -1);
    close(blocker);
    ck_assert_int_eq(el_node_start(node), 0);
    ck_assert_uint_eq(block_number(node), 2);

    destroy_and_check(&node);
}
END_TEST

START_TEST(test_prague_node)
{
    el_node_opts_t opts = { .prague = true };
    el_node_t *node = el_node_new(&opts);
    ck_assert_ptr_nonnull(node);
    check_capabilities(node, "engine_getPayloadV4");
    char err[512] = "", hash[67] = "";
    ck_assert_msg(harness_send_raw_tx(el_node_rpc_url(node), BURN_ADDR, 1, 0, hash,
                                      err, sizeof err) == 0, "send: %s", err);
    build_block(node, 4, 1);
    destroy_and_check(&node);
}
END_TEST

START_TEST(test_contract_creation)
{
    el_node_t *node = el_node_new(NULL);
    ck_assert_ptr_nonnull(node);
    /* init code that returns the one-byte runtime code 0x00 (STOP) */
    harness_tx_t tx = { .data_hex = "0x600060005360016000f3", .gas = 100000 };
    char err[512] = "", hash[67] = "";
    ck_assert_msg(harness_send_tx(el_node_rpc_url(node), &tx, hash, err, sizeof err) == 0,
                  "send: %s", err);
    build_block(node, 2, 1);
    /* the address of the dev account's first creation (nonce 0) */
    json_t *code = call_ok(node, false, "eth_getCode",
                           json_pack("[s,s]", "0x5FbDB2315678afecb367f032d93F642f64180aa3", "latest"));
    ck_assert_str_eq(json_string_value(code), "0x00");
    json_decref(code);
    destroy_and_check(&node);
}
END_TEST

static Suite *harness_suite(void)
{
    Suite *s = suite_create("harness");
    TCase *local = tcase_create("local");
    tcase_add_test(local, test_free_port_and_tmpdir);
    tcase_add_test(local, test_run_capture);
    tcase_add_test(local, test_proc);
    suite_add_tcase(s, local);

    TCase *el = tcase_create("execution client");
    tcase_set_timeout(el, 100);
    tcase_add_test(el, test_shanghai_node);
    tcase_add_test(el, test_cancun_node);
    tcase_add_test(el, test_prague_node);
    tcase_add_test(el, test_contract_creation);
    suite_add_tcase(s, el);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(harness_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
