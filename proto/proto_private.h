/*  proto_private: helpers shared by proto's own source files (frame.c,
    codec.c, envelope.c, selector.c); not part of the API in proto.h. */
#ifndef ALYS_PROTO_PRIVATE_H
#define ALYS_PROTO_PRIVATE_H

#include "proto.h"

/*  calloc that never returns NULL: it aborts when memory is exhausted, as
    every decoder here would otherwise need a path for it. Zero counts and
    sizes still return a unique pointer. */
void *proto_xcalloc(size_t n, size_t size);
/*  Writes "PATH: expected WANT, got TYPE" into err; returns -1. */
int proto_type_error(char *err, size_t err_len, const char *path, const char *want,
                     const msgpack_object *o);
/*  Decodes a block selector (bin 32, uint or tag str) into sel; returns 0, or
    -1 with the reason in err. */
int proto_decode_selector(const msgpack_object *o, proto_selector_t *sel, const char *path,
                          char *err, size_t err_len);

#endif
