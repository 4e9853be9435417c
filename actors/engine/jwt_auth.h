/*  jwt_auth: the Engine API's HS256 bearer tokens.
    The secret is 32 bytes given as 64 hex characters in a file ("0x"
    optional, surrounding whitespace ignored). Every token carries a fresh
    `iat`; a token is reused only within the same second, when it would be
    byte-identical anyway. */
#ifndef ALYS_JWT_AUTH_H
#define ALYS_JWT_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct jwt_auth jwt_auth_t;

/*  Parses secret text. Returns 0, or -1 with a reason in err. */
int jwt_auth_parse_secret(const char *text, uint8_t secret[32], char *err, size_t err_len);

/*  Loads the secret file. Returns NULL with a message naming the file in err. */
jwt_auth_t *jwt_auth_new(const char *path, char *err, size_t err_len);
/*  Same, and checks who may read the file: one that grants any access to
    group or others is logged as a warning, or refused when `strict`. */
jwt_auth_t *jwt_auth_load(const char *path, bool strict, char *err, size_t err_len);
jwt_auth_t *jwt_auth_new_from_secret(const uint8_t secret[32]);
void jwt_auth_destroy(jwt_auth_t **self_p);

/*  Returns "Authorization: Bearer <token>" for time `now` (borrowed, valid
    until the next call), or NULL if signing failed. */
const char *jwt_auth_header(jwt_auth_t *self, time_t now);

#endif
