/*  errfmt: how a function that returns -1 says why, into a buffer its caller
    owns; shared by the codecs, the CLI and the block-hash check so that every
    message is written the same way. */
#ifndef ALYS_ERRFMT_H
#define ALYS_ERRFMT_H

#include <stddef.h>

/*  Formats the message into err (truncated to err_len - 1 bytes and NUL
    terminated, as snprintf does); a NULL err or a zero err_len writes
    nothing. Always returns -1, so that `return errfmt(err, err_len, ...);`
    reports and fails in one statement. */
int errfmt(char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
