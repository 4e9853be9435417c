#include "jwt_auth.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <jwt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#include "hex.h"

struct jwt_auth {
    uint8_t secret[32];
    time_t cached_iat;
    char header[512];
};

int jwt_auth_parse_secret(const char *text, uint8_t secret[32], char *err, size_t err_len)
{
    while (isspace((unsigned char) *text))
        text++;
    size_t n = strlen(text);
    while (n > 0 && isspace((unsigned char) text[n - 1]))
        n--;
    char buf[80];
    if (n >= sizeof buf) {
        snprintf(err, err_len, "expected 64 hex characters, found %zu characters", n);
        return -1;
    }
    memcpy(buf, text, n);
    buf[n] = '\0';
    const char *digits = buf;
    if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X'))
        digits += 2;
    int rc = 0;
    if (strlen(digits) != 64 || hex_decode_fixed(digits, secret, 32) != 0) {
        snprintf(err, err_len, "expected 64 hex characters (32 bytes, optional 0x prefix)");
        rc = -1;
    }
    explicit_bzero(buf, sizeof buf);
    return rc;
}

jwt_auth_t *jwt_auth_new_from_secret(const uint8_t secret[32])
{
    jwt_auth_t *self = calloc(1, sizeof *self);
    if (self)
        memcpy(self->secret, secret, 32);
    return self;
}

jwt_auth_t *jwt_auth_new(const char *path, char *err, size_t err_len)
{
    return jwt_auth_load(path, false, err, err_len);
}

/*  Read with read(2) into a stack buffer, not stdio, so that no copy of the
    secret stays behind in a freed stdio buffer; every copy is wiped. */
jwt_auth_t *jwt_auth_load(const char *path, bool strict, char *err, size_t err_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, err_len, "JWT secret file %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, err_len, "JWT secret file %s: not a regular file", path);
        close(fd);
        return NULL;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        if (strict) {
            snprintf(err, err_len, "JWT secret file %s: mode %04o lets group or others read it "
                                   "(chmod 0600 or 0400; --strict-permissions refuses this)",
                     path, (unsigned) (st.st_mode & 07777));
            close(fd);
            return NULL;
        }
        log_warn("JWT secret file %s: mode %04o lets group or others read it; chmod 0600 "
                 "(--strict-permissions makes this a start-up error)",
                 path, (unsigned) (st.st_mode & 07777));
    }
    char text[256];
    size_t n = 0;
    ssize_t got;
    while (n < sizeof text - 1 && (got = read(fd, text + n, sizeof text - 1 - n)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            snprintf(err, err_len, "JWT secret file %s: %s", path, strerror(errno));
            close(fd);
            explicit_bzero(text, sizeof text);
            return NULL;
        }
        n += (size_t) got;
    }
    char extra;
    bool too_long = n == sizeof text - 1 && read(fd, &extra, 1) > 0;
    close(fd);
    text[n] = '\0';
    uint8_t secret[32];
    char why[128];
    jwt_auth_t *self = NULL;
    if (too_long || strlen(text) != n)
        snprintf(err, err_len, "JWT secret file %s: expected 64 hex characters", path);
    else if (jwt_auth_parse_secret(text, secret, why, sizeof why) != 0)
        snprintf(err, err_len, "JWT secret file %s: %s", path, why);
    else if (!(self = jwt_auth_new_from_secret(secret)))
        snprintf(err, err_len, "out of memory");
    explicit_bzero(text, sizeof text);
    explicit_bzero(secret, sizeof secret);
    return self;
}

void jwt_auth_destroy(jwt_auth_t **self_p)
{
    if (self_p && *self_p) {
        explicit_bzero((*self_p)->secret, sizeof (*self_p)->secret);
        free(*self_p);
        *self_p = NULL;
    }
}

const char *jwt_auth_header(jwt_auth_t *self, time_t now)
{
    if (self->cached_iat == now && self->header[0])
        return self->header;
    jwt_t *jwt = NULL;
    char *token = NULL;
    if (jwt_new(&jwt) == 0 && jwt_set_alg(jwt, JWT_ALG_HS256, self->secret, 32) == 0
        && jwt_add_grant_int(jwt, "iat", (long) now) == 0)
        token = jwt_encode_str(jwt);
    jwt_free(jwt);
    if (!token || strlen(token) + 32 > sizeof self->header) {
        free(token);
        self->header[0] = '\0';
        return NULL;
    }
    snprintf(self->header, sizeof self->header, "Authorization: Bearer %s", token);
    free(token);
    self->cached_iat = now;
    return self->header;
}
