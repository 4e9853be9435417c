#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static log_level_t s_level = ALOG_INFO;
static const char *s_program = "alys";
static const char *const s_names[] = {"error", "warn", "info", "debug"};
static const int s_priorities[] = {3, 4, 6, 7}; /* LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */
static int s_journal = -1; /* unknown until the first line */

void log_set_level(log_level_t level) { s_level = level; }
log_level_t log_get_level(void) { return s_level; }
void log_set_program(const char *name) { s_program = name; }

int log_level_parse(const char *name, log_level_t *out)
{
    for (int i = 0; i <= ALOG_DEBUG; i++)
        if (strcasecmp(name, s_names[i]) == 0) {
            *out = (log_level_t) i;
            return 0;
        }
    return -1;
}

/*  systemd sets JOURNAL_STREAM to "DEV:INODE" of the stream it connected;
    a child whose stderr was redirected since inherits the variable but not
    the stream, hence the comparison (systemd.exec(5)). */
int log_detect_journal(void)
{
    const char *env = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    s_journal = env && sscanf(env, "%llu:%llu", &dev, &ino) == 2
                && fstat(STDERR_FILENO, &st) == 0 && (unsigned long long) st.st_dev == dev
                && (unsigned long long) st.st_ino == ino;
    return s_journal;
}

/*  Formats the whole line first and writes it with one write(2), so lines
    from several processes sharing a terminal or journal never interleave. */
void log_msg(log_level_t level, const char *fmt, ...)
{
    if (level > s_level)
        return;
    char line[2048];
    int n;
    if (s_journal < 0)
        log_detect_journal();
    if (s_journal) {
        n = snprintf(line, sizeof line, "<%d>%s: ", s_priorities[level], s_names[level]);
    } else {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        struct tm tm;
        gmtime_r(&tv.tv_sec, &tm);
        n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%d] %s: ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, (long) (tv.tv_usec / 1000), s_program, (int) getpid(),
                     s_names[level]);
    }
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t) n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t) n + (m < 0 ? 0 : (size_t) m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    for (size_t i = (size_t) n; i < len; i++)
        if (line[i] == '\n')
            line[i] = ' ';
    line[len++] = '\n';
    ssize_t rc = write(STDERR_FILENO, line, len);
    (void) rc;
}
