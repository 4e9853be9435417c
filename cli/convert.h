/*  convert: the operator's text to msgpack, and msgpack back to text.

    Inbound, command-line values become msgpack by field type (hex bytes,
    decimal or 0x quantities, booleans), and JSON becomes msgpack by one
    generic rule: a string of "0x" and an even number of hex digits is bin,
    any other string is str, a non-negative integer is uint, a negative one
    int, and arrays, objects, true, false and null map onto their msgpack
    counterparts.

    Outbound, msgpack becomes JSON by the inverse rule (bin is written as a
    "0x..." string, uint as a JSON integer), so the JSON this module prints
    converts back to the same msgpack bytes; or it becomes indented
    `key: value` lines for a person to read.

    Nothing here touches the network; every function is a pure conversion. */
#ifndef ALYS_CLI_CONVERT_H
#define ALYS_CLI_CONVERT_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "proto.h"

/*  Parses a Quantity: decimal digits, or "0x" and 1..16 significant hex
    digits. Rejects signs, spaces, empty text and values over 2^64-1.
    Returns 0, or -1 with a reason in err. */
int convert_parse_quantity(const char *text, uint64_t *out, char *err, size_t err_len);

/*  Parses a U256 into 32 big-endian bytes: decimal digits, or "0x" and 1..64
    hex digits (left-padded with zeros). Returns 0, or -1 with a reason. */
int convert_parse_u256(const char *text, uint8_t out[32], char *err, size_t err_len);

/*  Parses "0x" and exactly 2*n hex digits into out. Returns 0, or -1 with a
    reason that names what was expected (`what`, e.g. "a 32-byte hash"). */
int convert_parse_fixed(const char *text, uint8_t *out, size_t n, const char *what, char *err,
                        size_t err_len);

/*  True when type is converted from a single word (not JSON). */
bool convert_is_scalar(proto_ftype_t type);

/*  Parses text as one value of a scalar field type and packs it. Returns 0,
    or -1 with a reason in err (without the key; the caller adds it). */
int convert_scalar(proto_ftype_t type, const char *text, msgpack_packer *pk, char *err,
                   size_t err_len);

/*  Parses len bytes of JSON text (any JSON value at the top) and packs it by
    the generic rule. Returns 0, or -1 with a reason (line and column for a
    syntax error). */
int convert_json_to_msgpack(const char *text, size_t len, msgpack_packer *pk, char *err,
                            size_t err_len);

/*  Writes o as one JSON document (no trailing newline). With pretty, nested
    containers are indented by two spaces per level. Strings that are not
    valid UTF-8 have their bad bytes replaced by U+FFFD. */
void convert_write_json(FILE *out, const msgpack_object *o, bool pretty);

/*  Returns o as compact JSON text; the caller frees it. NULL only when out
    of memory. */
char *convert_to_json(const msgpack_object *o);

/*  Writes a map as `key: value` lines: nested maps indented by two spaces,
    array items as `- ` lines, bin as 0x hex, nil as null. An empty map
    writes nothing. Values are read for people by their key: wei amounts
    (block_value, base_fee_per_gas, value) in decimal with a gwei or ether
    reading, a withdrawal's `amount` (gwei) with its ether reading,
    `timestamp` as an ISO 8601 UTC time with the seconds beside it,
    `uptime_ms` as `uptime` and a duration. */
void convert_write_human(FILE *out, const msgpack_object *map);

/*  Block numbers known for some hashes, printed beside those hashes. */
#define CONVERT_MAX_NUMBERS 8
typedef struct {
    size_t n;
    struct {
        uint8_t hash[32];
        uint64_t number;
    } item[CONVERT_MAX_NUMBERS];
} convert_numbers_t;

/*  Adds hash -> number (ignored when full). */
void convert_numbers_add(convert_numbers_t *nums, const uint8_t hash[32], uint64_t number);
/*  True with *number set when hash is known. */
bool convert_numbers_find(const convert_numbers_t *nums, const uint8_t hash[32], uint64_t *number);

/*  convert_write_human, with "(block N)" after each 32-byte value whose
    number is in nums (NULL: none). */
void convert_write_human_numbered(FILE *out, const msgpack_object *map,
                                  const convert_numbers_t *nums);

/*  The value under key in a msgpack map (string keys); NULL when absent or
    when map is not a map. Borrowed. */
const msgpack_object *convert_map_get(const msgpack_object *map, const char *key);

/*  Writes a big-endian unsigned number of n <= 32 bytes in decimal into buf
    (at least 79 bytes). Returns buf. */
char *convert_uint_decimal(const uint8_t *be, size_t n, char *buf, size_t len);

/*  "N wei (G gwei)" or, from 10^15 wei on, "N wei (E ether)", the reading
    exact with trailing zeros dropped. Returns buf (at least 128 bytes). */
char *convert_wei_text(const uint8_t *be, size_t n, char *buf, size_t len);

/*  "N gwei (E ether)" for a withdrawal amount. Returns buf (at least 64). */
char *convert_gwei_text(uint64_t gwei, char *buf, size_t len);

/*  "2023-11-14T22:13:20Z" for Unix seconds. Returns buf (at least 32). */
char *convert_iso_time(uint64_t seconds, char *buf, size_t len);

/*  "1d 2h 3m 4.567s" (leading zero units left out) for milliseconds.
    Returns buf (at least 48 bytes). */
char *convert_duration_text(uint64_t ms, char *buf, size_t len);

#endif
