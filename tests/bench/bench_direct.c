#include "bench_direct.h"

#include <curl/curl.h>
#include <jansson.h>
#include <jwt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hex.h"

struct bench_direct {
    CURL *easy;
    char *engine_url, *rpc_url;
    uint8_t secret[32];
    time_t auth_iat;
    char auth[512];
    char *resp;
    size_t resp_len, resp_cap;
    char *body;
    size_t body_cap;
    uint64_t next_id;
};

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *user)
{
    bench_direct_t *self = user;
    size_t n = size * nmemb;
    if (self->resp_len + n + 1 > self->resp_cap) {
        size_t cap = self->resp_cap ? self->resp_cap * 2 : 65536;
        while (cap < self->resp_len + n + 1)
            cap *= 2;
        char *p = realloc(self->resp, cap);
        if (!p)
            return 0;
        self->resp = p;
        self->resp_cap = cap;
    }
    memcpy(self->resp + self->resp_len, ptr, n);
    self->resp_len += n;
    self->resp[self->resp_len] = '\0';
    return n;
}

static int load_secret(const char *path, uint8_t secret[32])
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char text[160] = "";
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == ' ' || text[n - 1] == '\r'))
        text[--n] = '\0';
    return hex_decode_fixed(text, secret, 32);
}

/*  The Authorization header, re-signed when the second changes (as the
    actor does). */
static const char *auth_header(bench_direct_t *self)
{
    time_t now = time(NULL);
    if (now == self->auth_iat)
        return self->auth;
    jwt_t *jwt = NULL;
    char *token = NULL;
    if (jwt_new(&jwt) == 0 && jwt_set_alg(jwt, JWT_ALG_HS256, self->secret, 32) == 0
        && jwt_add_grant_int(jwt, "iat", (long) now) == 0)
        token = jwt_encode_str(jwt);
    jwt_free(jwt);
    snprintf(self->auth, sizeof self->auth, "Authorization: Bearer %s", token ? token : "");
    free(token);
    self->auth_iat = now;
    return self->auth;
}

bench_direct_t *bench_direct_new(const char *engine_url, const char *rpc_url, const char *jwt_path)
{
    bench_direct_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->easy = curl_easy_init();
    self->engine_url = strdup(engine_url);
    self->rpc_url = strdup(rpc_url);
    self->next_id = 1;
    if (!self->easy || !self->engine_url || !self->rpc_url || load_secret(jwt_path, self->secret) != 0) {
        bench_direct_destroy(&self);
        return NULL;
    }
    curl_easy_setopt(self->easy, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(self->easy, CURLOPT_WRITEDATA, self);
    curl_easy_setopt(self->easy, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(self->easy, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(self->easy, CURLOPT_NOSIGNAL, 1L);
    return self;
}

void bench_direct_destroy(bench_direct_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bench_direct_t *self = *self_p;
    if (self->easy)
        curl_easy_cleanup(self->easy);
    free(self->engine_url);
    free(self->rpc_url);
    free(self->resp);
    free(self->body);
    free(self);
    *self_p = NULL;
}

/*  POSTs {"jsonrpc","id","method","params": params_json} and returns the
    parsed response's result (a new reference), or NULL. */
static json_t *call(bench_direct_t *self, bool engine, const char *method, const char *params_json)
{
    size_t need = strlen(params_json) + strlen(method) + 96;
    if (need > self->body_cap) {
        char *p = realloc(self->body, need);
        if (!p)
            return NULL;
        self->body = p;
        self->body_cap = need;
    }
    int len = snprintf(self->body, self->body_cap,
                       "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"method\":\"%s\",\"params\":%s}",
                       (unsigned long long) self->next_id++, method, params_json);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    if (engine)
        h = curl_slist_append(h, auth_header(self));
    self->resp_len = 0;
    curl_easy_setopt(self->easy, CURLOPT_URL, engine ? self->engine_url : self->rpc_url);
    curl_easy_setopt(self->easy, CURLOPT_POSTFIELDS, self->body);
    curl_easy_setopt(self->easy, CURLOPT_POSTFIELDSIZE, (long) len);
    curl_easy_setopt(self->easy, CURLOPT_HTTPHEADER, h);
    CURLcode rc = curl_easy_perform(self->easy);
    curl_slist_free_all(h);
    long status = 0;
    curl_easy_getinfo(self->easy, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status != 200) {
        fprintf(stderr, "bench_direct: %s: %s, HTTP %ld\n", method, curl_easy_strerror(rc), status);
        return NULL;
    }
    json_t *doc = json_loadb(self->resp, self->resp_len, 0, NULL);
    json_t *result = json_incref(json_object_get(doc, "result"));
    if (!result)
        fprintf(stderr, "bench_direct: %s: %.300s\n", method, self->resp ? self->resp : "");
    json_decref(doc);
    return result;
}

static bool status_valid(json_t *status)
{
    const char *s = json_string_value(json_object_get(status, "status"));
    return s && strcmp(s, "VALID") == 0;
}

int bench_direct_cycle(bench_direct_t *self, const uint8_t head[32], const uint8_t safe[32],
                       const uint8_t finalized[32], uint64_t ts, uint8_t new_head[32])
{
    char h[67], s[67], f[67], params[1024];
    hex_encode(head, 32, h);
    hex_encode(safe, 32, s);
    hex_encode(finalized, 32, f);
    snprintf(params, sizeof params,
             "[{\"headBlockHash\":\"%s\",\"safeBlockHash\":\"%s\",\"finalizedBlockHash\":\"%s\"},"
             "{\"timestamp\":\"0x%llx\",\"prevRandao\":\"0x0000000000000000000000000000000000000000000000000000000000000000\","
             "\"suggestedFeeRecipient\":\"0x000000000000000000000000000000000000dead\",\"withdrawals\":[]}]",
             h, s, f, (unsigned long long) ts);
    json_t *r = call(self, true, "engine_forkchoiceUpdatedV2", params);
    const char *pid = json_string_value(json_object_get(r, "payloadId"));
    if (!r || !status_valid(json_object_get(r, "payloadStatus")) || !pid) {
        json_decref(r);
        return -1;
    }
    snprintf(params, sizeof params, "[\"%s\"]", pid);
    json_decref(r);
    r = call(self, true, "engine_getPayloadV2", params);
    json_t *payload = json_object_get(r, "executionPayload");
    const char *bh = json_string_value(json_object_get(payload, "blockHash"));
    if (!payload || !bh || hex_decode_fixed(bh, new_head, 32) != 0) {
        json_decref(r);
        return -1;
    }
    char *ptext = json_dumps(payload, JSON_COMPACT);
    json_decref(r);
    if (!ptext)
        return -1;
    size_t plen = strlen(ptext);
    char *np = malloc(plen + 3);
    if (!np) {
        free(ptext);
        return -1;
    }
    np[0] = '[';
    memcpy(np + 1, ptext, plen);
    np[plen + 1] = ']';
    np[plen + 2] = '\0';
    free(ptext);
    r = call(self, true, "engine_newPayloadV2", np);
    free(np);
    bool ok = status_valid(r);
    json_decref(r);
    if (!ok)
        return -1;
    hex_encode(new_head, 32, h);
    snprintf(params, sizeof params,
             "[{\"headBlockHash\":\"%s\",\"safeBlockHash\":\"%s\",\"finalizedBlockHash\":\"%s\"},null]",
             h, s, f);
    r = call(self, true, "engine_forkchoiceUpdatedV2", params);
    ok = r && status_valid(json_object_get(r, "payloadStatus"));
    json_decref(r);
    return ok ? 0 : -1;
}

int bench_direct_bare(bench_direct_t *self)
{
    json_t *r = call(self, false, "eth_chainId", "[]");
    int rc = r ? 0 : -1;
    json_decref(r);
    return rc;
}

int bench_direct_block_hash(bench_direct_t *self, const char *tag, uint8_t out[32])
{
    char params[64];
    snprintf(params, sizeof params, "[\"%s\",false]", tag);
    json_t *r = call(self, false, "eth_getBlockByNumber", params);
    int rc = hex_decode_fixed(json_string_value(json_object_get(r, "hash")), out, 32);
    json_decref(r);
    return rc;
}
