#include "duration.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int duration_parse_ms(const char *text, int64_t bare_unit_ms, int64_t max_ms, int64_t *out)
{
    static const struct { const char *unit; double ms; } units[] = {
        {"ms", 1}, {"msec", 1}, {"s", 1000}, {"sec", 1000},
        {"m", 60000}, {"min", 60000}, {"h", 3600000}, {"hr", 3600000},
    };
    if (!text || !*text || text[0] == '-' || text[0] == '+')
        return -1;
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || !isfinite(v) || v < 0)
        return -1;
    while (*end == ' ')
        end++;
    double unit_ms = -1;
    if (!*end)
        unit_ms = (double) bare_unit_ms;
    for (size_t i = 0; unit_ms < 0 && i < sizeof units / sizeof units[0]; i++)
        if (strcmp(end, units[i].unit) == 0)
            unit_ms = units[i].ms;
    if (unit_ms < 0)
        return -1;
    double ms = v * unit_ms;
    if (ms > (double) max_ms)
        return -1;
    *out = (int64_t) llround(ms);
    return 0;
}
