/*  Helpers shared by the libFuzzer targets: splitting an input into a
    selector byte and the rest, and failing loudly on a broken property. */
#ifndef ALYS_FUZZ_UTIL_H
#define ALYS_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline void fuzz_die(const char *target, const char *what, const char *detail)
{
    fprintf(stderr, "%s: %s: %s\n", target, what, detail ? detail : "");
    abort();
}

/*  A NUL-terminated copy of data (caller frees). */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
    char *t = malloc(size + 1);
    if (!t)
        abort();
    memcpy(t, data, size);
    t[size] = '\0';
    return t;
}

#endif
