/*  args: an operation's key=value words from the command line become its
    msgpack args map, checked against the op's schema before anything is
    sent, so a usage mistake never reaches the network.

    Each value is read by the schema type of its key (see convert.h). Maps
    and arrays take JSON text, `@FILE` (JSON read from a file) or `@-` (JSON
    read from standard input). Two shorthands: a withdrawals array as
    `0xADDR:GWEI,0xADDR:GWEI`, and an array of scalars (e.g. `address`) as
    comma-separated values. */
#ifndef ALYS_CLI_ARGS_H
#define ALYS_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "proto.h"

#define ARGS_ERR_LEN 1024

/*  Looks a field of the op's args schema up by key; NULL when absent. */
const proto_field_t *args_field(const proto_op_t *op, const char *key);

/*  Packs the args map of `op` from argc words "key=value" into pk. `in` is
    read for a value of "@-" (at most once). A key may appear once. Returns 0,
    or -1 with the reason in err (a usage error: the caller exits 2). */
int args_pack(const proto_op_t *op, int argc, char *const argv[], FILE *in,
              msgpack_packer *pk, char *err, size_t err_len);

/*  Checks a packed args map (len bytes) against the op's args schema with the
    same decoder the actor uses. Returns 0, or -1 with the reason in err. */
int args_validate(const proto_op_t *op, const uint8_t *buf, size_t len, char *err,
                  size_t err_len);

/*  Builds a whole request {v, id, op[, args]} for `op` from the words into
    w, and validates the args. The args key is sent when the op has an args
    schema. Returns 0, or -1 with the reason in err (a usage error). */
int args_build_request(const proto_op_t *op, uint64_t id, int argc, char *const argv[],
                       FILE *in, proto_writer_t *w, char *err, size_t err_len);

/*  Describes a field's type for people ("Hash32 (0x + 64 hex)"). Returns buf. */
const char *args_type_name(const proto_field_t *f, char *buf, size_t len);

/*  Writes the op's name and one line per argument: key, type, required or
    optional. */
void args_describe(FILE *out, const proto_op_t *op);
/*  The same lines without the op's name. */
void args_describe_fields(FILE *out, const proto_op_t *op);

/*  Writes "OP key=TYPE [key=TYPE]": the op and its arguments, optional ones
    in brackets, on one line without a newline. */
void args_usage_line(FILE *out, const proto_op_t *op);

/*  The op a misspelt name most likely meant: the nearest by edit distance
    (insertions, deletions, substitutions, swaps of neighbours) within about
    a third of the name's length, or the one op the name is a prefix of.
    NULL when none is near. */
const char *args_suggest_op(const char *name);

/*  Writes "a, b, c": the names of all ops. */
void args_list_op_names(FILE *out);

#endif
