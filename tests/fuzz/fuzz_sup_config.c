/*  libFuzzer target: the supervisor's configuration file (ZPL, through
    czmq's zconfig) as sup_config_parse reads it. Properties: a refusal
    comes with a reason; an accepted configuration passes validation again
    and survives a deep copy of each child unchanged. */
#include "config.h"
#include "fuzz_util.h"

#include <czmq.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool quiet;
    if (!quiet) {
        /* zconfig reports syntax errors through zsys: not on every input */
        zsys_set_logstream(NULL);
        zsys_set_logsystem(false);
        quiet = true;
    }
    char *text = fuzz_text(data, size);
    char err[512] = "";
    sup_config_t *c = sup_config_parse(text, err, sizeof err);
    if (!c) {
        if (!err[0])
            fuzz_die("fuzz_sup_config", "refused without a reason", text);
    } else {
        if (sup_config_validate(c, err, sizeof err) != 0)
            fuzz_die("fuzz_sup_config", "accepted but not valid", err);
        for (size_t i = 0; i < c->n_children; i++) {
            child_spec_t copy;
            if (child_spec_copy(&copy, &c->children[i]) != 0)
                abort();
            if (!child_spec_equal(&copy, &c->children[i]))
                fuzz_die("fuzz_sup_config", "a copy differs", c->children[i].name);
            child_spec_release(&copy);
        }
        sup_config_destroy(&c);
    }
    free(text);
    return 0;
}
