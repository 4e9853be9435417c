#include "cmdline.h"

#include <stdio.h>
#include <string.h>

/*  getopt_long leaves optind past the word it refused and optopt at the
    short option's letter, at the long option's val when only its value was
    missing, or at 0 for an unknown long option. */
const char *cmdline_option_error(char *buf, size_t len, char *const argv[], const char *optstring,
                                 const struct option *longopts)
{
    const char *word = optind > 0 ? argv[optind - 1] : "";
    if (strncmp(word, "--", 2) == 0) {
        size_t name_len = strcspn(word + 2, "=");
        for (const struct option *o = longopts; optopt && o && o->name; o++)
            if (o->val == optopt && o->has_arg == required_argument
                && strlen(o->name) == name_len && strncmp(o->name, word + 2, name_len) == 0) {
                snprintf(buf, len, "option '--%s' needs a value", o->name);
                return buf;
            }
        snprintf(buf, len, "unknown option '--%.*s'", (int) name_len, word + 2);
        return buf;
    }
    const char *spec = optopt > 0 && optopt < 256 ? strchr(optstring, optopt) : NULL;
    if (spec && spec[1] == ':')
        snprintf(buf, len, "option '-%c' needs a value", optopt);
    else if (optopt > 0 && optopt < 256)
        snprintf(buf, len, "unknown option '-%c'", optopt);
    else
        snprintf(buf, len, "unknown option '%s'", word);
    return buf;
}
