/*  libFuzzer target: from an ExecutionPayload (JSON, as the execution client
    or a peer's commit_block gives it) to its block hash: the RLP header, the
    transactions and withdrawals tries, the requests hash, and the field
    checks. The first byte picks the fork rules (0 Shanghai, 1 Cancun,
    2 Prague) and whether a parent beacon block root is given.

    Properties: no crash, no leak; computing the hash twice gives the same
    hash; block_hash_verify agrees with block_hash_compute. */
#include <jansson.h>

#include "block_hash.h"
#include "el_json.h"
#include "fuzz_util.h"
#include "proto.h"
#include "trie.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    json_error_t jerr;
    json_t *doc = json_loadb((const char *) data + 1, size - 1, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc)
        return 0;
    proto_payload_t p = {0};
    char err[256];
    if (el_json_decode(&proto_payload_schema, doc, &p, err, sizeof err) != 0) {
        json_decref(doc);
        return 0;
    }
    block_hash_extra_t extra = {0};
    extra.fork = data[0] % 4;
    memset(extra.parent_beacon_block_root, data[0], 32);
    /* Prague's requests: the first bytes of the input as one request, or
       a requests hash given outright */
    proto_data_t req = {.data = (uint8_t *) data, .len = size > 8 ? 8 : size};
    if (data[0] & 0x20) {
        extra.requests = &req;
        extra.n_requests = 1;
    } else if (data[0] & 0x40) {
        extra.has_requests_hash = true;
        memset(extra.requests_hash, 0x5a, 32);
    }
    uint8_t h1[32], h2[32];
    int rc1 = block_hash_compute(&p, &extra, h1);
    int rc2 = block_hash_compute(&p, &extra, h2);
    if (rc1 != rc2 || (rc1 == 0 && memcmp(h1, h2, 32) != 0))
        fuzz_die("fuzz_block_hash", "the hash is not deterministic", NULL);
    char why[256];
    int verified = block_hash_verify(&p, &extra, why, sizeof why);
    if (rc1 == 0 && (verified == 0) != (memcmp(h1, p.block_hash, 32) == 0))
        fuzz_die("fuzz_block_hash", "verify disagrees with compute", why);
    (void) payload_check_fields(&p, extra.fork, why, sizeof why);
    uint8_t root[32];
    (void) block_transactions_root(&p, root);
    (void) block_withdrawals_root(&p, root);
    (void) block_requests_hash(p.transactions, p.n_transactions, root, why, sizeof why);
    proto_free(&proto_payload_schema, &p);
    json_decref(doc);
    return 0;
}
