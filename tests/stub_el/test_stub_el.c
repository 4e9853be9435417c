/*  The stub execution client on its own, over HTTP: authentication, a
    consistent chain through build, commit and reads, batches, each fault
    flag, delays that do not hold up other connections, and the connection
    counter that the keep-alive test relies on. */
#include <check.h>
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "harness.h"
#include "jwt_file.h"
#include "stub_proc.h"

static char *s_dir;
static char s_jwt[512];
static char s_log[512];

/* ------------------------------------------------------------- helpers */

typedef struct {
    char *data;
    size_t len;
} buf_t;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *user)
{
    buf_t *b = user;
    size_t n = size * nmemb;
    char *p = realloc(b->data, b->len + n + 1);
    if (!p)
        return 0;
    memcpy(p + b->len, ptr, n);
    b->data = p;
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/*  "Authorization: Bearer ..." for secret bytes fill.. with the given iat. */
static char *auth_header(uint8_t fill, long iat)
{
    uint8_t key[32];
    jwt_file_key_fill(key, fill);
    char *token = jwt_file_token(key, iat), *header = NULL;
    if (token && asprintf(&header, "Authorization: Bearer %s", token) < 0)
        header = NULL;
    free(token);
    return header;
}

/*  POSTs body; returns the HTTP status and the response body in *out. */
static long post(const char *url, const char *body, const char *auth, char **out)
{
    CURL *c = curl_easy_init();
    buf_t b = {0};
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (auth)
        h = curl_slist_append(h, auth);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (out)
        *out = b.data ? b.data : strdup("");
    else
        free(b.data);
    return status;
}

/*  Calls method with a valid token and returns the whole response object. */
static json_t *call_raw(stub_proc_t *stub, const char *method, json_t *params)
{
    json_t *req = json_pack("{s:s,s:i,s:s,s:o}", "jsonrpc", "2.0", "id", 7, "method", method,
                            "params", params ? params : json_array());
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    char *auth = auth_header(0x10, (long) time(NULL));
    char *out = NULL;
    long status = post(stub_proc_url(stub), body, auth, &out);
    ck_assert_msg(status == 200, "%s: HTTP %ld: %s", method, status, out);
    json_t *doc = json_loads(out, 0, NULL);
    ck_assert_msg(doc != NULL, "%s: not JSON: %s", method, out);
    free(body);
    free(auth);
    free(out);
    return doc;
}

/*  Calls method and returns its result (asserting there is no error). */
static json_t *call(stub_proc_t *stub, const char *method, json_t *params)
{
    char err[256];
    json_t *r = harness_rpc(stub_proc_url(stub), method, params, s_jwt, err, sizeof err);
    ck_assert_msg(r != NULL, "%s: %s", method, err);
    return r;
}

static stub_proc_t *start(const char *const *extra)
{
    stub_proc_t *s = stub_proc_start(s_jwt, 0, extra, s_log);
    ck_assert_ptr_nonnull(s);
    return s;
}

static const char *str(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    ck_assert_msg(s != NULL, "missing %s", key);
    return s;
}

static json_t *fcu_state(const char *head, const char *safe, const char *fin)
{
    return json_pack("{s:s,s:s,s:s}", "headBlockHash", head, "safeBlockHash", safe,
                     "finalizedBlockHash", fin);
}

static const char *const s_zero =
    "0x0000000000000000000000000000000000000000000000000000000000000000";

/*  Builds and commits one block on head with one withdrawal; returns the
    new block's hash (caller frees). */
static char *build_commit(stub_proc_t *stub, const char *head, uint64_t ts)
{
    char tsx[24];
    snprintf(tsx, sizeof tsx, "0x%llx", (unsigned long long) ts);
    json_t *attrs = json_pack("{s:s,s:s,s:s,s:[{s:s,s:s,s:s,s:s}]}", "timestamp", tsx,
                              "prevRandao", s_zero, "suggestedFeeRecipient",
                              "0x000000000000000000000000000000000000dead", "withdrawals", "index",
                              "0x0", "validatorIndex", "0x0", "address",
                              "0x1100000000000000000000000000000000000001", "amount", "0x64");
    json_t *r = call(stub, "engine_forkchoiceUpdatedV2",
                     json_pack("[o,o]", fcu_state(head, s_zero, s_zero), attrs));
    json_t *ps = json_object_get(r, "payloadStatus");
    ck_assert_str_eq(str(ps, "status"), "VALID");
    ck_assert_str_eq(str(ps, "latestValidHash"), head);
    char pid[32];
    snprintf(pid, sizeof pid, "%s", str(r, "payloadId"));
    json_decref(r);

    r = call(stub, "engine_getPayloadV2", json_pack("[s]", pid));
    json_t *p = json_object_get(r, "executionPayload");
    ck_assert_str_eq(str(p, "parentHash"), head);
    ck_assert_str_eq(str(p, "timestamp"), tsx);
    ck_assert_int_eq(json_array_size(json_object_get(p, "withdrawals")), 1);
    char *hash = strdup(str(p, "blockHash"));
    json_t *np = call(stub, "engine_newPayloadV2", json_pack("[O]", p));
    ck_assert_str_eq(str(np, "status"), "VALID");
    ck_assert_str_eq(str(np, "latestValidHash"), hash);
    json_decref(np);
    json_decref(r);

    r = call(stub, "engine_forkchoiceUpdatedV2", json_pack("[o,n]", fcu_state(hash, s_zero, s_zero)));
    ck_assert_str_eq(str(json_object_get(r, "payloadStatus"), "status"), "VALID");
    ck_assert(json_is_null(json_object_get(r, "payloadId")));
    json_decref(r);
    return hash;
}

/* ---------------------------------------------------------------- tests */

START_TEST(test_auth)
{
    stub_proc_t *stub = start(NULL);
    const char *body = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"engine_exchangeCapabilities\",\"params\":[[]]}";
    char *out = NULL;
    ck_assert_int_eq(post(stub_proc_url(stub), body, NULL, &out), 401);
    free(out);
    char *wrong = auth_header(0x55, (long) time(NULL));
    ck_assert_int_eq(post(stub_proc_url(stub), body, wrong, NULL), 401);
    free(wrong);
    char *stale = auth_header(0x10, (long) time(NULL) - 120);
    ck_assert_int_eq(post(stub_proc_url(stub), body, stale, &out), 401);
    ck_assert_ptr_nonnull(strstr(out, "stale"));
    free(out);
    free(stale);
    char *good = auth_header(0x10, (long) time(NULL));
    ck_assert_int_eq(post(stub_proc_url(stub), body, good, NULL), 200);
    free(good);
    /* public methods need no token */
    json_t *v = harness_rpc(stub_proc_url(stub), "eth_syncing", NULL, NULL, NULL, 0);
    ck_assert(json_is_false(v));
    json_decref(v);
    /* a batch with one engine_ member needs one */
    const char *batch = "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_syncing\"},"
                        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"engine_getClientVersionV1\",\"params\":[]}]";
    ck_assert_int_eq(post(stub_proc_url(stub), batch, NULL, NULL), 401);
    ck_assert_int_eq(stub_proc_stat(stub, "unauthorized"), 4);
    stub_proc_destroy(&stub);
}
END_TEST

START_TEST(test_chain)
{
    stub_proc_t *stub = start(NULL);
    json_t *g = call(stub, "eth_getBlockByNumber", json_pack("[s,b]", "latest", 0));
    ck_assert_str_eq(str(g, "number"), "0x0");
    char *genesis = strdup(str(g, "hash"));
    json_decref(g);

    char *h1 = build_commit(stub, genesis, 100);
    char *h2 = build_commit(stub, h1, 102);
    json_t *b = call(stub, "eth_getBlockByNumber", json_pack("[s,b]", "latest", 0));
    ck_assert_str_eq(str(b, "hash"), h2);
    ck_assert_str_eq(str(b, "parentHash"), h1);
    ck_assert_str_eq(str(b, "number"), "0x2");
    ck_assert_str_eq(str(b, "timestamp"), "0x66");
    json_decref(b);
    b = call(stub, "eth_getBlockByHash", json_pack("[s,b]", h1, 0));
    ck_assert_str_eq(str(b, "number"), "0x1");
    ck_assert_int_eq(json_array_size(json_object_get(b, "withdrawals")), 1);
    json_decref(b);
    b = call(stub, "eth_getBlockByNumber", json_pack("[s,b]", "0x1", 1));
    ck_assert_str_eq(str(b, "hash"), h1);
    json_decref(b);
    b = call(stub, "eth_getBlockByNumber", json_pack("[s,b]", "earliest", 0));
    ck_assert_str_eq(str(b, "hash"), genesis);
    json_decref(b);
    b = call(stub, "eth_getBlockByNumber", json_pack("[s,b]", "0x9", 0));
    ck_assert(json_is_null(b));
    json_decref(b);
    b = call(stub, "eth_getBlockByHash", json_pack("[s,b]", s_zero, 0));
    ck_assert(json_is_null(b));
    json_decref(b);

    /* finalize block 1, then a fork choice that contradicts it */
    json_t *r = call(stub, "engine_forkchoiceUpdatedV2", json_pack("[o]", fcu_state(h2, h1, h1)));
    ck_assert_str_eq(str(json_object_get(r, "payloadStatus"), "status"), "VALID");
    json_decref(r);
    b = call(stub, "eth_getBlockByNumber", json_pack("[s,b]", "finalized", 0));
    ck_assert_str_eq(str(b, "hash"), h1);
    json_decref(b);
    r = call_raw(stub, "engine_forkchoiceUpdatedV2", json_pack("[o]", fcu_state(h1, h2, h2)));
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r, "error"), "code")), -38002);
    json_decref(r);
    /* an unknown head: SYNCING, no build */
    r = call(stub, "engine_forkchoiceUpdatedV2",
             json_pack("[o]", fcu_state("0x4242424242424242424242424242424242424242424242424242424242424242",
                                        s_zero, s_zero)));
    ck_assert_str_eq(str(json_object_get(r, "payloadStatus"), "status"), "SYNCING");
    json_decref(r);

    /* a tampered payload fails its hash check, whichever field changed */
    r = call(stub, "engine_forkchoiceUpdatedV2",
             json_pack("[o,{s:s,s:s,s:s,s:[]}]", fcu_state(h2, s_zero, s_zero), "timestamp", "0x70",
                       "prevRandao", s_zero, "suggestedFeeRecipient",
                       "0x000000000000000000000000000000000000dead", "withdrawals"));
    json_t *p = call(stub, "engine_getPayloadV2", json_pack("[O]", json_object_get(r, "payloadId")));
    json_decref(r);
    json_t *payload = json_object_get(p, "executionPayload");
    ck_assert_str_eq(str(payload, "blockNumber"), "0x3");
    json_t *tampered = json_deep_copy(payload);
    json_object_set_new(tampered, "gasUsed", json_string("0x1"));
    r = call(stub, "engine_newPayloadV2", json_pack("[o]", tampered));
    ck_assert_str_eq(str(r, "status"), "INVALID");
    json_decref(r);
    json_t *orphan = json_deep_copy(payload);
    json_object_set_new(orphan, "parentHash",
                        json_string("0x4242424242424242424242424242424242424242424242424242424242424242"));
    r = call(stub, "engine_newPayloadV2", json_pack("[o]", orphan));
    ck_assert_str_eq(str(r, "status"), "INVALID");
    json_decref(r);
    json_decref(p);

    /* bodies, receipts, logs, versions */
    r = call(stub, "engine_getPayloadBodiesByHashV1", json_pack("[[s,s]]", h1, s_zero));
    ck_assert_int_eq(json_array_size(r), 2);
    ck_assert_int_eq(json_array_size(json_object_get(json_array_get(r, 0), "withdrawals")), 1);
    ck_assert(json_is_null(json_array_get(r, 1)));
    json_decref(r);
    r = call(stub, "eth_getTransactionReceipt", json_pack("[s]", s_zero));
    ck_assert(json_is_null(r));
    json_decref(r);
    r = call(stub, "eth_getLogs", json_pack("[{}]"));
    ck_assert(json_is_array(r) && json_array_size(r) == 0);
    json_decref(r);
    r = call(stub, "engine_getClientVersionV1", json_pack("[{}]"));
    ck_assert_str_eq(str(json_array_get(r, 0), "code"), "ST");
    json_decref(r);
    r = call(stub, "web3_clientVersion", NULL);
    ck_assert(json_is_string(r));
    json_decref(r);
    r = call(stub, "engine_exchangeCapabilities", json_pack("[[s]]", "engine_newPayloadV2"));
    ck_assert_int_gt(json_array_size(r), 4);
    json_decref(r);
    r = call_raw(stub, "eth_noSuchMethod", NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r, "error"), "code")), -32601);
    json_decref(r);
    free(genesis);
    free(h1);
    free(h2);
    stub_proc_destroy(&stub);
}
END_TEST

START_TEST(test_batch_and_v3)
{
    stub_proc_t *stub = start(NULL);
    const char *batch = "[{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"eth_getBlockByNumber\",\"params\":[\"latest\",false]},"
                        "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"eth_getBlockByNumber\",\"params\":[\"safe\",false]},"
                        "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"eth_syncing\"}]";
    char *out = NULL;
    ck_assert_int_eq(post(stub_proc_url(stub), batch, NULL, &out), 200);
    json_t *doc = json_loads(out, 0, NULL);
    free(out);
    ck_assert(json_is_array(doc) && json_array_size(doc) == 3);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(doc, 0), "id")), 5);
    ck_assert(json_is_false(json_object_get(json_array_get(doc, 2), "result")));
    const char *genesis = str(json_object_get(json_array_get(doc, 0), "result"), "hash");

    /* Cancun: V3 attributes need the beacon root; V2 cannot fetch a V3 build */
    json_t *r = call(stub, "engine_forkchoiceUpdatedV3",
                     json_pack("[o,{s:s,s:s,s:s,s:[],s:s}]", fcu_state(genesis, s_zero, s_zero),
                               "timestamp", "0x10", "prevRandao", s_zero, "suggestedFeeRecipient",
                               "0x000000000000000000000000000000000000dead", "withdrawals",
                               "parentBeaconBlockRoot", s_zero));
    json_t *pid = json_incref(json_object_get(r, "payloadId"));
    json_decref(r);
    r = call_raw(stub, "engine_getPayloadV2", json_pack("[O]", pid));
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r, "error"), "code")), -38005);
    json_decref(r);
    r = call(stub, "engine_getPayloadV3", json_pack("[o]", pid));
    json_t *p = json_object_get(r, "executionPayload");
    ck_assert_str_eq(str(p, "blobGasUsed"), "0x0");
    ck_assert_ptr_nonnull(json_object_get(r, "blobsBundle"));
    json_t *np = call(stub, "engine_newPayloadV3", json_pack("[O,[],s]", p, s_zero));
    ck_assert_str_eq(str(np, "status"), "VALID");
    json_decref(np);
    json_decref(r);
    json_decref(doc);
    stub_proc_destroy(&stub);
}
END_TEST

START_TEST(test_faults)
{
    const char *const flags[] = {"--rpc-error", "eth_chainId:-32000",
                                 "--http-status", "web3_clientVersion:500",
                                 "--malformed", "eth_syncing",
                                 "--status", "engine_newPayload*:SYNCING",
                                 "--null-payload-id",
                                 NULL};
    stub_proc_t *stub = start(flags);
    char err[256];
    json_t *r = harness_rpc(stub_proc_url(stub), "eth_chainId", NULL, NULL, err, sizeof err);
    ck_assert_ptr_null(r);
    ck_assert_ptr_nonnull(strstr(err, "-32000"));
    r = harness_rpc(stub_proc_url(stub), "web3_clientVersion", NULL, NULL, err, sizeof err);
    ck_assert_ptr_null(r);
    ck_assert_ptr_nonnull(strstr(err, "500"));
    char *out = NULL;
    ck_assert_int_eq(post(stub_proc_url(stub),
                          "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_syncing\"}", NULL, &out),
                     200);
    json_t *doc = json_loads(out, 0, NULL);
    ck_assert_ptr_null(doc);
    free(out);

    json_t *g = call(stub, "eth_getBlockByNumber", json_pack("[s,b]", "latest", 0));
    r = call(stub, "engine_forkchoiceUpdatedV2",
             json_pack("[o,{s:s,s:s,s:s,s:[]}]", fcu_state(str(g, "hash"), s_zero, s_zero),
                       "timestamp", "0x10", "prevRandao", s_zero, "suggestedFeeRecipient",
                       "0x000000000000000000000000000000000000dead", "withdrawals"));
    ck_assert_str_eq(str(json_object_get(r, "payloadStatus"), "status"), "VALID");
    ck_assert(json_is_null(json_object_get(r, "payloadId")));
    json_decref(r);
    /* the forced status answers before any check of the payload's contents */
    r = call(stub, "engine_newPayloadV2",
             json_pack("[{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:[],s:[]}]",
                       "parentHash", str(g, "hash"), "feeRecipient",
                       "0x000000000000000000000000000000000000dead", "stateRoot", s_zero,
                       "receiptsRoot", s_zero, "logsBloom", str(g, "logsBloom"), "prevRandao",
                       s_zero, "blockNumber", "0x1", "gasLimit", "0x1c9c380", "gasUsed", "0x0",
                       "timestamp", "0x10", "extraData", "0x", "baseFeePerGas", "0x7",
                       "blockHash", s_zero, "transactions", "withdrawals"));
    ck_assert_str_eq(str(r, "status"), "SYNCING");
    json_decref(r);
    json_decref(g);
    stub_proc_destroy(&stub);
}
END_TEST

typedef struct {
    const char *url;
    int64_t took_ms;
} slow_call_t;

static void *slow_main(void *arg)
{
    slow_call_t *s = arg;
    int64_t t0 = clock_mono_ms();
    json_t *r = harness_rpc(s->url, "eth_blockNumber", NULL, NULL, NULL, 0);
    s->took_ms = clock_mono_ms() - t0;
    json_decref(r);
    return NULL;
}

START_TEST(test_delay_does_not_block_others)
{
    const char *const flags[] = {"--delay", "eth_blockNumber:1500", NULL};
    stub_proc_t *stub = start(flags);
    slow_call_t slow = {.url = stub_proc_url(stub)};
    pthread_t th;
    pthread_create(&th, NULL, slow_main, &slow);
    struct timespec ts = {0, 200 * 1000000L};
    nanosleep(&ts, NULL);
    int64_t t0 = clock_mono_ms();
    json_t *r = call(stub, "eth_syncing", NULL);
    int64_t fast = clock_mono_ms() - t0;
    json_decref(r);
    pthread_join(th, NULL);
    ck_assert_msg(fast < 200, "an undelayed call took %lld ms", (long long) fast);
    ck_assert_msg(slow.took_ms >= 1400, "the delayed call took only %lld ms", (long long) slow.took_ms);
    /* a stop does not wait for a delay to run out */
    const char *const long_delay[] = {"--delay", "*:60000", NULL};
    stub_proc_t *stub2 = start(long_delay);
    slow_call_t stuck = {.url = stub_proc_url(stub2)};
    pthread_create(&th, NULL, slow_main, &stuck);
    nanosleep(&ts, NULL);
    t0 = clock_mono_ms();
    stub_proc_destroy(&stub2);
    ck_assert_int_lt(clock_mono_ms() - t0, 1500);
    pthread_join(th, NULL);
    stub_proc_destroy(&stub);
}
END_TEST

START_TEST(test_connection_count)
{
    stub_proc_t *stub = start(NULL);
    CURL *c = curl_easy_init();
    for (int i = 0; i < 50; i++) {
        buf_t b = {0};
        struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_URL, stub_proc_url(stub));
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_chainId\"}");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
        ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
        curl_slist_free_all(h);
        free(b.data);
    }
    curl_easy_cleanup(c);
    /* 50 requests on one connection, plus the connection of this query */
    ck_assert_int_eq(stub_proc_stat(stub, "connections"), 2);
    /* 50, the query above and this one */
    ck_assert_int_eq(stub_proc_stat(stub, "http_requests"), 52);
    stub_proc_destroy(&stub);
}
END_TEST

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    s_dir = harness_tmpdir("alys-stub-el-");
    snprintf(s_jwt, sizeof s_jwt, "%s/jwt.hex", s_dir);
    snprintf(s_log, sizeof s_log, "%s/stub.log", s_dir);
    if (!s_dir || jwt_file_write_fill(s_jwt, 0x10) != 0) {
        fprintf(stderr, "cannot prepare %s\n", s_dir ? s_dir : "a temporary directory");
        return 1;
    }
    Suite *s = suite_create("stub_el");
    TCase *tc = tcase_create("over HTTP");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_auth);
    tcase_add_test(tc, test_chain);
    tcase_add_test(tc, test_batch_and_v3);
    tcase_add_test(tc, test_faults);
    tcase_add_test(tc, test_delay_does_not_block_others);
    tcase_add_test(tc, test_connection_count);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (!getenv("ALYS_KEEP_TEST_DIRS"))
        harness_rmrf(s_dir);
    free(s_dir);
    curl_global_cleanup();
    return failed ? 1 : 0;
}
