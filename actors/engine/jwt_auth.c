#include "jwt_auth.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <jwt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    if (strlen(digits) != 64 || hex_decode_fixed(digits, secret, 32) != 0) {
        snprintf(err, err_len, "expected 64 hex characters (32 bytes, optional 0x prefix)");
        return -1;
    }
    return 0;
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
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, err_len, "JWT secret file %s: %s", path, strerror(errno));
        return NULL;
    }
    char text[256];
    size_t n = fread(text, 1, sizeof text - 1, f);
    bool too_long = !feof(f);
    fclose(f);
    text[n] = '\0';
    uint8_t secret[32];
    char why[128];
    if (too_long || strlen(text) != n) {
        snprintf(err, err_len, "JWT secret file %s: expected 64 hex characters", path);
        return NULL;
    }
    if (jwt_auth_parse_secret(text, secret, why, sizeof why) != 0) {
        snprintf(err, err_len, "JWT secret file %s: %s", path, why);
        return NULL;
    }
    jwt_auth_t *self = jwt_auth_new_from_secret(secret);
    memset(secret, 0, sizeof secret);
    if (!self)
        snprintf(err, err_len, "out of memory");
    return self;
}

void jwt_auth_destroy(jwt_auth_t **self_p)
{
    if (self_p && *self_p) {
        memset((*self_p)->secret, 0, sizeof (*self_p)->secret);
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
