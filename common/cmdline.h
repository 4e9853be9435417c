/*  cmdline: the message for a command-line option that getopt_long refused,
    shared by the three programs so that each names the offending flag in one
    line instead of printing its whole help. */
#ifndef ALYS_CMDLINE_H
#define ALYS_CMDLINE_H

#include <getopt.h>
#include <stddef.h>

/*  Call right after getopt_long returned '?' or ':' (with opterr = 0).
    Writes "unknown option '--colour'" or "option '--bind' needs a value"
    into buf and returns buf. argv, optstring and longopts are the ones given
    to getopt_long. */
const char *cmdline_option_error(char *buf, size_t len, char *const argv[], const char *optstring,
                                 const struct option *longopts);

#endif
