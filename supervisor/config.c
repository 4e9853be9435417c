#include "config.h"

#include <czmq.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "curve.h"

#define MAX_DURATION_MS (24LL * 3600 * 1000)

static void set_err(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t err_len, const char *fmt, ...)
{
    if (!err || !err_len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

/* ---- small parsers -------------------------------------------------------- */

/*  The supervisor reads a bare number as seconds, as systemd does. */
int parse_duration_ms(const char *text, int64_t *out)
{
    return duration_parse_ms(text, 1000, MAX_DURATION_MS, out);
}

static const char *const s_restart_names[] = {"permanent", "transient", "temporary"};

int parse_restart_type(const char *text, restart_type_t *out)
{
    for (int i = 0; i < 3; i++)
        if (text && strcmp(text, s_restart_names[i]) == 0) {
            *out = (restart_type_t) i;
            return 0;
        }
    return -1;
}

const char *restart_type_name(restart_type_t type)
{
    return (unsigned) type < 3 ? s_restart_names[type] : "?";
}

static int parse_uint(const char *text, unsigned max, unsigned *out)
{
    if (!text || !*text || text[0] == '-' || text[0] == '+')
        return -1;
    char *end;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (errno || *end || v > max)
        return -1;
    *out = (unsigned) v;
    return 0;
}

/* ---- child specs -------------------------------------------------------- */

void child_spec_defaults(child_spec_t *spec)
{
    memset(spec, 0, sizeof *spec);
    spec->restart = RESTART_PERMANENT;
    spec->shutdown_ms = CHILD_DEFAULT_SHUTDOWN_MS;
    spec->ping_interval_ms = CHILD_DEFAULT_PING_INTERVAL_MS;
    spec->ping_misses = CHILD_DEFAULT_PING_MISSES;
    spec->start_grace_ms = CHILD_DEFAULT_START_GRACE_MS;
}

static void free_strv(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void child_spec_release(child_spec_t *spec)
{
    if (!spec)
        return;
    free(spec->name);
    free(spec->health);
    free(spec->health_curve_cert);
    free(spec->health_curve_server_key);
    free_strv(spec->argv, spec->argc);
    free_strv(spec->env, spec->n_env);
    memset(spec, 0, sizeof *spec);
}

/*  Appends a copy of s to a NULL-terminated vector of n strings. */
static int strv_push(char ***v, size_t *n, const char *s)
{
    char **grown = realloc(*v, (*n + 2) * sizeof **v);
    if (!grown)
        return -1;
    *v = grown;
    grown[*n] = strdup(s);
    if (!grown[*n]) {
        grown[*n] = NULL;
        return -1;
    }
    (*n)++;
    grown[*n] = NULL;
    return 0;
}

static int strv_copy(char ***dst, size_t *dst_n, char *const *src, size_t n)
{
    *dst = NULL;
    *dst_n = 0;
    for (size_t i = 0; i < n; i++)
        if (strv_push(dst, dst_n, src[i]) != 0)
            return -1;
    return 0;
}

int child_spec_copy(child_spec_t *dst, const child_spec_t *src)
{
    *dst = *src;
    dst->name = NULL;
    dst->health = NULL;
    dst->health_curve_cert = NULL;
    dst->health_curve_server_key = NULL;
    dst->argv = NULL;
    dst->argc = 0;
    dst->env = NULL;
    dst->n_env = 0;
    if ((src->name && !(dst->name = strdup(src->name)))
        || (src->health && !(dst->health = strdup(src->health)))
        || (src->health_curve_cert && !(dst->health_curve_cert = strdup(src->health_curve_cert)))
        || (src->health_curve_server_key
            && !(dst->health_curve_server_key = strdup(src->health_curve_server_key)))
        || strv_copy(&dst->argv, &dst->argc, src->argv, src->argc) != 0
        || strv_copy(&dst->env, &dst->n_env, src->env, src->n_env) != 0) {
        child_spec_release(dst);
        return -1;
    }
    return 0;
}

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool strv_eq(char *const *a, size_t na, char *const *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return true;
}

bool child_spec_equal(const child_spec_t *a, const child_spec_t *b)
{
    return str_eq(a->name, b->name) && str_eq(a->health, b->health)
           && str_eq(a->health_curve_cert, b->health_curve_cert)
           && str_eq(a->health_curve_server_key, b->health_curve_server_key)
           && strv_eq(a->argv, a->argc, b->argv, b->argc)
           && strv_eq(a->env, a->n_env, b->env, b->n_env) && a->restart == b->restart
           && a->shutdown_ms == b->shutdown_ms && a->ping_interval_ms == b->ping_interval_ms
           && a->ping_misses == b->ping_misses && a->start_grace_ms == b->start_grace_ms;
}

/*  Values a spec can hold but that make no sense to run: they are caught here,
    once, for both the file and the command line. */
static int child_spec_validate(const child_spec_t *spec, char *err, size_t err_len)
{
    const char *name = spec->name ? spec->name : "(unnamed)";
    if (!spec->name || !*spec->name) {
        set_err(err, err_len, "a child has no name");
        return -1;
    }
    if (spec->argc == 0 || !spec->argv[0][0]) {
        set_err(err, err_len, "child '%s': no program", name);
        return -1;
    }
    if (spec->health && !strstr(spec->health, "://")) {
        set_err(err, err_len, "child '%s': health '%s' is not a ZeroMQ endpoint "
                "(ipc://PATH or tcp://HOST:PORT)", name, spec->health);
        return -1;
    }
    if (!spec->health_curve_cert != !spec->health_curve_server_key
        || (spec->health_curve_cert && !spec->health)) {
        set_err(err, err_len, "child '%s': health_curve_cert and health_curve_server_key go "
                "together, with health", name);
        return -1;
    }
    if (spec->health_curve_cert) {
        /* unreadable keys are a configuration error now, not a blind pinger later */
        char why[300], key[CURVE_KEY_TXT];
        zcert_t *cert = curve_load_secret(spec->health_curve_cert, why, sizeof why);
        if (!cert) {
            set_err(err, err_len, "child '%s': health_curve_cert: %s", name, why);
            return -1;
        }
        curve_cert_destroy(&cert);
        if (curve_server_key(spec->health_curve_server_key, key, why, sizeof why) != 0) {
            set_err(err, err_len, "child '%s': health_curve_server_key: %s", name, why);
            return -1;
        }
    }
    if (spec->ping_interval_ms < 10) {
        set_err(err, err_len, "child '%s': ping_interval must be at least 10ms", name);
        return -1;
    }
    if (spec->ping_misses < 1) {
        set_err(err, err_len, "child '%s': ping_misses must be at least 1", name);
        return -1;
    }
    return 0;
}

/* ---- the configuration -------------------------------------------------- */

sup_config_t *sup_config_new(void)
{
    sup_config_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->intensity = SUP_DEFAULT_INTENSITY;
    self->period_ms = SUP_DEFAULT_PERIOD_MS;
    self->backoff.initial_ms = SUP_DEFAULT_BACKOFF_INITIAL_MS;
    self->backoff.max_ms = SUP_DEFAULT_BACKOFF_MAX_MS;
    self->backoff.stable_ms = SUP_DEFAULT_STABLE_MS;
    self->backoff.start_failures = SUP_DEFAULT_START_FAILURES;
    return self;
}

void sup_config_destroy(sup_config_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sup_config_t *self = *self_p;
    for (size_t i = 0; i < self->n_children; i++)
        child_spec_release(&self->children[i]);
    free(self->children);
    free(self);
    *self_p = NULL;
}

int sup_config_add_child(sup_config_t *self, const child_spec_t *spec)
{
    child_spec_t *grown = realloc(self->children, (self->n_children + 1) * sizeof *grown);
    if (!grown)
        return -1;
    self->children = grown;
    if (child_spec_copy(&grown[self->n_children], spec) != 0)
        return -1;
    self->n_children++;
    return 0;
}

const child_spec_t *sup_config_find(const sup_config_t *self, const char *name)
{
    for (size_t i = 0; i < self->n_children; i++)
        if (strcmp(self->children[i].name, name) == 0)
            return &self->children[i];
    return NULL;
}

int sup_config_validate(const sup_config_t *self, char *err, size_t err_len)
{
    if (self->intensity > RESTART_MAX_INTENSITY) {
        set_err(err, err_len, "intensity must be at most %d", RESTART_MAX_INTENSITY);
        return -1;
    }
    if (self->period_ms <= 0) {
        set_err(err, err_len, "period must be more than 0");
        return -1;
    }
    if (self->backoff.initial_ms <= 0 || self->backoff.max_ms < self->backoff.initial_ms) {
        set_err(err, err_len, "backoff_initial must be more than 0 and at most backoff_max");
        return -1;
    }
    if (self->backoff.stable_ms <= 0) {
        set_err(err, err_len, "stable_after must be more than 0");
        return -1;
    }
    if (self->n_children == 0) {
        set_err(err, err_len, "no children to supervise");
        return -1;
    }
    for (size_t i = 0; i < self->n_children; i++) {
        if (child_spec_validate(&self->children[i], err, err_len) != 0)
            return -1;
        for (size_t j = 0; j < i; j++)
            if (strcmp(self->children[i].name, self->children[j].name) == 0) {
                set_err(err, err_len, "two children are named '%s'", self->children[i].name);
                return -1;
            }
    }
    return 0;
}

/* ---- ZPL ---------------------------------------------------------------- */

static int zpl_duration(zconfig_t *item, const char *where, int64_t *out, char *err,
                        size_t err_len)
{
    const char *v = zconfig_value(item);
    if (parse_duration_ms(v, out) != 0) {
        set_err(err, err_len, "%s%s: '%s' is not a duration (e.g. 500ms, 5s, 2min)", where,
                zconfig_name(item), v ? v : "");
        return -1;
    }
    return 0;
}

/*  The `supervisor` section: every key is known, so a typo is an error
    rather than a silently ignored setting. */
static int zpl_supervisor(sup_config_t *self, zconfig_t *section, char *err, size_t err_len)
{
    for (zconfig_t *item = zconfig_child(section); item; item = zconfig_next(item)) {
        const char *key = zconfig_name(item);
        const char *v = zconfig_value(item);
        int rc;
        if (strcmp(key, "intensity") == 0) {
            rc = parse_uint(v, RESTART_MAX_INTENSITY, &self->intensity);
            if (rc != 0)
                set_err(err, err_len, "supervisor/intensity: '%s' is not a number from 0 to %d",
                        v ? v : "", RESTART_MAX_INTENSITY);
        } else if (strcmp(key, "period") == 0)
            rc = zpl_duration(item, "supervisor/", &self->period_ms, err, err_len);
        else if (strcmp(key, "backoff_initial") == 0)
            rc = zpl_duration(item, "supervisor/", &self->backoff.initial_ms, err, err_len);
        else if (strcmp(key, "backoff_max") == 0)
            rc = zpl_duration(item, "supervisor/", &self->backoff.max_ms, err, err_len);
        else if (strcmp(key, "stable_after") == 0)
            rc = zpl_duration(item, "supervisor/", &self->backoff.stable_ms, err, err_len);
        else if (strcmp(key, "start_failures") == 0) {
            rc = parse_uint(v, RESTART_MAX_INTENSITY, &self->backoff.start_failures);
            if (rc != 0)
                set_err(err, err_len,
                        "supervisor/start_failures: '%s' is not a number from 0 to %d",
                        v ? v : "", RESTART_MAX_INTENSITY);
        } else {
            set_err(err, err_len, "supervisor: unknown setting '%s'", key);
            rc = -1;
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}

/*  Reads one child section into spec (already holding the defaults). The
    program comes first in argv whatever the order of the keys, and the
    `arg` lines keep their order. */
static int zpl_child(child_spec_t *spec, zconfig_t *section, char *err, size_t err_len)
{
    char where[160];
    snprintf(where, sizeof where, "children/%s/", zconfig_name(section));
    const char *program = NULL;
    for (zconfig_t *item = zconfig_child(section); item; item = zconfig_next(item))
        if (strcmp(zconfig_name(item), "program") == 0) {
            if (program) {
                set_err(err, err_len, "%sprogram: given twice", where);
                return -1;
            }
            program = zconfig_value(item) ? zconfig_value(item) : "";
        }
    if (!program || !*program) {
        set_err(err, err_len, "%sprogram: missing", where);
        return -1;
    }
    if (strv_push(&spec->argv, &spec->argc, program) != 0)
        goto oom;
    for (zconfig_t *item = zconfig_child(section); item; item = zconfig_next(item)) {
        const char *key = zconfig_name(item);
        const char *v = zconfig_value(item) ? zconfig_value(item) : "";
        int rc = 0;
        if (strcmp(key, "program") == 0)
            continue;
        else if (strcmp(key, "arg") == 0) {
            if (strv_push(&spec->argv, &spec->argc, v) != 0)
                goto oom;
        } else if (strcmp(key, "restart") == 0) {
            rc = parse_restart_type(v, &spec->restart);
            if (rc != 0)
                set_err(err, err_len, "%srestart: '%s' is not permanent, transient or temporary",
                        where, v);
        } else if (strcmp(key, "shutdown_timeout") == 0)
            rc = zpl_duration(item, where, &spec->shutdown_ms, err, err_len);
        else if (strcmp(key, "health") == 0) {
            free(spec->health);
            spec->health = *v ? strdup(v) : NULL;
            if (*v && !spec->health)
                goto oom;
        } else if (strcmp(key, "health_curve_cert") == 0
                   || strcmp(key, "health_curve_server_key") == 0) {
            char **slot = strcmp(key, "health_curve_cert") == 0 ? &spec->health_curve_cert
                                                                : &spec->health_curve_server_key;
            free(*slot);
            *slot = *v ? strdup(v) : NULL;
            if (*v && !*slot)
                goto oom;
        } else if (strcmp(key, "ping_interval") == 0)
            rc = zpl_duration(item, where, &spec->ping_interval_ms, err, err_len);
        else if (strcmp(key, "ping_misses") == 0) {
            rc = parse_uint(v, 1000, &spec->ping_misses);
            if (rc == 0 && spec->ping_misses == 0)
                rc = -1;
            if (rc != 0)
                set_err(err, err_len, "%sping_misses: '%s' is not a number from 1 to 1000", where, v);
        } else if (strcmp(key, "start_grace") == 0)
            rc = zpl_duration(item, where, &spec->start_grace_ms, err, err_len);
        else if (strcmp(key, "env") == 0) {
            for (zconfig_t *e = zconfig_child(item); e; e = zconfig_next(e)) {
                const char *ev = zconfig_value(e) ? zconfig_value(e) : "";
                char *kv = NULL;
                if (asprintf(&kv, "%s=%s", zconfig_name(e), ev) < 0)
                    goto oom;
                int pushed = strv_push(&spec->env, &spec->n_env, kv);
                free(kv);
                if (pushed != 0)
                    goto oom;
            }
        } else {
            set_err(err, err_len, "children/%s: unknown setting '%s'", zconfig_name(section), key);
            rc = -1;
        }
        if (rc != 0)
            return -1;
    }
    return 0;
oom:
    set_err(err, err_len, "out of memory");
    return -1;
}

/*  Builds a configuration from a parsed ZPL tree: the defaults, overridden
    by the `supervisor` section, plus one child per entry of `children` in
    file order (the start order), then validated as a whole. */
static sup_config_t *from_zpl(zconfig_t *root, char *err, size_t err_len)
{
    sup_config_t *self = sup_config_new();
    if (!self) {
        set_err(err, err_len, "out of memory");
        return NULL;
    }
    for (zconfig_t *section = zconfig_child(root); section; section = zconfig_next(section)) {
        const char *name = zconfig_name(section);
        if (strcmp(name, "supervisor") == 0) {
            if (zpl_supervisor(self, section, err, err_len) != 0)
                goto fail;
        } else if (strcmp(name, "children") == 0) {
            for (zconfig_t *c = zconfig_child(section); c; c = zconfig_next(c)) {
                child_spec_t spec;
                child_spec_defaults(&spec);
                spec.name = strdup(zconfig_name(c));
                int rc = spec.name ? zpl_child(&spec, c, err, err_len) : -1;
                if (rc == 0 && sup_config_add_child(self, &spec) != 0) {
                    set_err(err, err_len, "out of memory");
                    rc = -1;
                }
                child_spec_release(&spec);
                if (rc != 0)
                    goto fail;
            }
        } else {
            set_err(err, err_len, "unknown section '%s' (expected supervisor or children)", name);
            goto fail;
        }
    }
    if (sup_config_validate(self, err, err_len) != 0)
        goto fail;
    return self;
fail:
    sup_config_destroy(&self);
    return NULL;
}

/*  zconfig reports syntax errors itself (to stderr, with the line number) and
    returns NULL for a missing file without a word, so the file is opened
    here first to give a precise reason. */
sup_config_t *sup_config_load(const char *path, char *err, size_t err_len)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        set_err(err, err_len, "%s: %s", path, strerror(errno));
        return NULL;
    }
    fclose(f);
    zconfig_t *root = zconfig_load(path);
    if (!root) {
        set_err(err, err_len, "%s: not valid ZPL (see the line reported above)", path);
        return NULL;
    }
    char why[400];
    sup_config_t *self = from_zpl(root, why, sizeof why);
    if (!self)
        set_err(err, err_len, "%s: %s", path, why);
    zconfig_destroy(&root);
    return self;
}

sup_config_t *sup_config_parse(const char *text, char *err, size_t err_len)
{
    zconfig_t *root = zconfig_str_load(text);
    if (!root) {
        set_err(err, err_len, "not valid ZPL");
        return NULL;
    }
    sup_config_t *self = from_zpl(root, err, err_len);
    zconfig_destroy(&root);
    return self;
}
