/*  log: one line per event on stderr, with a timestamp and a level.
    Never pass secrets to these functions.

    Under systemd, when stderr is the journal (JOURNAL_STREAM names the
    device and inode of stderr), a line is "<N>level: message" instead: the
    syslog priority prefix that journald reads (3 error, 4 warn, 6 info,
    7 debug, so `journalctl -p warning` works) and no timestamp or pid,
    which the journal records itself. */
#ifndef ALYS_LOG_H
#define ALYS_LOG_H

typedef enum { ALOG_ERROR = 0, ALOG_WARN = 1, ALOG_INFO = 2, ALOG_DEBUG = 3 } log_level_t;

/*  Sets the threshold; events above it are dropped. */
void log_set_level(log_level_t level);
log_level_t log_get_level(void);
/*  Parses "error", "warn", "info" or "debug"; returns -1 for anything else. */
int log_level_parse(const char *name, log_level_t *out);
/*  Names the program in every line ("alys-engine"). The string is borrowed. */
void log_set_program(const char *name);

/*  Compares JOURNAL_STREAM with stderr again. Done once before the first
    line; call it after stderr was redirected. Returns 1 when lines go to
    the journal, else 0. */
int log_detect_journal(void);

void log_msg(log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(ALOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(ALOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(ALOG_INFO, __VA_ARGS__)
#define log_debug(...) do { if (log_get_level() >= ALOG_DEBUG) log_msg(ALOG_DEBUG, __VA_ARGS__); } while (0)

#endif
