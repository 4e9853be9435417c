/*  proto: the engine actor's wire contract (PROTOCOL.md) as C types and a
    msgpack codec. This is the only module that knows the msgpack field names.

    Messages are described by schemas: tables of fields with a wire name, a
    type and where the value lives in a C struct. One generic decoder and one
    generic encoder walk them, so every message of the contract is encoded and
    validated the same way. Decoded values are owned by the struct
    (proto_free releases them); nothing points into the received frame. */
#ifndef ALYS_PROTO_H
#define ALYS_PROTO_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION 1
#define PROTO_MAX_FRAME_DEFAULT (4u * 1024 * 1024)
#define PROTO_MAX_DEPTH 12
#define PROTO_ERR_LEN 192

/* ------------------------------------------------------------------ errors */

typedef enum {
    PROTO_OK = 0,
    PROTO_BAD_REQUEST,
    PROTO_UNKNOWN_OP,
    PROTO_UNSUPPORTED_VERSION,
    PROTO_EL_UNAVAILABLE,
    PROTO_EL_TIMEOUT,
    PROTO_EL_AUTH_FAILED,
    PROTO_EL_ERROR,
    PROTO_EL_SYNCING,
    PROTO_INVALID_FORKCHOICE,
    PROTO_INVALID_PAYLOAD,
    PROTO_PAYLOAD_ID_UNAVAILABLE,
    PROTO_BLOCK_NOT_FOUND,
    PROTO_FINALIZED_CONFLICT,
    PROTO_OVERLOADED,
    PROTO_SHUTTING_DOWN,
    PROTO_INTERNAL,
    PROTO_ERR_COUNT
} proto_err_t;

/*  "BAD_REQUEST" etc.; never NULL. */
const char *proto_err_name(proto_err_t err);
bool proto_err_retryable(proto_err_t err);
/*  Returns PROTO_ERR_COUNT for an unknown name. */
proto_err_t proto_err_from_name(const char *name);

/* ------------------------------------------------------------ value types */

typedef struct { uint8_t *data; size_t len; } proto_data_t;

typedef enum { PROTO_SEL_NONE = 0, PROTO_SEL_HASH, PROTO_SEL_NUMBER, PROTO_SEL_TAG } proto_sel_kind_t;

/*  BlockSelector: Hash32, Quantity, or one of the tags. */
typedef struct {
    proto_sel_kind_t kind;
    uint8_t hash[32];
    uint64_t number;
    char tag[12];
} proto_selector_t;

typedef struct {
    uint64_t index;
    uint64_t validator_index;
    uint8_t address[20];
    uint64_t amount; /* gwei */
} proto_withdrawal_t;

typedef struct {
    uint8_t parent_hash[32];
    uint8_t fee_recipient[20];
    uint8_t state_root[32];
    uint8_t receipts_root[32];
    uint8_t logs_bloom[256];
    uint8_t prev_randao[32];
    uint64_t block_number;
    uint64_t gas_limit;
    uint64_t gas_used;
    uint64_t timestamp;
    proto_data_t extra_data;
    uint8_t base_fee_per_gas[32];
    uint8_t block_hash[32];
    size_t n_transactions;
    proto_data_t *transactions;
    size_t n_withdrawals;
    proto_withdrawal_t *withdrawals;
    bool has_blob_gas_used;
    uint64_t blob_gas_used;
    bool has_excess_blob_gas;
    uint64_t excess_blob_gas;
} proto_payload_t;

typedef struct {
    uint8_t hash[32];
    uint8_t from[20];
    bool has_to; /* false: contract creation, encoded as nil */
    uint8_t to[20];
    uint64_t nonce;
    uint8_t value[32];
    proto_data_t input;
    proto_data_t raw;
} proto_tx_t;

typedef struct {
    uint8_t hash[32];
    uint8_t parent_hash[32];
    uint64_t number;
    uint64_t timestamp;
    uint64_t gas_limit;
    uint64_t gas_used;
    uint8_t base_fee_per_gas[32];
    uint8_t fee_recipient[20];
    uint8_t state_root[32];
    uint8_t receipts_root[32];
    uint8_t logs_bloom[256];
    proto_data_t extra_data;
    uint8_t prev_randao[32];
    size_t n_withdrawals;
    proto_withdrawal_t *withdrawals;
    /*  Either hashes only (full_transactions false: only tx.hash is encoded)
        or full Transaction maps. */
    bool full_transactions;
    size_t n_transactions;
    proto_tx_t *transactions;
} proto_block_t;

typedef struct {
    uint8_t address[20];
    size_t n_topics;
    uint8_t (*topics)[32];
    proto_data_t data;
    uint64_t block_number;
    uint8_t block_hash[32];
    uint8_t transaction_hash[32];
    uint64_t transaction_index;
    uint64_t log_index;
    bool removed;
} proto_log_t;

typedef struct {
    uint8_t transaction_hash[32];
    uint8_t block_hash[32];
    uint64_t block_number;
    uint64_t transaction_index;
    uint64_t status;
    uint64_t gas_used;
    uint64_t cumulative_gas_used;
    bool has_contract_address; /* false: encoded as nil */
    uint8_t contract_address[20];
    size_t n_logs;
    proto_log_t *logs;
} proto_receipt_t;

/*  One position of a log filter: any (nil), one hash, or alternatives. */
typedef struct {
    bool any;
    size_t n;
    uint8_t (*hashes)[32];
} proto_topic_t;

/* ------------------------------------------------------ op args and results */

typedef struct {
    uint64_t protocol;
    char *version;
    uint64_t uptime_ms;
    uint64_t pid;
} proto_ping_result_t;

typedef struct {
    char *code;
    char *name;
    char *version;
} proto_client_t;

typedef struct {
    bool has_head, has_safe, has_finalized; /* false: nil (not known yet) */
    uint8_t head[32], safe[32], finalized[32];
} proto_forkchoice_t;

typedef struct {
    char *state; /* unknown, synced, syncing, offline, auth_failed */
    bool has_client;
    proto_client_t client;
    char *endpoint;
} proto_el_status_t;

/*  Counters of the actor itself (an addition to the contract's status). */
typedef struct {
    uint64_t requests;
    uint64_t mutations_queued;
    uint64_t queries_in_flight;
    uint64_t el_calls;
    uint64_t el_failures;
    uint64_t el_connections_opened;
    uint64_t dropped_envelopes;
    uint64_t unroutable_replies;
    uint64_t block_cache_hits, block_cache_misses, block_cache_entries;
    uint64_t payload_cache_hits, payload_cache_misses, payload_cache_entries;
} proto_actor_stats_t;

typedef struct {
    proto_el_status_t el;
    proto_forkchoice_t forkchoice;
    bool has_actor;
    proto_actor_stats_t actor;
    bool has_fork;
    char *fork; /* the fork in force now: shanghai, cancun or prague */
} proto_status_result_t;

typedef struct {
    uint64_t timestamp;
    bool has_parent;
    uint8_t parent[32];
    size_t n_withdrawals;
    proto_withdrawal_t *withdrawals;
    bool has_fee_recipient;
    uint8_t fee_recipient[20];
    bool has_prev_randao;
    uint8_t prev_randao[32];
    bool has_parent_beacon_block_root;
    uint8_t parent_beacon_block_root[32];
} proto_build_block_args_t;

typedef struct {
    proto_payload_t payload;
    uint8_t payload_id[8];
    uint8_t block_value[32];
    /*  Prague on: the EIP-7685 requests that go with the payload (an addition
        to the contract; empty before Prague). */
    size_t n_execution_requests;
    proto_data_t *execution_requests;
} proto_build_block_result_t;

/*  commit_block, validate_payload. The fields after `payload` are additions to
    the contract for Cancun and Prague payloads: the parent beacon block root
    and blob versioned hashes of engine_newPayloadV3, the execution requests of
    V4. A payload this actor built needs none of them: they are remembered. */
typedef struct {
    proto_payload_t payload;
    bool has_parent_beacon_block_root;
    uint8_t parent_beacon_block_root[32];
    size_t n_versioned_hashes;
    uint8_t (*versioned_hashes)[32];
    bool has_execution_requests;
    size_t n_execution_requests;
    proto_data_t *execution_requests;
} proto_payload_args_t;
typedef struct { uint8_t block_hash[32]; } proto_block_hash_t;   /* commit result, finalize/revert args */
typedef struct { char *status; } proto_status_only_t;            /* validate_payload result */

typedef struct {
    uint8_t head[32], safe[32], finalized[32];
} proto_fc_hashes_t; /* finalize_block result */

typedef struct { uint8_t head[32]; } proto_revert_result_t;

typedef struct {
    uint8_t head[32];
    bool has_safe, has_finalized;
    uint8_t safe[32], finalized[32];
} proto_update_fc_args_t;

typedef struct {
    char *status;
    uint8_t head[32], safe[32], finalized[32];
} proto_update_fc_result_t;

typedef struct {
    proto_selector_t block;
    bool full_transactions;
} proto_get_block_args_t;

typedef struct { proto_block_t block; } proto_get_block_result_t;

typedef struct {
    proto_selector_t from_block; /* kind NONE when absent */
    proto_selector_t to_block;
    bool has_block_hash;
    uint8_t block_hash[32];
    size_t n_address;
    uint8_t (*address)[20];
    size_t n_topics;
    proto_topic_t *topics;
} proto_get_logs_args_t;

typedef struct {
    size_t n_logs;
    proto_log_t *logs;
} proto_get_logs_result_t;

typedef struct {
    bool syncing;
    bool has_progress;
    uint64_t starting_block, current_block, highest_block;
} proto_sync_status_t;

typedef struct { uint8_t tx_hash[32]; } proto_tx_hash_args_t;

typedef struct {
    bool has_receipt; /* false: nil */
    proto_receipt_t receipt;
} proto_receipt_result_t;

typedef struct { proto_selector_t block; } proto_block_sel_args_t; /* get_block_with_receipts, get_payload */

typedef struct {
    proto_block_t block;
    size_t n_receipts;
    proto_receipt_t *receipts;
} proto_block_receipts_result_t;

typedef struct { proto_payload_t payload; } proto_get_payload_result_t;

/* ----------------------------------------------------------------- schemas */

typedef enum {
    PF_HASH32,     /* uint8_t[32], bin 32 */
    PF_ADDRESS,    /* uint8_t[20], bin 20 */
    PF_PAYLOAD_ID, /* uint8_t[8], bin 8 */
    PF_U256,       /* uint8_t[32] big-endian, bin 32 */
    PF_BLOOM,      /* uint8_t[256], bin 256 */
    PF_QUANTITY,   /* uint64_t, positive int */
    PF_BOOL,       /* bool */
    PF_STR,        /* char *, NUL-terminated copy */
    PF_DATA,       /* proto_data_t, bin; max_len 0 = unbounded */
    PF_SELECTOR,   /* proto_selector_t */
    PF_STRUCT,     /* nested map, sub schema, stored inline */
    PF_ARRAY,      /* array of elem schema (or of a scalar elem_type) */
    PF_TOPICS,     /* proto_topic_t array (log filter) */
    PF_TXLIST      /* proto_block_t transactions: hashes or full maps */
} proto_ftype_t;

/*  Field flags.
    OPTIONAL: may be absent or nil; `has_off` points at a bool set on decode
              and read on encode (absent when false).
    NULLABLE: always encoded; nil when the bool at `has_off` is false.
    DEFAULTED: may be absent or nil (zero, empty); always encoded; no flag. */
enum { PF_REQUIRED = 0, PF_OPTIONAL = 1, PF_NULLABLE = 2, PF_DEFAULTED = 4 };

typedef struct proto_schema proto_schema_t;

typedef struct {
    const char *key;        /* msgpack key */
    const char *json_key;   /* the Engine API / JSON-RPC name, NULL if none */
    proto_ftype_t type;
    size_t off;             /* offset of the value in the struct */
    int flags;
    size_t has_off;         /* offset of the presence bool (OPTIONAL/NULLABLE) */
    const proto_schema_t *sub; /* PF_STRUCT, PF_ARRAY of maps */
    proto_ftype_t elem_type;   /* PF_ARRAY: element type */
    size_t count_off;          /* PF_ARRAY: offset of the size_t count */
    size_t max_len;            /* PF_DATA: byte limit; PF_ARRAY: item limit */
} proto_field_t;

struct proto_schema {
    const char *name;
    size_t size;
    const proto_field_t *fields;
    size_t n_fields;
};

extern const proto_schema_t proto_withdrawal_schema;
extern const proto_schema_t proto_payload_schema;
extern const proto_schema_t proto_tx_schema;
extern const proto_schema_t proto_block_schema;
extern const proto_schema_t proto_log_schema;
extern const proto_schema_t proto_receipt_schema;

/*  Size of a scalar array element type, for PF_ARRAY of scalars. */
size_t proto_elem_size(proto_ftype_t type);

/* --------------------------------------------------------------- op table */

typedef enum { PROTO_LANE_NONE = 0, PROTO_LANE_MUTATION, PROTO_LANE_QUERY } proto_lane_t;

typedef struct {
    const char *name;
    proto_lane_t lane;
    const proto_schema_t *args;   /* NULL: takes no arguments */
    const proto_schema_t *result;
} proto_op_t;

/*  The contract's operations, in PROTOCOL.md order. */
extern const proto_op_t proto_ops[];
extern const size_t proto_n_ops;
const proto_op_t *proto_op_find(const char *name);

/* ----------------------------------------------------------------- decode */

/*  Checks, without allocating, that buf holds exactly one well-formed msgpack
    object, no deeper than max_depth, whose element counts never exceed the
    bytes left (every element takes at least one byte), with nothing after it.
    Returns 0, or -1 with a reason in why. */
int proto_prescan(const uint8_t *buf, size_t len, size_t max_depth, char *why, size_t why_len);

/*  A parsed frame: the root object and the zone that holds it. */
typedef struct proto_frame proto_frame_t;

/*  Pre-scans and parses one frame of at most max_frame bytes. Returns NULL with
    a reason in err for anything that is not exactly one msgpack object. */
proto_frame_t *proto_frame_parse(const uint8_t *buf, size_t len, size_t max_frame,
                                 char *err, size_t err_len);
const msgpack_object *proto_frame_root(const proto_frame_t *self);
void proto_frame_destroy(proto_frame_t **self_p);

/*  Looks a str key up in a map; returns NULL when absent or nil. */
const msgpack_object *proto_map_get(const msgpack_object *map, const char *key);

/*  Decodes a map into a zeroed struct `out` of schema->size bytes. Unknown keys
    are ignored; nil equals absent. On error returns -1, frees what it
    allocated, and writes "path: reason" into err. */
int proto_decode(const proto_schema_t *schema, const msgpack_object *obj, void *out,
                 char *err, size_t err_len);
/*  Releases what proto_decode (or a producer using the same ownership rules:
    malloc'd strings, data and arrays) put in the struct, and zeroes it. */
void proto_free(const proto_schema_t *schema, void *obj);
/*  Deep copy with the same ownership rules. Returns 0 or -1. */
int proto_copy(const proto_schema_t *schema, void *dst, const void *src);

/*  A decoded request envelope. */
typedef struct {
    proto_frame_t *frame;
    uint64_t v;
    bool has_id;
    uint64_t id;
    char op[40];
    const msgpack_object *args; /* NULL when absent or nil */
} proto_request_t;

/*  Decodes a request body. On PROTO_OK the caller releases it with
    proto_request_release. On error `out->has_id` tells whether the reply can
    carry the id, and err holds the message. */
proto_err_t proto_request_decode(const uint8_t *buf, size_t len, size_t max_frame,
                                 proto_request_t *out, char *err, size_t err_len);
void proto_request_release(proto_request_t *req);

/*  A decoded reply envelope (for peers: the CLI, tests, other actors). */
typedef struct {
    proto_frame_t *frame;
    bool has_id;
    uint64_t id;
    bool ok;
    const msgpack_object *result; /* ok */
    proto_err_t error;            /* !ok */
    char *message;                /* !ok, malloc'd */
    bool retryable;
    bool has_el_code;
    int64_t el_code;
    char error_code[40];          /* the code as sent, even if unknown here */
} proto_reply_t;

proto_err_t proto_reply_decode(const uint8_t *buf, size_t len, size_t max_frame,
                               proto_reply_t *out, char *err, size_t err_len);
void proto_reply_release(proto_reply_t *reply);

/* ----------------------------------------------------------------- encode */

/*  A growable output buffer with a packer. */
typedef struct {
    msgpack_sbuffer sbuf;
    msgpack_packer pk;
} proto_writer_t;

void proto_writer_init(proto_writer_t *w);
void proto_writer_reset(proto_writer_t *w);
void proto_writer_release(proto_writer_t *w);

void proto_pack_str(msgpack_packer *pk, const char *s);
void proto_pack_bin(msgpack_packer *pk, const void *data, size_t len);
/*  Encodes a struct as a map following its schema. */
void proto_encode(const proto_schema_t *schema, const void *obj, msgpack_packer *pk);
/*  Encodes a BlockSelector. */
void proto_pack_selector(msgpack_packer *pk, const proto_selector_t *sel);

/*  Starts a request {v, id, op[, args]}; when with_args, the caller packs the
    args map next. */
void proto_request_begin(msgpack_packer *pk, uint64_t id, const char *op, bool with_args);
/*  Starts a success reply {v, id, ok: true, result: ...}; the caller packs the
    result map next. */
void proto_reply_ok_begin(msgpack_packer *pk, bool has_id, uint64_t id);
/*  Writes a complete error reply. el_code is written when has_el_code. */
void proto_reply_error(msgpack_packer *pk, bool has_id, uint64_t id, proto_err_t err,
                       const char *message, bool has_el_code, int64_t el_code);
/*  Writes a complete success reply whose result is obj encoded by schema. */
void proto_reply_ok(msgpack_packer *pk, bool has_id, uint64_t id, const proto_schema_t *schema,
                    const void *obj);

/*  Parses a selector from text: a tag, a decimal or 0x quantity, or a 0x hash
    of 32 bytes. Returns 0 or -1. */
int proto_selector_parse(const char *text, proto_selector_t *out);
bool proto_tag_valid(const char *tag);

#endif
