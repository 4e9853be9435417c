/*  duration: "500ms", "5s", "2min", "1.5h" as systemd spells them
    (systemd.time(7), the common subset), shared by the supervisor's
    configuration and the CLI's --timeout so that both accept the same
    words. */
#ifndef ALYS_DURATION_H
#define ALYS_DURATION_H

#include <stdint.h>

/*  Parses a non-negative number with an optional unit (ms, msec, s, sec, m,
    min, h, hr; a space before the unit is allowed) into milliseconds. A bare
    number is in units of bare_unit_ms (1000: seconds, as systemd reads it;
    1: milliseconds). Rejects signs, empty text, unknown units and anything
    over max_ms. Returns 0, or -1 leaving *out untouched. */
int duration_parse_ms(const char *text, int64_t bare_unit_ms, int64_t max_ms, int64_t *out);

#endif
