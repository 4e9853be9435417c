/*  el_json: the execution client's JSON objects (ExecutionPayload, blocks,
    logs, receipts, withdrawals) to and from the contract's structs, using the
    Engine API names held in the proto schemas. Every value from the execution
    client is checked for type and size, like any other outside input. */
#ifndef ALYS_EL_JSON_H
#define ALYS_EL_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/*  Decodes a JSON object into a zeroed struct. Fields without a JSON name are
    left zero; absent arrays are empty; absent optional fields stay absent.
    Returns 0, or -1 with "path: reason" in err (the struct is then freed). */
int el_json_decode(const proto_schema_t *schema, json_t *obj, void *out, char *err, size_t err_len);
/*  Encodes the fields that have a JSON name. Returns a new reference. */
json_t *el_json_encode(const proto_schema_t *schema, const void *obj);

/*  Value helpers (lenient on leading zeros, strict on digits and size). */
int el_json_quantity(json_t *v, uint64_t *out);
int el_json_fixed(json_t *v, uint8_t *out, size_t n);
int el_json_u256(json_t *v, uint8_t out[32]);
json_t *el_json_hex(const uint8_t *bytes, size_t len);
json_t *el_json_qty(uint64_t v);


#endif
